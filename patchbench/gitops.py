"""Thin, typed wrappers around the git CLI (the one real source of truth for patches)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

GIT_TIMEOUT_S = 600


class GitError(RuntimeError):
    """A git command failed; ``stderr`` holds git's own words for the evidence."""

    def __init__(self, args: list[str], returncode: int, stderr: str) -> None:
        super().__init__(f"git {' '.join(args)} failed ({returncode}): {stderr.strip()}")
        self.returncode = returncode
        self.stderr = stderr


# Variables that point git at another repository, index or object store than the
# one a command names (a Snakemake run started from a git hook has GIT_DIR set).
_REDIRECTS = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
)


def _env() -> dict[str, str]:
    # No pager, no prompts, no hooks from the user's templates, no redirection: legs must be hermetic.
    env = {key: value for key, value in os.environ.items() if key not in _REDIRECTS}
    env.update({"GIT_TERMINAL_PROMPT": "0", "GIT_PAGER": "cat", "LC_ALL": "C"})
    return env


def git(args: list[str], *, cwd: str | Path | None = None, input: bytes | None = None) -> bytes:
    """Run ``git args`` and return stdout bytes; raise :class:`GitError` on failure."""
    proc = subprocess.run(
        ["git", "-c", "core.hooksPath=/dev/null", "-c", "advice.detachedHead=false", *args],
        cwd=cwd,
        input=input,
        capture_output=True,
        env=_env(),
        timeout=GIT_TIMEOUT_S,
    )
    if proc.returncode != 0:
        raise GitError(args, proc.returncode, proc.stderr.decode("utf-8", "replace"))
    return proc.stdout


def git_text(args: list[str], *, cwd: str | Path | None = None) -> str:
    return git(args, cwd=cwd).decode("utf-8", "replace").strip()


def resolve_commit(repo: str | Path, rev: str) -> str | None:
    """Full SHA of ``rev`` in ``repo``, or None when the repository lacks it."""
    try:
        return git_text(["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], cwd=repo) or None
    except GitError:
        return None


def first_parent(repo: str | Path, commit: str) -> str | None:
    """The commit's first parent; None for a root commit or an unknown commit."""
    return resolve_commit(repo, f"{commit}^1")


def diff(repo: str | Path, old: str, new: str) -> bytes:
    """``git diff old new`` with binary hunks, as ``git apply`` expects it."""
    return git(["diff", "--binary", "--no-color", "--no-ext-diff", old, new], cwd=repo)


def mirror(source: str, dest: Path) -> None:
    """Clone ``source`` bare into ``dest``, or fetch into it when it exists."""
    if (dest / "HEAD").exists():
        git(["fetch", "--prune", "--tags", "origin", "+refs/heads/*:refs/heads/*"], cwd=dest)
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    git(["clone", "--bare", "--quiet", source, str(dest)])


def heads(repo: str | Path) -> dict[str, str]:
    """Branch and tag names to SHAs: the identity of a clone."""
    out = git_text(["for-each-ref", "--format=%(refname) %(objectname)", "refs/heads", "refs/tags"], cwd=repo)
    return dict(line.split(" ", 1) for line in out.splitlines() if line)


def checkout_detached(repo: str | Path, commit: str, dest: Path) -> None:
    """A private working copy of ``commit`` that shares objects with ``repo`` but nothing else.

    ``clone --shared`` instead of ``git worktree`` keeps legs fully apart: no
    shared index, refs or worktree metadata that parallel legs could race on.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    git(["clone", "--shared", "--no-checkout", "--quiet", str(Path(repo).resolve()), str(dest)])
    git(["checkout", "--quiet", "--detach", commit], cwd=dest)


def tree_id(worktree: Path) -> str:
    """Content digest of a working copy (tracked and new files): its git tree SHA."""
    git(["add", "--all", "--force", "."], cwd=worktree)
    return git_text(["write-tree"], cwd=worktree)


def path_exists(repo: str | Path, rev: str, path: str) -> bool:
    try:
        git(["cat-file", "-e", f"{rev}:{path}"], cwd=repo)
        return True
    except GitError:
        return False
