"""Images prepared beside the runs, with exactly `snakemake --cores 1 --resources gpu=1`: a real run of the demo.

The setup command stands in for a pull or a build: it sleeps and prints the
priority it ran at. Times come from the legs' own records: each round's
``started``/``finished`` in its run.log, each image job's ``prepare: began`` in
its log and the moment its image.tag was written.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import yaml

from patchbench.layout import Layout
from patchbench.runtime.runlog import read_annotations
from tests.workflow import copy_project, snakemake

SUITE = Layout("ahead")
SETUP_S = 2
TOLERANCE_S = 0.5  # a round's run.log.partial appears just before it stamps "started"
SETUP = f"python3 -c 'import os, time; print(\"setup nice\", os.nice(0)); time.sleep({SETUP_S})'"


def seconds(stamp: str) -> float:
    return dt.datetime.fromisoformat(stamp).timestamp()


@pytest.fixture(scope="module")
def ran(tmp_path_factory) -> Path:
    workdir = copy_project(tmp_path_factory.mktemp("ahead") / "patchbench")
    suite = yaml.safe_load((workdir / "config" / "config.yaml").read_text())
    suite.update(suite="ahead", rounds=1, repeats=1, setup_command=SETUP, prepare={"lookahead": 1, "parallel": 2})
    (workdir / "ahead.yaml").write_text(yaml.safe_dump(suite))
    proc = snakemake(workdir, "--cores", "1", "--resources", "gpu=1", "--configfile", "ahead.yaml")
    assert proc.returncode == 0, proc.stderr[-4000:]
    return workdir


def commit_order(workdir: Path) -> list[str]:
    schedule = json.loads((workdir / SUITE.schedule).read_text())
    return [Path(folder).name for folder in schedule["commit_dirs"]]


def runs(workdir: Path, *, benchmarked: bool = False) -> list[tuple[float, float, str]]:
    """(started, finished, commit) of every run job; ``benchmarked``: only those that ran a benchmark
    (a leg whose image failed has run jobs that only say so)."""
    found = []
    for log in (workdir / SUITE.base / "legs").glob("*/*/rounds/*/run.log"):
        notes = read_annotations(log)
        if not (benchmarked and "not run" in notes):
            found.append((seconds(notes["started"]), seconds(notes["finished"]), log.parents[3].name))
    return sorted(found)


def images(workdir: Path) -> list[tuple[float, float, str, str]]:
    """(began, ready, commit, leg) of every image job, and its log."""
    found = []
    for log in (workdir / SUITE.base / "logs" / "image").glob("*/*.log"):
        began = next(
            line.split("began ", 1)[1] for line in log.read_text().splitlines() if line.startswith("prepare: began")
        )
        tag = workdir / SUITE.leg_file(log.parent.name, log.stem, "image.tag")
        found.append((seconds(began), tag.stat().st_mtime, log.parent.name, log.stem))
    return sorted(found)


def test_benchmark_runs_never_overlap(ran):
    timeline = runs(ran)
    assert len(timeline) == 18  # the demo's 18 running legs, one round each
    for (_, finished, _), (started, _, _) in zip(timeline, timeline[1:]):
        assert started >= finished


def test_images_are_prepared_while_earlier_commits_run(ran):
    during = [
        (commit, leg)
        for began, ready, commit, leg in images(ran)
        for started, finished, ran_commit in runs(ran)
        if ran_commit != commit and began < finished and started < ready
    ]
    # Every later commit's images overlap a run of the commit before it.
    assert {commit for commit, _ in during} >= set(commit_order(ran)[1:])


def test_no_image_is_prepared_more_than_lookahead_commits_ahead_of_the_gpu(ran):
    order = commit_order(ran)
    first_run = {}
    for started, _, commit in runs(ran):
        first_run.setdefault(commit, started)
    for began, _, commit, leg in images(ran):
        index = order.index(commit)
        if index >= 1:  # lookahead 1: once the GPU has started the commit before it (or its own)
            assert began >= min(first_run[c] for c in order[index - 1 : index + 1]) - TOLERANCE_S, (commit, leg)


def test_preparation_ran_at_the_lowest_priority(ran):
    logs = list((ran / SUITE.base / "logs" / "image").glob("*/*.log"))
    with_setup = [log.read_text() for log in logs if "setup nice" in log.read_text()]
    assert with_setup and all("setup nice 19" in text for text in with_setup)


def test_the_report_shows_gpu_busy_wall_and_their_ratio(ran):
    timeline = runs(ran, benchmarked=True)
    busy = sum(finished - started for started, finished, _ in timeline)
    wall = max(finished for _, finished, _ in timeline) - min(started for started, _, _ in timeline)
    md = (ran / SUITE.report_md).read_text()
    figures = {row.split("|")[1].strip(): row.split("|")[2].strip() for row in md.splitlines() if row.count("|") == 3}
    assert figures[f"GPU-busy time (sum of the run jobs of the {len(timeline)} legs that ran)"] == clock(busy)
    assert figures["wall time (first leg started to last leg finished)"] == clock(wall)
    assert float(figures["wall time / GPU-busy time (1.00: the GPU never waited)"]) == pytest.approx(
        wall / busy, abs=0.006
    )


def clock(total: float) -> str:
    whole = int(round(total))
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
