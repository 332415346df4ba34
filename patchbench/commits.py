"""The commit table: which commits a suite benchmarks, read from any sheet users have.

Three shapes are accepted as they are found in the wild:

* the ISO-Bench ``benchmark_mode_mapping.json`` (an object keyed by short commit),
* the ISO-Bench ``baseline_benchmark_mapping_complete.json`` (a list of records
  with ``human_commit_full``/``human_commit_short``),
* a plain CSV or TSV sheet with at least a ``commit`` column.

Missing values (JSON ``null``, empty cells) become ``None``: deciding what a
missing parent or command means is the planner's job, not the reader's.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

_HEX = re.compile(r"^[0-9a-fA-F]{7,40}$")

# Column aliases, first match wins: ISO-Bench files and hand-made sheets name
# the same thing differently.
_COMMIT_KEYS = ("commit_full", "human_commit_full", "commit", "commit_hash", "human_commit_short")
_PARENT_KEYS = ("parent_commit", "parent", "pre")
_TYPE_KEYS = ("benchmark_type", "benchmark_mode")


class CommitTableError(ValueError):
    """A commit table that cannot be read; the message names the file and entry."""


@dataclass(frozen=True)
class CommitRecord:
    """One row of the commit table, normalised but not interpreted."""

    commit: str
    parent: str | None = None
    perf_command: str | None = None
    model: str | None = None
    benchmark_hint: str | None = None
    original_model: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def short(self) -> str:
        return self.commit[:8]


def read_commit_table(path: str | Path) -> list[CommitRecord]:
    """Read a commit table in any supported shape, in file order."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CommitTableError(f"{path}: commit table not found") from None
    except UnicodeDecodeError as exc:
        raise CommitTableError(f"{path}: not UTF-8 text ({exc.reason})") from None
    if path.suffix.lower() == ".json":
        rows = _json_rows(path, text)
    elif path.suffix.lower() in (".csv", ".tsv", ".txt"):
        rows = _sheet_rows(path, text)
    else:
        raise CommitTableError(f"{path}: unknown commit table type (use .json, .csv or .tsv)")
    records = [_record(path, where, row) for where, row in rows]
    _reject_duplicates(path, records)
    return records


def _json_rows(path: Path, text: str) -> Iterable[tuple[str, dict[str, Any]]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommitTableError(f"{path}: invalid JSON at line {exc.lineno}: {exc.msg}") from None
    if isinstance(data, dict):
        rows = []
        for key, entry in data.items():
            if not isinstance(entry, dict):
                raise CommitTableError(f"{path}: entry {key!r} is not an object")
            rows.append((f"entry {key!r}", {"commit": key, **entry}))
        return rows
    if isinstance(data, list):
        for i, entry in enumerate(data):
            if not isinstance(entry, dict):
                raise CommitTableError(f"{path}: item {i} is not an object")
        return [(f"item {i}", entry) for i, entry in enumerate(data)]
    raise CommitTableError(f"{path}: expected a JSON object or list of commits")


def _sheet_rows(path: Path, text: str) -> Iterable[tuple[str, dict[str, Any]]]:
    delimiter = "\t" if path.suffix.lower() == ".tsv" or "\t" in text.partition("\n")[0] else ","
    reader = csv.DictReader(text.splitlines(), delimiter=delimiter)
    if not reader.fieldnames or not any(k in reader.fieldnames for k in _COMMIT_KEYS):
        raise CommitTableError(f"{path}: the sheet needs a 'commit' column")
    return [(f"line {i + 2}", row) for i, row in enumerate(reader)]


def _first(row: dict[str, Any], keys: Iterable[str]) -> str | None:
    for key in keys:
        value = row.get(key)
        if isinstance(value, str):
            value = value.strip()
        if value not in (None, ""):
            return str(value)
    return None


def _record(path: Path, where: str, row: dict[str, Any]) -> CommitRecord:
    commit = _first(row, _COMMIT_KEYS)
    if commit is None or not _HEX.match(commit):
        raise CommitTableError(f"{path}: {where}: commit {commit!r} is not a 7-40 digit hex SHA")
    parent = _first(row, _PARENT_KEYS)
    if parent is not None and not _HEX.match(parent):
        raise CommitTableError(f"{path}: {where}: parent_commit {parent!r} is not a hex SHA")
    known = set(_COMMIT_KEYS + _PARENT_KEYS + _TYPE_KEYS) | {"perf_command", "model", "original_model"}
    return CommitRecord(
        commit=commit.lower(),
        parent=parent.lower() if parent else None,
        perf_command=_first(row, ("perf_command",)),
        model=_first(row, ("model",)),
        benchmark_hint=_first(row, _TYPE_KEYS),
        original_model=_first(row, ("original_model",)),
        extra={k: v for k, v in row.items() if k not in known},
    )


def _reject_duplicates(path: Path, records: list[CommitRecord]) -> None:
    seen: set[str] = set()
    for record in records:
        if record.commit in seen:
            raise CommitTableError(f"{path}: commit {record.commit} is listed twice")
        seen.add(record.commit)
