"""What Snakemake's local scheduler does with jobs that take no core: the facts image jobs rely on.

Checked on toy workflows with the real Snakemake (each job stamps when it
began and ended), so an upgrade that changes them fails here first:

* jobs with ``threads: 0`` run beside a job holding the only core (image jobs
  beside a run, with ``--cores 1``);
* such a job that becomes ready while that core is held waits until it is
  free (image jobs start between two runs, never in the middle of one);
* the local executor has ``--cores`` + 5 worker threads: never more jobs run
  at once, whatever their threads, so more than 5 zero-thread jobs could keep
  a job that needs the core waiting for a worker (``prepare.parallel`` is
  therefore at most 5).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
STAMP = "echo $(date +%s.%N) > {output}; sleep {params.s}; echo $(date +%s.%N) >> {output}"


def run(tmp_path: Path, snakefile: str) -> dict[str, tuple[float, float]]:
    (tmp_path / "Snakefile").write_text(snakefile.replace("STAMP", STAMP))
    proc = subprocess.run(
        [SNAKEMAKE, "--cores", "1", "--scheduler", "greedy", "-q"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    times = {}
    for path in tmp_path.glob("*.txt"):
        began, ended = map(float, path.read_text().split())
        times[path.stem] = (began, ended)
    return times


def test_zero_thread_jobs_run_beside_the_job_holding_the_core(tmp_path):
    times = run(
        tmp_path,
        """
rule all:
    input: "prep.txt", "run.txt"
rule prep:
    output: "prep.txt"
    threads: 0
    params: s=3
    shell: "STAMP"
rule run:
    output: "run.txt"
    params: s=3
    shell: "STAMP"
""",
    )
    assert times["prep"][0] < times["run"][1] and times["run"][0] < times["prep"][1]


def test_a_zero_thread_job_ready_while_the_core_is_held_waits_for_it(tmp_path):
    times = run(
        tmp_path,
        """
rule all:
    input: "late.txt", "run.txt"
rule early:
    output: "early.txt"
    threads: 0
    params: s=1
    shell: "STAMP"
rule late:
    input: "early.txt"
    output: "late.txt"
    threads: 0
    params: s=0
    shell: "STAMP"
rule run:
    output: "run.txt"
    priority: 1
    params: s=4
    shell: "STAMP"
""",
    )
    assert times["early"][1] < times["run"][1] - 1  # ready well before the run ended...
    assert times["late"][0] >= times["run"][1]  # ...it began only once the core was free


def test_beyond_five_zero_thread_jobs_a_job_needing_the_core_queues_behind_them(tmp_path):
    times = run(
        tmp_path,
        """
rule all:
    input: expand("prep{i}.txt", i=range(8)), "run.txt"
rule prep:
    output: "prep{i}.txt"
    threads: 0
    params: s=3
    shell: "STAMP"
rule run:
    output: "run.txt"
    priority: 1
    params: s=0
    shell: "STAMP"
""",
    )
    # --cores 1 + 5 workers, whatever the jobs' threads: the preps fill them. Which job is handed to a
    # worker first is Snakemake's choice (the run usually waits behind six preps; on a loaded machine
    # it may go first): so the number of jobs running at once is what is checked, not the order.
    assert most_at_once(times.values()) == 6


def most_at_once(spans) -> int:
    """The most intervals ``(began, ended)`` that overlap at one moment."""
    events = sorted((t, step) for began, ended in spans for t, step in ((began, 1), (ended, -1)))
    running = most = 0
    for _, step in events:  # at the same moment an end comes before a start (-1 < 1)
        running += step
        most = max(most, running)
    return most
