"""One pass over a log: result blocks, failure signals and type hints, then the verdict.

Speed comes from doing almost nothing for the lines that matter least. A line
is looked at closely only if its first four characters (lower-cased, after
comment markers and indentation) could start a result row, a table rule, a JSON
object, a Namespace(…) or a runner marker; everything else (server logs, request
logs) costs a strip, a slice and a set lookup. Failure signals are looked for
only in batches that contain one of a few trigger substrings at all, the
benchmark's name only in batches that contain its word, until it is found.
"""

from __future__ import annotations

import re
from collections import deque
from typing import Any

from patchbench import failures
from patchbench.parsing.blocks import FAILED, OK, Block
from patchbench.parsing.classify import EVIDENCE_LINES, FailureTracker, has_trigger, quote
from patchbench.parsing.hints import COMMAND_WORD, HINT_HEADS, type_hint
from patchbench.parsing.jsonresult import JsonResults
from patchbench.parsing.labels import SERVING, TEXT_HEADS
from patchbench.parsing.lines import (
    COLLECTOR_STARTS,
    DECORATION,
    LOG_LEVELS,
    PROCESS_TAG_STARTS,
    Batch,
    clean,
    log_level,
    strip_collector_prefix,
    strip_process_prefix,
    strip_service_prefix,
)
from patchbench.parsing.text import TextResults
from patchbench.runtime.runlog import MARK

# Only the most recent runs are listed; a log of thousands of sweeps stays bounded.
MAX_RUNS = 1000
_MARK_HEAD = MARK[:4].lower()
_HEADS = TEXT_HEADS | {"name", "====", _MARK_HEAD}
# Lines starting with these may be rows too: "P99 TTFT", "90% percentile
# latency" (any percentile), a JSON object, a coloured line, a progress bar
# glued to the table title.
_FIRST_CHARS = frozenset("0123456789p{\x1b")
# How far into a line the ") " that ends a process tag is looked for.
_TAG_CHARS = 200
# How many requests a serving run sends, in the Namespace(…) it prints first.
_NUM_PROMPTS = re.compile(r"\bnum_prompts=(\d+)")


class LogScanner:
    """Reads batches of lines once and reports what the log shows."""

    def __init__(self, benchmark_type: str | None = None) -> None:
        self._wanted = benchmark_type
        self._runs: deque[dict[str, Any]] = deque(maxlen=MAX_RUNS)
        self._complete: Block | None = None
        self._partial: Block | None = None
        self._hint: str | None = None
        self._text = TextResults(self._finished)
        self._json = JsonResults(self._finished)
        self._failures = FailureTracker()

    def feed(self, batch: Batch) -> None:
        """Scan one batch of lines."""
        failures_here = self._failures.in_traceback or has_trigger(batch.text)
        json_open = self._json.open
        # docker compose's "service-1  | " can start any line; a batch without "| " has none.
        services = "| " in batch.text
        # Until the log hints at its benchmark: the script or subcommand may be named in
        # any line (a batch without the word names none), Namespace(…) and bars at a line's start.
        hinting = self._hint is None
        named = hinting and COMMAND_WORD in batch.text
        for index, line in enumerate(batch.lines):
            if services:
                line = strip_service_prefix(line)
            if line[:1] in COLLECTOR_STARTS:
                # A log collector's time stamp ("2025-05-30T20:38:10.123Z "): read what follows.
                line = strip_collector_prefix(line)
            # Results are read behind a process tag ("(task, pid=25491) "); the failure
            # tracker keeps the tag, since it tells which process raised a traceback. Most
            # tagged lines are vLLM's log lines ("(APIServer pid=7) INFO …"), never a result
            # or a hint: a look past the first ") " skips them cheaply (unless a JSON object
            # is open, which such a line ends).
            body = line
            if line[:1] in PROCESS_TAG_STARTS:
                if not json_open and line.startswith(LOG_LEVELS, line.find(") ", 1, _TAG_CHARS) + 2):
                    if failures_here:
                        self._failures.line(line)
                    continue
                body = strip_process_prefix(line)
            if json_open:
                if self._json.feed(body):
                    json_open = self._json.open
                    continue
                json_open = False
            stripped = body.lstrip(DECORATION)
            head = stripped[:4].lower()
            if hinting and (head in HINT_HEADS or (named and COMMAND_WORD in stripped)):
                self._hint = _hint_in(stripped, line)
                hinting = self._hint is None
            if head in _HEADS or head[:1] in _FIRST_CHARS:
                json_open = self._candidate(stripped, head, batch.number(index))
            if failures_here:
                self._failures.line(line)
        self._failures.remember_tail(batch.lines)

    def result(self) -> dict[str, Any]:
        """The verdict on everything fed so far (closes any block still open)."""
        self._json.close()
        self._text.close()
        chosen = self._complete or self._partial
        status = FAILED if chosen is None else chosen.status
        return {
            "benchmark_type": self._benchmark_type(chosen),
            "status": status,
            "metrics": chosen.all_metrics() if chosen else {},
            "runs": sorted(self._runs, key=lambda run: run["line"]),
            "failure": self._failure(status, chosen),
        }

    def _candidate(self, stripped: str, head: str, number: int) -> bool:
        """Handle a line that may be a result line; returns whether a JSON object is open."""
        if head == _MARK_HEAD and stripped.startswith(MARK):
            self._failures.marker(stripped)
            return False
        if head == "name" and stripped.startswith("Namespace(") and type_hint(stripped) == SERVING:
            requested = _NUM_PROMPTS.search(stripped)
            if requested:
                self._text.requested(int(requested[1]))
        if head[:1] == "{":
            self._json.start(stripped, number)
            return self._json.open
        self._text.line(clean(stripped), number)
        return False

    def _finished(self, block: Block) -> None:
        run = block.as_run()
        self._runs.append(run)
        if self._wanted is not None and block.benchmark_type != self._wanted:
            return
        latest = self._complete if run["status"] == OK else self._partial
        if latest is None or block.line >= latest.line:
            if run["status"] == OK:
                self._complete = block
            else:
                self._partial = block

    def _benchmark_type(self, chosen: Block | None) -> str | None:
        if self._wanted is not None:
            return self._wanted
        if chosen is not None:
            return chosen.benchmark_type
        return self._hint

    def _failure(self, status: str, chosen: Block | None) -> dict[str, str] | None:
        if status == OK:
            assert chosen is not None
            return self._requests_failed(chosen)
        found = self._failures.failure()
        if found is None and status == FAILED:
            evidence = "\n".join(self._failures.tail) or "empty log"
            found = failures.Failure(failures.NO_METRICS, evidence).as_dict()
        return found

    def _requests_failed(self, block: Block) -> dict[str, str] | None:
        """``requests_failed`` when a complete result shows that all or most requests failed.

        Without a failed count (vLLM before 2025-10 left failed requests out of
        its result), the requests that did not complete out of ``num_prompts`` count.
        """
        metrics = block.metrics
        completed = metrics.get("completed")
        if completed is None:
            return None
        failed = metrics.get("failed")
        inferred = failed is None and block.requested is not None
        if inferred:
            failed = max(block.requested - completed, 0)
        if completed > 0 and (failed or 0) <= completed:
            return None
        rows = [
            quote(block.quotes.get(key, f'"{key}": {metrics[key]}'))
            for key in ("completed", "failed")
            if key in metrics
        ]
        if inferred:
            rows.append(
                f"num_prompts={block.requested}: {failed} requests did not complete "
                "(this vLLM version prints no failed count)"
            )
        logged = self._failures.evidence(failures.REQUESTS_FAILED)
        evidence = "\n".join(list(dict.fromkeys(rows + logged))[:EVIDENCE_LINES])
        return failures.Failure(failures.REQUESTS_FAILED, evidence).as_dict()


def _hint_in(stripped: str, line: str) -> str | None:
    """The benchmark type a line names; runner annotations and vLLM's log lines (whose
    request logs quote any prompt) name none."""
    if stripped.startswith(MARK) or log_level(line) is not None:
        return None
    return type_hint(stripped)
