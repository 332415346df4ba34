"""Turn a log of any size or shape into bounded batches of lines.

A run.log can be empty, binary, not UTF-8, a gigabyte long, or one endless line
(a runaway progress bar). Reading it must never hold the whole file, nor a whole
line, in memory: text is decoded in chunks, each line is capped, and lines are
handed on in batches so the scanner's per-line loop stays tight.

``\\r`` ends a line too (tqdm redraws a bar with ``\\r``, so a bar and the
table header can share one physical line), but line numbers count physical
lines (``\\n``), the way an editor or ``sed -n`` shows them.
"""

from __future__ import annotations

import codecs
import os
import re
from dataclasses import dataclass
from typing import BinaryIO, Iterable, Iterator

CHUNK_BYTES = 1 << 20
# An ordinary line keeps its first 64 KiB; nothing vLLM prints is longer.
MAX_LINE_CHARS = 64 * 1024
# A line that opens a JSON object may be a whole --save-result file on one line
# (per-request arrays included), so it may grow this far before it is cut.
MAX_JSON_LINE_CHARS = 32 * 1024 * 1024

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# "(APIServer pid=12)", "(EngineCore_DP0 pid=3)", "(VllmWorker rank=0 pid=7)",
# "(RayWorkerWrapper pid=5, ip=10.0.0.1)": the prefix vLLM puts on a child's lines.
_PROCESS_PREFIX = re.compile(r"\((?:[\w.-]+)(?:[ ,]+[\w.-]+=[^)\s,]*)+\)\s*")
# "ERROR 01-02 03:04:05 [core.py:12] " (2025+) or "INFO 01-02 03:04:05 llm_engine.py:161] " (older).
_LOG_PREFIX = re.compile(
    r"(?P<level>DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL)\s+\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?\s+(?:\[[^\]]*\]|\S+\])\s?"
)
# Comment markers, quotes and indentation that people and tools put before a line.
DECORATION = " \t#/>$*"


@dataclass(frozen=True)
class Batch:
    """Consecutive lines of a log and where they came from.

    ``numbers`` is only built when ``\\r`` split a physical line (rare), so the
    common case pays nothing for line numbers it will almost never ask for.
    """

    lines: list[str]
    text: str
    first_number: int
    numbers: list[int] | None = None

    def number(self, index: int) -> int:
        """The 1-based physical line number of ``lines[index]``."""
        return self.numbers[index] if self.numbers is not None else self.first_number + index


def strip_ansi(text: str) -> str:
    """Text without terminal colour codes."""
    return _ANSI.sub("", text) if "\x1b" in text else text


def strip_process_prefix(line: str) -> str:
    """The line without a leading ``(APIServer pid=…)``-style process tag."""
    match = _PROCESS_PREFIX.match(line) if line.startswith("(") else None
    return line[match.end() :] if match else line


def log_level(line: str) -> str | None:
    """The vLLM logger level of a line (``"WARNING"`` …), or None if it is not a logger line."""
    match = _LOG_PREFIX.match(strip_process_prefix(line))
    return match["level"] if match else None


def strip_log_prefix(line: str) -> str:
    """The message part of a line: process tag and vLLM logger prefix removed."""
    line = strip_process_prefix(line)
    match = _LOG_PREFIX.match(line)
    return line[match.end() :] if match else line


def clean(line: str) -> str:
    """A line as vLLM printed it: colours, comment markers and indentation removed."""
    return strip_ansi(line).strip().lstrip(DECORATION)


def _cap(line: str) -> str:
    limit = MAX_JSON_LINE_CHARS if line.lstrip()[:1] == "{" else MAX_LINE_CHARS
    return line if len(line) <= limit else line[:limit]


class _PartialLine:
    """The unfinished last line of the text read so far, kept within its cap."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._size = 0
        self._limit = MAX_LINE_CHARS

    def add(self, text: str) -> None:
        if not self._parts:
            self._limit = MAX_JSON_LINE_CHARS if text.lstrip()[:1] == "{" else MAX_LINE_CHARS
        room = self._limit - self._size
        if room > 0 and text:
            piece = text[:room]
            self._parts.append(piece)
            self._size += len(piece)

    def finish(self, text: str) -> str:
        """The kept start of the line followed by ``text``, the rest of its chunk.

        Only the piece of ``text`` up to its first ``\\r`` continues the kept
        start; later pieces are lines of their own and are capped on their own.
        """
        if not self._parts:
            return text
        head, separator, rest = text.partition("\r")
        self.add(head)
        line = "".join(self._parts) + separator + rest
        self._parts, self._size = [], 0
        return line

    def __bool__(self) -> bool:
        return bool(self._parts)


def batches_from_text(chunks: Iterable[str]) -> Iterator[Batch]:
    """Batches of capped lines from a stream of text chunks of any size.

    A line ends at ``\\n`` or ``\\r``, so the cap applies to each piece of a
    physical line that tqdm redrew ten thousand times, and a table title glued
    after those redraws survives.
    """
    partial = _PartialLine()
    number = 1
    for chunk in chunks:
        if "\r\n" in chunk:
            chunk = chunk.replace("\r\n", "\n")
        cut = max(chunk.rfind("\n"), chunk.rfind("\r"))
        if cut < 0:
            partial.add(chunk)
            continue
        lines = chunk[:cut].split("\n")
        lines[0] = partial.finish(lines[0])
        partial.add(chunk[cut + 1 :])
        yield _batch(lines, number)
        # After a final "\r" the last physical line goes on in the next chunk.
        number += len(lines) - (chunk[cut] == "\r")
    if partial:
        yield _batch([partial.finish("")], number)


def _batch(lines: list[str], first_number: int) -> Batch:
    text = "\n".join(lines)
    if "\r" not in text:
        if len(text) > MAX_LINE_CHARS and max(map(len, lines)) > MAX_LINE_CHARS:
            lines = [_cap(line) for line in lines]
        return Batch(lines, text, first_number)
    pieces: list[str] = []
    numbers: list[int] = []
    for offset, line in enumerate(lines):
        parts = [_cap(part) for part in line.split("\r")] if "\r" in line else [_cap(line)]
        pieces.extend(parts)
        numbers.extend([first_number + offset] * len(parts))
    return Batch(pieces, text, first_number, numbers)


def text_from_binary(stream: BinaryIO) -> Iterator[str]:
    """Decoded text chunks; bytes that are not UTF-8 become U+FFFD."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    while raw := stream.read(CHUNK_BYTES):
        yield decoder.decode(raw)
    yield decoder.decode(b"", final=True)


def text_from_lines(lines: Iterable[str]) -> Iterator[str]:
    """Text chunks from lines given one by one (with or without their newline)."""
    pending: list[str] = []
    size = 0
    for line in lines:
        if len(line) > MAX_JSON_LINE_CHARS:
            line = line[:MAX_JSON_LINE_CHARS]
        pending.append(line if line.endswith("\n") else line + "\n")
        size += len(line)
        if size >= CHUNK_BYTES:
            yield "".join(pending)
            pending, size = [], 0
    if pending:
        yield "".join(pending)


def batches_from_file(path: str | os.PathLike[str]) -> Iterator[Batch]:
    """Batches of lines of the file at ``path``, streamed."""
    with open(path, "rb") as stream:
        yield from batches_from_text(text_from_binary(stream))
