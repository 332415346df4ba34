"""Generated suites for the speed benchmarks: the workflow copied beside made-up commits and patches."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = (
    "Snakefile",
    "rules",
    "config",
    "profiles",
    "report",
    "envs",
    "patchbench",
)  # the schema ships in the package


def copy_workflow(dest: Path, root: Path = ROOT) -> None:
    """The workflow of the checkout ``root`` (this one by default) into ``dest``."""
    for name in WORKFLOW:
        source = root / name
        if source.exists():
            (shutil.copytree if source.is_dir() else shutil.copy)(source, dest / name)


def generate_suite(dest: Path, commits: int, agents: int) -> Path:
    """A suite of ``commits`` made-up commits, each with a patch from each of ``agents`` agents."""
    rows = ["commit,parent_commit,perf_command,model"]
    for i in range(commits):
        sha, parent = f"{i + 1:040x}", f"{i:040x}"
        rows.append(f"{sha},{parent},python benchmarks/benchmark_latency.py --model m --num-iters 3,m")
        for a in range(agents):
            patch = dest / "agents" / f"a{a}" / f"{sha}.diff"
            patch.parent.mkdir(parents=True, exist_ok=True)
            patch.write_text("diff --git a/x.py b/x.py\n--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a = 1\n+a = 2\n")
    (dest / "commits.csv").write_text("\n".join(rows) + "\n")
    agent_lines = "".join(f"  - {{name: a{a}, patches: agents/a{a}}}\n" for a in range(agents))
    config = dest / "suite.yaml"
    config.write_text(f"suite: large\nrepo: builtin:demo\ncommits: commits.csv\nagents:\n{agent_lines}")
    return config
