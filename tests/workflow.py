"""Run the real workflow on a private copy of this repository (Snakemake is real, not imported)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT

SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
_IGNORE = shutil.ignore_patterns(".git", ".venv", "venv", ".snakemake", "__pycache__", ".pytest_cache")


def _ignore(folder: str, names: list[str]) -> set[str]:
    # Only the top-level results/ holds earlier runs; patchbench/results/ is code.
    top = {"results"} if Path(folder) == REPO_ROOT else set()
    return set(_IGNORE(folder, names)) | (top & set(names))


def copy_project(dest: Path) -> Path:
    """The workflow as a fresh clone has it, without results of earlier runs."""
    shutil.copytree(REPO_ROOT, dest, ignore=_ignore)
    return dest


def snakemake(
    workdir: Path, *args: str, timeout: float = 600, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    # Rules call `patchbench` from PATH, as in an activated environment.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env = {**os.environ, **(env or {}), "PATH": path, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([SNAKEMAKE, *args], cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout)
