"""The model runner: runs the model on a scheduled batch and samples the next tokens."""

from tinyllm.config import ModelConfig, ParallelConfig
from tinyllm.model_executor.model import TinyLLMForCausalLM
from tinyllm.model_executor.sampler import Sampler
from tinyllm.sequence import Sequence
from tinyllm.transformers_utils.tokenizer import TinyTokenizer


class ModelRunner:
    def __init__(
        self,
        model_config: ModelConfig,
        parallel_config: ParallelConfig,
        tokenizer: TinyTokenizer,
    ) -> None:
        self.model_config = model_config
        self.parallel_config = parallel_config
        self.model = TinyLLMForCausalLM(model_config)
        self.sampler = Sampler(
            unk_token_id=tokenizer.unk_token_id,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
        )

    def execute_model(self, seqs: list[Sequence], is_prompt: bool) -> list[int]:
        """Return the next token of every sequence in the batch.

        The model keeps no state between steps, so each sequence runs through
        it in full (prompt and generated tokens alike), one sequence at a time.
        """
        next_token_ids = []
        for seq in seqs:
            logits = self.model.forward(seq.get_token_ids())
            next_token_ids.append(self.sampler(logits[-1], seq))
        return next_token_ids
