"""The LLM class: offline batched inference, shaped like ``vllm.LLM``."""

import sys
import time
from typing import Any, Optional, Union

from tinyllm.engine.arg_utils import EngineArgs
from tinyllm.engine.llm_engine import LLMEngine
from tinyllm.outputs import RequestOutput
from tinyllm.sampling_params import SamplingParams
from tinyllm.transformers_utils.tokenizer import TinyTokenizer
from tinyllm.utils import Counter

PromptType = Union[str, dict[str, Any]]


class LLM:
    """Generate text for a batch of prompts with continuous batching.

    Example::

        llm = LLM(model="tinyllm/tiny-1b")
        outputs = llm.generate(["hello world"], SamplingParams(max_tokens=8))

    Keyword arguments that only make sense on a GPU (``gpu_memory_utilization``,
    ``enforce_eager``, ...) are accepted and ignored, so that scripts written
    for vLLM run unchanged.
    """

    def __init__(
        self,
        model: str,
        tokenizer: Optional[str] = None,
        tensor_parallel_size: int = 1,
        dtype: str = "auto",
        seed: int = 0,
        max_model_len: Optional[int] = None,
        max_num_seqs: int = 256,
        **kwargs: Any,
    ) -> None:
        engine_args = EngineArgs(
            model=model,
            tokenizer=tokenizer,
            tensor_parallel_size=tensor_parallel_size,
            dtype=dtype,
            seed=seed,
            max_model_len=max_model_len,
            max_num_seqs=max_num_seqs,
            disable_log_stats=True,
        )
        self.llm_engine = LLMEngine.from_engine_args(engine_args)
        self.request_counter = Counter()

    def get_tokenizer(self) -> TinyTokenizer:
        return self.llm_engine.tokenizer

    def generate(
        self,
        prompts: Union[PromptType, list[PromptType], None] = None,
        sampling_params: Union[SamplingParams, list[SamplingParams], None] = None,
        prompt_token_ids: Optional[list[list[int]]] = None,
        use_tqdm: bool = True,
    ) -> list[RequestOutput]:
        """Generate completions for the prompts; the outputs come back in the prompts' order.

        A prompt is a string, or a dict with ``prompt`` or ``prompt_token_ids``.
        """
        if prompts is None and prompt_token_ids is None:
            raise ValueError("Either prompts or prompt_token_ids must be provided.")
        if prompts is None:
            prompts = [{"prompt_token_ids": ids} for ids in prompt_token_ids]
        elif isinstance(prompts, (str, dict)):
            prompts = [prompts]
        if sampling_params is None:
            sampling_params = SamplingParams()
        if isinstance(sampling_params, list) and len(sampling_params) != len(prompts):
            raise ValueError("The lengths of prompts and sampling_params must be the same.")

        for i, prompt in enumerate(prompts):
            params = sampling_params[i] if isinstance(sampling_params, list) else sampling_params
            if isinstance(prompt, str):
                text, token_ids = prompt, None
            else:
                text, token_ids = prompt.get("prompt"), prompt.get("prompt_token_ids")
            self.llm_engine.add_request(str(next(self.request_counter)), text, params, prompt_token_ids=token_ids)
        return self._run_engine(use_tqdm)

    def _run_engine(self, use_tqdm: bool) -> list[RequestOutput]:
        total = self.llm_engine.get_num_unfinished_requests()
        progress = _ProgressBar(total, "Processed prompts") if use_tqdm else None
        outputs: list[RequestOutput] = []
        while self.llm_engine.has_unfinished_requests():
            for output in self.llm_engine.step():
                if output.finished:
                    outputs.append(output)
                    if progress is not None:
                        progress.update()
        if progress is not None:
            progress.close()
        return sorted(outputs, key=lambda output: int(output.request_id))


class _ProgressBar:
    """A minimal tqdm look-alike on stderr, so that logs read like vLLM's."""

    def __init__(self, total: int, desc: str) -> None:
        self.total = total
        self.desc = desc
        self.n = 0
        self.start = time.perf_counter()
        self.last_print = 0.0

    def update(self) -> None:
        self.n += 1
        now = time.perf_counter()
        if now - self.last_print >= 0.5:
            self.last_print = now
            self._print(end="\r")

    def close(self) -> None:
        self._print(end="\n")

    def _print(self, end: str) -> None:
        elapsed = time.perf_counter() - self.start
        frac = self.n / self.total if self.total else 1.0
        filled = int(frac * 10)
        bar = "\u2588" * filled + " " * (10 - filled)
        rate = self.n / elapsed if elapsed > 0 else 0.0
        minutes, seconds = divmod(int(elapsed), 60)
        sys.stderr.write(
            f"{self.desc}: {frac * 100:3.0f}%|{bar}| {self.n}/{self.total} "
            f"[{minutes:02d}:{seconds:02d}<00:00, {rate:.2f}it/s]{end}"
        )
        sys.stderr.flush()
