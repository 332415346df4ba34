"""Patch candidates: every patch file each kind of source holds, matched to the table's commits.

A commit matches a table commit by full SHA or by an unambiguous prefix of at least 7 digits.

Only directory listings and small JSON files are read (cheap enough for
Snakemake's parse); the network is used only to download an ``hf_dataset``
that is not cached yet (``hub``).
"""

from __future__ import annotations

import bisect
import json
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from patchbench.sources.hub import PATCH_NAME, dataset_root
from patchbench.sources.kinds import SourceError, source_label

log = logging.getLogger(__name__)

_SHA = re.compile(r"^[0-9a-f]{7,40}$")


_STAMP = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[T_ ](\d{2})[-:](\d{2})[-:](\d{2})")

FILE_TIME = "file mtime"  # the origin of a time read off the patch file, the last resort


@dataclass(frozen=True)
class PatchCandidate:
    """One patch file found for a commit, with where it came from and when it was made."""

    commit: str
    path: Path
    source: str  # short label, e.g. "diff_dir:demo/agents/alpha"
    timestamp: str | None  # "YYYY-MM-DDTHH:MM:SS", the key of "newest run wins"
    empty: bool
    timestamp_origin: str = ""  # where the timestamp was read, so a choice can be explained


class CommitIndex:
    """Resolves a SHA or prefix found in a source to the table's commit."""

    def __init__(self, commits: list[str]) -> None:
        # Sorted for prefix ranges, a set for shorter table keys: linear in the
        # table, where a scan per patch was quadratic (paid by every cluster job).
        self.sorted = sorted(commits)
        self.known = set(commits)

    def resolve(self, key: str, where: str) -> str | None:
        """The table commit ``key`` names, or None; an ambiguous prefix is a warning."""
        key = key.strip().lower()
        if not _SHA.match(key):
            return None
        # Either side may be the short one: tables keyed by 8 digits meet full-SHA patches.
        start = bisect.bisect_left(self.sorted, key)
        longer = self.sorted[start : bisect.bisect_left(self.sorted, key + "g")]  # "g" sorts after every hex digit
        shorter = [key[:n] for n in range(7, len(key)) if key[:n] in self.known]
        matches = list(dict.fromkeys(longer + shorter))
        if len(matches) > 1:
            log.warning("%s: %s matches several commits (%s); skipped", where, key, ", ".join(matches))
            return None
        return matches[0] if matches else None


def candidates(source: dict[str, Any], index: CommitIndex, base: Path) -> Iterator[PatchCandidate]:
    label = source_label(source)
    if source["kind"] == "diff_dir":
        yield from _diff_dir_candidates(base / source["path"], label, index)
    elif source["kind"] == "trajectories":
        yield from _trajectory_candidates(dataset_root(source, base), source.get("repo"), label, index)
    else:
        yield from _run_candidates(base / source["path"], source, label, index)


def _diff_dir_candidates(directory: Path, label: str, index: CommitIndex) -> Iterator[PatchCandidate]:
    for path in _listing(directory, label, files=True):
        if path.suffix == ".diff" and _SHA.match(path.stem.lower()):
            commit = index.resolve(path.stem, f"{label}: {path.name}")
            if commit:
                yield _candidate(commit, path, label, None, "")
        elif path.suffix.lower() in (".diff", ".patch"):
            # Looks like a patch, but no commit can be read from its name: say so, or it is a silent missing_patch.
            log.warning("%s: ignored %s: patch files are named <commit>.diff (7 to 40 hex digits)", label, path.name)


def _trajectory_candidates(root: Path, repo: str | None, label: str, index: CommitIndex) -> Iterator[PatchCandidate]:
    metadata = _json_object_or_warn(root / "metadata.json", label)
    created = _stamp(metadata.get("created"))
    for repo_dir in _pick(root, repo, label):
        run_dates = _run_dates(metadata, repo_dir.name)
        for item in _listing(repo_dir, label):
            patch = item / PATCH_NAME
            if not patch.is_file():
                continue
            recorded, summary_stamp, problems = _read_item(item)
            # Folders are named by commit; one named otherwise falls back to its JSON.
            key = item.name if _SHA.match(item.name.lower()) else recorded
            if key is None:
                log.warning("%s: skipped %s: %s", label, item, "; ".join(problems))
                continue
            commit = index.resolve(key, f"{label}: {item}")
            if commit is None:
                continue  # a commit this suite does not benchmark
            stamp, origin = _first_stamp(
                (summary_stamp, "run_summary.json meta.timestamp"),
                (_stamp(run_dates.get(item.name)), "metadata.json run_date"),
                (created, "metadata.json created"),
            )
            yield _candidate(commit, patch, label, stamp, origin)


def _run_candidates(root: Path, source: dict[str, Any], label: str, index: CommitIndex) -> Iterator[PatchCandidate]:
    for repo_dir in _pick(root, source.get("repo"), label):
        for agent_dir in _pick(repo_dir, source.get("agent"), label):
            for model_dir in _pick(agent_dir, source.get("model"), label):
                for run_dir in _listing(model_dir, label):
                    for item in _listing(run_dir, label):
                        patch = item / PATCH_NAME
                        if not patch.is_file():
                            continue  # the agent produced nothing here
                        recorded, summary_stamp, problems = _read_item(item)
                        if recorded is None:
                            log.warning("%s: skipped %s: %s", label, item, "; ".join(problems))
                            continue
                        commit = index.resolve(recorded, f"{label}: {item}")
                        if commit is None:
                            continue  # a commit this suite does not benchmark
                        stamp, origin = _first_stamp(
                            (_stamp(run_dir.name), "run directory name"),
                            (summary_stamp, "run_summary.json meta.timestamp"),
                        )
                        yield _candidate(commit, patch, label, stamp, origin)


def _candidate(commit: str, patch: Path, label: str, stamp: str | None, origin: str) -> PatchCandidate:
    if stamp is None:
        stamp, origin = _mtime_stamp(patch), FILE_TIME
    return PatchCandidate(commit, patch, label, stamp, _is_blank(patch), origin)


def _listing(directory: Path, label: str, files: bool = False) -> list[Path]:
    """Sorted subdirectories (or files) of ``directory``; a missing one is a warning."""
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        log.warning("%s: %s does not exist", label, directory)
        return []
    except NotADirectoryError:
        log.warning("%s: %s is not a directory", label, directory)
        return []
    return sorted(Path(e.path) for e in entries if (e.is_file() if files else e.is_dir()))


def _pick(parent: Path, name: str | None, label: str) -> list[Path]:
    """The one subfolder a source names, or all of them when it names none."""
    if name is None:
        return _listing(parent, label)
    if (parent / name).is_dir():
        return [parent / name]
    log.warning("%s: no folder %r in %s", label, name, parent)
    return []


class _Unreadable(ValueError):
    """A JSON file that is there but cannot be used; the message says why, for the skip warning."""


def _json_object(path: Path) -> dict[str, Any]:
    """The file's JSON object; ``{}`` when there is no file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _Unreadable(f"{path.name} is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise _Unreadable(f"{path.name} is not a JSON object")
    return data


def _json_object_or_warn(path: Path, label: str) -> dict[str, Any]:
    try:
        return _json_object(path)
    except _Unreadable as exc:
        log.warning("%s: ignored %s: %s", label, path, exc)
        return {}


def _read_item(item: Path) -> tuple[str | None, str | None, list[str]]:
    """``commits.human`` and ``meta.timestamp`` of a run item, and what was wrong when there is no commit.

    ``run_summary.json`` is read first; claude_code runs have only ``journal.json``.
    """
    problems = []
    human, stamp = None, None
    for name in ("run_summary.json", "journal.json"):
        try:
            data = _json_object(item / name)
        except _Unreadable as exc:
            problems.append(str(exc))
            continue
        if not data:
            problems.append(f"no {name}")
            continue
        meta = data.get("meta")
        stamp = stamp or (_stamp(meta.get("timestamp")) if isinstance(meta, dict) else None)
        commits = data.get("commits")
        value = commits.get("human") if isinstance(commits, dict) else None
        if isinstance(value, str) and value.strip():
            human = value.strip()
            break
        problems.append(f"{name} has no commits.human")
    return human, stamp, problems


def _run_dates(metadata: dict[str, Any], repo: str) -> dict[str, Any]:
    """Commit folder -> ``run_date`` from the dataset's ``metadata.json`` (``data.<repo>[]``)."""
    data = metadata.get("data")
    entries = data.get(repo) if isinstance(data, dict) else None
    if not isinstance(entries, list):
        return {}
    return {str(e["commit"]): e.get("run_date") for e in entries if isinstance(e, dict) and "commit" in e}


def _stamp(value: Any) -> str | None:
    """``YYYY-MM-DDTHH:MM:SS`` from a run directory name (``2025-01-02_03-04-05``) or an ISO time."""
    match = _STAMP.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        return None
    year, month, day, hour, minute, second = match.groups()
    return f"{year}-{month}-{day}T{hour}:{minute}:{second}"


def _first_stamp(*options: tuple[str | None, str]) -> tuple[str | None, str]:
    return next(((stamp, origin) for stamp, origin in options if stamp), (None, ""))


def _mtime_stamp(path: Path) -> str:
    # Local time, like the run directory names it is compared with.
    return datetime.fromtimestamp(path.stat().st_mtime).strftime("%Y-%m-%dT%H:%M:%S")


def _is_blank(path: Path) -> bool:
    """True for an empty or whitespace-only file; stops at the first real byte, so it is cheap."""
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 16):
                if chunk.strip():
                    return False
    except OSError as exc:
        raise SourceError(f"cannot read the patch file {path}: {exc.strerror}") from None
    return True
