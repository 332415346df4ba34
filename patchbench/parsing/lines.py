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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from patchbench.parsing.squash import ArraySquasher, squash

CHUNK_BYTES = 1 << 20
# An ordinary line keeps its first 64 KiB; nothing vLLM prints is longer.
MAX_LINE_CHARS = 64 * 1024
# A line that opens a JSON object may be a whole --save-result file on one line
# (per-request arrays included). Its arrays are dropped as it is read (see
# ``squash``), and what is left may grow this far before it is cut.
MAX_JSON_LINE_CHARS = 32 * 1024 * 1024

# Terminal escapes: colours and cursor moves (CSI), character-set switches
# ("\x1b(B" of tput sgr0), and the string sequences CI
# systems put in saved logs (OSC titles and links; Buildkite's "\x1b_bk;t=…\x07"
# timestamps are APC), each ended by BEL or ST.
_ANSI = re.compile(r"\x1b(?:\[[0-9;?]*[A-Za-z]|[()][0-9A-Za-z]|[\]_P^][^\x07\x1b]*(?:\x07|\x1b\\)?)")
# A process tag: what vLLM puts before a child's lines ("(APIServer pid=12) ",
# "(EngineCore_DP0 pid=3) ", "(VllmWorker rank=0 pid=7) "), and what Ray and SkyPilot put
# before every line they forward: Ray's "(pid=45601) ", "(<task or actor> pid=5, ip=10.0.0.1) "
# (a Serve replica "(ServeReplica:app:Deployment pid=9) ", a Data worker
# "(MapWorker(MapBatches(Udf)) pid=3) "), SkyPilot's "(task, pid=25491) ",
# "(head, rank=0, pid=18260) ", "(worker1, rank=1, ip=10.0.0.2, pid=13566) ". Both colour it on
# a terminal. A tag always names a pid, which ordinary text in parentheses ("(venv) ",
# "(before) ") does not; tags can nest (a Ray task inside a SkyPilot task). One space after
# it is removed, so the indentation of a traceback's frames stays.
_SGR = r"(?:\x1b\[[0-9;]*m)*"
_TAG_NAME = r"[^\s()=,]*[^\s()=,:](?:\((?:[^()]|\([^()]*\))*\))?"
_TAG_PAIR = r"\w+=[^\s(),]+"
_PROCESS_TAG = rf"{_SGR}\((?:{_TAG_NAME},? )?(?:{_TAG_PAIR},? )*pid=\d+(?:,? {_TAG_PAIR})*\){_SGR} ?"
_PROCESS_PREFIX = re.compile(f"(?:{_PROCESS_TAG})+")
# Only lines starting with one of these are tried (a coloured tag starts with its escape).
PROCESS_TAG_STARTS = frozenset("(\x1b")
# Tags are looked for in this many first characters: real ones (nested, coloured) are far
# shorter, and a long line of garbage that starts with "(" stays cheap.
_MAX_TAGS_CHARS = 512
# vLLM's log levels: a tag followed by one ("(APIServer pid=7) INFO …") starts a log line.
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "WARN", "ERROR", "CRITICAL")
# "ERROR 01-02 03:04:05 [core.py:12] " (2025+) or "INFO 01-02 03:04:05 llm_engine.py:161] " (older).
_LOG_PREFIX = re.compile(
    rf"(?P<level>{'|'.join(LOG_LEVELS)})\s+\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?\s+(?:\[[^\]]*\]|\S+\])\s?"
)
# Comment markers, quotes and indentation that people and tools put before a line,
# and a byte-order mark (a file saved by a Windows editor, or cat'ed into a log).
DECORATION = " \t#/>$*\ufeff"
# What log collectors put before every line. A time stamp: docker logs -t,
# kubectl logs --timestamps, GitHub Actions ("2025-05-30T20:38:10.1234567Z "),
# a plain "2025-05-30 20:38:10,123 ", or Jenkins' timestamper in brackets
# ("[2025-05-30T20:38:10.123Z] ", "[20:38:10] "); after it, a container
# runtime's node log names the stream ("stdout F ") and Python's logging the
# level ("- INFO - "). kubectl logs --prefix starts with "[pod/name/container] ".
# One separator is removed with it, so the indentation of a traceback's frames stays.
_STAMP = r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?"
_COLLECTOR_PREFIX = re.compile(
    r"(?:\[[a-z]+/[^\]\s]+\] ?)?"  # kubectl logs --prefix
    rf"(?:(?:{_STAMP}|\[(?:{_STAMP}|\d\d:\d\d:\d\d(?:\.\d+)?)\])"
    r"(?: (?:stdout|stderr) [FP](?= |$))?"  # CRI node log: stream, full/partial line
    r"(?: -(?: [\w.]+ -)? (?:DEBUG|INFO|WARNING|ERROR|CRITICAL) -)?"  # Python logging
    r"(?:\s|$))?"
)
# Only lines starting with one of these are tried.
COLLECTOR_STARTS = frozenset("0123456789[")
# docker compose logs: "bench-1  | " (v2) or "bench_1  | " (v1) before every line.
_SERVICE_PREFIX = re.compile(r"[\w.-]+ *\| ")


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
    """The line without its leading process tags (``(APIServer pid=…)``, ``(task, pid=…)``)."""
    match = _PROCESS_PREFIX.match(line, 0, _MAX_TAGS_CHARS) if line[:1] in PROCESS_TAG_STARTS else None
    return line[match.end() :] if match else line


def strip_collector_prefix(line: str) -> str:
    """The line without what a log collector put before it (time stamp, stream, pod)."""
    match = _COLLECTOR_PREFIX.match(line)
    return line[match.end() :] if match else line


def strip_service_prefix(line: str) -> str:
    """The line without docker compose's ``service-1  | `` prefix."""
    match = _SERVICE_PREFIX.match(line)
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


def _opens_object(line: str) -> bool:
    return line.lstrip(DECORATION)[:1] == "{"


def _cap(line: str) -> str:
    if len(line) <= MAX_LINE_CHARS:
        return line
    if _opens_object(line):
        return squash(line)[:MAX_JSON_LINE_CHARS]
    return line[:MAX_LINE_CHARS]


class _PartialLine:
    """The unfinished last line of the text read so far, kept within its cap.

    A line that opens a JSON object is passed through an ``ArraySquasher``, so
    a result file of hundreds of megabytes on one line is held as its summary.
    """

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._size = 0
        self._limit = MAX_LINE_CHARS
        self._squasher: ArraySquasher | None = None

    def add(self, text: str) -> None:
        if not self._parts and self._squasher is None:
            if _opens_object(text):
                self._limit, self._squasher = MAX_JSON_LINE_CHARS, ArraySquasher()
            else:
                self._limit = MAX_LINE_CHARS
        if self._squasher is not None:
            text = self._squasher.feed(text)
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
        self._parts, self._size, self._squasher = [], 0, None
        return line

    def __bool__(self) -> bool:
        return bool(self._parts) or self._squasher is not None


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


def _encoding(start: bytes) -> str:
    """UTF-16 when the text starts with its byte-order mark (PowerShell's ``>`` and
    ``Tee-Object`` write UTF-16LE) and reads as mostly ASCII in it, else UTF-8 (a
    UTF-8 byte-order mark is dropped). Binary garbage that merely starts with
    ``\xff\xfe`` stays UTF-8 with replacement characters."""
    for bom, high_bytes in ((codecs.BOM_UTF16_LE, slice(1, None, 2)), (codecs.BOM_UTF16_BE, slice(0, None, 2))):
        if start.startswith(bom):
            high = start[2:514][high_bytes]
            if high and high.count(0) * 2 >= len(high):
                return "utf-16"
    return "utf-8-sig"


def text_from_binary(stream: BinaryIO) -> Iterator[str]:
    """Decoded text chunks; bytes that are not valid in the encoding become U+FFFD."""
    decoder = None
    while raw := stream.read(CHUNK_BYTES):
        if decoder is None:
            decoder = codecs.getincrementaldecoder(_encoding(raw))(errors="replace")
        yield decoder.decode(raw)
    if decoder is not None:
        yield decoder.decode(b"", final=True)


def text_from_lines(lines: Iterable[str]) -> Iterator[str]:
    """Text chunks from lines given one by one (with or without their newline)."""
    pending: list[str] = []
    size = 0
    for line in lines:
        if len(line) > CHUNK_BYTES:
            # A long line goes on in pieces, so it is capped (or squashed) as it is read.
            if pending:
                yield "".join(pending)
                pending, size = [], 0
            for start in range(0, len(line), CHUNK_BYTES):
                yield line[start : start + CHUNK_BYTES]
            if not line.endswith("\n"):
                yield "\n"
            continue
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
