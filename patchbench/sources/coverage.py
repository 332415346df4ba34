"""Which commits each agent has a patch for, from which source, and the conflicts: for people."""

from __future__ import annotations

from collections import Counter
from typing import Any

from patchbench.sources.choice import PatchChoice
from patchbench.sources.scan import PatchCandidate


def coverage(agents: dict[str, dict[str, PatchChoice]]) -> list[dict[str, Any]]:
    """One row per agent and commit: status, the chosen source and path, and the other candidates."""
    rows = []
    for agent, choices in agents.items():
        for commit, choice in choices.items():
            chosen = choice.chosen
            rows.append(
                {
                    "agent": agent,
                    "commit": commit,
                    "status": choice.status,
                    "source": chosen.source if chosen else "",
                    "path": str(chosen.path) if chosen else "",
                    "timestamp": chosen.timestamp if chosen else None,
                    "reason": choice.reason,
                    "others": [_candidate_dict(other) for other in choice.others],
                }
            )
    return rows


def format_coverage(rows: list[dict[str, Any]], labels: dict[str, list[str]] | None = None) -> str:
    """Coverage rows as text for people: per agent the share covered, per source, missing, conflicts.

    ``labels`` (agent -> its sources' labels) lists sources that found nothing too,
    which is how a mistyped path shows.
    """
    lines: list[str] = []
    for agent in dict.fromkeys(row["agent"] for row in rows):
        mine = [row for row in rows if row["agent"] == agent]
        covered = [row for row in mine if row["status"] == "patch"]
        lines.append(
            f"agent {agent}: {len(covered)} of {len(mine)} commits have a patch ({_percent(len(covered), len(mine))})"
        )
        chosen = Counter(row["source"] for row in covered)
        found = chosen + Counter(other["source"] for row in mine for other in row["others"])
        for source in dict.fromkeys([*(labels or {}).get(agent, []), *found]):
            lines.append(f"  {source}: {found[source]} found, {chosen[source]} chosen")
        for status in ("missing", "empty"):
            short = [row["commit"][:8] for row in mine if row["status"] == status]
            if short:
                lines.append(f"  {status} ({len(short)}): {' '.join(short)}")
        conflicts = [row for row in covered if row["others"]]
        if conflicts:
            lines.append(f"  conflicts ({len(conflicts)}):")
        for row in conflicts:
            lines.append(f"    {row['commit'][:8]}: chose {row['source']} {row['path']}: {row['reason']}")
            for other in row["others"]:
                note = " (empty)" if other["empty"] else ""
                lines.append(f"      over {other['source']} {other['path']} ({other['timestamp']}){note}")
    return "\n".join(lines) + "\n"


def _candidate_dict(candidate: PatchCandidate) -> dict[str, Any]:
    return {
        "source": candidate.source,
        "path": str(candidate.path),
        "timestamp": candidate.timestamp,
        "empty": candidate.empty,
    }


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "n/a"
