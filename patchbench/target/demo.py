"""Build the demo suite's target repository: tinyllm's git history, from ``demo/``.

The demo suite needs a real git repository (legs check out commits, diff them
and apply patches to them), but a repository cannot be shipped inside this
one. So ``demo/`` holds the ingredients, and this module bakes them:

* ``demo/engine/`` is the tree of the root commit;
* ``demo/history/history.yaml`` lists the commits in order (slug, date,
  message, patch file), and every later commit is its ``NN-slug.diff``
  applied with ``git apply``.

The build is deterministic (fixed author, committer, dates and file modes; no
dependence on the user's git configuration), so the commit SHAs are the same
on every machine. That is what lets ``demo/commits.csv`` and the agent patch
files in ``demo/agents/<agent>/<sha>.diff`` name commits by their full SHA.
"""

from __future__ import annotations

import os
import stat
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import yaml

DEMO_DIR = Path(__file__).resolve().parents[2] / "demo"
ENGINE_DIR = DEMO_DIR / "engine"
HISTORY_DIR = DEMO_DIR / "history"
HISTORY_FILE = HISTORY_DIR / "history.yaml"
COMMITS_CSV = DEMO_DIR / "commits.csv"
AGENTS_DIR = DEMO_DIR / "agents"

AUTHOR_NAME = "tinyllm developers"
AUTHOR_EMAIL = "dev@tinyllm.invalid"

# Build litter that must never reach the root commit, whatever ran in demo/engine/.
_IGNORED_DIRS = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".git"})
_IGNORED_SUFFIXES = (".pyc", ".pyo")
_IGNORED_NAMES = frozenset({".DS_Store"})

GIT_TIMEOUT_S = 120


class DemoBuildError(RuntimeError):
    """A git step of the build failed (typically a history patch that no longer applies after an edit)."""


@dataclass(frozen=True)
class HistoryEntry:
    """One commit of the demo history; ``patch`` is None for the root commit."""

    slug: str
    date: str
    message: str
    patch: str | None


def load_history(history_file: Path = HISTORY_FILE) -> list[HistoryEntry]:
    """Read ``history.yaml``; the first entry must be the root (no patch), the others must have one."""
    raw = yaml.safe_load(history_file.read_text(encoding="utf-8"))
    if not isinstance(raw, list) or not raw:
        raise ValueError(f"{history_file}: expected a non-empty list of commits")
    entries = [
        HistoryEntry(
            slug=str(item["slug"]), date=str(item["date"]), message=str(item["message"]), patch=item.get("patch")
        )
        for item in raw
    ]
    if entries[0].patch is not None:
        raise ValueError(f"{history_file}: the first commit is the tree in demo/engine/ and takes no patch")
    missing = [e.slug for e in entries[1:] if not e.patch]
    if missing:
        raise ValueError(f"{history_file}: commits without a patch: {', '.join(missing)}")
    slugs = [e.slug for e in entries]
    if len(set(slugs)) != len(slugs):
        raise ValueError(f"{history_file}: duplicate slugs")
    return entries


def _git_date(iso_date: str) -> str:
    """ISO 8601 (with offset) to git's raw ``<unix seconds> <+hhmm>`` form, which no locale can misread."""
    when = datetime.fromisoformat(iso_date)
    if when.tzinfo is None:
        raise ValueError(f"date {iso_date!r} needs a UTC offset, or the SHA would depend on the local time zone")
    offset = when.utcoffset()
    assert offset is not None
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"{int(when.timestamp())} {sign}{hours:02d}{mins:02d}"


def _git_env(date: str | None = None) -> dict[str, str]:
    """An environment in which git sees none of the user's settings.

    Inherited ``GIT_*`` variables (GIT_DIR, GIT_INDEX_FILE, GIT_AUTHOR_*, ...)
    would redirect or alter the build, and a global or system config could
    sign commits, rewrite line endings or run hooks: all are removed.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    env.update(
        {
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_AUTHOR_NAME": AUTHOR_NAME,
            "GIT_AUTHOR_EMAIL": AUTHOR_EMAIL,
            "GIT_COMMITTER_NAME": AUTHOR_NAME,
            "GIT_COMMITTER_EMAIL": AUTHOR_EMAIL,
            "LC_ALL": "C",
        }
    )
    if date is not None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = _git_date(date)
    return env


def _git(args: list[str], repo: Path, *, date: str | None = None, stdin: bytes | None = None) -> str:
    """Run one git command in ``repo`` (argument list, no shell) and return its stdout.

    Raises :class:`DemoBuildError` carrying git's own stderr, which a bare
    ``CalledProcessError`` would not show.
    """
    try:
        proc = subprocess.run(
            [
                "git",
                "-c",
                "commit.gpgsign=false",
                "-c",
                "core.hooksPath=" + os.devnull,
                "-c",
                "core.autocrlf=false",
                "-c",
                "core.fileMode=true",
                *args,
            ],
            cwd=repo,
            env=_git_env(date),
            input=stdin,
            capture_output=True,
            timeout=GIT_TIMEOUT_S,
            check=True,
        )
    except subprocess.CalledProcessError as exc:
        stderr = exc.stderr.decode("utf-8", "replace").strip()
        raise DemoBuildError(f"git {' '.join(args)} failed in {repo}: {stderr}") from exc
    return proc.stdout.decode("utf-8", "replace").strip()


def _engine_files(engine_dir: Path) -> list[Path]:
    """The files of the root tree, relative to ``engine_dir``, sorted, without build litter."""
    files = []
    for path in sorted(engine_dir.rglob("*")):
        rel = path.relative_to(engine_dir)
        if any(part in _IGNORED_DIRS for part in rel.parts):
            continue
        if path.is_file() and path.name not in _IGNORED_NAMES and not path.name.endswith(_IGNORED_SUFFIXES):
            files.append(rel)
    return files


def _copy_engine(engine_dir: Path, dest: Path) -> None:
    """Copy the root tree byte for byte, every file 0644 (git records only the executable bit)."""
    for rel in _engine_files(engine_dir):
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((engine_dir / rel).read_bytes())
        target.chmod(stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IROTH)


def _commit(repo: Path, entry: HistoryEntry) -> str:
    _git(["add", "--all"], repo)
    _git(
        ["commit", "--quiet", "--no-verify", "--cleanup=whitespace", "--file=-"],
        repo,
        date=entry.date,
        stdin=entry.message.encode("utf-8"),
    )
    return _git(["rev-parse", "HEAD"], repo)


def build_demo_repo(dest: Path, demo_dir: Path = DEMO_DIR) -> list[str]:
    """Create tinyllm's git repository at ``dest`` and return its commit SHAs, oldest first.

    ``dest`` must not exist or be an empty directory. The result is a normal
    (non-bare) repository on branch ``main`` with HEAD at the last commit.
    Raises :class:`DemoBuildError` when git fails (for instance a history
    patch that no longer applies) and ``FileExistsError`` when ``dest`` is
    not empty.
    """
    dest = Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise FileExistsError(f"{dest} exists and is not an empty directory")
    history = load_history(demo_dir / "history" / "history.yaml")
    dest.mkdir(parents=True, exist_ok=True)
    _git(["init", "--quiet", "--initial-branch=main"], dest)

    _copy_engine(demo_dir / "engine", dest)
    shas = [_commit(dest, history[0])]
    for entry in history[1:]:
        assert entry.patch is not None
        patch = (demo_dir / "history" / entry.patch).resolve()
        _git(["apply", "--whitespace=nowarn", str(patch)], dest)
        shas.append(_commit(dest, entry))
    return shas
