"""The patch stage: what a leg's ``patch.diff`` holds.

Empty for baseline, ``git diff parent..commit`` for human, the agent's file
byte for byte for agents (vetted later, by the image stage, never here).
"""

from __future__ import annotations

from pathlib import Path

from patchbench import gitops
from patchbench.target.revisions import Revisions


def leg_patch(variant: str, *, revisions: Revisions, repo: Path, agent_patch: Path | None) -> bytes:
    if variant == "agent":
        return agent_patch.read_bytes() if agent_patch else b""
    if variant == "human" and revisions.failure_for("human") is None:
        assert revisions.commit and revisions.parent  # a leg without failure has both
        return gitops.diff(repo, revisions.parent, revisions.commit)
    return b""
