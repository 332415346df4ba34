"""Which code a commit's legs run: its revisions, looked up in the clone once per commit.

The revisions job writes ``revisions.json``; the spec, patch and image jobs
read it instead of asking git again. Runtime-neutral: the local runtime and
the container runtimes all start here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from patchbench import artifacts, failures, gitops
from patchbench.failures import Failure
from patchbench.layout import REVISIONS


@dataclass(frozen=True)
class Revisions:
    """The commit and parent as the clone knows them (full SHAs), and what keeps a leg from running.

    ``failure`` stops every leg (no usable parent: baseline and agents start
    there, human is diffed against it); ``human_failure`` only the human leg.
    """

    commit: str | None
    parent: str | None
    parent_repaired: bool
    failure: Failure | None = None
    human_failure: Failure | None = None

    def failure_for(self, variant: str) -> Failure | None:
        return self.failure or (self.human_failure if variant == "human" else None)

    def checkout(self, variant: str) -> str | None:
        """The revision a leg's image holds: the commit for human, the parent for the others."""
        return self.commit if variant == "human" else self.parent

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["failure"] = self.failure.as_dict() if self.failure else None
        data["human_failure"] = self.human_failure.as_dict() if self.human_failure else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Revisions:
        def failure(value: dict[str, str] | None) -> Failure | None:
            return Failure(**value) if value else None

        return cls(
            data["commit"],
            data["parent"],
            data["parent_repaired"],
            failure(data["failure"]),
            failure(data["human_failure"]),
        )


def resolve(repo: Path, commit: str, parent: str | None) -> Revisions:
    """The commit and parent, repairing a parent the table left out from the repository.

    A missing ``parent_commit`` is the commit's first parent in the clone (the
    repair is recorded); only when the commit itself is unknown do the legs
    fail as ``missing_parent_commit``.
    """
    full = gitops.resolve_commit(repo, commit)
    repaired = parent is None and full is not None
    named = gitops.first_parent(repo, full) if repaired and full else parent
    resolved = gitops.resolve_commit(repo, named) if named else None
    if resolved is None:
        where = "is not in the repository" if full is None else "has no parent in the repository"
        if parent is not None:
            where = f"has parent {parent}, which is not in the repository"
        failure = Failure(failures.MISSING_PARENT_COMMIT, f"no usable parent_commit: commit {commit} {where}")
        return Revisions(full, named, repaired, failure)
    human = None if full else Failure(failures.MISSING_PARENT_COMMIT, f"commit {commit} is not in the repository")
    return Revisions(full, resolved, repaired, None, human)


def write(params: dict[str, Any], *, repo: Path, out: Path) -> None:
    """The revisions job: ``revisions.json`` for the commit in ``params``."""
    artifacts.write_artifact(out, REVISIONS, resolve(repo, params["commit"], params["parent"]).as_dict())


def read(path: Path) -> Revisions:
    return Revisions.from_dict(artifacts.read_artifact(path, REVISIONS))
