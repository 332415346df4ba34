"""A leg that fits a multi-GPU node is submitted with that many GPUs; one that fits no node is skipped.

tp2-suite.yaml: the demo's latency commit run with --tensor-parallel-size 2,
and the demo's 8-GPU commit, on the 2-GPU node (``gpus=2`` from the profile).
The 2-GPU legs must run once each with both GPUs: snakemake-executor-plugin-slurm
#459 ran a gpu=2 job's script twice through --ntasks-per-gpu; 2.8.0 sets
--ntasks-per-gpu only when asked (resources tasks/tasks_per_gpu, which the
profile leaves unset) and starts the job with ``srun -n1``.
"""

from __future__ import annotations

import json

import pytest

from patchbench.layout import METRICS, Layout
from tests.slurm.conftest import leg_gpu_ids, run_on_slurm, site_profile, slurm_gpus
from tests.workflow import copy_project

TP2 = Layout("tp2")

TWO = "5410c9300e438ec8a8e257b9550707dbb0ec3f94"
EIGHT = "90902cab829bdda53078a46e312fe021d7df75a2"
LEGS = ("baseline", "human")


@pytest.fixture(scope="module")
def tp2_on_slurm(slurm_cluster, tmp_path_factory):
    workdir = copy_project(tmp_path_factory.mktemp("slurm-tp2") / "patchbench")
    site_profile(workdir)
    run = run_on_slurm(workdir, "--configfile", "tests/slurm/tp2-suite.yaml", limit_s=300)
    assert run.proc.returncode == 0, f"rc={run.proc.returncode} after {run.seconds:.0f}s\n{run.output[-5000:]}"
    print(f"tp2 suite on slurm: {run.seconds:.0f} s")
    return run


def metrics(run, commit, leg):
    return json.loads((run.workdir / TP2.leg_file(commit, leg, METRICS)).read_text())


def test_two_gpu_legs_run_with_two_gpus(tp2_on_slurm):
    runs = {job.leg: job for job in tp2_on_slurm.jobs() if job.rule == "run"}
    for leg in LEGS:
        assert metrics(tp2_on_slurm, TWO, leg)["status"] == "ok", metrics(tp2_on_slurm, TWO, leg)
        job = runs[(TWO, leg)]
        assert job.state == "COMPLETED" and job.gpus == 2, job
        run_log = tp2_on_slurm.workdir / TP2.round_log(TWO, leg, 1)
        assert leg_gpu_ids(run_log) == slurm_gpus()[job.jobid] == "0,1"


def test_two_gpu_job_runs_its_command_once(tp2_on_slurm):
    """plugin#459: one job step (besides the batch script), one task, both GPUs."""
    runs = {job.leg: job for job in tp2_on_slurm.jobs() if job.rule == "run"}
    for leg in LEGS:
        job = runs[(TWO, leg)]
        steps = [step for step in job.steps if step["step"] not in ("batch", "extern")]
        assert len(steps) == 1, job.steps
        assert steps[0]["ntasks"] == "1" and "gres/gpu=2" in steps[0]["tres"], job.steps


def test_eight_gpu_legs_are_skipped_and_never_reach_slurm(tp2_on_slurm):
    for leg in LEGS:
        result = metrics(tp2_on_slurm, EIGHT, leg)
        assert (result["status"], result["failure_category"]) == ("skipped", "gpu_requirement")
    assert not [job for job in tp2_on_slurm.jobs() if job.leg[0] == EIGHT]
    assert max(job.gpus for job in tp2_on_slurm.jobs()) == 2
