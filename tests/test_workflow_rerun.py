"""Incremental reruns on the demo suite with real Snakemake: only what is missing, failed or changed.

Job counts come from dry runs (Snakemake's own "Job stats"), so each case
checks exactly which jobs a real run would do.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from patchbench.layout import Layout
from tests.test_workflow_demo import EXPECTED, LEGS_PER_COMMIT, ROUNDS
from tests.workflow import SNAKEMAKE, copy_project, snakemake

DEMO = Layout("demo")

RUN = ("--cores", "1", "--resources", "gpu=1")
RULES = {"target_repo", "revisions", "spec", "patch", "image", "run", "metrics", "summary", "report", "all"}


def planned(workdir: Path, *extra: str) -> dict[str, int]:
    proc = snakemake(workdir, "-n", *RUN, *extra)
    assert proc.returncode == 0, proc.stderr[-3000:]
    counts: dict[str, int] = {}
    in_stats = False
    for line in (proc.stdout + proc.stderr).splitlines():
        words = line.split()
        if words[:2] == ["job", "count"]:
            in_stats = True
        elif in_stats and len(words) == 2 and words[0] in RULES and words[1].isdigit():
            counts[words[0]] = int(words[1])
        elif in_stats and words and words[0] == "total":
            break
    counts.pop("total", None)
    return counts


def leg(workdir: Path, slug: str, name: str) -> Path:
    table = pd.read_csv(workdir / "demo" / "commits.csv", dtype=str)
    commit = table.set_index("scenario").loc[slug, "commit"]
    return workdir / DEMO.leg_dir(commit, name)


@pytest.fixture(scope="module")
def done(tmp_path_factory):
    workdir = copy_project(tmp_path_factory.mktemp("rerun") / "patchbench")
    proc = snakemake(workdir, *RUN)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return workdir


def test_complete_run_has_nothing_to_do(done):
    assert planned(done) == {}


def test_deleted_metrics_recompute_that_leg_only(done):
    leg(done, "latency", "human").joinpath("metrics.json").unlink()
    assert planned(done) == {"metrics": 1, "summary": 1, "report": 1, "all": 1}
    proc = snakemake(done, *RUN)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_deleted_round_log_reruns_that_round_only(done):
    leg(done, "serving", "agent-beta").joinpath("rounds", "2", "run.log").unlink()
    assert planned(done) == {"run": 1, "metrics": 1, "summary": 1, "report": 1, "all": 1}
    proc = snakemake(done, *RUN)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_changed_patch_content_reruns_exactly_that_leg(done):
    patch = next((done / "demo" / "agents" / "alpha").glob(leg(done, "latency", "human").parent.name + ".diff"))
    patch.write_text(patch.read_text() + "\n")  # same change, different bytes
    legs = {"patch": 1, "image": 1, "run": ROUNDS, "metrics": 1}
    assert planned(done) == {**legs, "summary": 1, "report": 1, "all": 1}
    patch.write_text(patch.read_text()[:-1])
    assert planned(done) == {}


def test_new_agent_computes_only_its_legs(done, tmp_path):
    shutil.copytree(done / "demo" / "agents" / "beta", done / "demo" / "agents" / "gamma")
    config = yaml.safe_load((done / "config" / "config.yaml").read_text())
    config["agents"].append({"name": "gamma", "patches": "demo/agents/gamma"})
    extra = tmp_path / "gamma.yaml"
    extra.write_text(yaml.safe_dump(config))
    # One leg per commit; baseline and human are reused. Gamma has beta's patches, so the
    # legs beta skips (8 GPUs, no patch) are skipped too: they get only a metrics.json.
    running = sum(EXPECTED[slug]["agent-beta"][0] != "skipped" for slug in EXPECTED)
    assert running == 3
    legs = {"patch": running, "image": running, "run": running * ROUNDS, "metrics": len(EXPECTED)}
    assert planned(done, "--configfile", str(extra)) == {**legs, "summary": 1, "report": 1, "all": 1}


def test_retry_failed_reruns_only_what_a_retry_can_change(done):
    proc = snakemake(done, *RUN, "--config", "retry=failed")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "retrying 1 failed leg(s) (failed)" in proc.stderr  # the server crash, not the broken patches
    crashed = leg(done, "serving", "agent-alpha")  # its server crashes in every round: every round is retried
    assert all((crashed / "attempts" / "1" / "rounds" / str(n) / "run.log").exists() for n in range(1, ROUNDS + 1))
    assert (crashed / "attempts" / "1" / "metrics.json").exists()
    result = json.loads((crashed / "metrics.json").read_text())
    assert result["failure_category"] == "server_crash" and result["provenance"]["attempt"] == 2
    summary = pd.read_csv(done / DEMO.summary, dtype=str)
    assert sorted(summary.attempt.unique()) == ["1", "2"]


def test_retry_all_failed_takes_every_failed_leg_but_not_skipped_ones(done):
    proc = snakemake(done, *RUN, "--config", "retry=all-failed")
    assert proc.returncode == 0, proc.stderr[-3000:]
    # server crash, syntax error, stale patch, and three legs of the commit that is not in the repository
    assert "retrying 6 failed leg(s) (all-failed)" in proc.stderr


def test_a_failed_round_is_retried_without_the_others(done):
    human = leg(done, "latency", "human")
    kept = {n: (human / "rounds" / str(n) / "run.log").read_bytes() for n in range(1, ROUNDS + 1) if n != 3}
    # Round 3 as a run stopped at its deadline would have left it (the runner's last verdict wins).
    with open(human / "rounds" / "3" / "run.log", "a") as log:
        log.write("[patchbench] outcome: timeout\n[patchbench] evidence: benchmark still running after 300s; stopped\n")
    (human / "metrics.json").unlink()
    assert snakemake(done, *RUN).returncode == 0
    result = json.loads((human / "metrics.json").read_text())
    assert (result["status"], result["failure_category"]) == ("failed", "timeout")
    assert result["failure_reason"].startswith(f"round 3 of {ROUNDS}:")
    proc = snakemake(done, *RUN, "--config", "retry=failed")
    assert proc.returncode == 0, proc.stderr[-3000:]
    archived = max((human / "attempts").iterdir(), key=lambda p: int(p.name))
    assert sorted(p.name for p in (archived / "rounds").iterdir()) == ["3"]
    assert {n: (human / "rounds" / str(n) / "run.log").read_bytes() for n in kept} == kept
    assert json.loads((human / "metrics.json").read_text())["status"] == "ok"


def leftover_processes(workdir: Path) -> list[str]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            cmd = stat.read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(workdir) in cmd or ("tinyllm" in cmd and "--port" in cmd and str(workdir.name) in cmd):
            found.append(cmd)
    return found


def test_killed_run_leaves_no_process_and_resumes(tmp_path):
    workdir = copy_project(tmp_path / "patchbench")
    env = {**os.environ, "PATH": f"{Path(SNAKEMAKE).parent}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.Popen(
        [SNAKEMAKE, *RUN], cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    # Kill it while a leg is running: wait for a run.log in progress.
    while time.monotonic() < deadline and not list((workdir / DEMO.base).glob("legs/*/*/rounds/*/run.log.partial")):
        time.sleep(0.1)
    assert proc.poll() is None, "the run finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    time.sleep(4)  # the orphaned job notices within a second and stops its children
    assert [c for c in leftover_processes(workdir) if "snakemake" not in c] == []
    unlock = snakemake(workdir, "--unlock", *RUN)
    assert unlock.returncode == 0, unlock.stderr[-2000:]
    resumed = snakemake(workdir, *RUN)  # the default profile sets --rerun-incomplete
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert planned(workdir) == {}
    summary = pd.read_csv(workdir / DEMO.summary)
    assert len(summary) == LEGS_PER_COMMIT * len(EXPECTED)
