"""What every cluster job pays before its command runs: Snakemake re-parses the workflow.

On a cluster each job is a fresh ``snakemake`` process on the compute node
(snakemake-executor-plugin-slurm#215): it imports Snakemake and its plugins,
parses the Snakefile (config validation, the suite plan in rules/common.smk,
the rules) and builds the DAG of its one job. This script prints, for the
demo suite and for a generated suite of N commits (default 1,000, with 3
agents: 5 legs each), the median wall time of

* ``import``: ``python -c "import snakemake.cli"``, the floor no workflow can lower;
* ``plan``: ``plan_suite`` in-process (validated config -> legs), the workflow's own top-level work;
* ``parse``: ``snakemake --list-rules`` (start-up and parse, no DAG);
* ``job``: ``snakemake -n <one leg's run.log>`` on an up-to-date tree (start-up, parse,
  a one-leg DAG: about what a cluster job does before its command).

Run from the repository root with the venv:
    .venv/bin/python benchmarks/parse_time.py [--commits 1000] [--agents 3] [--repeat 5]
Timings are wall clock; on a busy machine compare figures from the same run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from suites import ROOT, copy_workflow, generate_suite

BIN = Path(sys.executable).parent
SNAKEMAKE = str(BIN / "snakemake")


def up_to_date_leg(workdir: Path, suite: str, commit: str) -> str:
    """Make one baseline leg's files exist, oldest first, so a dry run finds it complete; return its run.log."""
    base = workdir / "results" / suite
    leg = base / "legs" / commit / "baseline"
    files = [
        base / "target/repo.json",
        base / "legs" / commit / "spec.json",
        leg / "patch.diff",
        leg / "image.tag",
        leg / "run.log",
    ]
    now = time.time()
    for age, path in enumerate(reversed(files)):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}\n")
        os.utime(path, (now - 10 * age, now - 10 * age))
    return str(files[-1].relative_to(workdir))


def median_seconds(argv: list[str], cwd: Path, repeat: int) -> float:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "PYTHONDONTWRITEBYTECODE": "1"}
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
        times.append(time.perf_counter() - began)
        if proc.returncode != 0:
            sys.exit(f"{' '.join(argv)} failed in {cwd}:\n{proc.stderr[-3000:]}")
    return statistics.median(times)


def plan_seconds(workdir: Path, configfile: Path, repeat: int) -> tuple[float, int]:
    """plan_suite on the validated config, in a fresh interpreter (imports not counted)."""
    code = f"""
import time, yaml
from snakemake.utils import validate
from patchbench.plan.suite import plan_suite
config = yaml.safe_load(open({str(workdir / "config/config.yaml")!r}))
config.update(yaml.safe_load(open({str(configfile)!r})))
validate(config, {str(workdir / "patchbench/schemas/config.schema.yaml")!r})
times = []
for _ in range({repeat}):
    began = time.perf_counter()
    plan = plan_suite(config, base_dir={str(workdir)!r})
    times.append(time.perf_counter() - began)
times.sort()
print(times[len(times) // 2], len(plan.legs()))
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=workdir, capture_output=True, text=True, check=True).stdout
    seconds, legs = out.split()
    return float(seconds), int(legs)


def measure(name: str, workdir: Path, configfile: Path, suite: str, commit: str, repeat: int) -> None:
    config = ["--configfile", str(configfile), "--workflow-profile", "none"]
    plan, legs = plan_seconds(workdir, configfile, repeat)
    parse = median_seconds([SNAKEMAKE, "--list-rules", *config], workdir, repeat)
    target = up_to_date_leg(workdir, suite, commit)
    job = median_seconds([SNAKEMAKE, "-n", "--cores", "1", *config, target], workdir, repeat)
    print(f"{name:<28} {legs:>6} legs   plan {plan * 1000:7.1f} ms   parse {parse:6.2f} s   job {job:6.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=1000)
    parser.add_argument("--agents", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    floor = median_seconds([sys.executable, "-c", "import snakemake.cli"], ROOT, args.repeat)
    print(f"median of {args.repeat} runs, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    print(f"import snakemake.cli: {floor:.2f} s (in every figure below but plan)")
    with tempfile.TemporaryDirectory(prefix="patchbench-parse-") as scratch:
        demo = Path(scratch) / "demo"
        demo.mkdir()
        copy_workflow(demo)
        shutil.copytree(ROOT / "demo", demo / "demo")
        demo_commit = (ROOT / "demo/commits.csv").read_text().splitlines()[1].split(",")[0]
        measure("demo", demo, demo / "config/config.yaml", "demo", demo_commit, args.repeat)
        large = Path(scratch) / "large"
        large.mkdir()
        copy_workflow(large)
        config = generate_suite(large, args.commits, args.agents)
        measure(
            f"{args.commits} commits x {2 + args.agents} variants", large, config, "large", f"{1:040x}", args.repeat
        )


if __name__ == "__main__":
    main()
