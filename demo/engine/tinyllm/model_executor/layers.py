"""Pure-Python building blocks of the tinyllm transformer.

Vectors are lists of floats and a weight matrix is a list of rows (one row per
output feature), so ``y = W x`` is one dot product per row. ``sum(map(mul, ...))``
is the fastest dot product the standard library offers.
"""

import math
from operator import mul

Vector = list[float]
Matrix = list[Vector]


def matvec(weight: Matrix, x: Vector) -> Vector:
    """Return ``W x``."""
    return [sum(map(mul, row, x)) for row in weight]


def add(x: Vector, y: Vector) -> Vector:
    return [a + b for a, b in zip(x, y)]


def rms_norm(x: Vector, weight: Vector, eps: float) -> Vector:
    scale = 1.0 / math.sqrt(sum(map(mul, x, x)) / len(x) + eps)
    return [xi * scale * wi for xi, wi in zip(x, weight)]


def silu(x: float) -> float:
    if x < -60.0:
        return 0.0
    return x / (1.0 + math.exp(-x))


def softmax(x: Vector) -> Vector:
    m = max(x)
    exps = [math.exp(v - m) for v in x]
    total = sum(exps)
    return [e / total for e in exps]


class RotaryEmbedding:
    """Rotary position embedding (GPT-NeoX style) with precomputed cos/sin tables."""

    def __init__(self, head_dim: int, max_position: int, base: float) -> None:
        self.head_dim = head_dim
        half = head_dim // 2
        inv_freq = [base ** (-2.0 * i / head_dim) for i in range(half)]
        self.cos_cache = [[math.cos(p * f) for f in inv_freq] for p in range(max_position)]
        self.sin_cache = [[math.sin(p * f) for f in inv_freq] for p in range(max_position)]

    def __call__(self, x: Vector, position: int, num_heads: int) -> Vector:
        """Rotate every head of ``x`` (the heads are concatenated) by ``position``."""
        cos = self.cos_cache[position]
        sin = self.sin_cache[position]
        half = self.head_dim // 2
        out: Vector = []
        for h in range(num_heads):
            base = h * self.head_dim
            x1 = x[base : base + half]
            x2 = x[base + half : base + self.head_dim]
            out += [a * c - b * s for a, b, c, s in zip(x1, x2, cos, sin)]
            out += [b * c + a * s for a, b, c, s in zip(x1, x2, cos, sin)]
        return out


def init_matrix(rng, rows: int, cols: int) -> Matrix:
    """Random weights with the usual 1/sqrt(fan_in) scale."""
    std = 1.0 / math.sqrt(cols)
    return [[rng.gauss(0.0, std) for _ in range(cols)] for _ in range(rows)]
