"""The workflow on a real Slurm cluster: the one ``scripts/slurm-cluster.sh up`` starts.

These tests submit through ``profiles/slurm`` with the plugin, exactly as a
site would, after the edits of ``ci-site.yaml``. Without a cluster they skip,
except in CI (``CI`` set), where they fail: CI must start the cluster first.
Every Snakemake run is wrapped in ``timeout -s KILL`` (the plugin's status loop
can hang and ignores SIGTERM) and its jobs are cancelled if it is killed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest
import yaml

SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
CI_SITE = Path(__file__).with_name("ci-site.yaml")
PARTITION = "gpu"
NODE_GPUS = 2
RUN_ID = re.compile(r"SLURM run ID: (\S+)")
# Written by the prolog of scripts/slurm-cluster.sh: "<jobid> <GPU indices Slurm allocated>".
JOB_GPUS_LOG = Path(os.environ.get("PATCHBENCH_SLURM_DIR", "/tmp/patchbench-slurm")) / "log" / "job-gpus.log"
GPU_IDS = re.compile(r"^\[patchbench\] gpu ids: (.*)$", re.M)


def cluster_problem() -> str | None:
    """Why the cluster of scripts/slurm-cluster.sh is not usable here, or None."""
    for tool in ("sinfo", "sbatch", "sacct", "timeout"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    nodes = subprocess.run(["sinfo", "-h", "-N", "-p", PARTITION, "-o", "%N %t %G"], capture_output=True, text=True)
    if nodes.returncode != 0:
        return f"sinfo fails: {(nodes.stderr.strip().splitlines() or ['?'])[-1]}"
    usable = [line for line in nodes.stdout.splitlines() if line.split()[1] in ("idle", "mix", "alloc")]
    if not any(f"gpu:{NODE_GPUS}" in line for line in usable):
        return f"no usable node with gpu:{NODE_GPUS} in partition {PARTITION!r}: {nodes.stdout.strip() or 'none'}"
    accounting = subprocess.run(["sacct", "-n", "-X", "-j", "1"], capture_output=True, text=True)
    if accounting.returncode != 0:
        return f"sacct fails (the tests read accounting): {(accounting.stderr.strip().splitlines() or ['?'])[-1]}"
    return None


@pytest.fixture(scope="session")
def slurm_cluster() -> None:
    problem = cluster_problem()
    if problem is None:
        return
    message = f"no Slurm cluster ({problem}): run 'bash scripts/slurm-cluster.sh up' as root first"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def site_profile(workdir: Path) -> dict:
    """Apply ci-site.yaml to the copy's profiles/slurm/config.yaml, as a site edits it."""
    path = workdir / "profiles" / "slurm" / "config.yaml"
    profile = yaml.safe_load(path.read_text())
    for key, value in yaml.safe_load(CI_SITE.read_text()).items():
        if isinstance(value, dict) and isinstance(profile.get(key), dict):
            profile[key] = {**profile[key], **value}
        else:
            profile[key] = value
    path.write_text(yaml.safe_dump(profile, sort_keys=False))
    return profile


@dataclass
class SlurmJob:
    jobid: str
    state: str
    alloc_tres: dict[str, str]
    comment: str  # the plugin's: rule_<rule>_wildcards_<suite>_<commit>_<leg>[_<round>] (run jobs have a round)
    steps: list[dict[str, str]] = field(default_factory=list)

    @property
    def rule(self) -> str:
        return self.comment.split("_wildcards_")[0].removeprefix("rule_")

    @property
    def leg(self) -> tuple[str, str]:
        """(commit, leg) from the comment."""
        _, commit, rest = self.comment.split("_wildcards_")[1].split("_", 2)
        return commit, rest.rsplit("_", 1)[0] if self.rule == "run" else rest

    @property
    def round(self) -> int:
        """A run job's round."""
        return int(self.comment.rsplit("_", 1)[1])

    @property
    def gpus(self) -> int:
        return int(self.alloc_tres.get("gres/gpu", 0))


@dataclass
class SlurmRun:
    workdir: Path
    proc: subprocess.CompletedProcess[str]
    run_id: str
    seconds: float

    @property
    def output(self) -> str:
        return self.proc.stdout + self.proc.stderr

    def jobs(self) -> list[SlurmJob]:
        """This run's jobs as accounting recorded them (the plugin names them all after the run ID), with their steps."""
        fields = "JobID,State,AllocTRES,Comment,NTasks"
        jobs = {}
        for jobid, state, tres, comment, _ in _sacct("-X", "-S", "now-1days", "--name", self.run_id, "-o", fields):
            jobs[jobid] = SlurmJob(jobid, state, _tres(tres), comment)
        if jobs:  # steps carry their own names ("batch", the command): ask for them by job ID
            for jobid, state, tres, _, ntasks in _sacct("-j", ",".join(jobs), "-o", fields):
                main, _, step = jobid.partition(".")
                if step and main in jobs:
                    jobs[main].steps.append({"step": step, "state": state, "ntasks": ntasks, "tres": tres})
        return list(jobs.values())


def _sacct(*args: str) -> list[list[str]]:
    proc = subprocess.run(["sacct", "-n", "-P", *args], capture_output=True, text=True, check=True)
    return [line.split("|") for line in proc.stdout.splitlines()]


def _tres(text: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in text.split(",") if "=" in item)


def run_on_slurm(workdir: Path, *args: str, limit_s: int) -> SlurmRun:
    """``snakemake --workflow-profile profiles/slurm ARGS`` in ``workdir``, killed after ``limit_s``."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env = {**os.environ, "PATH": path, "PYTHONDONTWRITEBYTECODE": "1"}
    argv = ["timeout", "-s", "KILL", str(limit_s), SNAKEMAKE, "--workflow-profile", "profiles/slurm", *args]
    began = datetime.now()
    proc = subprocess.run(argv, cwd=workdir, env=env, capture_output=True, text=True, timeout=limit_s + 60)
    seconds = (datetime.now() - began).total_seconds()
    with open(workdir / "snakemake-slurm.log", "a") as log:  # every run's output, for a post-mortem
        log.write(f"=== {' '.join(argv)}: rc={proc.returncode} after {seconds:.0f}s\n{proc.stdout}{proc.stderr}")
    found = RUN_ID.search(proc.stdout + proc.stderr)
    run_id = found.group(1) if found else ""
    if proc.returncode in (124, 137, -9) and run_id:
        subprocess.run(["scancel", "--name", run_id], capture_output=True)  # no job outlives its run
    return SlurmRun(workdir, proc, run_id, seconds)


def slurm_gpus() -> dict[str, str]:
    """Which GPUs Slurm gave each job (the prolog's record), by job ID."""
    assert JOB_GPUS_LOG.is_file(), f"{JOB_GPUS_LOG} is missing: is this the cluster of scripts/slurm-cluster.sh?"
    return dict((line.split(" ", 1) + [""])[:2] for line in JOB_GPUS_LOG.read_text().splitlines() if line)


def leg_gpu_ids(run_log: Path) -> str | None:
    """The GPU ids a leg's run.log says it ran on; None for a leg that never started (its image failed)."""
    found = GPU_IDS.search(run_log.read_text())
    return found.group(1).strip() if found else None
