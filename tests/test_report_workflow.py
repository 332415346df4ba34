"""The report rule in a real Snakemake run of the demo: its figures reach ``snakemake --report``, labels rerender it."""

from __future__ import annotations

import json
import re

import pytest

from patchbench.layout import Layout
from patchbench.reporting import plots
from tests.workflow import copy_project, snakemake

DEMO = Layout("demo")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    workdir = copy_project(tmp_path_factory.mktemp("report-demo") / "patchbench")
    proc = snakemake(workdir, "--cores", "2", "--resources", "gpu=1")
    assert proc.returncode == 0, proc.stderr[-4000:]
    return workdir


def test_the_rule_writes_every_figure(demo):
    for name in plots.NAMES:
        svg = (demo / DEMO.plot(name)).read_text()
        assert "<svg" in svg


def test_snakemake_report_includes_the_figures_with_captions(demo):
    proc = snakemake(demo, "--report", "snakemake-report.html")
    assert proc.returncode == 0, proc.stderr[-4000:]
    log = proc.stdout + proc.stderr
    for name in plots.NAMES + ("report.html",):
        assert f"Adding {name}" in log
    page = (demo / "snakemake-report.html").read_text()
    assert "Improvement of the primary metric over the baseline leg" in page  # report/improvement.rst
    assert "patchbench benchmarks performance commits" in page  # report/workflow.rst


def test_configured_labels_rerender_only_the_report(demo):
    (demo / "labels.csv").write_text(
        "commit,agent,bottleneck\n5410c930,beta,same_target\n6333ad2d,alpha,related_target\n"
    )
    config = json.dumps({"labels": "labels.csv"})
    proc = snakemake(demo, "--cores", "1", "--resources", "gpu=1", "--config", f"report={config}")
    assert proc.returncode == 0, proc.stderr[-4000:]
    jobs = set(re.findall(r"^(?:local)?rule (\w+):", proc.stderr, re.MULTILINE))
    assert jobs == {"report", "all"}, jobs
    md = (demo / DEMO.report_md).read_text()
    assert "### Hard and soft success (ISO-Bench quadrants)" in md
    assert "| alpha | 5 | 1 |" in md and "| beta | 5 | 1 |" in md  # one label each matched
