"""The sampler: from the logits of a sequence's last position to its next token."""

import math
import random
from itertools import accumulate

from tinyllm.model_executor.layers import Vector, softmax
from tinyllm.sequence import Sequence

_NEG_INF = -math.inf


class Sampler:
    def __init__(self, unk_token_id: int, bos_token_id: int, eos_token_id: int) -> None:
        # Tokens the model must never produce.
        self.banned_token_ids = (unk_token_id, bos_token_id)
        self.eos_token_id = eos_token_id

    def __call__(self, logits: Vector, seq: Sequence) -> int:
        params = seq.sampling_params
        logits = list(logits)
        for token_id in self.banned_token_ids:
            logits[token_id] = _NEG_INF
        if params.ignore_eos:
            logits[self.eos_token_id] = _NEG_INF

        if params.greedy:
            return max(range(len(logits)), key=logits.__getitem__)

        inv_temperature = 1.0 / params.temperature
        logits = [x * inv_temperature for x in logits]
        logits = _apply_top_k_top_p(logits, params.top_k, params.top_p)
        return _sample(softmax(logits), seq.generator)


def _apply_top_k_top_p(logits: Vector, top_k: int, top_p: float) -> Vector:
    """Set the logits outside the top-k tokens and outside the top-p nucleus to -inf.

    The same steps as vLLM's sampler: sort ascending, mask the top-k cut-off,
    mask the tokens whose cumulative probability stays below 1 - top_p, then
    scatter the masked logits back to vocabulary order.
    """
    order = sorted(range(len(logits)), key=logits.__getitem__)
    logits_sort = [logits[i] for i in order]
    if top_k > 0:
        cutoff = max(len(logits_sort) - top_k, 0)
        logits_sort[:cutoff] = [_NEG_INF] * cutoff
    probs_sum = list(accumulate(softmax(logits_sort)))
    # The most likely token is always kept.
    probs_sum[-1] = 1.0
    logits_sort = [_NEG_INF if p <= 1.0 - top_p else x for x, p in zip(logits_sort, probs_sum)]
    masked = [0.0] * len(logits)
    for i, x in zip(order, logits_sort):
        masked[i] = x
    return masked


def _sample(probs: Vector, generator: random.Random) -> int:
    return generator.choices(range(len(probs)), weights=probs)[0]
