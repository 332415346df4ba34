"""``patchbench lint --repo``: the spec stage's tree checks for every commit, before any GPU is rented.

The command-only lint judges what a table says; this adds what the target
repository says, with the very function the spec job runs
(:func:`patchbench.spec.check.check`) on the same facts: each commit's
revisions resolved as the revisions job does (a missing parent repaired from
the repository), the parent's tree read statically, and the command finished
and judged against it. The findings carry the workflow's codes, so a commit
this lint reports with an error is one whose legs the workflow skips.

A repository given as a local path is read where it is; a URL is mirrored
once into a cache folder (``~/.cache/patchbench/repos/`` unless ``--cache``
says otherwise) and fetched again only when a commit of the table is missing.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from patchbench import gitops
from patchbench.plan.commits import CommitRecord
from patchbench.plan.lint import ERROR, Finding
from patchbench.plan.suite import plan_commit
from patchbench.spec.check import SuiteSettings, check, tree_params
from patchbench.spec.tree import TreeFacts, git_reader, read_tree
from patchbench.target import revisions


def default_cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "patchbench" / "repos"


def open_repo(source: str, cache: Path, commits: list[str]) -> Path:
    """The git directory to read: ``source`` itself when it is a local path, else its mirror in
    ``cache`` (cloned once; fetched again when it lacks one of ``commits``)."""
    if Path(source).expanduser().exists():
        return Path(source).expanduser()
    mirror = cache / (re.sub(r"[^A-Za-z0-9._-]+", "_", source.split("://", 1)[-1]).strip("_") + ".git")
    if not (mirror / "HEAD").exists() or any(gitops.resolve_commit(mirror, c) is None for c in commits):
        gitops.mirror(source, mirror)
    return mirror


def lint_repo(records: list[CommitRecord], gpus: int, config: dict[str, Any], repo: Path) -> list[Finding]:
    """Every finding of every commit: the command-only lint's, then the tree checks' (for commits
    the command-only lint lets through, as the workflow does)."""
    plans = [plan_commit(record, gpus, config["normalization"]) for record in records]
    serving = any(plan.command is not None and plan.command.kind == "serving" for plan in plans)
    suite = SuiteSettings.from_params(tree_params(config), base=Path.cwd(), needs_file=serving)
    trees: dict[str, TreeFacts] = {}
    findings: list[Finding] = []
    for plan in plans:
        findings += plan.findings
        if plan.skip is not None or plan.command is None:
            continue
        known = revisions.resolve(repo, plan.record.commit, plan.record.parent)
        if known.failure is not None:  # the workflow's legs fail on it before anything runs
            findings.append(Finding(plan.record.commit, known.failure.category, known.failure.evidence, ERROR))
            continue
        assert known.parent is not None
        if known.parent not in trees:
            trees[known.parent] = read_tree(git_reader(repo, known.parent), suite.package)
        tree = trees[known.parent]
        findings += check(
            plan.record.commit, plan.command, tree, suite, model=plan.model, gpus=plan.linted.gpus
        ).findings
    return findings
