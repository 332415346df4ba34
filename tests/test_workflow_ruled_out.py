"""A commit whose command its own tree rejects costs no preparation: no working copy, setup, pull or build.

A real Snakemake run on the demo engine: the latency commit's command with a
flag that neither the tree's benchmark script nor its engine defines. The spec
stage rules it out (``unsupported_flag``); every leg of the commit is skipped
with that evidence, and the image stage prepared nothing for them.
"""

from __future__ import annotations

import csv
import json

import pandas as pd
import yaml

from patchbench.layout import IMAGE_TAG, Layout
from tests.workflow import copy_project, snakemake


def test_a_command_the_tree_rejects_prepares_no_image(tmp_path):
    project = copy_project(tmp_path / "patchbench")
    with open(project / "demo" / "commits.csv", newline="") as handle:
        row = next(r for r in csv.DictReader(handle) if r["scenario"] == "latency")
    row["perf_command"] += " --no-such-option 3"
    with open(project / "ruled.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(row))
        writer.writeheader()
        writer.writerow(row)
    suite = {
        "suite": "ruled",
        "repo": "builtin:demo",
        "commits": "ruled.csv",
        "engine_package": "tinyllm",
        # Would leave its mark in every working copy it ran in.
        "setup_command": "python -c \"open('setup-ran', 'w').close()\"",
        "agents": [{"name": "alpha", "patches": "demo/agents/alpha"}],
        "repeats": 1,
        "rounds": 1,
    }
    (project / "ruled.yaml").write_text(yaml.safe_dump(suite))

    proc = snakemake(project, "--configfile", "ruled.yaml", "--cores", "1", "--resources", "gpu=1")
    assert proc.returncode == 0, proc.stderr[-4000:]

    layout = Layout("ruled")
    summary = pd.read_csv(project / layout.summary, dtype=str).fillna("")
    assert set(summary["leg"]) == {"baseline", "human", "agent-alpha"}
    for leg in summary.itertuples():
        assert (leg.status, leg.failure_category) == ("skipped", "unsupported_flag"), leg
        assert "--no-such-option" in leg.failure_reason
        tag = json.loads((project / layout.leg_file(row["commit"], leg.leg, IMAGE_TAG)).read_text())
        assert tag["status"] == "skipped" and tag["failure"]["category"] == "unsupported_flag"
        assert "checkout" not in tag  # nothing was checked out for it
        assert not (project / layout.worktree(row["commit"], leg.leg)).exists()
    assert not list(project.glob("results/ruled/**/setup-ran"))
