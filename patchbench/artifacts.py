"""The files stages hand each other: written atomically, versioned, named by their content.

A target exists complete or not at all, even if we are killed. Every JSON
artifact carries ``format_version`` (``summary.csv`` a column of that name):
a reader refuses a format it does not know, older or newer, with what to do
about it, instead of guessing from which keys happen to be there. A file
from before versioning (no ``format_version``) is format 1.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# The format each artifact (by its name in the layout) is written in now; bump one when its meaning changes.
FORMATS = {
    "revisions.json": 2,
    "spec.json": 2,
    "image.tag": 2,
    "metrics.json": 2,
    "summary.csv": 2,
}
UNVERSIONED = 1
# Which job writes each artifact, to say how to rebuild an old one.
_WRITERS = {"revisions.json": "revisions", "spec.json": "spec", "image.tag": "image", "metrics.json": "metrics"}


class FormatError(ValueError):
    """An artifact in a format this patchbench does not read; the message says what to do."""


def check_format(path: str | Path, kind: str, found: object) -> None:
    """Refuse ``found`` (the format version of ``path``, a ``kind`` artifact) unless this patchbench writes it."""
    name = kind
    expected = FORMATS[name]
    if found == expected:
        return
    if isinstance(found, int) and found > expected:
        advice = "it was written by a newer patchbench: upgrade patchbench to read it"
    else:
        rule = _WRITERS.get(name)
        rebuild = f"snakemake --forcerun {rule}" if rule else "rerun the workflow's summary rule"
        advice = f"it was written by an older patchbench: rebuild it ({rebuild}), or delete the suite's results"
    raise FormatError(f"{path}: format {found}, but this patchbench reads format {expected} of {name}; {advice}")


def write_artifact(path: str | Path, kind: str, data: dict[str, Any]) -> None:
    """Write a JSON artifact of ``kind`` (its name in the layout, e.g. ``image.tag``) with its format version."""
    write_json(path, {"format_version": FORMATS[kind], **data})


def read_artifact(path: str | Path, kind: str) -> dict[str, Any]:
    """A JSON artifact of ``kind``, once its format version is the one this patchbench reads."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    check_format(path, kind, data.get("format_version", UNVERSIONED) if isinstance(data, dict) else None)
    return data


def write_bytes(path: str | Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: str | Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_json(path: str | Path, data: Any) -> None:
    write_text(path, json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n")


@contextlib.contextmanager
def exclusive(lock: str | Path) -> Iterator[None]:
    """Hold an exclusive ``fcntl`` lock on the file ``lock`` (made if missing): jobs that run in
    parallel processes and update one shared thing take turns; the lock dies with its holder."""
    path = Path(lock)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def file_sha256(path: Path) -> str:
    """The file's sha256, read in chunks: a .sif image can be tens of GB."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
