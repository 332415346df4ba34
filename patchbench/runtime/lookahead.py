"""Image preparation beside the runs: when an image job may begin, and at what priority.

Snakemake starts image jobs (``threads: 0``) beside the run job that holds the
core and the GPU, at most ``prepare.parallel`` at once (a resource the workflow
declares). What Snakemake cannot bound without tying image jobs to run jobs in
its DAG (where a rerun or a failed run would reach every later commit) is how
far ahead of the GPU they go. So an image job waits here, before it prepares
anything, until the GPU has started one of the ``prepare.lookahead`` commits
before its own (or its own). A commit has started once a round of one of its
legs has: that round's ``run.log``, or the ``run.log.partial`` of a round in
progress, exists.

The wait ends when the GPU has been idle for ``IDLE_S`` seconds (no run holds
a GPU lease): nothing is then running that would bring the turn, because a job
upstream of those runs failed or the invocation asked for images only, and
preparing beats waiting forever.

The docker runtime's image stage waits the same way, with the same end, for
room within ``docker.disk_budget_gb`` before it pulls or builds an image ahead
of the GPU (``docker.obtain``).

The workflow writes the schedule (the lookahead, the running commits' folders
in the order the GPU takes them, where the GPU leases are, the disk budget) at
start-up and names the file in ``PATCHBENCH_SCHEDULE``; a stage run by hand,
without it, never waits. None of this is a rule's param, so changing it
reruns nothing.

Preparation runs at the lowest CPU and I/O priority (nice 19, the idle I/O
class): the setup command and git inherit it and yield to a benchmark on the
same host.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from patchbench import artifacts
from patchbench.layout import ROUNDS, RUN_LOG
from patchbench.runtime import gpus
from patchbench.runtime.run import now

ENV = "PATCHBENCH_SCHEDULE"
IDLE_S = 30.0  # longer than the gap between two runs, or a burst of preparation jobs on the core
POLL_S = 1.0
LOWEST_NICE = 19
RUN_LOGS = (RUN_LOG, RUN_LOG + ".partial")  # a round's log, complete or in progress (runlog.RunLogWriter)

Say = Callable[[str], None]


@dataclass(frozen=True)
class Schedule:
    """What an image job needs to know to find its turn."""

    lookahead: int
    commit_dirs: tuple[str, ...]  # commits that run, in the order the GPU takes them
    gpu_locks: str  # where the runs' GPU leases live (``runtime.gpus``)
    disk_budget_gb: float  # what docker's images prepared ahead may take (``docker.disk_budget_gb``)
    idle_s: float = IDLE_S  # how long an idle GPU ends a wait

    def waits_for(self, commit_dir: str) -> tuple[str, ...]:
        """The commits one of which must have started before ``commit_dir``'s images are
        prepared; none for the first ``lookahead`` commits and for a commit not scheduled."""
        commits = [os.path.normpath(c) for c in self.commit_dirs]
        mine = os.path.normpath(commit_dir)
        if mine not in commits:
            return ()
        index = commits.index(mine)
        return tuple(commits[index - self.lookahead : index + 1]) if index >= self.lookahead else ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "lookahead": self.lookahead,
            "commit_dirs": list(self.commit_dirs),
            "gpu_locks": self.gpu_locks,
            "disk_budget_gb": self.disk_budget_gb,
            "idle_s": self.idle_s,
        }


def write(path: str | Path, schedule: Schedule) -> None:
    """Write the schedule unless the file already says the same (a rerun leaves it alone)."""
    text = json.dumps(schedule.as_dict(), indent=1) + "\n"
    target = Path(path)
    if not target.exists() or target.read_text() != text:
        artifacts.write_text(target, text)


def current() -> Schedule | None:
    """The workflow's schedule, when this process runs one of its jobs."""
    path = os.environ.get(ENV)
    if not path or not Path(path).is_file():
        return None
    data = json.loads(Path(path).read_text())
    return Schedule(**{**data, "commit_dirs": tuple(data["commit_dirs"])})


def started(commit_dir: str | Path) -> bool:
    """Whether a round of one of the commit's legs has begun (its run log, final or in progress)."""
    legs = Path(commit_dir)
    if not legs.is_dir():
        return False
    for leg in os.scandir(legs):
        rounds = Path(leg.path) / ROUNDS
        if leg.is_dir() and rounds.is_dir():
            for round_dir in os.scandir(rounds):
                if any(Path(round_dir.path, name).exists() for name in RUN_LOGS):
                    return True
    return False


@dataclass(frozen=True)
class Waited:
    """Why a wait ended (``turn``: its condition held; ``idle``: the GPU stayed idle) and how long it took."""

    reason: str
    seconds: float


def wait(ready: Callable[[], bool], locks: str | Path, *, idle_s: float, poll_s: float = POLL_S) -> Waited:
    """Until ``ready()``, or until no GPU lease has been held for ``idle_s`` seconds."""
    began = time.monotonic()
    idle_since: float | None = None
    while True:
        moment = time.monotonic()
        if ready():
            return Waited("turn", moment - began)
        if gpus.any_held(locks):
            idle_since = None
        else:
            idle_since = moment if idle_since is None else idle_since
            if moment - idle_since >= idle_s:
                return Waited("idle", moment - began)
        time.sleep(poll_s)


def wait_turn(schedule: Schedule | None, commit_dir: str | Path, say: Say) -> None:
    """Wait until the GPU has started one of the commits before ``commit_dir`` within the lookahead."""
    if schedule is not None and (others := schedule.waits_for(str(commit_dir))):
        waited = wait(lambda: any(started(other) for other in others), schedule.gpu_locks, idle_s=schedule.idle_s)
        why = (
            "the GPU reached the lookahead" if waited.reason == "turn" else f"the GPU was idle for {schedule.idle_s:g}s"
        )
        say(f"prepare: waited {waited.seconds:.1f}s for its turn ({why}; lookahead {schedule.lookahead})")
    say(f"prepare: began {now()}")


def lower_priority() -> None:
    """This process and its children at the lowest CPU priority and in the idle I/O class."""
    os.nice(LOWEST_NICE - os.nice(0))
    with contextlib.suppress(psutil.Error, OSError):  # an I/O scheduler without classes: CPU priority alone
        psutil.Process().ionice(psutil.IOPRIO_CLASS_IDLE)
