"""The local runtime: a leg's image is a private working copy of the target repository.

``prepare`` checks out the right commit (the parent for baseline and agents,
the commit itself for human), applies the agent's patch with ``git apply``
(vetted first, never forced), runs the suite's setup command, and records the
copy's content digest in ``image.tag``. ``run`` executes the commit's
benchmark spec in that copy as child processes (see ``run`` for how).
"""

from __future__ import annotations

import contextlib
import functools
import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any, Iterator

from patchbench import failures, gitops

from patchbench.runtime import PlannedLeg, gpus, processes
from patchbench.failures import Failure
from patchbench.patches.vet import check_and_apply
from patchbench.runtime.runlog import RunLogWriter
from patchbench.runtime import image as image_stage
from patchbench.runtime import run as run_stage

# ---------------------------------------------------------------- params


def image_params(config: dict[str, Any], leg: PlannedLeg) -> dict[str, Any]:
    return {"setup_command": config.get("setup_command") or ""}


def run_params(config: dict[str, Any], leg: PlannedLeg) -> dict[str, Any]:
    return {"python": config.get("python") or ""}


# ---------------------------------------------------------------- prepare


def prepare(
    params: dict[str, Any], *, repo: Path, revisions: Path, patch: Path, worktree: Path, out: Path, log: Path
) -> None:
    """Build the leg's image (a working copy) and write ``image.tag``; failures are recorded, not raised."""

    def build(tag: dict[str, Any]) -> Failure | None:
        tag["worktree"] = str(worktree)
        tag["setup_command"] = params["setup_command"]
        tag["setup_timeout_s"] = params["setup_timeout_s"]
        failure = build_worktree(tag, repo=repo, log=log)
        if failure is None:
            tag["digest"] = gitops.tree_id(worktree)
        return failure

    image_stage.prepare_leg(params, runtime="local", revisions=revisions, patch=patch, out=out, build=build)


def build_worktree(tag: dict[str, Any], *, repo: Path, log: Path) -> Failure | None:
    """Fresh copy at ``tag['checkout']``, agent patch applied, setup run."""
    worktree = Path(tag["worktree"])
    shutil.rmtree(worktree, ignore_errors=True)
    gitops.checkout_detached(repo, tag["checkout"], worktree)
    if tag["variant"] == "agent":
        applied = check_and_apply(worktree, Path(tag["patch"]))
        failure = image_stage.judge_patch(
            tag, applied, can_rebuild=bool(tag["setup_command"]), why_not="no setup_command rebuilds them"
        )
        if failure:
            return failure
    if tag["setup_command"]:
        argv = shlex.split(tag["setup_command"])
        try:
            env = leg_env(worktree, {})
            finished = processes.run(argv, cwd=worktree, env=env, log=log, timeout_s=tag["setup_timeout_s"])
        except processes.MissingProgram as exc:
            return Failure(failures.MISSING_PROGRAM, f"the setup command {tag['setup_command']!r}: {exc}")
        if finished.timed_out or finished.returncode != 0:
            what = "timed out" if finished.timed_out else f"exited with {finished.returncode}"
            return Failure(failures.SETUP_FAILED, f"setup command {tag['setup_command']!r} {what}; see {log}")
    return None


def ensure_worktree(tag: dict[str, Any], *, repo: Path, log: Path) -> Failure | None:
    """Rebuild the working copy if it went missing; it must match the recorded digest."""
    worktree = Path(tag["worktree"])
    if worktree.is_dir() and gitops.tree_id(worktree) == tag["digest"]:
        return None
    failure = build_worktree(tag, repo=repo, log=log)
    if failure is None and gitops.tree_id(worktree) != tag["digest"]:
        failure = Failure(failures.SETUP_FAILED, f"rebuilt working copy {worktree} differs from image.tag")
    return failure


def leg_env(worktree: Path, extra: dict[str, str]) -> dict[str, str]:
    """The leg's environment: its own source tree first on the import path, unbuffered output."""
    env = dict(os.environ)
    env.update(extra)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(worktree.resolve()), env.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("PYTHONSAFEPATH", None)
    return env


# ---------------------------------------------------------------- run


def run(params: dict[str, Any], *, spec: Path, image_tag: Path, repo: Path, out: Path) -> None:
    """Run the commit's benchmark spec in the leg's working copy; write ``run.log``."""
    opener = functools.partial(_worktree_executor, params=params, repo=repo, scratch=out.parent)
    run_stage.run_leg(params, spec=spec, image_tag=image_tag, out=out, open_executor=opener)


@contextlib.contextmanager
def _worktree_executor(
    tag: dict[str, Any],
    gpu_ids: list[str],
    writer: RunLogWriter,
    inputs: tuple[str, ...],  # host files: the leg's commands read them where they are
    *,
    params: dict[str, Any],
    repo: Path,
    scratch: Path,
) -> Iterator[run_stage.Executor]:
    failure = ensure_worktree(tag, repo=repo, log=scratch / "setup.log")
    if failure:
        raise run_stage.LegFailure(failure)
    worktree = Path(tag["worktree"])
    writer.note("worktree", worktree)
    devices = {"CUDA_VISIBLE_DEVICES": gpus.visible_devices(gpu_ids, isolated=False)}

    def command(argv: list[str], env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
        return argv, leg_env(worktree, {**devices, **env})

    yield run_stage.ProcessExecutor(cwd=worktree, python=params["python"] or sys.executable, command=command)
