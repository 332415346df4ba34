"""Which code a leg runs: the revisions it checks out and the patch that describes it.

Runtime-neutral: the local runtime and container runtimes both start here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from patchbench import failures, gitops
from patchbench.failures import Failure


def resolve(repo: Path, params: dict[str, Any]) -> tuple[dict[str, Any], Failure | None]:
    """The commit and parent, repairing a parent the table left out from the repository.

    A missing ``parent_commit`` is the commit's first parent in the clone (the
    repair is recorded); only when the commit itself is unknown does the leg
    fail as ``missing_parent_commit``.
    """
    commit = gitops.resolve_commit(repo, params["commit"])
    parent = params["parent"]
    repaired = False
    if parent is None and commit is not None:
        parent, repaired = gitops.first_parent(repo, commit), True
    revisions = {"commit": commit, "parent": parent, "parent_repaired": repaired}
    if parent is None or gitops.resolve_commit(repo, parent) is None:
        where = "is not in the repository" if commit is None else "has no parent in the repository"
        if params["parent"] is not None:
            where = f"has parent {params['parent']}, which is not in the repository"
        return revisions, Failure(
            failures.MISSING_PARENT_COMMIT, f"no usable parent_commit: commit {params['commit']} {where}"
        )
    if params["variant"] == "human" and commit is None:
        return revisions, Failure(failures.MISSING_PARENT_COMMIT, f"commit {params['commit']} is not in the repository")
    return revisions, None


def leg_patch(params: dict[str, Any], *, repo: Path, agent_patch: Path | None) -> bytes:
    """The leg's patch.diff: empty for baseline, ``git diff parent..commit`` for human,
    the agent's file byte for byte (vetted later, never here) for agents."""
    if params["variant"] == "agent":
        return agent_patch.read_bytes() if agent_patch else b""
    if params["variant"] == "human":
        revisions, failure = resolve(repo, params)
        if failure is None:
            return gitops.diff(repo, revisions["parent"], revisions["commit"])
    return b""
