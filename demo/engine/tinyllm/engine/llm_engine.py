"""The engine: requests in, one step of continuous batching at a time, outputs out."""

import random
import time
from typing import Optional

import tinyllm
from tinyllm.config import EngineConfig
from tinyllm.core.scheduler import Scheduler
from tinyllm.engine.arg_utils import EngineArgs
from tinyllm.logger import init_logger
from tinyllm.outputs import RequestOutput
from tinyllm.sampling_params import SamplingParams
from tinyllm.sequence import Sequence, SequenceStatus
from tinyllm.transformers_utils.tokenizer import get_tokenizer
from tinyllm.utils import Counter
from tinyllm.worker.model_runner import ModelRunner

logger = init_logger(__name__)

_WARMUP_PROMPT_LEN = 32
_LOG_STATS_INTERVAL_S = 5.0


class LLMEngine:
    def __init__(
        self,
        engine_config: EngineConfig,
        tokenizer_name: Optional[str] = None,
        log_stats: bool = True,
    ) -> None:
        self.model_config = engine_config.model_config
        self.scheduler_config = engine_config.scheduler_config
        self.parallel_config = engine_config.parallel_config
        logger.info(
            "Initializing an LLM engine (v%s) with config: model=%r, tokenizer=%r, dtype=%s, "
            "max_seq_len=%d, tensor_parallel_size=%d, pipeline_parallel_size=%d, seed=%d",
            tinyllm.__version__,
            self.model_config.model,
            tokenizer_name or self.model_config.model,
            self.model_config.dtype,
            self.model_config.max_model_len,
            self.parallel_config.tensor_parallel_size,
            self.parallel_config.pipeline_parallel_size,
            self.model_config.seed,
        )
        if self.parallel_config.world_size > 1:
            logger.info(
                "Simulating %d-way parallelism: the shards run one after the other on the CPU.",
                self.parallel_config.world_size,
            )
        self.tokenizer = get_tokenizer(tokenizer_name or self.model_config.model)
        self.model_runner = ModelRunner(self.model_config, self.parallel_config, self.tokenizer)
        self.scheduler = Scheduler(self.scheduler_config)
        self.seq_counter = Counter()
        self._seed_rng = random.Random(self.model_config.seed)
        self.log_stats = log_stats
        self._last_stats_time = time.monotonic()
        self._num_prompt_tokens = 0
        self._num_generation_tokens = 0
        self._warm_up_model()

    @classmethod
    def from_engine_args(cls, engine_args: EngineArgs) -> "LLMEngine":
        return cls(
            engine_args.create_engine_config(),
            tokenizer_name=engine_args.tokenizer,
            log_stats=not engine_args.disable_log_stats,
        )

    def _warm_up_model(self) -> None:
        """Run a dummy batch through the engine before serving, like vLLM's profile run.

        It checks the model end to end at start-up (a broken model fails here,
        before the server reports ready) and builds everything that is created
        lazily, so that the first real request does not pay for it.
        """
        start = time.perf_counter()
        num_seqs = min(self.scheduler_config.max_num_seqs, 4)
        params = SamplingParams(temperature=0.0, max_tokens=4, ignore_eos=True)
        dummy_prompt = [3 + i % (self.model_config.vocab_size - 3) for i in range(_WARMUP_PROMPT_LEN)]
        for i in range(num_seqs):
            self.add_request(f"warmup-{i}", None, params, prompt_token_ids=dummy_prompt)
        while self.has_unfinished_requests():
            self.step()
        self.seq_counter.reset()
        self._seed_rng = random.Random(self.model_config.seed)
        logger.info("Model warm-up with %d dummy sequences took %.2f s", num_seqs, time.perf_counter() - start)

    def add_request(
        self,
        request_id: str,
        prompt: Optional[str],
        sampling_params: SamplingParams,
        prompt_token_ids: Optional[list[int]] = None,
        arrival_time: Optional[float] = None,
    ) -> None:
        if prompt_token_ids is None:
            if prompt is None:
                raise ValueError("Either prompt or prompt_token_ids must be given.")
            prompt_token_ids = self.tokenizer.encode(prompt)
        if not prompt_token_ids:
            raise ValueError("The prompt is empty.")
        max_model_len = self.scheduler_config.max_model_len
        if len(prompt_token_ids) >= max_model_len:
            raise ValueError(
                f"The prompt (length {len(prompt_token_ids)}) is longer than the maximum model "
                f"length of {max_model_len}."
            )
        seed = sampling_params.seed
        if seed is None:
            seed = self._seed_rng.getrandbits(64)
        seq = Sequence(
            seq_id=next(self.seq_counter),
            request_id=request_id,
            prompt=prompt,
            prompt_token_ids=prompt_token_ids,
            sampling_params=sampling_params,
            arrival_time=time.time() if arrival_time is None else arrival_time,
            generator=random.Random(seed),
        )
        self.scheduler.add_seq(seq)

    def abort_request(self, request_id: str) -> None:
        self.scheduler.abort_seq(request_id)

    def has_unfinished_requests(self) -> bool:
        return self.scheduler.has_unfinished_seqs()

    def get_num_unfinished_requests(self) -> int:
        return self.scheduler.get_num_unfinished_seqs()

    def step(self) -> list[RequestOutput]:
        """Run one scheduling step and return the outputs of the sequences it ran."""
        scheduler_outputs = self.scheduler.schedule()
        if scheduler_outputs.is_empty():
            return []
        seqs = scheduler_outputs.scheduled_seqs
        next_token_ids = self.model_runner.execute_model(seqs, scheduler_outputs.is_prompt)
        now = time.time()
        for seq, token_id in zip(seqs, next_token_ids):
            seq.append_token_id(token_id)
            if seq.first_token_time is None:
                seq.first_token_time = now
            seq.output_text += self.tokenizer.decode([token_id])
            self._check_stop(seq)
            if seq.is_finished():
                seq.finished_time = now
        outputs = [RequestOutput.from_seq(seq) for seq in seqs]
        self.scheduler.free_finished_seqs()
        if self.log_stats:
            if scheduler_outputs.is_prompt:
                self._num_prompt_tokens += scheduler_outputs.num_batched_tokens
            self._num_generation_tokens += len(seqs)
            self._maybe_log_stats()
        return outputs

    def _maybe_log_stats(self) -> None:
        """Every few seconds, log the throughput since the last report, like vLLM's metrics logger."""
        now = time.monotonic()
        elapsed = now - self._last_stats_time
        if elapsed < _LOG_STATS_INTERVAL_S:
            return
        logger.info(
            "Avg prompt throughput: %.1f tokens/s, Avg generation throughput: %.1f tokens/s, "
            "Running: %d reqs, Pending: %d reqs",
            self._num_prompt_tokens / elapsed,
            self._num_generation_tokens / elapsed,
            len(self.scheduler.running),
            len(self.scheduler.waiting),
        )
        self._last_stats_time = now
        self._num_prompt_tokens = 0
        self._num_generation_tokens = 0

    def _check_stop(self, seq: Sequence) -> None:
        params = seq.sampling_params
        if not params.ignore_eos and seq.get_last_token_id() == self.tokenizer.eos_token_id:
            seq.status = SequenceStatus.FINISHED_STOPPED
        elif params.max_tokens is not None and seq.get_output_len() >= params.max_tokens:
            seq.status = SequenceStatus.FINISHED_LENGTH_CAPPED
        elif seq.get_len() >= self.scheduler_config.max_model_len:
            seq.status = SequenceStatus.FINISHED_LENGTH_CAPPED
