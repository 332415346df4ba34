"""How often the verdict calls an unchanged engine faster or slower: the demo's false-positive rate.

Runs the demo suite N times (fresh results each time, a new seed for the
rounds' order each time) with two legs per commit that run the baseline's own
code: the identity agent ``ident`` (comment-only patches) and the A/A leg
(``aa: true``). Every verdict of theirs against the baseline other than
``similar`` or ``inconclusive`` is a false positive. Prints each run's
verdicts and the rate (target: at most 5%).

Run from the repository root with the venv's binaries on PATH:
    python benchmarks/false_positives.py [--runs 10] [--repeats 5] [--rounds 5]
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from suites import ROOT, copy_workflow

SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
FALSE = ("beats", "worse")


def run_suite(workdir: Path, suite: str, seed: int, repeats: int, rounds: int) -> list[dict[str, str]]:
    config = workdir / f"{suite}.yaml"
    config.write_text(
        f"suite: {suite}\nrepo: builtin:demo\ncommits: demo/commits.csv\nengine_package: tinyllm\n"
        "agents:\n  - {name: ident, patches: demo/agents/ident}\n"
        f"aa: true\nrepeats: {repeats}\nrounds: {rounds}\nseed: {seed}\n"
        "serving:\n  server_command: python -m tinyllm.entrypoints.openai.api_server"
        " --model {model} --host {host} --port {port}\n"
    )
    env = {**os.environ, "PATH": f"{Path(SNAKEMAKE).parent}{os.pathsep}{os.environ['PATH']}"}
    args = [SNAKEMAKE, "--cores", "1", "--resources", "gpu=1", "--configfile", str(config)]
    proc = subprocess.run(args, cwd=workdir, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"the demo failed:\n{proc.stderr[-3000:]}")
    with open(workdir / "results" / suite / "summary.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [row for row in rows if row["leg"] in ("agent-ident", "aa") and row["status"] == "ok"]


def bound(cell: str) -> str:
    """An interval bound of summary.csv, as a percentage with one decimal ("?" without one)."""
    return f"{float(cell):+.1f}%" if cell else "?"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    verdicts: Counter[str] = Counter()
    with tempfile.TemporaryDirectory(prefix="patchbench-fp-") as scratch:
        workdir = Path(scratch)
        copy_workflow(workdir)
        shutil.copytree(ROOT / "demo", workdir / "demo")
        for run in range(1, args.runs + 1):
            began = time.perf_counter()
            legs = run_suite(workdir, f"fp{run}", seed=run, repeats=args.repeats, rounds=args.rounds)
            verdicts.update(row["verdict_vs_baseline"] for row in legs)
            shown = ", ".join(
                f"{row['commit'][:8]} {row['leg']} {float(row['improvement_over_baseline_pct']):+.1f}% "
                f"[{bound(row['ci_low_vs_baseline_pct'])}, {bound(row['ci_high_vs_baseline_pct'])}] "
                f"{row['verdict_vs_baseline']}"
                for row in legs
            )
            print(f"run {run} ({time.perf_counter() - began:.0f} s): {shown}", flush=True)
    total = sum(verdicts.values())
    false = sum(verdicts[v] for v in FALSE)
    print(f"verdicts of unchanged code against the baseline: {dict(verdicts)}")
    print(f"false-positive rate: {false}/{total} = {100 * false / total:.1f}% (target: at most 5%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
