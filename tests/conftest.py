"""Shared test helpers: where the real-world fixtures live, and tiny real git repositories."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"
ISOBENCH = SHARED / "fixtures" / "isobench"
VLLM_OUTPUTS = SHARED / "fixtures" / "vllm-outputs"

GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, env=GIT_ENV, check=True, capture_output=True, text=True
    ).stdout.strip()


def commit_all(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def small_repo(tmp_path: Path) -> tuple[Path, list[str]]:
    """A real repository with two commits: ``engine.py`` gets faster in the second."""
    repo = tmp_path / "engine"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "engine.py").write_text("def step(x):\n    return sum(range(x))\n")
    first = commit_all(repo, "initial")
    (repo / "engine.py").write_text("def step(x):\n    return x * (x - 1) // 2\n")
    second = commit_all(repo, "closed form")
    return repo, [first, second]
