"""The workflow and the package stay lint- and format-clean (snakemake --lint and snakefmt, as the
Snakemake workflow catalog checks; ruff for the Python, configured in pyproject.toml)."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.workflow import copy_project, snakemake


def test_snakemake_lint_is_clean(tmp_path):
    proc = snakemake(copy_project(tmp_path / "p"), "--lint")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_snakefmt_is_clean():
    snakefmt = str(Path(sys.executable).parent / "snakefmt")
    proc = subprocess.run([snakefmt, "--check", "."], cwd=REPO_ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=["lint", "format"])
def test_ruff_is_clean(command):
    ruff = str(Path(sys.executable).parent / "ruff")
    proc = subprocess.run([ruff, *command, "."], cwd=REPO_ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_dry_run_plans_every_leg(tmp_path):
    proc = snakemake(copy_project(tmp_path / "p"), "-n", "--cores", "1", "--resources", "gpu=1")
    assert proc.returncode == 0, proc.stderr
    assert "metrics" in proc.stdout


def test_a_named_suite_does_not_inherit_the_demo_settings(tmp_path):
    # Snakemake merges --configfile into the workflow's configfile; the demo's agents,
    # images and docker options must not leak into a suite that leaves them out.
    project = copy_project(tmp_path / "p")
    (project / "own.yaml").write_text("suite: own\nrepo: builtin:demo\ncommits: demo/commits.csv\nruntime: docker\n")
    proc = snakemake(project, "-n", "-p", "--configfile", "own.yaml", "--cores", "1", "--resources", "gpu=1")
    assert proc.returncode == 0, proc.stderr
    assert "leg=human" in proc.stdout
    assert "leg=agent-" not in proc.stdout  # the demo's agents alpha and beta
    assert "patchbench-demo/" not in proc.stdout  # the demo's image names
    assert '"build": false' in proc.stdout  # the schema's default, not the demo's
