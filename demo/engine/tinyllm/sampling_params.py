"""Sampling parameters for text generation (a subset of vLLM's)."""

from dataclasses import dataclass
from typing import Optional

_SAMPLING_EPS = 1e-5


@dataclass
class SamplingParams:
    """How to pick the next token and when to stop.

    Args:
        n: number of output sequences per prompt (only 1 is supported).
        temperature: 0 means greedy sampling.
        top_p: nucleus sampling threshold; 1.0 disables it.
        top_k: keep only the k most likely tokens; -1 disables it.
        seed: seed for this request's random generator.
        max_tokens: maximum number of tokens to generate.
        ignore_eos: keep generating after the end-of-sequence token.
    """

    n: int = 1
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = -1
    seed: Optional[int] = None
    max_tokens: Optional[int] = 16
    ignore_eos: bool = False

    def __post_init__(self) -> None:
        self._verify_args()

    def _verify_args(self) -> None:
        if self.n != 1:
            raise ValueError(f"n must be 1, got {self.n}.")
        if self.temperature < 0.0:
            raise ValueError(f"temperature must be non-negative, got {self.temperature}.")
        if not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}.")
        if self.top_k < -1 or self.top_k == 0:
            raise ValueError(f"top_k must be -1 (disable), or at least 1, got {self.top_k}.")
        if self.max_tokens is not None and self.max_tokens < 1:
            raise ValueError(f"max_tokens must be at least 1, got {self.max_tokens}.")

    @property
    def greedy(self) -> bool:
        return self.temperature < _SAMPLING_EPS
