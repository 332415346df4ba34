"""Result blocks: one printed (or saved) benchmark result, and when it counts as complete.

Every format has its own notion of "complete": a boxed table is complete when
its closing rule was printed, an unboxed format when its last line was, a JSON
object when it closed. Keeping those rules in one table (``FORMATS``) lets the
text and JSON readers share one ``Block`` and one status decision.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from patchbench.parsing.labels import LATENCY, SERVING, THROUGHPUT, canonical_value

OK = "ok"
INCOMPLETE = "incomplete"
FAILED = "failed"

# A block never holds more keys than this, however many rows a damaged log repeats.
MAX_KEYS = 512
_LATENCY_PERCENTILES = tuple(f"latency_p{p}_ms" for p in (10, 25, 50, 75, 90))
_S1_ROWS = (
    "completed",
    "duration",
    "total_input_tokens",
    "total_output_tokens",
    "request_throughput",
    "output_throughput",
    "mean_ttft_ms",
    "median_ttft_ms",
    "p99_ttft_ms",
    "mean_tpot_ms",
    "median_tpot_ms",
    "p99_tpot_ms",
)


@dataclass(frozen=True)
class Format:
    """A result format and what a complete block of it holds.

    ``required``: keys a complete block has. ``all_or_none``: keys printed as a
    group (latency percentiles since 2024-04): some without the rest means the
    output stopped part-way. ``needs_end``: the format has an explicit end (the
    table's closing rule, a JSON object's closing brace) that must have been seen.
    """

    benchmark_type: str
    required: tuple[str, ...]
    all_or_none: tuple[str, ...] = ()
    needs_end: bool = False


FORMATS: dict[str, Format] = {
    # 2023: "Total time: X s", "Throughput: X requests/s", "Average latency: X s", ...
    "serving-s0": Format(
        SERVING,
        (
            "duration",
            "request_throughput",
            "mean_e2el_ms",
            "mean_latency_per_token_ms",
            "mean_latency_per_output_token_ms",
        ),
    ),
    # 2024-02: unboxed "Successful requests: N" ... "P99 TPOT: X ms" (its last line).
    "serving-s1": Format(SERVING, _S1_ROWS),
    # 2024-03 onwards: the boxed "Serving Benchmark Result" table.
    "serving-table": Format(SERVING, ("completed", "duration"), needs_end=True),
    "serving-json": Format(SERVING, ("completed", "duration"), needs_end=True),
    "latency-text": Format(LATENCY, ("latency_avg_ms",), _LATENCY_PERCENTILES),
    "latency-json": Format(LATENCY, ("latency_avg_ms",), _LATENCY_PERCENTILES, needs_end=True),
    "throughput-text": Format(THROUGHPUT, ("tokens_per_second",)),
    "throughput-json": Format(THROUGHPUT, ("requests_per_second", "tokens_per_second"), needs_end=True),
}


@dataclass
class Block:
    """One result as it is being read: its format, first line, and values so far.

    ``seen`` is every key printed, ``metrics`` only those with a finite value
    (an ``inf`` request rate or a ``nan`` mean was printed, but JSON cannot carry
    it). ``setup`` holds values printed before the result (request rate, max
    concurrency) that belong to it but are not rows of it, so they never make a
    row look repeated. ``quotes`` keeps the source lines of the rows that can
    prove "all requests failed", for the failure evidence. ``requested`` is the
    ``num_prompts`` a serving run was given (its Namespace or result file):
    before 2025-10 vLLM printed no failed count, and the requests that did not
    complete are the only trace of those that failed.
    """

    format: str
    line: int
    metrics: dict[str, float | int] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)
    setup: dict[str, float | int] = field(default_factory=dict)
    quotes: dict[str, str] = field(default_factory=dict)
    ended: bool = False
    lacks_value: bool = False
    requested: int | None = None

    @property
    def benchmark_type(self) -> str:
        return FORMATS[self.format].benchmark_type

    @property
    def status(self) -> str:
        spec = FORMATS[self.format]
        complete = (
            (self.ended or not spec.needs_end)
            and not self.lacks_value
            and all(key in self.seen for key in spec.required)
        )
        present = sum(key in self.seen for key in spec.all_or_none)
        complete = complete and present in (0, len(spec.all_or_none))
        return OK if complete else INCOMPLETE

    def put(self, key: str, value: float) -> None:
        """Record a printed value; only finite ones become metrics."""
        if key not in self.seen and len(self.seen) >= MAX_KEYS:
            return
        self.seen.add(key)
        if math.isfinite(value):
            self.metrics[key] = canonical_value(key, value)

    def all_metrics(self) -> dict[str, float | int]:
        """Setup values overlaid with the block's own rows."""
        return {**self.setup, **self.metrics}

    def as_run(self) -> dict[str, object]:
        return {
            "benchmark_type": self.benchmark_type,
            "status": self.status,
            "format": self.format,
            "line": self.line,
            "metrics": self.all_metrics(),
        }
