"""Which benchmark a log came from when it holds no result to tell.

A failed run still needs a ``benchmark_type`` in its report. The script or
subcommand is usually named somewhere: on a command line, in the usage text of an
argparse error, in a deprecation stub's hint, in a traceback's files, or in a
child process's command line that whoever started it quoted. Otherwise the
benchmark's own first lines may tell: its ``Namespace(…)``, latency's progress bars.
"""

from __future__ import annotations

import re

from patchbench.parsing.labels import LATENCY, SERVING, THROUGHPUT

# The script or subcommand, wherever a line names it: "benchmark_serving.py",
# "vllm/benchmarks/latency.py", "vllm bench serve", "cli.main bench throughput",
# an argv list "['vllm', 'bench', 'serve', …]". Other subcommands ("bench encoder",
# "bench sweep") and other scripts ("benchmark_moe.py") name no type.
_COMMAND = re.compile(
    r"benchmark_(serving|latency|throughput)|benchmarks/(serve|latency|throughput)\.py"
    r"|\bbench[\s'\",]+(serve|latency|throughput)\b"
)
_COMMAND_TYPES = {"serving": SERVING, "serve": SERVING, "latency": LATENCY, "throughput": THROUGHPUT}
# Every name _COMMAND finds contains this word: lines without it are not searched.
COMMAND_WORD = "bench"
# Checked in order, first match wins: serving's Namespace also has num_prompts=.
_NAMESPACE_HINTS = (("request_rate=", SERVING), ("num_iters=", LATENCY), ("num_prompts=", THROUGHPUT))
_LATENCY_BARS = ("Profiling iterations", "Warmup iterations", "Bench iterations")
# How the benchmark's own hinting lines start (lower-cased): Namespace(...), a latency
# progress bar.
HINT_HEADS = frozenset({"name", "prof", "warm", "benc"})


def type_hint(text: str) -> str | None:
    """The benchmark type ``text`` (a line without its prefixes) names, or None."""
    command = _COMMAND.search(text)
    if command is not None:
        return _COMMAND_TYPES[next(word for word in command.groups() if word)]
    if text.startswith("Namespace("):
        return next((benchmark_type for needle, benchmark_type in _NAMESPACE_HINTS if needle in text), None)
    return LATENCY if text.startswith(_LATENCY_BARS) else None
