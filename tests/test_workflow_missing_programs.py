"""A program a leg runs that does not exist fails that leg (``missing_program``), never the campaign.

Real Snakemake runs of two tiny suites on the demo engine: one whose
interpreter does not exist (the benchmark of a latency commit, the server of
a serving commit), one whose setup command does not exist. The summary and
the report are written either way.
"""

from __future__ import annotations

import csv

import pandas as pd
import pytest
import yaml

from patchbench.layout import Layout
from tests.workflow import copy_project, snakemake

MISSING_PYTHON = "/nonexistent/bin/python3"


def tiny_suite(project, name: str, scenarios: tuple[str, ...], **settings) -> str:
    """A suite of the demo's commits for ``scenarios``, no agents; returns the config file's name."""
    with open(project / "demo" / "commits.csv", newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["scenario"] in scenarios]
    table = project / f"{name}.csv"
    with open(table, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    suite = {
        "suite": name,
        "repo": "builtin:demo",
        "commits": table.name,
        "engine_package": "tinyllm",
        "serving": {
            "server_command": "python -m tinyllm.entrypoints.openai.api_server --model {model} --host {host} --port {port}"
        },
        "timeouts": {"server_start_s": 60, "benchmark_s": 120},
        "repeats": 1,  # one round: the first failure is the leg's
        "rounds": 1,
        **settings,
    }
    (project / f"{name}.yaml").write_text(yaml.safe_dump(suite))
    return f"{name}.yaml"


def outcomes(project, name: str) -> dict[tuple[str, str], tuple[str, str, str]]:
    layout = Layout(name)
    summary = pd.read_csv(project / layout.summary, dtype=str).fillna("")
    assert (project / layout.report_md).exists() and (project / layout.report_html).exists()
    assert "missing_program" in (project / layout.report_md).read_text()
    scenario = dict(pd.read_csv(project / f"{name}.csv", dtype=str)[["commit", "scenario"]].values)
    return {
        (scenario[row.commit], row.leg): (row.status, row.failure_category, row.failure_reason)
        for row in summary.itertuples()
    }


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return copy_project(tmp_path_factory.mktemp("missing") / "patchbench")


def test_a_missing_interpreter_fails_the_benchmark_and_the_server(project):
    configfile = tiny_suite(project, "nopython", ("latency", "serving"), python=MISSING_PYTHON)
    proc = snakemake(project, "--configfile", configfile, "--cores", "2", "--resources", "gpu=1")
    assert proc.returncode == 0, proc.stderr[-4000:]
    seen = outcomes(project, "nopython")
    for leg in ("baseline", "human"):
        status, category, evidence = seen[("latency", leg)]
        assert (status, category) == ("failed", "missing_program")
        assert evidence.splitlines()[0] == f"the benchmark: cannot start '{MISSING_PYTHON}': No such file or directory"
        status, category, evidence = seen[("serving", leg)]
        assert (status, category) == ("failed", "missing_program")
        assert evidence.splitlines()[0] == f"the server: cannot start '{MISSING_PYTHON}': No such file or directory"


def test_a_missing_setup_program_fails_the_image_stage(project):
    configfile = tiny_suite(project, "nosetup", ("latency",), setup_command="no-such-installer --editable .")
    proc = snakemake(project, "--configfile", configfile, "--cores", "2", "--resources", "gpu=1")
    assert proc.returncode == 0, proc.stderr[-4000:]
    for leg in ("baseline", "human"):
        status, category, evidence = outcomes(project, "nosetup")[("latency", leg)]
        assert (status, category) == ("failed", "missing_program")
        assert evidence.startswith(
            "the setup command 'no-such-installer --editable .': cannot start 'no-such-installer': No such file or directory"
        )
