"""The spec stage: a commit's planned command, finished against its tree, becomes ``spec.json``.

The plan normalized the command once (the rules that need only the command);
this job reads the parent's tree statically (:mod:`patchbench.spec.tree`) and
hands both to the tree checks (:func:`patchbench.spec.check.check`, which
``patchbench lint --repo`` runs too), and writes the one spec every leg of the
commit reads, which makes "all variants run the identical command" true by
construction; or the failure that skips the commit's legs before any of them
holds a GPU. ``spec.json`` also records the findings, where the tree sent a
serving command's options, and what the tree offered.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from patchbench import artifacts, failures
from patchbench.failures import Failure
from patchbench.layout import SPEC
from patchbench.spec.check import SuiteSettings, check
from patchbench.spec.normalize import Command
from patchbench.spec.tree import TreeFacts, git_reader, read_tree
from patchbench.target import revisions as revisions_file


def resolve_spec(params: dict[str, Any], *, repo: Path, revisions: Path) -> dict[str, Any]:
    """``{"spec": …}``, or ``{"spec": None, "error": …}``, for the commit in ``params``, with the findings."""
    if params["command"] is None:  # the plan skips such a commit's legs; its spec says why
        return _error(failures.MISSING_PERF_COMMAND, "the plan found no runnable command for this commit")
    command = Command.from_dict(params["command"])
    known = revisions_file.read(revisions)
    tree = None
    if known.failure is None and known.parent:
        tree = read_tree(git_reader(repo, known.parent), params["tree"]["engine_package"])
    suite = SuiteSettings.from_params(
        params["tree"], base=Path.cwd(), needs_file=command.kind == "serving" and tree is not None
    )
    checked = check(params["commit"], command, tree, suite, model=params["model"], gpus=params["gpus"])
    record = {**checked.as_record(), "tree": None if tree is None else {"revision": known.parent, **summary(tree)}}
    if isinstance(checked.result, Failure):
        return {**_error(checked.result.category, checked.result.evidence), **record}
    return {"spec": checked.result.as_dict(), **record}


def summary(tree: TreeFacts) -> dict[str, Any]:
    """What the tree offers, in a line: its programs, as spec.json records them."""
    return {
        "package": tree.package,
        "scripts": sorted(tree.scripts),
        "stubs": sorted(tree.stubs),
        "bench": sorted(tree.bench),
        "server": tree.server is not None,
    }


def write(params: dict[str, Any], *, repo: Path, revisions: Path, out: Path) -> None:
    artifacts.write_artifact(out, SPEC, resolve_spec(params, repo=repo, revisions=revisions))


def _error(category: str, evidence: str) -> dict[str, Any]:
    return {"spec": None, "error": {"category": category, "evidence": evidence}}
