"""The suite plan: commits x variants -> legs, and what each stage of a leg is given.

Everything here is a pure function of the config and the commit table, so it
is cheap enough to run when Snakemake parses the workflow (every cluster job
re-parses it): no git, no Docker, no network. What needs the repository
(resolving a missing parent) happens inside the leg's own jobs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from patchbench import failures
from patchbench.spec.benchspec import BenchSpec, SpecError, build_spec
from patchbench.plan.commits import CommitRecord, read_commit_table
from patchbench.failures import Failure
from patchbench.plan.lint import Finding, blocking, lint_record
from patchbench.sources.choice import PatchChoice, collect
from patchbench.sources.kinds import config_agents

VARIANTS = ("baseline", "human", "agent")
AGENT_PREFIX = "agent-"


@dataclass(frozen=True)
class Leg:
    """One benchmark run: a commit in one variant (and, for agents, whose patch)."""

    commit: str
    variant: str
    agent: str = ""

    @property
    def name(self) -> str:
        """The leg's directory name: ``baseline``, ``human`` or ``agent-<name>``."""
        return AGENT_PREFIX + self.agent if self.variant == "agent" else self.variant

    @classmethod
    def parse(cls, commit: str, name: str) -> Leg:
        if name.startswith(AGENT_PREFIX):
            return cls(commit, "agent", name[len(AGENT_PREFIX) :])
        if name in ("baseline", "human"):
            return cls(commit, name)
        raise ValueError(f"not a leg name: {name!r}")


@dataclass(frozen=True)
class CommitPlan:
    """A commit, its one benchmark, and a failure shared by all its legs (if any)."""

    record: CommitRecord
    spec: BenchSpec | None
    skip: Failure | None
    findings: tuple[Finding, ...] = ()


@dataclass
class SuitePlan:
    suite: str
    config: dict[str, Any]
    commits: dict[str, CommitPlan]
    patch_choices: dict[str, dict[str, PatchChoice]]  # agent -> commit -> which patch, from where

    def legs(self) -> list[Leg]:
        legs = []
        for commit in self.commits:
            legs += [Leg(commit, "baseline"), Leg(commit, "human")]
            legs += [Leg(commit, "agent", agent) for agent in self.patch_choices]
        return legs

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
        plan = self.commits[leg.commit]
        return 0 if self.skip(leg) or plan.spec is None else plan.spec.gpus

    # What each stage is given. Each stage sees only what it depends on, so a
    # change (a timeout, a command) reruns exactly the stages it affects.

    def patch_params(self, leg: Leg) -> dict[str, Any]:
        record = self.commits[leg.commit].record
        return {"variant": leg.variant, "commit": record.commit, "parent": record.parent}

    def image_params(self, leg: Leg) -> dict[str, Any]:
        record = self.commits[leg.commit].record
        return {
            "runtime": self.config["runtime"],
            "variant": leg.variant,
            "commit": record.commit,
            "parent": record.parent,
            "setup_command": self.config.get("setup_command") or "",
            "setup_timeout_s": self.config["timeouts"]["setup_s"],
            **self._container_image_params(leg),
        }

    def _container_image_params(self, leg: Leg) -> dict[str, Any]:
        """What a container runtime's image stage needs: naming, the source tree, how to obtain images."""
        runtime = self.config["runtime"]
        if runtime == "local":
            return {}
        container = self.config["container"]
        params: dict[str, Any] = {
            **self._leg_identity(leg),
            "agent": leg.agent,
            "images": container["images"],
            "source_dir": container["source_dir"],
            "rebuild_command": container["rebuild_command"],
        }
        if runtime == "docker":
            docker = self.config["docker"]
            params["docker"] = {k: docker[k] for k in ("pull", "registry_timeout_s", "build", "base_image", "dockerfile")}
            params["claimants"] = self.image_users(leg)
        else:
            params["apptainer"] = {k: self.config["apptainer"][k] for k in ("sif_dir", "pull")}
        return params

    def image_users(self, leg: Leg) -> list[str]:
        """The legs (``<commit>/<leg>``) that will run from the image ``leg`` starts from:
        a pulled image may go once they are done. Agents start from the baseline image."""
        if leg.variant == "human":
            return [self._leg_id(leg)]
        users = [Leg(leg.commit, "baseline")] + [Leg(leg.commit, "agent", agent) for agent in self.patch_choices]
        return [self._leg_id(user) for user in users if self.skip(user) is None]

    def _leg_id(self, leg: Leg) -> str:
        return f"{leg.commit}/{leg.name}"

    def _leg_identity(self, leg: Leg) -> dict[str, Any]:
        """Who a container belongs to (its labels) and where the suite keeps container state."""
        return {
            "suite": self.suite,
            "leg": self._leg_id(leg),
            "state_dir": f"results/{self.suite}/.{self.config['runtime']}",
        }

    def spec_params(self, commit: str) -> dict[str, Any]:
        record = self.commits[commit].record
        serving = self.config["serving"]
        return {
            "commit": record.commit,
            "parent": record.parent,
            "perf_command": record.perf_command,
            "model": record.model,
            "server_command": serving["server_command"],
            "server_flags": serving["server_flags"],
            "rules": self.config["normalization"],
        }

    def run_params(self, leg: Leg) -> dict[str, Any]:
        runtime = self.config["runtime"]
        params: dict[str, Any] = {
            "runtime": runtime,
            "python": self.config.get("python") or "",
            "timeouts": self.config["timeouts"],
            "health_paths": self.config["serving"]["health_paths"],
            "gpus": self.gpus(leg),
            "host_gpus": self.config["gpus"],
            "gpu_ids": self.config["gpu_ids"],
            "gpu_lock_dir": f"results/{self.suite}/.gpus",
        }
        if runtime == "local":
            return params
        container = self.config["container"]
        shared = ("env", "request_gpus", "hf_cache", "hf_token_env", "hf_token_file", "source_dir")
        params.update(self._leg_identity(leg), python=container["python"], container={k: container[k] for k in shared})
        if runtime == "docker":
            docker = self.config["docker"]
            engine = ("network", "shm_size", "mem_limit", "disk_budget_gb", "registry_timeout_s")
            params["docker"] = {k: docker[k] for k in engine}
        else:
            params["apptainer"] = {k: self.config["apptainer"][k] for k in ("executable", "options")}
        return params

    def metrics_params(self, leg: Leg) -> dict[str, Any]:
        plan = self.commits[leg.commit]
        skip = self.skip(leg)
        return {
            "skip": skip.as_dict() if skip else None,
            "commit": plan.record.commit,
            "leg": leg.name,
            "variant": leg.variant,
            "agent": leg.agent,
            "model": (plan.spec.model if plan.spec else None) or plan.record.model,
            "benchmark_type": plan.spec.benchmark_type if plan.spec else (plan.record.benchmark_hint or ""),
            "findings": [f.as_dict() for f in plan.findings],
            "patch_source": self._patch_source(leg),
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


def plan_suite(config: dict[str, Any], base_dir: str | Path = ".", gpu_limit: int | None = None) -> SuitePlan:
    """Build the plan from a validated config; relative paths are taken from ``base_dir``.

    ``gpu_limit`` is Snakemake's ``--resources gpu=N``: a leg asking for more
    would be capped to N without a word, so it is skipped like one that needs
    more GPUs than the host has. The lint's errors skip a commit's legs.
    """
    base = Path(base_dir)
    host_gpus = config["gpus"] if gpu_limit is None else min(config["gpus"], gpu_limit)
    records = read_commit_table(base / config["commits"])
    serving = config["serving"]
    commits = {}
    for record in records:
        findings = lint_record(record, host_gpus, config["normalization"])
        block = blocking(findings)
        spec, skip = None, Failure(block.code, block.message) if block else None
        try:
            spec = build_spec(
                record.perf_command,
                model=record.model,
                server_command=serving["server_command"],
                server_flags=tuple(serving["server_flags"]),
                rules=config["normalization"],
            )
        except SpecError as exc:
            skip = skip or Failure(exc.category, str(exc))
        commits[record.commit] = CommitPlan(record, spec, skip, tuple(findings))
    choices = {
        name: collect(agent_sources, records, base)
        for name, agent_sources in config_agents(config).items()
    }
    return SuitePlan(config["suite"], config, commits, choices)
