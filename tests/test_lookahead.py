"""Preparation beside the runs: the plan's order of jobs, and when an image job may begin (runtime.lookahead)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from patchbench import config
from patchbench.plan.suite import plan_suite
from patchbench.runtime import gpus, lookahead
from tests.conftest import REPO_ROOT


def demo_plan(**prepare: int):
    suite = config.load(REPO_ROOT / "config" / "config.yaml")
    suite["prepare"] = {**suite["prepare"], **prepare}
    return plan_suite(suite, base_dir=REPO_ROOT, gpu_limit=1)


def test_running_commits_leave_out_commits_whose_every_leg_is_skipped():
    plan = demo_plan()
    assert len(plan.commits) == 5
    eight_gpus = next(c for c, p in plan.commits.items() if p.skip is not None)
    assert eight_gpus not in plan.running_commits() and len(plan.running_commits()) == 4


@pytest.mark.parametrize("ahead", [1, 2])
def test_preparation_comes_just_above_the_runs_of_the_commit_lookahead_plus_one_before(ahead):
    plan = demo_plan(lookahead=ahead)
    commits = plan.running_commits()
    first_run = {c: max(plan.run_priority(leg, 1) for leg in plan.round_order(c, 1)) for c in commits}
    last_run = {
        c: min(plan.run_priority(leg, plan.rounds) for leg in plan.round_order(c, plan.rounds)) for c in commits
    }
    prepare = {c: plan.prepare_priority(c) for c in commits}
    # The first lookahead + 1 commits prepare before any run; every later one right above the
    # runs of the commit lookahead + 1 before it, below the runs of every commit before that.
    for index, commit in enumerate(commits):
        if index <= ahead:
            assert prepare[commit] > max(first_run.values())
        else:
            before = commits[index - ahead - 1]
            assert prepare[commit] == first_run[before] + 1
            assert all(prepare[commit] < last_run[c] for c in commits[: index - ahead - 1])
    # Commits in table order, and no two jobs share a priority.
    assert [prepare[c] for c in commits] == sorted(prepare.values(), reverse=True)
    runs = [
        plan.run_priority(leg, n) for c in commits for n in range(1, plan.rounds + 1) for leg in plan.round_order(c, n)
    ]
    assert len(set(runs) | set(prepare.values())) == len(runs) + len(prepare)


def test_the_schedule_names_the_running_commits_in_order(tmp_path):
    plan = demo_plan(lookahead=2)
    schedule = plan.schedule()
    assert schedule.commit_dirs == tuple(plan.layout.commit_dir(c) for c in plan.running_commits())
    assert (schedule.lookahead, schedule.gpu_locks) == (2, plan.layout.gpu_locks)
    path = tmp_path / "schedule.json"
    lookahead.write(path, schedule)
    written = path.stat().st_mtime_ns
    time.sleep(0.01)
    lookahead.write(path, schedule)  # the same schedule: the file is left alone
    assert path.stat().st_mtime_ns == written


def test_a_commit_waits_for_one_of_the_lookahead_commits_before_it():
    schedule = lookahead.Schedule(2, ("r/legs/a", "r/legs/b", "r/legs/c", "r/legs/d"), "r/.gpus", 0)
    assert schedule.waits_for("r/legs/a") == schedule.waits_for("r/legs/b") == ()
    assert schedule.waits_for("r/legs/c") == ("r/legs/a", "r/legs/b", "r/legs/c")
    assert schedule.waits_for("./r/legs/d") == ("r/legs/b", "r/legs/c", "r/legs/d")
    assert schedule.waits_for("r/legs/unscheduled") == ()


def test_a_commit_has_started_once_a_round_log_exists_in_progress_or_complete(tmp_path):
    commit = tmp_path / "legs" / "c"
    (commit / "human").mkdir(parents=True)
    (commit / "human" / "image.tag").write_text("{}")
    assert not lookahead.started(commit) and not lookahead.started(tmp_path / "legs" / "absent")
    partial = commit / "baseline" / "rounds" / "1" / "run.log.partial"
    partial.parent.mkdir(parents=True)
    partial.write_text("")
    assert lookahead.started(commit)
    partial.rename(partial.with_name("run.log"))
    assert lookahead.started(commit)


def test_a_held_gpu_lease_is_a_busy_gpu(tmp_path):
    locks = gpus.lock_dir(tmp_path / ".gpus", {}, "host")
    assert not gpus.any_held(tmp_path / ".gpus")
    with gpus.lease(1, ["0", "1"], locks, holder="a run"):
        assert gpus.any_held(tmp_path / ".gpus")
    assert not gpus.any_held(tmp_path / ".gpus")  # the lock files stay, unheld


def test_a_wait_ends_at_its_turn_or_after_the_gpu_stayed_idle(tmp_path):
    locks = gpus.lock_dir(tmp_path / ".gpus", {}, "host")
    assert lookahead.wait(lambda: True, locks, idle_s=60).reason == "turn"
    idle = lookahead.wait(lambda: False, locks, idle_s=0.3, poll_s=0.05)
    assert idle.reason == "idle" and 0.3 <= idle.seconds < 5
    # While a run holds the GPU the wait goes on past idle_s, until its turn comes.
    turn = threading.Event()
    with gpus.lease(1, ["0"], locks, holder="a run"):
        threading.Timer(0.6, turn.set).start()
        waited = lookahead.wait(turn.is_set, tmp_path / ".gpus", idle_s=0.2, poll_s=0.05)
    assert waited.reason == "turn" and waited.seconds >= 0.5


def test_preparation_runs_at_the_lowest_cpu_and_io_priority():
    probe = (
        "import os, psutil; from patchbench.runtime import lookahead; lookahead.lower_priority(); "
        "print(os.nice(0), psutil.Process().ionice().ioclass == psutil.IOPRIO_CLASS_IDLE)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO_ROOT)
    assert out.stdout.split() == ["19", "True"]


def test_no_schedule_no_wait(tmp_path, monkeypatch):
    monkeypatch.delenv(lookahead.ENV, raising=False)
    assert lookahead.current() is None
    monkeypatch.setenv(lookahead.ENV, str(tmp_path / "schedule.json"))
    assert lookahead.current() is None  # named but not written: a stage run by hand
    lookahead.write(tmp_path / "schedule.json", lookahead.Schedule(1, ("x",), "g", 2.5, idle_s=7))
    assert lookahead.current() == lookahead.Schedule(1, ("x",), "g", 2.5, idle_s=7)
    said: list[str] = []
    lookahead.wait_turn(None, Path("x"), said.append)
    assert said[0].startswith("prepare: began ")
