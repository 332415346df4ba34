"""Direction-aware comparison of benchmark numbers: pure functions, no I/O.

Latencies (``*_ms``, ``duration``) are better when lower; throughputs and
counts of completed work are better when higher. Improvement is reported in
percent so that positive always means "faster".
"""

from __future__ import annotations

import math

LOWER_IS_BETTER_SUFFIXES = ("_ms", "_s")
LOWER_IS_BETTER = frozenset({"duration", "failed"})

DEFAULT_PRIMARY = {"serving": "mean_ttft_ms", "latency": "latency_avg_ms", "throughput": "tokens_per_second"}
UNITS = {"_ms": "ms", "_per_second": "/s", "_throughput": "/s", "duration": "s"}


def lower_is_better(metric: str) -> bool:
    return metric in LOWER_IS_BETTER or metric.endswith(LOWER_IS_BETTER_SUFFIXES)


def improvement_pct(value: float | None, reference: float | None, metric: str) -> float | None:
    """How much better ``value`` is than ``reference`` in percent (positive = better).

    Latency: (ref - x) / ref; throughput: (x - ref) / ref, as ISO-Bench defines
    it. None when either side is missing or the reference is zero.
    """
    if value is None or reference is None or _missing(value) or _missing(reference) or reference == 0:
        return None
    change = (reference - value) if lower_is_better(metric) else (value - reference)
    return 100.0 * change / abs(reference)


def verdict(pct_vs_human: float | None, band_pct: float = 5.0) -> str | None:
    """``beats``, ``similar`` or ``worse`` than the human fix; the band absorbs noise."""
    if pct_vs_human is None or _missing(pct_vs_human):
        return None
    if pct_vs_human > band_pct:
        return "beats"
    if pct_vs_human < -band_pct:
        return "worse"
    return "similar"


def unit(metric: str) -> str:
    for suffix, name in UNITS.items():
        if metric.endswith(suffix) or metric == suffix:
            return name
    return ""


def _missing(value: float) -> bool:
    return isinstance(value, float) and math.isnan(value)
