"""Which benchmark a log came from when it holds no result to tell.

A failed run still needs a ``benchmark_type`` in its report; the command line,
the usage text of an argparse error, a deprecation stub's hint, ``Namespace(…)``
or the files of a traceback usually name it.
"""

from __future__ import annotations

from patchbench.parsing.labels import LATENCY, SERVING, THROUGHPUT

# Checked in order, first match wins: serving's Namespace also has num_prompts=.
_TYPE_HINTS: tuple[tuple[str, str], ...] = (
    ("benchmark_serving", SERVING),
    ("bench serve", SERVING),
    ("benchmarks/serve.py", SERVING),
    ("request_rate=", SERVING),
    ("benchmark_latency", LATENCY),
    ("bench latency", LATENCY),
    ("benchmarks/latency.py", LATENCY),
    ("Profiling iterations", LATENCY),
    ("Warmup iterations", LATENCY),
    ("Bench iterations", LATENCY),
    ("num_iters=", LATENCY),
    ("benchmark_throughput", THROUGHPUT),
    ("bench throughput", THROUGHPUT),
    ("benchmarks/throughput.py", THROUGHPUT),
    ("num_prompts=", THROUGHPUT),
)
# How lines that may carry a hint start (lower-cased): a shell command, usage
# text, Namespace(...), a latency progress bar.
HINT_HEADS = frozenset({"pyth", "vllm", "usag", "name", "prof", "warm", "benc"})


def type_hint(text: str) -> str | None:
    """The benchmark type ``text`` names, or None."""
    for needle, benchmark_type in _TYPE_HINTS:
        if needle in text:
            return benchmark_type
    return None
