"""The pinned harness: one checkout per commit that every leg's benchmark runs from.

The benchmark's scripts and workload files come from the commit's parent
tree (the tree its spec was checked against), never from a leg's working
copy: a patch that edits ``benchmarks/`` changes what it measures, not how.
The checkout is made once, by whichever run job of the commit comes first,
and read by all of them (read-only to a confined leg).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from patchbench import gitops

MARK = ".patchbench-harness"  # the revision a harness tree holds, written last


def ensure_harness(repo: Path, path: Path, revision: str) -> Path:
    """``path`` holding ``revision``'s tree; made (atomically, once) when missing or of another revision."""
    mark = path / MARK
    if mark.is_file() and mark.read_text().strip() == revision:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        tree = scratch / "tree"
        gitops.checkout_detached(repo, revision, tree)
        (tree / MARK).write_text(revision + "\n")
        stale = scratch / "stale"
        if path.exists():  # another revision's (the table's parent changed): set aside, then removed
            os.replace(path, stale)
        try:
            os.replace(tree, path)
        except OSError:  # a run job of another leg made it first
            if not (mark.is_file() and mark.read_text().strip() == revision):
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return path
