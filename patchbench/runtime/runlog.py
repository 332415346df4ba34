"""The run.log format: the benchmark's own output plus the runner's annotations.

Annotations are lines starting with ``[patchbench] `` so that the metrics
parser can tell them from vLLM's output. The runner's verdict (``outcome``) is
the last annotation it writes; readers take the last value of each key.

Only the runner writes such lines: a captured output's lines that start with
the mark are written with it defused (``[patchbench]␣`` becomes
``[patchbench?] ``), so code under test cannot forge an annotation, a verdict
or a section of measured output.

A run job's log holds the server's output (serving), the unmeasured warm-up
passes of the client and one section per measured pass, in the order they ran;
a serving client that saves per-request values has them after each measured
section, as one ``requests`` annotation (JSON).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

MARK = "[patchbench] "
SERVER_SECTION = MARK + "--- server output ---"
WARMUP_SECTION = MARK + "--- warm-up output ---"
BENCHMARK_SECTION = MARK + "--- benchmark output ---"
# After each measured pass of a client that saves them: its per-request values (JSON), or why there are none.
REQUESTS_NOTE = "requests"
_COPY_CHUNK = 1 << 20
_MARK = MARK.encode()
_DEFUSED = b"[patchbench?] "


def annotation(key: str, value: object) -> str:
    """One annotation line; newlines in the value are folded so it stays one line."""
    text = str(value).replace("\r", " ").replace("\n", " | ")
    return f"{MARK}{key}: {text}\n"


def read_annotations(path: str | Path) -> dict[str, str]:
    """``key -> value`` of every annotation in a run.log (last wins), streamed."""
    return dict(annotations(path))


def annotations(path: str | Path) -> Iterator[tuple[str, str]]:
    """Every annotation of a run.log as ``(key, value)``, in order, streamed."""
    with open(path, "rb") as handle:
        for raw in handle:
            if raw.startswith(_MARK):
                key, sep, value = raw[len(_MARK) :].decode("utf-8", "replace").partition(": ")
                if sep:
                    yield key.strip(), value.rstrip("\n")


class RunLogWriter:
    """Assemble a run.log in a side file and move it into place only when complete.

    A leg killed half-way therefore never leaves a run.log a later run would trust.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.partial = path.with_name(path.name + ".partial")
        path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = open(self.partial, "wb")

    def note(self, key: str, value: object) -> None:
        self._handle.write(annotation(key, value).encode())
        self._handle.flush()

    def section(self, marker: str, source: Path | None) -> None:
        """Copy a child's captured output into the log under its section marker, marks defused."""
        self._handle.write((marker + "\n").encode())
        if source is not None and source.exists():
            with open(source, "rb") as handle:
                for chunk in _defused(handle):
                    self._handle.write(chunk)

    def commit(self) -> None:
        self._handle.close()
        os.replace(self.partial, self.path)

    def abandon(self) -> None:
        self._handle.close()
        self.partial.unlink(missing_ok=True)


def _defused(handle: BinaryIO) -> Iterator[bytes]:
    """The stream in chunks, every line that starts with the mark defused; it ends in a newline."""
    carry = b""  # a line's start too short yet to tell whether it is the mark
    mid_line = False  # the data goes on with a line whose start was already judged
    last = b"\n"
    while chunk := handle.read(_COPY_CHUNK):
        data = carry + chunk
        if not mid_line and data.startswith(_MARK):
            data = _DEFUSED + data[len(_MARK) :]
        data = data.replace(b"\n" + _MARK, b"\n" + _DEFUSED)
        newline = data.rfind(b"\n")
        tail = data[newline + 1 :]
        starts_line = newline >= 0 or not mid_line  # else the tail goes on with a judged line
        carry = tail if starts_line and len(tail) < len(_MARK) and _MARK.startswith(tail) else b""
        mid_line = bool(tail) and not carry
        data = data[: len(data) - len(carry)]
        if data:
            last = data[-1:]
            yield data
    if carry or last != b"\n":
        yield carry + b"\n"
