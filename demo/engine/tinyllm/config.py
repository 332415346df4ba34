"""Engine configuration: the model, the scheduler and (simulated) parallelism."""

from dataclasses import dataclass, field
from typing import Optional

# The model names mimic real checkpoints; the sizes are toy sizes, picked so
# that one token costs well under a millisecond of pure-Python arithmetic.
_MODEL_REGISTRY: dict[str, dict[str, int]] = {
    "tinyllm/tiny-1b": {"hidden_size": 8, "num_layers": 2, "num_heads": 2, "intermediate_size": 24},
    "tinyllm/tiny-8b": {"hidden_size": 16, "num_layers": 2, "num_heads": 4, "intermediate_size": 48},
    "tinyllm/tiny-70b": {"hidden_size": 32, "num_layers": 2, "num_heads": 8, "intermediate_size": 64},
}

_SUPPORTED_DTYPES = ("auto", "float32", "float16", "bfloat16", "half", "float")


@dataclass(frozen=True)
class ModelConfig:
    model: str
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    vocab_size: int = 759
    max_position_embeddings: int = 2048
    rope_theta: float = 10000.0
    rms_norm_eps: float = 1e-5
    dtype: str = "float32"
    max_model_len: int = 2048
    seed: int = 0

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_heads

    def num_parameters(self) -> int:
        h, f = self.hidden_size, self.intermediate_size
        per_layer = 4 * h * h + 3 * h * f + 2 * h
        return self.vocab_size * h + self.num_layers * per_layer + h


def get_model_config(
    model: str,
    dtype: str = "auto",
    max_model_len: Optional[int] = None,
    seed: int = 0,
) -> ModelConfig:
    """Look up a model by name, as vLLM would read its config.json."""
    if model not in _MODEL_REGISTRY:
        known = ", ".join(sorted(_MODEL_REGISTRY))
        raise ValueError(f"Model {model!r} not found. Known models: {known}")
    if dtype not in _SUPPORTED_DTYPES:
        raise ValueError(f"Unknown dtype: {dtype}")
    arch = _MODEL_REGISTRY[model]
    max_position = 2048
    if max_model_len is None:
        max_model_len = max_position
    if max_model_len > max_position:
        raise ValueError(
            f"User-specified max_model_len ({max_model_len}) is greater than the derived "
            f"max_model_len (max_position_embeddings={max_position} in model's config.json)."
        )
    return ModelConfig(
        model=model,
        dtype="float32" if dtype in ("auto", "float") else dtype,
        max_model_len=max_model_len,
        max_position_embeddings=max_position,
        seed=seed,
        **arch,
    )


@dataclass(frozen=True)
class SchedulerConfig:
    """Limits on what one engine step may run.

    Args:
        max_num_seqs: maximum number of sequences in the running batch.
        max_model_len: maximum length of a sequence (prompt plus output).
    """

    max_num_seqs: int = 256
    max_model_len: int = 2048


@dataclass(frozen=True)
class ParallelConfig:
    """Tensor parallelism is simulated: the shards run one after the other on the CPU."""

    tensor_parallel_size: int = 1
    pipeline_parallel_size: int = 1

    @property
    def world_size(self) -> int:
        return self.tensor_parallel_size * self.pipeline_parallel_size


@dataclass(frozen=True)
class EngineConfig:
    model_config: ModelConfig
    scheduler_config: SchedulerConfig = field(default_factory=SchedulerConfig)
    parallel_config: ParallelConfig = field(default_factory=ParallelConfig)
