"""One patch per commit from an agent's sources: the newest run wins, and the choice says why.

When one commit has several patches, the **newest run wins**. A patch's time is, first found:
the run directory's name (``runs``), ``meta.timestamp`` in ``run_summary.json``, ``run_date``
then ``created`` in the dataset's ``metadata.json`` (``trajectories``), and the patch file's
modification time as the last resort (the only one a ``diff_dir`` has). A recorded time
beats a file time whatever the two say: a file's time is when it was written, copied or
checked out (a ``git clone`` makes every patch "new"), not when the agent ran. Times are
compared to the second as written, without time zones. Equal times go to the source listed
first in the config, then to the first path in sorting order. An empty (or whitespace-only) patch
counts as missing, so an older real patch beats a newer empty one. The choice, its reason
and every other candidate are recorded, for the coverage table and the report.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from patchbench.plan.commits import CommitRecord
from patchbench.sources.scan import FILE_TIME, CommitIndex, PatchCandidate, candidates


@dataclass(frozen=True)
class PatchChoice:
    """The patch a commit's agent leg uses, the candidates it beat, and why."""

    commit: str
    chosen: PatchCandidate | None  # None: missing (no patch, or only empty ones)
    others: tuple[PatchCandidate, ...]
    reason: str = ""

    @property
    def status(self) -> str:
        """``patch``, ``empty`` (only empty patches were found) or ``missing``."""
        if self.chosen is not None:
            return "patch"
        return "empty" if self.others else "missing"


def collect(
    sources: list[dict[str, Any]], records: list[CommitRecord], base_dir: Path = Path(".")
) -> dict[str, PatchChoice]:
    """Every commit of the table -> its chosen patch (or none), from ``sources`` in precedence order.

    Relative paths in sources are taken from ``base_dir``. A source that is not there
    (yet) is a warning, not an error: coverage then shows what it did not provide.
    """
    index = CommitIndex([record.commit for record in records])
    found: dict[str, list[tuple[int, PatchCandidate]]] = {record.commit: [] for record in records}
    for position, source in enumerate(sources):
        for candidate in candidates(source, index, Path(base_dir)):
            found[candidate.commit].append((position, candidate))
    return {commit: _choose(commit, _ranked(candidates)) for commit, candidates in found.items()}


def _recorded(candidate: PatchCandidate) -> bool:
    """Whether the candidate's time was recorded by its run, not read off the file."""
    return candidate.timestamp_origin != FILE_TIME


def _ranked(candidates: list[tuple[int, PatchCandidate]]) -> list[tuple[int, PatchCandidate]]:
    """Recorded times before file times, newest first; equal times in source order, then path order."""
    ranked = sorted(candidates, key=lambda item: (item[0], str(item[1].path)))
    # stable: keeps the tie order
    ranked.sort(key=lambda item: (_recorded(item[1]), item[1].timestamp or ""), reverse=True)
    return ranked


def _choose(commit: str, ranked: list[tuple[int, PatchCandidate]]) -> PatchChoice:
    usable = [item for item in ranked if not item[1].empty]
    if not usable:
        return PatchChoice(commit, None, tuple(candidate for _, candidate in ranked))
    position, chosen = usable[0]
    others = tuple(candidate for _, candidate in ranked if candidate is not chosen)
    if len(usable) == 1:
        reason = "the only non-empty patch" if others else "the only patch"
    elif _recorded(chosen) and not _recorded(usable[1][1]):
        reason = f"recorded run time {chosen.timestamp} ({chosen.timestamp_origin}) beats a file modification time"
    elif chosen.timestamp != usable[1][1].timestamp:
        reason = f"newest run: {chosen.timestamp} from the {chosen.timestamp_origin}"
    elif position != usable[1][0]:
        reason = f"same time ({chosen.timestamp}) as another; its source comes first in the config"
    else:
        reason = f"same time ({chosen.timestamp}) and source as another; first by path"
    return PatchChoice(commit, chosen, others, reason)
