"""Which way is better for a metric, and its unit: pure functions, no I/O.

Latencies (``*_ms``, ``*_s``, ``duration``) and failures are better when
lower; throughputs and counts of completed work are better when higher.
Improvements (``stats``) are reported in percent so that positive always
means "faster".
"""

from __future__ import annotations

LOWER_IS_BETTER_SUFFIXES = ("_ms", "_s")
LOWER_IS_BETTER = frozenset({"duration", "failed"})
UNITS = {"_ms": "ms", "_per_second": "/s", "_throughput": "/s", "duration": "s"}


def lower_is_better(metric: str) -> bool:
    return metric in LOWER_IS_BETTER or metric.endswith(LOWER_IS_BETTER_SUFFIXES)


def unit(metric: str) -> str:
    for suffix, name in UNITS.items():
        if metric.endswith(suffix) or metric == suffix:
            return name
    return ""
