"""The suite plan: commits x variants -> legs, and what each stage of a leg is given.

Everything here is a pure function of the config and the commit table, so it
is cheap enough to run when Snakemake parses the workflow (every cluster job
re-parses it): no git, no Docker, no network. Each commit's perf command is
read and normalized once, here (the lint judges that same reading); what
needs the repository (its revisions, the rules that need the tree) happens
once per commit in the revisions and spec jobs.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from patchbench import failures
from patchbench import runtime as runtimes
from patchbench.config import ConfigError
from patchbench.failures import Failure
from patchbench.layout import Layout
from patchbench.plan.commits import CommitRecord, read_commit_table
from patchbench.plan.legs import Leg
from patchbench.plan.lint import Finding, Linted, blocking, lint_record
from patchbench.runtime import PlannedLeg
from patchbench.runtime.lookahead import Schedule
from patchbench.sources.choice import PatchChoice, collect
from patchbench.sources.kinds import config_agents
from patchbench.spec.check import tree_params
from patchbench.spec.command import find_value
from patchbench.spec.normalize import Command


@dataclass(frozen=True)
class CommitPlan:
    """A commit, its normalized command, and a failure shared by all its legs (if any)."""

    record: CommitRecord
    linted: Linted
    skip: Failure | None

    @property
    def command(self) -> Command | None:
        return self.linted.command

    @property
    def findings(self) -> list[Finding]:
        return self.linted.findings

    @property
    def benchmark_type(self) -> str:
        return (self.command.kind if self.command else None) or self.record.benchmark_hint or ""

    @property
    def model(self) -> str | None:
        from_command = find_value(self.command.items, "--model") if self.command else None
        return from_command or self.record.model


@dataclass
class SuitePlan:
    suite: str
    config: dict[str, Any]
    commits: dict[str, CommitPlan]
    patch_choices: dict[str, dict[str, PatchChoice]]  # agent -> commit -> which patch, from where
    _priority_cache: dict[tuple[str, ...], int] | None = field(default=None, repr=False, compare=False)

    @property
    def layout(self) -> Layout:
        return Layout(self.suite)

    @property
    def runtime(self) -> ModuleType:
        """The suite's runtime: it declares what its stages are given."""
        return runtimes.module(self.config["runtime"])

    def legs(self) -> list[Leg]:
        return [leg for commit in self.commits for leg in self.commit_legs(commit)]

    def commit_legs(self, commit: str) -> list[Leg]:
        """Baseline, human, the A/A leg when asked for, then the agents."""
        legs = [Leg(commit, "baseline"), Leg(commit, "human")]
        legs += [Leg(commit, "aa")] if self.config["aa"] else []
        return legs + [Leg(commit, "agent", agent) for agent in self.patch_choices]

    @property
    def rounds(self) -> int:
        return int(self.config["rounds"])

    def round_order(self, commit: str, round_number: int) -> list[Leg]:
        """The legs of ``commit`` that run, in the order of one round: shuffled with a seed
        of the suite's, the commit and the round, so every rerun plans the same order."""
        running = [leg for leg in self.commit_legs(commit) if self.skip(leg) is None]
        random.Random(f"{self.config['seed']}/{commit}/{round_number}").shuffle(running)
        return running

    def run_priority(self, leg: Leg, round_number: int) -> int:
        """Snakemake's priority of a run job: commits in table order, each commit's rounds in
        turn, the legs of a round in its shuffled order (the GPU takes the highest ready job)."""
        return self._priorities().get((leg.commit, leg.name, str(round_number)), 0)

    @property
    def lookahead(self) -> int:
        """How many commits ahead of the GPU images are prepared (config ``prepare.lookahead``)."""
        return int(self.config["prepare"]["lookahead"])

    def running_commits(self) -> list[str]:
        """The commits with a leg that runs, in table order: the order the GPU takes them."""
        return [c for c in self.commits if any(self.skip(leg) is None for leg in self.commit_legs(c))]

    def schedule(self) -> Schedule:
        """What image jobs read to find their turn (``runtime.lookahead``)."""
        dirs = tuple(self.layout.commit_dir(commit) for commit in self.running_commits())
        return Schedule(self.lookahead, dirs, self.layout.gpu_locks, self.config["docker"]["disk_budget_gb"])

    def prepare_priority(self, commit: str) -> int:
        """Snakemake's priority of a commit's preparation jobs (revisions, spec, patch, image).

        The single core goes to the highest ready job, so the cheap preparation jobs of a
        commit are placed just above the runs of the commit ``lookahead + 1`` before it:
        they run when the GPU reaches that commit, one commit before the image jobs may
        start (``runtime.lookahead``), and never push all of a large suite's small jobs
        ahead of the first run. Image jobs take no core; among themselves this priority
        hands the preparation slots to the earliest commits first.
        """
        return self._priorities().get((commit,), 0)

    def _priorities(self) -> dict[tuple[str, ...], int]:
        """One order of every prioritized job: ``(commit,)`` for a commit's preparation,
        ``(commit, leg, round)`` for a run; the first gets the highest priority."""
        if self._priority_cache is None:
            running, lead = self.running_commits(), self.lookahead + 1
            order: list[tuple[str, ...]] = [(commit,) for commit in running[:lead]]
            for index, commit in enumerate(running):
                order += [(ahead,) for ahead in running[index + lead : index + lead + 1]]
                order += [
                    (commit, leg.name, str(number))
                    for number in range(1, self.rounds + 1)
                    for leg in self.round_order(commit, number)
                ]
            self._priority_cache = {key: len(order) - rank for rank, key in enumerate(order)}
        return self._priority_cache

    def agent_patch(self, leg: Leg) -> Path | None:
        if leg.variant != "agent":
            return None
        chosen = self.patch_choices[leg.agent][leg.commit].chosen
        return chosen.path if chosen else None

    def skip(self, leg: Leg) -> Failure | None:
        """A failure known before anything runs (the leg is then ``skipped``)."""
        plan = self.commits[leg.commit]
        if plan.skip:
            return plan.skip
        if leg.variant == "agent" and self.agent_patch(leg) is None:
            return Failure(failures.MISSING_PATCH, f"no patch from agent {leg.agent!r} for {leg.commit}")
        return None

    def gpus(self, leg: Leg) -> int:
        """GPUs the run job holds: none for a leg that will not run."""
        return 0 if self.skip(leg) else self.commits[leg.commit].linted.gpus

    # What each stage is given. Each stage sees only what it depends on, so a
    # change (a timeout, a command) reruns exactly the stages it affects.

    def patch_params(self, leg: Leg) -> dict[str, Any]:
        return {"variant": leg.variant}

    def image_params(self, leg: Leg) -> dict[str, Any]:
        return {
            "runtime": self.config["runtime"],
            "variant": leg.variant,
            "setup_timeout_s": self.config["timeouts"]["setup_s"],
            **self.runtime.image_params(self.config, self._planned(leg)),
        }

    def image_users(self, leg: Leg) -> list[str]:
        """The run jobs (``<commit>/<leg>/<round>``) that will run from the image ``leg`` starts from:
        a pulled image may go once they are done. Agents start from the baseline image."""
        users = [leg] if leg.variant == "human" else [u for u in self.commit_legs(leg.commit) if u.variant != "human"]
        return [_run_id(user, n) for user in users if self.skip(user) is None for n in range(1, self.rounds + 1)]

    def _planned(self, leg: Leg) -> PlannedLeg:
        return PlannedLeg(
            suite=self.suite,
            leg=_leg_id(leg),
            variant=leg.variant,
            agent=leg.agent,
            state_dir=self.layout.runtime_state(self.config["runtime"]),
            image_users=lambda: self.image_users(leg),
            run_ids=tuple(_run_id(leg, n) for n in range(1, self.rounds + 1)),
            hidden=[self.layout.base],
        )

    def revisions_params(self, commit: str) -> dict[str, Any]:
        record = self.commits[commit].record
        return {"commit": record.commit, "parent": record.parent}

    def spec_params(self, commit: str) -> dict[str, Any]:
        """The planned command and what the spec job checks it against (the tree checks' settings)."""
        plan = self.commits[commit]
        return {
            "commit": commit,
            "command": plan.command.as_dict() if plan.command else None,
            "gpus": plan.linted.gpus,
            "model": plan.model,
            "tree": tree_params(self.config),
        }

    def run_params(self, leg: Leg, round_number: int) -> dict[str, Any]:
        return {
            "run_id": _run_id(leg, round_number),
            "runtime": self.config["runtime"],
            "timeouts": self.config["timeouts"],
            "health_paths": self.config["serving"]["health_paths"],
            "gpus": self.gpus(leg),
            "host_gpus": self.config["gpus"],
            "gpu_ids": self.config["gpu_ids"],
            "gpu_lock_dir": self.layout.gpu_locks,
            "harness_dir": self.layout.harness(leg.commit),
            "passes": self.passes(leg),
            **self.runtime.run_params(self.config, self._planned(leg)),
        }

    def passes(self, leg: Leg) -> dict[str, int]:
        """What one round of the leg measures: warm-up passes (serving only), then measured passes,
        and (serving only) how many per-request values of each measured pass are kept."""
        measured = self.config["repeats"] // self.rounds
        if self.commits[leg.commit].benchmark_type != "serving":
            return {"warmup": 0, "measured": measured}
        return {"warmup": self.config["warmup"], "measured": measured, "requests_kept": self.config["per_request"]}

    def metrics_params(self, leg: Leg) -> dict[str, Any]:
        plan = self.commits[leg.commit]
        skip = self.skip(leg)
        return {
            "skip": skip.as_dict() if skip else None,
            "commit": plan.record.commit,
            "leg": leg.name,
            "variant": leg.variant,
            "agent": leg.agent,
            "model": plan.model,
            "benchmark_type": plan.benchmark_type,
            "findings": [f.as_dict() for f in plan.findings],
            "patch_source": self._patch_source(leg),
            "passes": self.passes(leg)["measured"],
            # The seed of the rounds' shuffled orders (the planned order follows from it; each round's
            # log says when it really ran). Not the order itself: a new agent would change it, and
            # with it these params, and Snakemake would redo every leg's metrics.
            "order_seed": self.config["seed"],
        }

    def _patch_source(self, leg: Leg) -> dict[str, Any] | None:
        if leg.variant != "agent":
            return None
        choice = self.patch_choices[leg.agent][leg.commit]
        return {
            "source": choice.chosen.source if choice.chosen else None,
            "reason": choice.reason,
            "others": [c.source for c in choice.others],
        }


def _leg_id(leg: Leg) -> str:
    return f"{leg.commit}/{leg.name}"


def _run_id(leg: Leg, round_number: int) -> str:
    """One round's run job: what claims an image and labels its containers."""
    return f"{_leg_id(leg)}/{round_number}"


def plan_commit(record: CommitRecord, host_gpus: int, rules: list[dict[str, Any]]) -> CommitPlan:
    """One commit: its command read and normalized once, judged by the lint (an error skips its legs)."""
    linted = lint_record(record, host_gpus, rules)
    block = blocking(linted.findings)
    return CommitPlan(record, linted, Failure(block.code, block.message) if block else None)


def plan_suite(config: dict[str, Any], base_dir: str | Path = ".", gpu_limit: int | None = None) -> SuitePlan:
    """Build the plan from a validated config; relative paths are taken from ``base_dir``.

    ``gpu_limit`` is Snakemake's ``--resources gpu=N``: a leg asking for more
    would be capped to N without a word, so it is skipped like one that needs
    more GPUs than the host has. The lint's errors skip a commit's legs.
    """
    if config["repeats"] % config["rounds"]:
        raise ConfigError(f"repeats ({config['repeats']}) must be a multiple of rounds ({config['rounds']})")
    base = Path(base_dir)
    host_gpus = config["gpus"] if gpu_limit is None else min(config["gpus"], gpu_limit)
    records = read_commit_table(base / config["commits"])
    commits = {record.commit: plan_commit(record, host_gpus, config["normalization"]) for record in records}
    choices = {name: collect(agent_sources, records, base) for name, agent_sources in config_agents(config).items()}
    return SuitePlan(config["suite"], config, commits, choices)
