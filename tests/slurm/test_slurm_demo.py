"""The demo suite through ``--executor slurm`` ends exactly as the local run does.

One real run on the cluster of scripts/slurm-cluster.sh (one node, 2 fake
GPUs), with profiles/slurm as a site would edit it (ci-site.yaml). The local
rules never reach Slurm; every image and run job does, and accounting shows
what each one got. Legs the plan skips before anything runs (the demo's 8-GPU
commit fits no node: gpu_requirement; an agent without a patch: missing_patch)
have no image or run job at all, so they never reach Slurm.
"""

from __future__ import annotations

import json
import subprocess

import pandas as pd
import pytest

from patchbench.layout import Layout
from tests.slurm.conftest import NODE_GPUS, leg_gpu_ids, run_on_slurm, site_profile, slurm_gpus
from tests.test_workflow_demo import EXPECTED, commit_slugs, running_legs
from tests.workflow import copy_project

DEMO = Layout("demo")

LIMIT_S = 420  # a demo run takes 1-3 minutes here
# Two rounds of one pass each: every leg has two run jobs on the queue (the demo's own five would only take longer).
ROUNDS = ("repeats=2", "rounds=2")


@pytest.fixture(scope="module")
def demo_on_slurm(slurm_cluster, tmp_path_factory):
    workdir = copy_project(tmp_path_factory.mktemp("slurm-demo") / "patchbench")
    site_profile(workdir)
    run = run_on_slurm(workdir, "--config", "gpus=2", *ROUNDS, limit_s=LIMIT_S)
    assert run.proc.returncode == 0, f"rc={run.proc.returncode} after {run.seconds:.0f}s\n{run.output[-5000:]}"
    assert run.run_id, run.output[-3000:]
    print(f"demo on slurm: {run.seconds:.0f} s")
    return run


def test_every_leg_ends_as_in_the_local_run(demo_on_slurm):
    summary = pd.read_csv(demo_on_slurm.workdir / DEMO.summary, dtype={"agent": str}).fillna("")
    slugs = commit_slugs(demo_on_slurm.workdir)
    seen = {}
    for row in summary.itertuples():
        seen.setdefault(slugs[row.commit], {})[row.leg] = (row.status, row.failure_category)
    assert seen == EXPECTED
    assert (demo_on_slurm.workdir / DEMO.report_html).is_file()


def test_image_and_run_jobs_went_through_slurm_and_nothing_else(demo_on_slurm):
    jobs = demo_on_slurm.jobs()
    legs = running_legs()
    assert sorted(job.rule for job in jobs) == ["image"] * legs + ["run"] * legs * len(ROUNDS)
    assert {job.state for job in jobs} == {"COMPLETED"}
    assert len({(job.leg, job.round) for job in jobs if job.rule == "run"}) == legs * len(ROUNDS)
    # Nothing of this run is left in the queue.
    queue = subprocess.run(["squeue", "-h", "--name", demo_on_slurm.run_id], capture_output=True, text=True, check=True)
    assert queue.stdout.strip() == ""


def test_run_jobs_get_the_gpus_of_their_leg_and_image_jobs_none(demo_on_slurm):
    slugs = commit_slugs(demo_on_slurm.workdir)
    for job in demo_on_slurm.jobs():
        commit, leg = job.leg
        assert EXPECTED[slugs[commit]][leg][0] != "skipped", (job, slugs[commit])
        if job.rule == "image":
            assert job.gpus == 0, (job, slugs[commit])
        else:
            assert job.gpus == 1, (job, slugs[commit])
        assert job.gpus <= NODE_GPUS


def test_each_leg_runs_on_the_gpus_slurm_gave_its_job(demo_on_slurm):
    """Not just as many: the very devices (Slurm's CUDA_VISIBLE_DEVICES), whatever the config's gpu_ids say."""
    allocated = slurm_gpus()
    slugs = commit_slugs(demo_on_slurm.workdir)
    checked = 0
    for job in demo_on_slurm.jobs():
        if not job.gpus:
            continue
        commit, leg = job.leg
        run_log = demo_on_slurm.workdir / DEMO.round_log(commit, leg, job.round)
        ids = leg_gpu_ids(run_log)
        if ids is None:  # its image failed (a patch, a missing commit): the benchmark never started
            assert EXPECTED[slugs[commit]][leg][0] == "failed", run_log.read_text()
            continue
        assert ids == allocated[job.jobid], (job, run_log.read_text())
        checked += 1
    assert checked >= sum(status == "ok" for legs in EXPECTED.values() for status, _ in legs.values())


def test_skipped_legs_never_reach_slurm(demo_on_slurm):
    slugs = commit_slugs(demo_on_slurm.workdir)
    skipped = {
        (commit, leg)
        for commit, slug in slugs.items()
        for leg, (status, _) in EXPECTED[slug].items()
        if status == "skipped"
    }
    assert len(skipped) == 7  # the 8-GPU commit's five legs, and beta's and ident's missing patches
    assert not skipped & {job.leg for job in demo_on_slurm.jobs()}
    for commit, leg in skipped:
        leg_dir = demo_on_slurm.workdir / DEMO.leg_dir(commit, leg)
        assert not (leg_dir / "image.tag").exists() and not (leg_dir / "rounds").exists()
        assert json.loads((leg_dir / "metrics.json").read_text())["status"] == "skipped"


def test_rerun_submits_nothing(demo_on_slurm):
    again = run_on_slurm(demo_on_slurm.workdir, "--config", "gpus=2", *ROUNDS, limit_s=120)
    assert again.proc.returncode == 0, again.output[-3000:]
    assert "Nothing to be done" in again.output
    assert not again.run_id or again.jobs() == []
