"""How fast the workflow decides what to do: the dry run of a large suite, and the no-op rerun.

Prints three figures:

* dry-run time of a generated suite of 1,000 commits x 5 variants (baseline,
  human, 3 agents): Snakemake parses the workflow, plans ~21,000 jobs and
  stops (target: under 15 s on 2 cores);
* the same machine's speed at planning trivial jobs: the dry run of the
  30,001-job chain that docs/speed.md's reference machine plans in 12.96 s, and
  the suite's dry-run time scaled to that machine. Wall times on shared VMs
  vary two- to three-fold, so the scaled figure is the one to compare;
* no-op rerun time of the demo suite right after a complete run ("Nothing to
  be done").

Run from the repository root with the venv's binaries on PATH:
    python benchmarks/rerun_speed.py [--commits 1000] [--agents 3] [--repeat 2] [--skip-demo]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from suites import ROOT, copy_workflow, generate_suite

SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")


def timed(args: list[str], cwd: Path) -> float:
    env = {**os.environ, "PATH": f"{Path(SNAKEMAKE).parent}{os.pathsep}{os.environ['PATH']}"}
    began = time.perf_counter()
    proc = subprocess.run([SNAKEMAKE, *args], cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - began
    if proc.returncode != 0:
        sys.exit(f"snakemake {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return elapsed


REFERENCE_TRIVIAL_S = 12.96  # 30,001 trivial jobs, snakemake 9.27.1, 2 cores (docs/speed.md)
TRIVIAL_CHAIN = """\
rule all:
    input: expand("out/{i}/c.txt", i=range(10000))
rule a:
    output: "out/{i}/a.txt"
    shell: "touch {output}"
rule b:
    input: "out/{i}/a.txt"
    output: "out/{i}/b.txt"
    shell: "touch {output}"
rule c:
    input: "out/{i}/b.txt"
    output: "out/{i}/c.txt"
    shell: "touch {output}"
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=1000)
    parser.add_argument("--agents", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=2, help="best of N alternating dry runs (default 2)")
    parser.add_argument("--skip-demo", action="store_true", help="skip the demo run (about a minute)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="patchbench-bench-") as scratch:
        large = Path(scratch) / "large"
        large.mkdir()
        copy_workflow(large)
        config = generate_suite(large, args.commits, args.agents)
        legs = args.commits * (2 + args.agents)
        trivial_dir = Path(scratch) / "trivial"
        trivial_dir.mkdir()
        (trivial_dir / "Snakefile").write_text(TRIVIAL_CHAIN)
        # Alternate the two so that a slow spell of the machine hits both; keep each one's best.
        dry, trivial = float("inf"), float("inf")
        for _ in range(args.repeat):
            dry = min(
                dry, timed(["-n", "-q", "--configfile", str(config), "--cores", "2", "--resources", "gpu=1"], large)
            )
            trivial = min(trivial, timed(["-n", "-q", "--cores", "2"], trivial_dir))
        scaled = dry * REFERENCE_TRIVIAL_S / trivial
        print(f"dry run, {args.commits} commits x {2 + args.agents} variants ({legs} legs): {dry:.1f} s")
        print(f"this machine: 30,001 trivial jobs in {trivial:.1f} s (reference machine: {REFERENCE_TRIVIAL_S} s)")
        print(f"dry run scaled to the reference machine: {scaled:.1f} s")
        if args.skip_demo:
            return
        demo = Path(scratch) / "demo"
        demo.mkdir()
        copy_workflow(demo)
        shutil.copytree(ROOT / "demo", demo / "demo")
        timed(["--cores", "2", "--resources", "gpu=1"], demo)
        noop = timed(["--cores", "1", "--resources", "gpu=1"], demo)
        print(f"no-op rerun of the demo suite after a complete run: {noop:.1f} s")


if __name__ == "__main__":
    main()
