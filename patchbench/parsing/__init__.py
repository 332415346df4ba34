"""Read any vLLM benchmark output (2023-2026) and say what it measured, or why it measured nothing.

    parse_file(path, benchmark_type=None) -> dict
    parse_lines(lines, benchmark_type=None) -> dict
    parse_passes(run_log, benchmark_type=None) -> list[dict]

All return JSON-serialisable dicts (no inf/NaN anywhere):

- ``benchmark_type``: "serving" | "latency" | "throughput" | None (detected when not given);
- ``status``: "ok" (a complete result), "incomplete" (a result cut short or
  lacking values), "failed" (no usable result);
- ``metrics``: canonical key -> number, of the last complete result (else the
  last partial one; else {});
- ``runs``: every result block, in order of its first line, each
  ``{benchmark_type, status, format, line, metrics}``;
- ``failure``: None or ``{category, evidence}`` (categories from
  ``patchbench.failures``).

``parse_passes`` reads a patchbench run.log: one such dict per measured pass,
from that pass's own section only (the client's output), so nothing else the
log holds (a server's output) can pass for a measurement.

docs/metrics.md documents every label and key and how each decision is made.
The log is streamed: memory stays bounded whatever its size or shape.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any

from patchbench.parsing.labels import LATENCY, SERVING, THROUGHPUT
from patchbench.parsing.lines import Batch, batches_from_file, batches_from_text, text_from_lines
from patchbench.parsing.scanner import LogScanner
from patchbench.runtime.runlog import BENCHMARK_SECTION, MARK

__all__ = ["parse_file", "parse_lines", "parse_passes"]


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


def parse_passes(run_log: str | os.PathLike[str], benchmark_type: str | None = None) -> list[dict[str, Any]]:
    """One parse per measured pass of a run.log, each of its own section (streamed)."""
    if benchmark_type not in (None, SERVING, LATENCY, THROUGHPUT):
        raise ValueError(f"unknown benchmark type: {benchmark_type!r}")
    results: list[dict[str, Any]] = []
    scanner: LogScanner | None = None
    for batch in batches_from_file(run_log):
        start = 0
        for index, line in enumerate(batch.lines):
            if not line.startswith(MARK):
                continue
            if scanner is not None:
                scanner.feed(_part(batch, start, index))
                results.append(scanner.result())
            scanner = LogScanner(benchmark_type) if line.rstrip() == BENCHMARK_SECTION else None
            start = index + 1
        if scanner is not None and start < len(batch.lines):
            scanner.feed(_part(batch, start, len(batch.lines)))
    if scanner is not None:
        results.append(scanner.result())
    return results


def _part(batch: Batch, start: int, end: int) -> Batch:
    """Lines ``start:end`` of a batch, numbered as in the file."""
    lines = batch.lines[start:end]
    numbers = batch.numbers[start:end] if batch.numbers is not None else None
    return Batch(lines, "\n".join(lines), batch.number(start) if lines else batch.first_number, numbers)
