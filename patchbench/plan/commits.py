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
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
    suffix = path.suffix.lower()
    if suffix not in (".json", ".csv", ".tsv", ".txt"):
        raise CommitTableError(f"{path}: unknown commit table type (use .json, .csv or .tsv)")
    try:
        text = path.read_text(encoding="utf-8-sig")  # a byte-order mark is not part of the first column's name
    except FileNotFoundError:
        raise CommitTableError(f"{path}: commit table not found") from None
    except UnicodeDecodeError as exc:
        raise CommitTableError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise CommitTableError(f"{path}: cannot read the commit table: {exc.strerror}") from None
    rows = _json_rows(path, text) if suffix == ".json" else _sheet_rows(path, text)
    records = [_record(path, where, row) for where, row in rows]
    if not records:
        raise CommitTableError(f"{path}: the commit table lists no commits")
    _reject_duplicates(path, records)
    return records


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    for key in keys:
        if keys.count(key) > 1:
            raise ValueError(f"key {key!r} appears twice in one object (JSON keeps only the last)")
    return dict(pairs)


def _json_rows(path: Path, text: str) -> Iterable[tuple[str, dict[str, Any]]]:
    try:
        data = json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        raise CommitTableError(f"{path}: invalid JSON at line {exc.lineno}: {exc.msg}") from None
    except ValueError as exc:
        raise CommitTableError(f"{path}: {exc}") from None
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
    """Rows of a CSV/TSV sheet: column names matched regardless of case, a quoted cell may span lines."""
    delimiter = "\t" if path.suffix.lower() == ".tsv" or "\t" in text.partition("\n")[0] else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows = []
    try:
        header = [name.strip().lower() for name in next(reader, [])]
        if not any(k in header for k in _COMMIT_KEYS):
            raise CommitTableError(f"{path}: the sheet needs a 'commit' column")
        start = reader.line_num + 1
        for cells in reader:
            where = f"line {start}"
            start = reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue  # a blank line
            if len(cells) > len(header):
                raise CommitTableError(
                    f"{path}: {where}: {len(cells)} cells under {len(header)} columns (an unquoted {delimiter!r}?)"
                )
            rows.append((where, dict(zip(header, cells))))
    except csv.Error as exc:
        raise CommitTableError(f"{path}: line {reader.line_num}: {exc} (a quote that never closes?)") from None
    return rows


def _values(row: dict[str, Any], keys: Iterable[str], where: str) -> list[tuple[str, str]]:
    """The non-empty text values of ``keys`` in ``row``; anything but text is an error, never str()-ed."""
    found = []
    for key in keys:
        value = row.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise ValueError(f"{where}: {key} is {type(value).__name__} {value!r}, expected text")
        if value.strip():
            found.append((key, value.strip()))
    return found


def _first(row: dict[str, Any], keys: Iterable[str], where: str) -> str | None:
    found = _values(row, keys, where)
    return found[0][1] if found else None


def _sha(row: dict[str, Any], keys: tuple[str, ...], where: str, name: str) -> str | None:
    """The SHA that the alias columns ``keys`` give; they may differ in length, never in what they name."""
    found = _values(row, keys, where)
    for key, value in found:
        if not _HEX.match(value):
            raise ValueError(f"{where}: {name} {value!r} ({key}) is not a 7-40 digit hex SHA")
    shas = sorted({value.lower() for _, value in found}, key=len)
    for short, long in zip(shas, shas[1:]):
        if not long.startswith(short):
            raise ValueError(f"{where}: the {name} columns disagree: " + ", ".join(f"{k}={v}" for k, v in found))
    return shas[-1] if shas else None


def _record(path: Path, where: str, row: dict[str, Any]) -> CommitRecord:
    try:
        commit = _sha(row, _COMMIT_KEYS, where, "commit")
        if commit is None:
            raise ValueError(f"{where}: commit None is not a 7-40 digit hex SHA")
        parent = _sha(row, _PARENT_KEYS, where, "parent_commit")
        if parent is not None and (parent.startswith(commit) or commit.startswith(parent)):
            raise ValueError(f"{where}: commit {commit} is its own parent_commit")
        known = set(_COMMIT_KEYS + _PARENT_KEYS + _TYPE_KEYS) | {"perf_command", "model", "original_model"}
        return CommitRecord(
            commit=commit,
            parent=parent,
            perf_command=_first(row, ("perf_command",), where),
            model=_first(row, ("model",), where),
            benchmark_hint=_first(row, _TYPE_KEYS, where),
            original_model=_first(row, ("original_model",), where),
            extra={k: v for k, v in row.items() if k not in known},
        )
    except ValueError as exc:
        raise CommitTableError(f"{path}: {exc}") from None


def _reject_duplicates(path: Path, records: list[CommitRecord]) -> None:
    """One commit listed twice, by the same SHA or by a short and a full one."""
    shas = sorted(record.commit for record in records)
    for first, second in zip(shas, shas[1:]):
        if second.startswith(first):
            twice = first if first == second else f"{first} (also as {second})"
            raise CommitTableError(f"{path}: commit {twice} is listed twice")
