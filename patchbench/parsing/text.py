"""Result blocks from the stdout of vLLM's benchmark scripts, one line at a time.

The scanner hands over only lines that may be result lines (see
``labels.TEXT_HEADS``); this module decides which block each belongs to. A
block opens at its first row (or at the "Serving Benchmark Result" header),
and closes when its table's closing rule is printed, when a row it already has
comes again (the next run of a sweep), when a different kind of result starts,
or at the end of the log. Lines in between that are not rows (server logs,
progress bars, unknown rows of newer vLLM versions) are not seen here or are
ignored, so they cannot break a block.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from patchbench.parsing.blocks import Block
from patchbench.parsing.labels import (
    LATENCY_ROW,
    SERVING_2023,
    SERVING_ROW,
    SERVING_SETUP,
    THROUGHPUT_LINE,
    THROUGHPUT_ROW,
    Label,
    canonical_value,
    is_reportable,
    lookup_label,
    parse_number,
    parse_throughput_line,
)

TABLE_TITLE = "Serving Benchmark Result"
TABLE = "serving-table"
_SERVING_BLOCKS = (TABLE, "serving-s1")
# family -> (format a row of it opens, formats it may be added to)
_FAMILY_BLOCKS = {
    SERVING_ROW: ("serving-s1", _SERVING_BLOCKS),
    SERVING_2023: ("serving-s0", ("serving-s0",)),
    LATENCY_ROW: ("latency-text", ("latency-text",)),
    THROUGHPUT_ROW: ("throughput-text", ("throughput-text",)),
}
# Rows whose source line is kept as evidence that requests failed.
_QUOTED = frozenset({"completed", "failed"})
# vLLM prints unset options as "None" ("Maximum request concurrency: None").
_UNSET = "None"
# The table's closing rule is a row of "="; ten of them in a row are never anything else.
_RULE = "=" * 10
# tqdm draws "{percentage:3.0f}%|" in every bar, so a bar starts where that right-aligned
# three-character field does ("  5", " 50", "100"), or at the start of a line that lost its
# leading spaces. Nothing else is taken for a bar: "127.235%|" stays one (damaged) value.
_BAR_MARK = "%|"
_BAR = re.compile(r"(?:  \d| [1-9]\d|100|^[1-9]?\d)%\|")


class TextResults:
    """Groups result lines into blocks and hands each finished block to ``emit``."""

    def __init__(self, emit: Callable[[Block], None]) -> None:
        self._emit = emit
        self._open: Block | None = None
        self._setup: dict[str, float | int] = {}
        self._requested: int | None = None

    def line(self, text: str, number: int) -> None:
        """Read a line that may hold a result line (a row, the table's title or its closing rule).

        Text glued to its end is cut off first, without touching the value: a progress bar
        whose ``\\r`` was lost, or the closing rule or the title of a pasted copy, which
        are then read after the row (a value glued to anything else is no number).
        """
        text, title, _ = text.partition(TABLE_TITLE)
        if _BAR_MARK in text:
            bar = _BAR.search(text)
            if bar is not None:
                text = text[: bar.start()]
        row, rule, _ = text.partition(_RULE)
        label, colon, value = row.partition(":")
        if colon:
            self.row(label, value, row.strip(), number)
        if title:
            self.header(number)
        elif rule:
            self.rule()

    def header(self, number: int) -> None:
        """The "Serving Benchmark Result" title: a new table starts here."""
        self._start(TABLE, number)

    def rule(self) -> None:
        """A line of ``=``: it ends an open table."""
        if self._open is not None and self._open.format == TABLE:
            self._open.ended = True
            self.close()

    def row(self, label: str, value: str, line: str, number: int) -> None:
        """Take a "label: value" line (ignored unless the label is a known row)."""
        found = lookup_label(label)
        if found is None:
            return
        key, spec = found
        if spec.family == THROUGHPUT_LINE:
            self._throughput(value, line, number)
            return
        number_value = parse_number(value)
        if number_value is not None:
            number_value *= spec.scale
        if spec.family == SERVING_SETUP:
            self._setup_row(key, spec, number_value, value, line)
            return
        block = self._block_for(spec, key, number)
        self._store(block, key, number_value, value, line)

    def requested(self, prompts: int) -> None:
        """``num_prompts`` from the ``Namespace(…)`` a serving run prints before it starts."""
        if self._open is not None and self._open.format == TABLE:
            self.close()  # a new run starts: a table still open belongs to an earlier one
        self._requested = prompts

    def close(self) -> None:
        """Finish the open block, if any."""
        if self._open is not None:
            block, self._open = self._open, None
            self._emit(block)

    def _throughput(self, value: str, line: str, number: int) -> None:
        found = parse_throughput_line(value)
        if set(found) == {"requests_per_second"}:
            # Only requests/s: the 2023 serving script's "Throughput: X requests/s".
            spec = Label("request_throughput", SERVING_2023)
            self._store(self._block_for(spec, spec.key, number), spec.key, found["requests_per_second"], value, line)
        elif found:
            spec = Label("tokens_per_second", THROUGHPUT_ROW)
            block = self._block_for(spec, spec.key, number)
            for key, parsed in found.items():
                self._store(block, key, parsed, value, line)

    def _setup_row(self, key: str, spec: Label, parsed: float | None, value: str, line: str) -> None:
        # "Maximum request concurrency" is a row of a 2025-07+ table; any other
        # setup line (and that one outside a table) describes the run about to
        # start, so a table still open belongs to an earlier run.
        block = self._open
        if block is not None and block.format == TABLE:
            if spec.in_table and key not in block.seen:
                self._store(block, key, parsed, value, line)
                return
            self.close()
        if is_reportable(parsed):
            self._setup[key] = canonical_value(key, parsed)

    def _block_for(self, spec: Label, key: str, number: int) -> Block:
        opens, joins = _FAMILY_BLOCKS[spec.family]
        block = self._open
        if block is None or block.format not in joins or key in block.seen:
            block = self._start(opens, number)
        return block

    def _start(self, format_name: str, number: int) -> Block:
        self.close()
        block = Block(format_name, number)
        if format_name in _SERVING_BLOCKS:
            block.setup, self._setup = self._setup, {}
            block.requested, self._requested = self._requested, None
        self._open = block
        return block

    @staticmethod
    def _store(block: Block, key: str, parsed: float | None, value: str, line: str) -> None:
        if parsed is None:
            # A known row without a number: the output is damaged or cut short.
            block.lacks_value = block.lacks_value or value.split(None, 1)[:1] != [_UNSET]
            return
        if key in _QUOTED:
            block.quotes[key] = line
        block.put(key, parsed)
