#!/usr/bin/env python3
"""Maintainer tool for the demo suite: rebuild tinyllm's history, re-point its SHAs.

Any edit to ``demo/engine/`` or ``demo/history/`` changes the demo's commit
SHAs; ``--refresh`` rewrites the commit table, the agent patch file names and
the SHA table of ``demo/README.md`` to match. ``DEST`` builds the repository
by hand and prints ``<sha> <slug>`` per commit.
"""

from __future__ import annotations

import csv
import re
import sys
import tempfile
from pathlib import Path

from patchbench.target.demo import DEMO_DIR, build_demo_repo, load_history


def refresh_demo_files(demo_dir: Path = DEMO_DIR) -> dict[str, str]:
    """Re-point ``commits.csv`` and the agent patch file names at freshly built SHAs.

    Any edit to ``demo/engine/`` or ``demo/history/`` changes the commit SHAs,
    and with them the names the commit table and ``demo/agents/<agent>/<sha>.diff``
    must use. This rebuilds the history and, for every table row whose
    ``scenario`` is a history slug, replaces ``commit`` with the new SHA and a
    non-empty ``parent_commit`` with the new parent (an empty one stays empty:
    that row tests the workflow's own parent lookup). Agent patch files are
    renamed to match, and the SHA table of ``demo/README.md`` is rewritten.
    Returns the old-to-new SHA mapping.
    """
    history = load_history(demo_dir / "history" / "history.yaml")
    with tempfile.TemporaryDirectory(prefix="tinyllm-refresh-") as scratch:
        shas = build_demo_repo(Path(scratch) / "repo", demo_dir)
    new_by_slug = {entry.slug: sha for entry, sha in zip(history, shas)}
    parent_by_slug = {entry.slug: shas[i - 1] for i, entry in enumerate(history) if i}

    table = demo_dir / "commits.csv"
    with table.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        fieldnames = list(reader.fieldnames or [])
        rows = list(reader)
    mapping: dict[str, str] = {}
    for row in rows:
        slug = row.get("scenario", "")
        if slug in parent_by_slug:
            mapping[row["commit"]] = new_by_slug[slug]
            row["commit"] = new_by_slug[slug]
            if row["parent_commit"]:
                row["parent_commit"] = parent_by_slug[slug]
    with table.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fieldnames, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)

    for agent_dir in sorted(p for p in (demo_dir / "agents").iterdir() if p.is_dir()):
        for old, new in mapping.items():
            source = agent_dir / f"{old}.diff"
            if old != new and source.exists():
                source.rename(agent_dir / f"{new}.diff")

    readme = demo_dir / "README.md"
    if readme.exists():
        text = readme.read_text(encoding="utf-8")
        for slug, sha in new_by_slug.items():
            text = re.sub(rf"^\| {re.escape(slug)} \| `[0-9a-f]{{40}}` \|$", f"| {slug} | `{sha}` |", text, flags=re.M)
        readme.write_text(text, encoding="utf-8")
    return mapping


def main(argv: list[str] | None = None) -> int:
    """``scripts/refresh_demo.py DEST`` builds the repository and prints ``<sha> <slug>`` per commit;
    ``scripts/refresh_demo.py --refresh`` re-points the demo's commit table and agent patches
    after an edit of ``demo/engine/`` or ``demo/history/``."""
    args = sys.argv[1:] if argv is None else argv
    if args == ["--refresh"]:
        for old, new in refresh_demo_files().items():
            print(old, "->", new)
        return 0
    if len(args) != 1 or args[0].startswith("-"):
        print("usage: scripts/refresh_demo.py DEST | --refresh", file=sys.stderr)
        return 2
    shas = build_demo_repo(Path(args[0]))
    for sha, entry in zip(shas, load_history()):
        print(sha, entry.slug)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
