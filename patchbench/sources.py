"""Agent patches from every source an agent has, merged into one patch per commit.

Agents' patches turn up in several places, each laid out its own way:

* ``diff_dir``: a directory of ``<commit>.diff`` files, named by full SHA or a prefix;
* ``trajectories``: the ISO-Bench trajectory dataset, ``<root>/<repo>/<commit>/model_patch.diff``
  with ``run_summary.json`` beside it and a ``metadata.json`` at the root, read from a
  local directory or downloaded from the Hugging Face Hub (``hf_dataset``);
* ``runs``: local agent run directories
  ``<runs>/<repo>/<agent>/<model>/<YYYY-MM-DD_HH-MM-SS>/<item_id>/``, whose item ids are
  task names (``vllm_core-0091``): the commit is known only from ``commits.human`` in the
  item's ``run_summary.json``, or in its ``journal.json`` (claude_code runs have no summary).

A commit matches a table commit by full SHA or by an unambiguous prefix of at least 7 digits.

When one commit has several patches, the **newest run wins**. A patch's time is, first found:
the run directory's name (``runs``), ``meta.timestamp`` in ``run_summary.json``, ``run_date``
then ``created`` in the dataset's ``metadata.json`` (``trajectories``), and the patch file's
modification time as the last resort (the only one a ``diff_dir`` has). A recorded time
beats a file time whatever the two say: a file's time is when it was written, copied or
checked out (a ``git clone`` makes every patch "new"), not when the agent ran. Times are
compared to the second as written, without time zones. Equal times go to the source listed
first in the config, then to the first path in sorting order. An empty (or whitespace-only) patch
counts as missing, so an older real patch beats a newer empty one. The choice, its reason
and every other candidate are recorded, for the coverage table and the report.

Only directory listings and small JSON files are read (cheap enough for Snakemake's
parse); the network is used only to download an ``hf_dataset`` that is not cached yet.
"""

from __future__ import annotations

import bisect
import json
import logging
import os
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from patchbench.commits import CommitRecord

log = logging.getLogger(__name__)

PATCH_NAME = "model_patch.diff"
# Per kind: the keys of which a source needs at least one, and the optional ones.
_KEYS = {
    "diff_dir": ({"path"}, set()),
    "trajectories": ({"path", "hf_dataset"}, {"repo"}),
    "runs": ({"path"}, {"repo", "agent", "model"}),
}
KINDS = tuple(_KEYS)
_SHA = re.compile(r"^[0-9a-f]{7,40}$")
_STAMP = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[T_ ](\d{2})[-:](\d{2})[-:](\d{2})")


FILE_TIME = "file mtime"  # the origin of a time read off the patch file, the last resort


class SourceError(ValueError):
    """A source that cannot be used at all (bad config, dataset not obtainable)."""


@dataclass(frozen=True)
class PatchCandidate:
    """One patch file found for a commit, with where it came from and when it was made."""

    commit: str
    path: Path
    source: str  # short label, e.g. "diff_dir:demo/agents/alpha"
    timestamp: str | None  # "YYYY-MM-DDTHH:MM:SS", the key of "newest run wins"
    empty: bool
    timestamp_origin: str = ""  # where the timestamp was read, so a choice can be explained


@dataclass(frozen=True)
class PatchChoice:
    """The patch a commit's agent leg uses, the candidates it beat, and why."""

    commit: str
    chosen: PatchCandidate | None  # None: missing (no patch, or only empty ones)
    others: tuple[PatchCandidate, ...]
    reason: str = ""

    @property
    def status(self) -> str:
        """``patch``, ``empty`` (only empty patches were found) or ``missing``."""
        if self.chosen is not None:
            return "patch"
        return "empty" if self.others else "missing"


def agent_sources(agent: dict[str, Any]) -> list[dict[str, Any]]:
    """An agent's sources in precedence order; the older ``patches: DIR`` key is one ``diff_dir``."""
    sources = list(agent.get("sources") or [])
    if agent.get("patches"):
        sources.insert(0, {"kind": "diff_dir", "path": agent["patches"]})
    return sources


def config_agents(config: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Agent name -> sources, from a suite config's ``agents: [{name, sources | patches}]``.

    Two agents of one name would silently become one (the second's patches
    lost): that is a config error.
    """
    agents: dict[str, list[dict[str, Any]]] = {}
    for agent in config.get("agents") or []:
        if agent["name"] in agents:
            raise SourceError(f"agent {agent['name']!r} is configured twice; give each agent its own name")
        agents[agent["name"]] = agent_sources(agent)
    return agents


def parse_source_arg(text: str) -> dict[str, Any]:
    """The command line's short form of a source.

    ``diff_dir:PATH``, ``trajectories:PATH[:REPO]``, ``runs:PATH[:REPO[:AGENT[:MODEL]]]``.
    """
    kind, _, rest = text.partition(":")
    if kind not in KINDS or not rest:
        raise SourceError(f"{text!r}: expected diff_dir:PATH, trajectories:PATH[:REPO] or runs:PATH[:REPO[:AGENT[:MODEL]]]")
    if kind == "diff_dir":
        return {"kind": kind, "path": rest}
    names = ("path", "repo") if kind == "trajectories" else ("path", "repo", "agent", "model")
    parts = rest.split(":")
    if len(parts) > len(names):
        raise SourceError(f"{text!r}: too many ':' parts for a {kind} source")
    return {"kind": kind, **{name: part for name, part in zip(names, parts) if part}}


def collect(sources: list[dict[str, Any]], records: list[CommitRecord], base_dir: Path = Path(".")) -> dict[str, PatchChoice]:
    """Every commit of the table -> its chosen patch (or none), from ``sources`` in precedence order.

    Relative paths in sources are taken from ``base_dir``. A source that is not there
    (yet) is a warning, not an error: coverage then shows what it did not provide.
    """
    index = _CommitIndex([record.commit for record in records])
    found: dict[str, list[tuple[int, PatchCandidate]]] = {record.commit: [] for record in records}
    for position, source in enumerate(sources):
        for candidate in _candidates(source, index, Path(base_dir)):
            found[candidate.commit].append((position, candidate))
    return {commit: _choose(commit, _ranked(candidates)) for commit, candidates in found.items()}


def coverage(agents: dict[str, dict[str, PatchChoice]]) -> list[dict[str, Any]]:
    """One row per agent and commit: status, the chosen source and path, and the other candidates."""
    rows = []
    for agent, choices in agents.items():
        for commit, choice in choices.items():
            chosen = choice.chosen
            rows.append(
                {
                    "agent": agent,
                    "commit": commit,
                    "status": choice.status,
                    "source": chosen.source if chosen else "",
                    "path": str(chosen.path) if chosen else "",
                    "timestamp": chosen.timestamp if chosen else None,
                    "reason": choice.reason,
                    "others": [_candidate_dict(other) for other in choice.others],
                }
            )
    return rows


def format_coverage(rows: list[dict[str, Any]], labels: dict[str, list[str]] | None = None) -> str:
    """Coverage rows as text for people: per agent the share covered, per source, missing, conflicts.

    ``labels`` (agent -> its sources' labels) lists sources that found nothing too,
    which is how a mistyped path shows.
    """
    lines: list[str] = []
    for agent in dict.fromkeys(row["agent"] for row in rows):
        mine = [row for row in rows if row["agent"] == agent]
        covered = [row for row in mine if row["status"] == "patch"]
        lines.append(f"agent {agent}: {len(covered)} of {len(mine)} commits have a patch ({_percent(len(covered), len(mine))})")
        chosen = Counter(row["source"] for row in covered)
        found = chosen + Counter(other["source"] for row in mine for other in row["others"])
        for source in dict.fromkeys([*(labels or {}).get(agent, []), *found]):
            lines.append(f"  {source}: {found[source]} found, {chosen[source]} chosen")
        for status in ("missing", "empty"):
            short = [row["commit"][:8] for row in mine if row["status"] == status]
            if short:
                lines.append(f"  {status} ({len(short)}): {' '.join(short)}")
        conflicts = [row for row in covered if row["others"]]
        if conflicts:
            lines.append(f"  conflicts ({len(conflicts)}):")
        for row in conflicts:
            lines.append(f"    {row['commit'][:8]}: chose {row['source']} {row['path']}: {row['reason']}")
            for other in row["others"]:
                note = " (empty)" if other["empty"] else ""
                lines.append(f"      over {other['source']} {other['path']} ({other['timestamp']}){note}")
    return "\n".join(lines) + "\n"


# --- choosing -------------------------------------------------------------------


def _recorded(candidate: PatchCandidate) -> bool:
    """Whether the candidate's time was recorded by its run, not read off the file."""
    return candidate.timestamp_origin != FILE_TIME


def _ranked(candidates: list[tuple[int, PatchCandidate]]) -> list[tuple[int, PatchCandidate]]:
    """Recorded times before file times, newest first; equal times in source order, then path order."""
    ranked = sorted(candidates, key=lambda item: (item[0], str(item[1].path)))
    # stable: keeps the tie order
    ranked.sort(key=lambda item: (_recorded(item[1]), item[1].timestamp or ""), reverse=True)
    return ranked


def _choose(commit: str, ranked: list[tuple[int, PatchCandidate]]) -> PatchChoice:
    usable = [item for item in ranked if not item[1].empty]
    if not usable:
        return PatchChoice(commit, None, tuple(candidate for _, candidate in ranked))
    position, chosen = usable[0]
    others = tuple(candidate for _, candidate in ranked if candidate is not chosen)
    if len(usable) == 1:
        reason = "the only non-empty patch" if others else "the only patch"
    elif _recorded(chosen) and not _recorded(usable[1][1]):
        reason = f"recorded run time {chosen.timestamp} ({chosen.timestamp_origin}) beats a file modification time"
    elif chosen.timestamp != usable[1][1].timestamp:
        reason = f"newest run: {chosen.timestamp} from the {chosen.timestamp_origin}"
    elif position != usable[1][0]:
        reason = f"same time ({chosen.timestamp}) as another; its source comes first in the config"
    else:
        reason = f"same time ({chosen.timestamp}) and source as another; first by path"
    return PatchChoice(commit, chosen, others, reason)


def _candidate_dict(candidate: PatchCandidate) -> dict[str, Any]:
    return {
        "source": candidate.source,
        "path": str(candidate.path),
        "timestamp": candidate.timestamp,
        "empty": candidate.empty,
    }


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "n/a"


# --- matching to the commit table -----------------------------------------------


class _CommitIndex:
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


# --- the sources ----------------------------------------------------------------


def source_label(source: dict[str, Any]) -> str:
    """The short name a source goes by in coverage and provenance, e.g. ``diff_dir:demo/agents/alpha``."""
    kind = _checked_kind(source)
    if kind == "trajectories":
        return f"trajectories:{source.get('hf_dataset') or source['path']}"
    picks = " ".join(f"{key}={source[key]}" for key in ("repo", "agent", "model") if source.get(key))
    return f"{kind}:{source['path']}" + (f" ({picks})" if picks else "")


def _candidates(source: dict[str, Any], index: _CommitIndex, base: Path) -> Iterator[PatchCandidate]:
    label = source_label(source)
    if source["kind"] == "diff_dir":
        yield from _diff_dir_candidates(base / source["path"], label, index)
    elif source["kind"] == "trajectories":
        yield from _trajectory_candidates(_dataset_root(source, base), source.get("repo"), label, index)
    else:
        yield from _run_candidates(base / source["path"], source, label, index)


def _checked_kind(source: dict[str, Any]) -> str:
    """The source's kind, after checking it has the keys it needs and no unknown (mistyped) ones."""
    kind = source.get("kind")
    if kind not in _KEYS:
        raise SourceError(f"source {source!r}: kind must be one of {', '.join(KINDS)}")
    needs_one_of, optional = _KEYS[kind]
    if not any(source.get(key) for key in needs_one_of):
        raise SourceError(f"{kind} source {source!r} needs {' or '.join(sorted(needs_one_of))}")
    unknown = set(source) - needs_one_of - optional - {"kind"}
    if unknown:
        raise SourceError(f"{kind} source {source!r}: unknown keys {', '.join(sorted(unknown))}")
    return kind


def _diff_dir_candidates(directory: Path, label: str, index: _CommitIndex) -> Iterator[PatchCandidate]:
    for path in _listing(directory, label, files=True):
        if path.suffix == ".diff" and _SHA.match(path.stem.lower()):
            commit = index.resolve(path.stem, f"{label}: {path.name}")
            if commit:
                yield _candidate(commit, path, label, None, "")
        elif path.suffix.lower() in (".diff", ".patch"):
            # Looks like a patch, but no commit can be read from its name: say so, or it is a silent missing_patch.
            log.warning("%s: ignored %s: patch files are named <commit>.diff (7 to 40 hex digits)", label, path.name)


def _trajectory_candidates(root: Path, repo: str | None, label: str, index: _CommitIndex) -> Iterator[PatchCandidate]:
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


def _run_candidates(root: Path, source: dict[str, Any], label: str, index: _CommitIndex) -> Iterator[PatchCandidate]:
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


# --- the Hugging Face dataset ----------------------------------------------------


def _dataset_root(source: dict[str, Any], base: Path) -> Path:
    """Where the trajectory dataset is on disk, downloading it first if it has to be.

    A ``path`` that exists is used as it is. With ``hf_dataset`` the dataset is
    downloaded into ``path`` (when given) or else into Hugging Face's cache.
    """
    local = base / source["path"] if source.get("path") else None
    if local is not None and (local.is_dir() or not source.get("hf_dataset")):
        return local
    return _download_dataset(source["hf_dataset"], source.get("repo"), local)


def _download_dataset(dataset: str, repo: str | None, local: Path | None) -> Path:
    """Only the files this module reads; a copy already in the cache costs no network call."""
    try:
        import huggingface_hub  # deferred: only this kind of source needs it
    except ImportError:
        raise SourceError(
            f"trajectories source: downloading the dataset {dataset!r} needs huggingface_hub "
            "(pip install huggingface_hub), or give a local 'path' to a copy"
        ) from None
    folders = repo or "*"
    patterns = [f"{folders}/*/{name}" for name in (PATCH_NAME, "run_summary.json", "journal.json")]

    def fetch(cached_only: bool) -> Path:
        return Path(
            huggingface_hub.snapshot_download(
                dataset,
                repo_type="dataset",
                allow_patterns=[*patterns, "metadata.json"],
                local_dir=local,
                local_files_only=cached_only,
            )
        )

    try:
        if local is None:
            try:
                return fetch(cached_only=True)
            except huggingface_hub.errors.LocalEntryNotFoundError:
                pass  # not cached yet
        return fetch(cached_only=False)
    # The hub's failures (offline, not found, gated, bad id) are all OSError or ValueError kinds.
    except (OSError, ValueError) as exc:
        raise SourceError(
            f"trajectories source: cannot get the dataset {dataset!r} from the Hugging Face Hub: {exc}\n"
            "Download it while online, or give a local 'path' to a copy."
        ) from None


# --- small readers ----------------------------------------------------------------


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
