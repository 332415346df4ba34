"""Where every file of a suite lives: the one place that spells a results path.

Rules, the plan, retries and tests name files through :class:`Layout`. Its
methods take values or Snakemake's wildcard placeholders alike, so
``Layout("{suite}").leg_file("{commit}", "{leg}", RUN_LOG)`` is the run rule's
output pattern and ``Layout("demo").leg_file(sha, "human", RUN_LOG)`` one file
of it.

    results/<suite>/
        target/repo.git, target/repo.json       the clone every leg reads
        legs/<commit>/spec.json, revisions.json the commit's one benchmark and its revisions
        legs/<commit>/<leg>/patch.diff → image.tag → rounds/<r>/run.log → metrics.json
                                                 (a round's run job also keeps scratch files beside its
                                                 run.log while it runs: a serving client's client-results/)
        legs/<commit>/<leg>/attempts/<n>/        earlier attempts of a retried leg (its metrics.json,
                                                 the rounds it retried)
        worktrees/<commit>/<leg>/                the local runtime's working copies
        harness/<commit>/                        the benchmark scripts every leg of the commit runs
        logs/<stage>/…                           one log per job
        .gpus/, .<runtime>/                      GPU leases, container runtimes' state
        .schedule.json                           when image jobs may begin (runtime.lookahead)
        summary.csv, report.md, report.html, plots/
"""

from __future__ import annotations

from dataclasses import dataclass

RESULTS = "results"
# A leg's chain of targets, in the order the stages write them.
PATCH, IMAGE_TAG, RUN_LOG, METRICS = "patch.diff", "image.tag", "run.log", "metrics.json"
# A commit's own files, shared by its legs.
SPEC, REVISIONS = "spec.json", "revisions.json"
ATTEMPTS = "attempts"
ROUNDS = "rounds"


@dataclass(frozen=True)
class Layout:
    """The paths of one suite, relative to the workflow's directory unless ``root`` says otherwise."""

    suite: str
    root: str = RESULTS

    @property
    def base(self) -> str:
        return f"{self.root}/{self.suite}"

    # the target repository
    @property
    def repo_git(self) -> str:
        return f"{self.base}/target/repo.git"

    @property
    def repo_json(self) -> str:
        return f"{self.base}/target/repo.json"

    # commits and legs
    def commit_dir(self, commit: str) -> str:
        return f"{self.base}/legs/{commit}"

    def commit_file(self, commit: str, name: str) -> str:
        return f"{self.commit_dir(commit)}/{name}"

    def leg_dir(self, commit: str, leg: str) -> str:
        return f"{self.commit_dir(commit)}/{leg}"

    def leg_file(self, commit: str, leg: str, name: str) -> str:
        return f"{self.leg_dir(commit, leg)}/{name}"

    def round_log(self, commit: str, leg: str, number: int | str) -> str:
        """The run.log of one round of a leg (one run job)."""
        return f"{self.leg_dir(commit, leg)}/{ROUNDS}/{number}/{RUN_LOG}"

    def worktree(self, commit: str, leg: str) -> str:
        return f"{self.base}/worktrees/{commit}/{leg}"

    def harness(self, commit: str) -> str:
        """The commit's pinned benchmark tree, shared read-only by its legs."""
        return f"{self.base}/harness/{commit}"

    def log(self, stage: str, *parts: str) -> str:
        """A job's log: ``logs/<stage>.log`` for suite-wide jobs, ``logs/<stage>/<commit>[/<leg>].log`` else."""
        return f"{self.base}/logs/{'/'.join((stage, *parts))}.log"

    # state the runtimes share between jobs
    @property
    def gpu_locks(self) -> str:
        return f"{self.base}/.gpus"

    def runtime_state(self, runtime: str) -> str:
        return f"{self.base}/.{runtime}"

    @property
    def schedule(self) -> str:
        return f"{self.base}/.schedule.json"

    # what the suite ends with
    @property
    def summary(self) -> str:
        return f"{self.base}/summary.csv"

    @property
    def report_md(self) -> str:
        return f"{self.base}/report.md"

    @property
    def report_html(self) -> str:
        return f"{self.base}/report.html"

    def plot(self, name: str) -> str:
        return f"{self.base}/plots/{name}"
