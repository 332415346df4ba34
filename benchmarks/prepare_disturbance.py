"""How much image preparation beside a run disturbs it: the demo's CPU latency leg, alone and beside a load.

Image jobs now run beside the run that holds the GPU. The demo's legs are
CPU-only, the worst case: the benchmark and the preparation compete for the
same cores. This runs the demo's latency benchmark (its ``latency`` commit,
the command of ``demo/commits.csv``) again and again, the conditions
interleaved in every cycle:

* ``alone``: nothing else of ours runs;
* ``beside``: a stand-in for preparation runs beside it at normal priority:
  one busy process per CPU plus one writing and syncing files (a setup
  command that compiles, a pull that unpacks layers);
* ``beside, nice``: the same stand-in as image jobs run it, at nice 19 in the
  idle I/O class (``runtime.lookahead.lower_priority``).

It prints each condition's median ``latency_avg_ms``, the run-to-run spread
(interquartile range over the median: the noise a leg's repeats see) and each
shift from ``alone``. The verdicts call a difference within
``report.similar_band_pct`` (5 %) similar; what matters is whether the shift
stays within the spread.

Run from the repository root with the venv's binaries on PATH:
    python benchmarks/prepare_disturbance.py [--cycles 20]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from suites import ROOT

from patchbench.config import schema_default
from patchbench.spec.command import flatten
from patchbench.spec.normalize import normalize
from patchbench.target.demo import build_demo_repo

BUSY = "while True: pass"
WRITER = (
    "import os, sys\n"
    "path = sys.argv[1]\n"
    "while True:\n"
    "    with open(path, 'wb') as f:\n"
    "        f.write(os.urandom(32 << 20)); f.flush(); os.fsync(f.fileno())\n"
)
NICE = (
    "from patchbench.runtime import lookahead; lookahead.lower_priority();"
    " import os, sys; os.execv(sys.argv[1], sys.argv[1:])"
)


def latency_tree(scratch: Path) -> tuple[Path, list[str]]:
    """The demo engine at its latency commit, and that commit's benchmark command as the
    workflow runs it (after the suite's default normalization rules)."""
    repo = scratch / "tinyllm"
    build_demo_repo(repo)
    with open(ROOT / "demo" / "commits.csv", newline="") as handle:
        row = next(r for r in csv.DictReader(handle) if r["scenario"] == "latency")
    subprocess.run(["git", "checkout", "-q", row["commit"]], cwd=repo, check=True)
    command = normalize(shlex.split(row["perf_command"]), schema_default("normalization"))
    return repo, [sys.executable, *command.program[1:], *flatten(command.items)]


def measure(tree: Path, argv: list[str], scratch: Path) -> float:
    out = scratch / "latency.json"
    env = {**os.environ, "PYTHONPATH": str(tree)}
    subprocess.run([*argv, "--output-json", str(out)], cwd=tree, env=env, check=True, capture_output=True)
    return json.loads(out.read_text())["avg_latency"] * 1000


@contextmanager
def load(scratch: Path, *, lowered: bool) -> Iterator[None]:
    """One busy process per CPU and one file writer, at normal or at preparation's priority."""
    prefix = [sys.executable, "-c", NICE] if lowered else []
    commands = [[sys.executable, "-c", BUSY]] * (os.cpu_count() or 1) + [
        [sys.executable, "-c", WRITER, str(scratch / "load.bin")]
    ]
    procs = [subprocess.Popen(prefix + command, cwd=ROOT) for command in commands]
    time.sleep(0.5)  # let the load settle
    try:
        yield
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def spread(values: list[float]) -> float:
    """Interquartile range over the median, in percent."""
    q1, _, q3 = statistics.quantiles(values, n=4)
    return 100 * (q3 - q1) / statistics.median(values)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=20, help="runs per condition, interleaved")
    args = parser.parse_args()
    samples: dict[str, list[float]] = {"alone": [], "beside": [], "beside, nice": []}
    with tempfile.TemporaryDirectory(prefix="patchbench-disturb-") as scratch_dir:
        scratch = Path(scratch_dir)
        tree, argv = latency_tree(scratch)
        measure(tree, argv, scratch)  # warm the page cache
        for _ in range(args.cycles):
            samples["alone"].append(measure(tree, argv, scratch))
            with load(scratch, lowered=False):
                samples["beside"].append(measure(tree, argv, scratch))
            with load(scratch, lowered=True):
                samples["beside, nice"].append(measure(tree, argv, scratch))
    alone = statistics.median(samples["alone"])
    print(f"{os.cpu_count()} CPUs, {args.cycles} runs per condition, latency_avg_ms of the demo's latency leg")
    for condition, values in samples.items():
        median = statistics.median(values)
        print(
            f"{condition:>13}: median {median:8.2f} ms, spread (IQR/median) {spread(values):5.1f} %, "
            f"shift from alone {100 * (median - alone) / alone:+6.1f} %"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
