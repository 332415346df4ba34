"""Read any vLLM benchmark output (2023-2026) and say what it measured, or why it measured nothing.

    parse_file(path, benchmark_type=None) -> dict
    parse_lines(lines, benchmark_type=None) -> dict

Both return a JSON-serialisable dict (no inf/NaN anywhere):

- ``benchmark_type``: "serving" | "latency" | "throughput" | None (detected when not given);
- ``status``: "ok" (a complete result), "incomplete" (a result cut short or
  lacking values), "failed" (no usable result);
- ``metrics``: canonical key -> number, of the last complete result (else the
  last partial one; else {});
- ``runs``: every result block, in order of its first line, each
  ``{benchmark_type, status, format, line, metrics}``;
- ``failure``: None or ``{category, evidence}`` (categories from
  ``patchbench.failures``).

docs/metrics.md documents every label and key and how each decision is made.
The log is streamed: memory stays bounded whatever its size or shape.
"""

from __future__ import annotations

import os
from typing import Any, Iterable, Iterator

from patchbench.parsing.labels import LATENCY, SERVING, THROUGHPUT
from patchbench.parsing.lines import Batch, batches_from_file, batches_from_text, text_from_lines
from patchbench.parsing.scanner import LogScanner

__all__ = ["parse_file", "parse_lines"]


def parse_file(path: str | os.PathLike[str], benchmark_type: str | None = None) -> dict[str, Any]:
    """Parse the benchmark output (log or JSON result file) at ``path``."""
    return _scan(batches_from_file(path), benchmark_type)


def parse_lines(lines: Iterable[str], benchmark_type: str | None = None) -> dict[str, Any]:
    """Parse benchmark output given as lines (with or without their newlines)."""
    return _scan(batches_from_text(text_from_lines(lines)), benchmark_type)


def _scan(batches: Iterator[Batch], benchmark_type: str | None) -> dict[str, Any]:
    if benchmark_type not in (None, SERVING, LATENCY, THROUGHPUT):
        raise ValueError(f"unknown benchmark type: {benchmark_type!r}")
    scanner = LogScanner(benchmark_type)
    for batch in batches:
        scanner.feed(batch)
    return scanner.result()
