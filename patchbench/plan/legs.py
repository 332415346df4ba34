"""A leg: one commit in one variant; its name is the one every path, wildcard and report uses."""

from __future__ import annotations

from dataclasses import dataclass

# "aa" measures the baseline's code a second time, as an agent would be: the noise floor.
VARIANTS = ("baseline", "human", "aa", "agent")
AGENT_PREFIX = "agent-"
AGENT_NAME = "[A-Za-z0-9][A-Za-z0-9_.-]*"  # the config schema's pattern for agent names
# Snakemake's wildcard constraint for ``{leg}``.
NAME_PATTERN = f"baseline|human|aa|{AGENT_PREFIX}{AGENT_NAME}"


@dataclass(frozen=True)
class Leg:
    """One benchmark run: a commit in one variant (and, for agents, whose patch)."""

    commit: str
    variant: str
    agent: str = ""

    @property
    def name(self) -> str:
        """The leg's directory name: ``baseline``, ``human``, ``aa`` or ``agent-<name>``."""
        return AGENT_PREFIX + self.agent if self.variant == "agent" else self.variant

    @classmethod
    def parse(cls, commit: str, name: str) -> Leg:
        if name.startswith(AGENT_PREFIX):
            return cls(commit, "agent", name[len(AGENT_PREFIX) :])
        if name in ("baseline", "human", "aa"):
            return cls(commit, name)
        raise ValueError(f"not a leg name: {name!r}")
