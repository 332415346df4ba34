"""The run.log format: the benchmark's own output plus the runner's annotations.

Annotations are lines starting with ``[patchbench] `` so that the metrics
parser can tell them from vLLM's output. The runner's verdict (``outcome``) is
the last annotation it writes; readers take the last value of each key.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

MARK = "[patchbench] "
SERVER_SECTION = MARK + "--- server output ---"
BENCHMARK_SECTION = MARK + "--- benchmark output ---"
_COPY_CHUNK = 1 << 20


def annotation(key: str, value: object) -> str:
    """One annotation line; newlines in the value are folded so it stays one line."""
    text = str(value).replace("\r", " ").replace("\n", " | ")
    return f"{MARK}{key}: {text}\n"


def read_annotations(path: str | Path) -> dict[str, str]:
    """``key -> value`` of every annotation in a run.log (last wins), streamed."""
    found: dict[str, str] = {}
    with open(path, "rb") as handle:
        for raw in handle:
            if raw.startswith(MARK.encode()):
                key, sep, value = raw[len(MARK) :].decode("utf-8", "replace").partition(": ")
                if sep:
                    found[key.strip()] = value.rstrip("\n")
    return found


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
        """Copy a child's captured output into the log under its section marker."""
        self._handle.write((marker + "\n").encode())
        if source is not None and source.exists():
            with open(source, "rb") as handle:
                last = b"\n"
                while chunk := handle.read(_COPY_CHUNK):
                    self._handle.write(chunk)
                    last = chunk[-1:]
                if last != b"\n":
                    self._handle.write(b"\n")

    def lines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self._handle.write((line.rstrip("\n") + "\n").encode())

    def commit(self) -> None:
        self._handle.close()
        os.replace(self.partial, self.path)

    def abandon(self) -> None:
        self._handle.close()
        self.partial.unlink(missing_ok=True)
