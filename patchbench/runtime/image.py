"""The image stage, once for every runtime: what ``image.tag`` says and how agent patches are judged.

Every runtime writes the same kind of ``image.tag``: the leg's revisions, the
revision its image holds (``checkout``), an identity (``digest``) that changes
only when the image really does (Snakemake compares the file's checksum, so a
rerun that finds the same image reruns nothing downstream), and a status with
the failure that stopped it. Agent patches are vetted on the host against the
parent's tree first, with the same checks and categories in every runtime.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from patchbench import artifacts, failures, gitops
from patchbench.artifacts import file_sha256
from patchbench.failures import Failure
from patchbench.layout import IMAGE_TAG, SPEC
from patchbench.patches.vet import Applied, check_and_apply, compiled_sources
from patchbench.runtime import lookahead
from patchbench.target.revisions import Revisions
from patchbench.target.revisions import read as read_revisions

# Fills in the runtime's part of the tag (at least ``digest``), or says why it could not.
Build = Callable[[dict[str, Any]], Failure | None]
# A runtime's image stage: ``prepare(params, *, repo, revisions, patch, worktree, out, log)``.
Prepare = Callable[..., None]


def job(
    prepare: Prepare,
    params: dict[str, Any],
    *,
    repo: Path,
    revisions: Path,
    spec: Path,
    patch: Path,
    worktree: Path,
    out: Path,
    log: Path,
) -> None:
    """The image job: nothing to prepare for a commit its tree ruled out; otherwise, beside the
    run that holds the GPU, at the lowest priority and in its commit's turn, the runtime's ``prepare``."""
    commit_spec = artifacts.read_artifact(spec, SPEC)
    if commit_spec["spec"] is None:  # no leg of the commit runs
        skip_leg(params, revisions=revisions, patch=patch, out=out, reason=commit_spec["error"])
        return
    lookahead.lower_priority()
    with open(log, "a", encoding="utf-8") as handle:
        lookahead.wait_turn(
            lookahead.current(), out.parent.parent, say=lambda line: print(line, file=handle, flush=True)
        )
    prepare(params, repo=repo, revisions=revisions, patch=patch, worktree=worktree, out=out, log=log)


def prepare_leg(params: dict[str, Any], *, runtime: str, revisions: Path, patch: Path, out: Path, build: Build) -> None:
    """Write the leg's ``image.tag``; failures are recorded in it, never raised."""
    known = read_revisions(revisions)
    tag = _start_tag(params, runtime=runtime, known=known, patch=patch)
    failure = known.failure_for(params["variant"])
    if failure is None:
        tag["checkout"] = known.checkout(params["variant"])
        failure = build(tag)
    tag["status"] = "failed" if failure else "ok"
    tag["failure"] = failure.as_dict() if failure else None
    artifacts.write_artifact(out, IMAGE_TAG, tag)


def skip_leg(params: dict[str, Any], *, revisions: Path, patch: Path, out: Path, reason: dict[str, str]) -> None:
    """Write an ``image.tag`` that prepared nothing: the commit's spec ruled its command out
    (``reason``), so no leg of it runs and no working copy, pull or build is worth its time."""
    tag = _start_tag(params, runtime=params["runtime"], known=read_revisions(revisions), patch=patch)
    tag.update(status="skipped", failure=reason)
    artifacts.write_artifact(out, IMAGE_TAG, tag)


def _start_tag(params: dict[str, Any], *, runtime: str, known: Revisions, patch: Path) -> dict[str, Any]:
    return {
        "runtime": runtime,
        "variant": params["variant"],
        "patch": str(patch),
        "patch_sha256": file_sha256(patch),
        "commit": known.commit,
        "parent": known.parent,
        "parent_repaired": known.parent_repaired,
    }


def vet_patch(repo: Path, checkout: str, patch: Path, scratch: Path) -> Applied:
    """Vet and trial-apply an agent patch on a host copy of ``checkout``, then drop the copy.

    Container runtimes apply the patch inside the image later; judging it here
    first gives them the local runtime's checks and categories (rejected,
    does not apply, breaks Python syntax) with git's own evidence.
    """
    shutil.rmtree(scratch, ignore_errors=True)
    try:
        gitops.checkout_detached(repo, checkout, scratch)
        return check_and_apply(scratch, patch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def judge_patch(tag: dict[str, Any], applied: Applied, *, can_rebuild: bool, why_not: str) -> Failure | None:
    """The agent patch's verdict: how vetting and applying it went, then whether it changes
    compiled sources that nothing would rebuild (recorded in ``tag``, with the patch's findings).

    Benchmarking without the rebuild would credit the agent with the baseline.
    ``why_not`` completes the evidence ("... and <why_not>").
    """
    if applied.failure or applied.changes is None:
        return applied.failure
    tag["findings"] = [{"commit": tag["commit"], **finding} for finding in touched_benchmark(applied)]
    compiled = compiled_sources(applied.changes)
    tag["needs_rebuild"] = bool(compiled)
    if compiled and not can_rebuild:
        return Failure(
            failures.NEEDS_REBUILD, f"patch changes compiled sources ({', '.join(compiled[:5])}) and {why_not}"
        )
    return None


def touched_benchmark(applied: Applied) -> list[dict[str, str]]:
    """A ``touches_benchmark`` finding when the patch changes what measures the engine
    (``benchmarks/`` at the top or in a package: the scripts, their workload files and
    settings). It is measured all the same: with the pinned harness, never its own."""
    changes = applied.changes.targets if applied.changes else ()
    touched = [path for path in changes if "benchmarks" in PurePosixPath(path).parts[:2]]
    if not touched:
        return []
    shown = ", ".join(touched[:5]) + (f" and {len(touched) - 5} more" if len(touched) > 5 else "")
    message = f"the patch changes the benchmark ({shown}); measured with the commit's pinned harness"
    return [{"code": failures.TOUCHES_BENCHMARK, "message": message, "severity": "warning"}]
