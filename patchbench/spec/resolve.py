"""The spec stage: a commit's planned command, finished against its tree, becomes ``spec.json``.

The plan normalized the command once (the rules that need only the command);
this job adds only what needs the commit's tree (the rules that ask which
benchmark programs the parent's tree has) and writes the one spec every leg
of the commit reads, which makes "all variants run the identical command"
true by construction. It checks that the tree changed neither the benchmark
type nor the GPU count the plan scheduled for: either would be an error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from patchbench import artifacts, failures, gitops
from patchbench.layout import SPEC
from patchbench.spec.benchspec import SpecError, build_spec
from patchbench.spec.command import BENCHMARK_TYPES
from patchbench.spec.normalize import Command, TargetFacts, apply_tree_rules
from patchbench.target import revisions as revisions_file

# A 2025+ vLLM script that only says "use the CLI" is not a runnable script.
STUB_MARKER = b"This script has been moved to the vLLM CLI"
DEFAULT_CLI_PATHS = {
    "serving": "vllm/benchmarks/serve.py",
    "latency": "vllm/benchmarks/latency.py",
    "throughput": "vllm/benchmarks/throughput.py",
}


def target_facts(repo: Path, rev: str, cli_paths: dict[str, str]) -> TargetFacts:
    """Which benchmark scripts and ``vllm bench`` types the tree at ``rev`` really has."""
    scripts = set()
    for kind in BENCHMARK_TYPES:
        path = f"benchmarks/benchmark_{kind}.py"
        try:
            if STUB_MARKER not in gitops.git(["show", f"{rev}:{path}"], cwd=repo):
                scripts.add(path)
        except gitops.GitError:
            pass
    cli = {kind for kind, path in cli_paths.items() if gitops.path_exists(repo, rev, path)}
    return TargetFacts(frozenset(scripts), frozenset(cli))


def resolve_spec(params: dict[str, Any], *, repo: Path, revisions: Path) -> dict[str, Any]:
    """``{"spec": …, "facts": …}``, or ``{"spec": None, "error": …}`` for the commit in ``params``."""
    if params["command"] is None:  # the plan skips such a commit's legs; its spec says why
        return _error(failures.MISSING_PERF_COMMAND, "the plan found no runnable command for this commit")
    command = Command.from_dict(params["command"])
    known = revisions_file.read(revisions)
    facts = None
    if known.failure is None and known.parent:
        facts = target_facts(repo, known.parent, _cli_paths(params["tree_rules"]))
        command = apply_tree_rules(command, params["tree_rules"], facts)
    try:
        spec = build_spec(
            command,
            model=params["model"],
            server_command=params["server_command"],
            server_flags=tuple(params["server_flags"]),
        )
    except SpecError as exc:
        return _error(exc.category, str(exc))
    planned = (params["command"]["kind"], params["gpus"])
    if (spec.benchmark_type, spec.gpus) != planned:
        return _error(
            failures.BAD_ARGUMENTS,
            f"the tree changed what the plan scheduled: type {planned[0]} -> {spec.benchmark_type}, "
            f"GPUs {planned[1]} -> {spec.gpus}",
        )
    facts_record = None if facts is None else {"scripts": sorted(facts.scripts), "cli": sorted(facts.cli)}
    return {"spec": spec.as_dict(), "facts": facts_record}


def write(params: dict[str, Any], *, repo: Path, revisions: Path, out: Path) -> None:
    artifacts.write_artifact(out, SPEC, resolve_spec(params, repo=repo, revisions=revisions))


def _error(category: str, evidence: str) -> dict[str, Any]:
    return {"spec": None, "error": {"category": category, "evidence": evidence}}


def _cli_paths(rules: list[dict[str, Any]]) -> dict[str, str]:
    for rule in rules:
        if rule["action"] == "target_cli":
            return {**DEFAULT_CLI_PATHS, **rule.get("options", {})}
    return DEFAULT_CLI_PATHS
