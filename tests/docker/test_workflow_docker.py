"""The demo suite end to end with ``runtime: docker``: the local runtime's outcomes, offline, nothing left behind.

One real Snakemake run on a pretend two-GPU host (``gpus: 2``, ids 0 and 1), so two
legs run at once, each in containers holding its own device id.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from patchbench.layout import Layout
from tests.docker.conftest import suite_containers
from tests.test_workflow_demo import EXPECTED, commit_slugs
from tests.workflow import copy_project, snakemake

DEMO = Layout("demo")

FAKE_TOKEN = "hf_demoFakeToken0987654321"
ARGS = ("--cores", "2", "--resources", "gpu=2", "--config", "runtime=docker", "gpus=2")


def tags(engine) -> set[str]:
    return {name for image in engine.images.list() for name in image.tags}


@pytest.fixture(scope="module")
def docker_demo(engine, tmp_path_factory):
    before = tags(engine)
    workdir = copy_project(tmp_path_factory.mktemp("docker-demo") / "patchbench")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_TOKEN", FAKE_TOKEN)
        proc = snakemake(workdir, *ARGS)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return workdir, before


def test_every_leg_ends_as_with_the_local_runtime(docker_demo):
    workdir, _ = docker_demo
    summary = pd.read_csv(workdir / DEMO.summary, dtype={"agent": str}).fillna("")
    slugs = commit_slugs(workdir)
    seen: dict[str, dict[str, tuple[str, str]]] = {}
    for row in summary.itertuples():
        seen.setdefault(slugs[row.commit], {})[row.leg] = (row.status, row.failure_category)
    assert seen == EXPECTED
    ok = summary[summary.status == "ok"]
    assert len(ok) == sum(status == "ok" for legs in EXPECTED.values() for status, _ in legs.values())
    assert (ok.primary_value > 0).all()


def test_legs_ran_in_containers_on_their_own_gpu(docker_demo):
    workdir, _ = docker_demo
    ran = 0
    for metrics in (workdir / DEMO.base / "legs").glob("*/*/metrics.json"):
        result = json.loads(metrics.read_text())
        if result["status"] == "skipped":  # skipped before anything ran: no image stage, no runtime
            continue
        assert result["provenance"]["image"]["runtime"] == "docker"
        if result["status"] == "ok":
            ran += 1
            image = result["provenance"]["image"]
            assert image["digest"].startswith("sha256:")
            assert all(r["gpu_ids"] in ("0", "1") for r in result["rounds"])  # each round held one GPU
            # Every image the demo runs is built or derived here, never pulled; it is held while its leg runs.
            assert image["image"] and image["image_pulled"] is False and image["disk_gb"] > 0
    assert ran == sum(status == "ok" for legs in EXPECTED.values() for status, _ in legs.values())


def test_summary_and_report_record_images_and_disk(docker_demo):
    workdir, _ = docker_demo
    summary = pd.read_csv(workdir / DEMO.summary, dtype={"agent": str})
    ok = summary[summary.status == "ok"]
    assert ok["image"].notna().all() and (ok["disk_peak_gb"] > 0).all()
    assert not ok["image_pulled"].astype(bool).any()
    report = (workdir / DEMO.report_md).read_text()
    assert "| images pulled | 0 |" in report
    assert f"| peak disk | {summary['disk_peak_gb'].max():,.1f} GB |" in report


def test_nothing_is_left_behind(engine, docker_demo):
    _, before = docker_demo
    assert suite_containers(engine, "demo") == []
    assert tags(engine) - before == set()  # every image the run built was removed after its legs


def test_the_token_never_reaches_an_output(docker_demo):
    workdir, _ = docker_demo
    for root in ("results", ".snakemake"):
        for path in Path(workdir, root).rglob("*"):
            if path.is_file():
                assert FAKE_TOKEN.encode() not in path.read_bytes(), path


def test_rerun_after_success_does_nothing(docker_demo):
    workdir, _ = docker_demo
    proc = snakemake(workdir, *ARGS)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Nothing to be done" in proc.stderr + proc.stdout
