"""A commit's canonical benchmark, resolved once against the target tree and shared by its legs.

Writing the spec to one file per commit (``spec.json``) that every leg reads
makes "all variants run the identical command" true by construction, and lets
rules that depend on the target version (``target_cli``) look at the parent
commit's tree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from patchbench import gitops
from patchbench.spec.benchspec import BENCHMARK_TYPES, SpecError, build_spec
from patchbench.spec.normalize import TargetFacts
from patchbench.target.revisions import resolve

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


def resolve_spec(params: dict[str, Any], repo: Path) -> dict[str, Any]:
    """``{"spec": …, "facts": …}`` or ``{"spec": None, "error": …}`` for the commit in ``params``."""
    revisions, failure = resolve(repo, {**params, "variant": "baseline"})
    facts = None
    if failure is None:
        facts = target_facts(repo, revisions["parent"], _cli_paths(params["rules"]))
    try:
        spec = build_spec(
            params["perf_command"],
            model=params["model"],
            server_command=params["server_command"],
            server_flags=tuple(params["server_flags"]),
            rules=params["rules"],
            facts=facts,
        )
    except SpecError as exc:
        return {"spec": None, "error": {"category": exc.category, "evidence": str(exc)}}
    facts_record = None if facts is None else {"scripts": sorted(facts.scripts), "cli": sorted(facts.cli)}
    return {"spec": spec.as_dict(), "facts": facts_record}


def _cli_paths(rules: list[dict[str, Any]]) -> dict[str, str]:
    for rule in rules:
        if rule["action"] == "target_cli":
            return {**DEFAULT_CLI_PATHS, **rule.get("options", {})}
    return DEFAULT_CLI_PATHS
