"""The local runtime: a leg's image is a private working copy of the target repository.

``prepare`` checks out the right commit (the parent for baseline and agents,
the commit itself for human), applies the agent's patch with ``git apply``
(vetted first, never forced), runs the suite's setup command, and records the
copy's content digest in ``image.tag``. ``run`` executes the commit's
benchmark spec as child processes (see ``run`` for how).

Where each command runs from: the server (the engine under test) from the
leg's working copy; an offline benchmark's script and workload files from the
commit's pinned harness tree, the engine it imports from the working copy; a
serving client entirely from the harness. A patch that edits the benchmark
therefore changes nothing that measures it.

Confinement (``sandbox``): with bubblewrap (``runtime.sandbox``) every command
of a leg runs confined: the host read-only, the working copy writable only to
setup, results and other legs hidden, loopback private to the leg, nothing
left running when it ends. An agent leg is never run unconfined unless the
suite says so (``sandbox.mode``); the run.log and image.tag say how each leg ran.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shlex
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from patchbench import artifacts, failures, gitops
from patchbench.failures import Failure
from patchbench.patches.vet import check_and_apply
from patchbench.runtime import PlannedLeg, gpus, processes, sandbox
from patchbench.runtime import image as image_stage
from patchbench.runtime import run as run_stage
from patchbench.runtime.harness import ensure_harness
from patchbench.runtime.run import BENCHMARK, CLIENT, SERVER, SETUP, Placement
from patchbench.runtime.runlog import RunLogWriter
from patchbench.runtime.sandbox import Confinement, Pod

# Host variables that hold a secret: only the processes that load a model get them (never a
# client, never setup), and everything captured is scrubbed of their values.
TOKEN_VARIABLES = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")
# Roles that load the model: the server, and an offline benchmark (the engine runs in it).
LOADS_MODEL = (SERVER, BENCHMARK)

# ---------------------------------------------------------------- params


def image_params(config: dict[str, Any], leg: PlannedLeg) -> dict[str, Any]:
    return {
        "setup_command": config.get("setup_command") or "",
        "python": config.get("python") or "",
        "sandbox": config["sandbox"],
        "hidden": leg.hidden,
    }


def run_params(config: dict[str, Any], leg: PlannedLeg) -> dict[str, Any]:
    return {"python": config.get("python") or "", "sandbox": config["sandbox"], "hidden": leg.hidden}


# ---------------------------------------------------------------- confinement


@dataclass(frozen=True)
class Confining:
    """How this leg's commands are confined here: a sandbox (when ``confined``), a reason it is
    not, or the failure that keeps an agent leg from running unconfined."""

    confined: bool
    note: str
    failure: Failure | None = None


def confining(settings: dict[str, Any], variant: str) -> Confining:
    """Decide, on this host, whether the leg's commands are confined.

    ``required`` (the default): confined, or an agent leg fails as
    ``sandbox_unavailable`` (baseline and human legs run the project's own code
    and run unconfined, said so); ``auto``: confined when a sandbox works here,
    else every leg unconfined, said so; ``off``: never confined, said so.
    """
    if settings["mode"] == "off":
        return Confining(False, "off (the suite's sandbox.mode)")
    reason = sandbox.probe()
    if reason is None:
        return Confining(True, "bwrap")
    if settings["mode"] == "required" and variant not in ("baseline", "human", "aa"):
        return Confining(False, f"none: {reason}", Failure(failures.SANDBOX_UNAVAILABLE, reason))
    return Confining(False, f"none: {reason}")


@dataclass(frozen=True)
class PodLauncher:
    """A leg's commands in its pod, each in its own sandbox with its role's confinement."""

    pod: Pod
    confinements: dict[str, Confinement]

    def start(self, placement: Placement, log: Path, role: str) -> run_stage.Running:
        _require_program(placement)
        return self.pod.start(
            placement.argv, env=placement.env, log=log, cwd=placement.cwd, confinement=self.confinements[role]
        )

    def run(self, placement: Placement, log: Path, role: str, timeout_s: float) -> processes.Finished:
        _require_program(placement)
        return self.pod.run(
            placement.argv,
            env=placement.env,
            log=log,
            timeout_s=timeout_s,
            cwd=placement.cwd,
            confinement=self.confinements[role],
        )

    def answers(self, port: int, path: str) -> bool:
        return self.pod.http_status(port, path) == 200


def _require_program(placement: Placement) -> None:
    """The sandbox sees the host's files: a program the host cannot find or run is missing inside too."""
    program = placement.argv[0]
    found = shutil.which(program, path=placement.env.get("PATH")) if "/" not in program else program
    if found is None or not Path(found).exists():
        strerror = "No such file or directory"
    elif not os.access(found, os.X_OK) or Path(found).is_dir():
        strerror = "Permission denied"
    else:
        return
    raise processes.MissingProgram(program, processes.missing_reason(program, strerror, placement.env))


def confinements(
    *,
    worktree: Path,
    harness: Path | None,
    hidden: list[str],
    python: str,
    inputs: tuple[str, ...],
    results: Path | None = None,
) -> dict[str, Confinement]:
    """What each role of a leg may reach beyond the read-only host.

    Hidden: the suite's results (other legs' copies and results, the clone with
    the human fix, GPU lock files) and the runner's home; then each role gets
    back read-only what it reads. Setup writes the working copy; a serving
    client its round's ``results`` folder (what it saves with --save-result),
    which the server, the agent's code, cannot even see.
    """
    readable = (*sandbox.interpreter_paths(python), *_hf_hub(), *(Path(p) for p in inputs))
    hide = tuple(Path(p).resolve() for p in hidden if Path(p).exists()) + sandbox.home_dirs()
    harness_paths = (harness,) if harness is not None else ()
    return {
        SETUP: Confinement(writable=(worktree,), readonly=readable, hidden=hide),
        SERVER: Confinement(readonly=(*readable, worktree), hidden=hide, devices=sandbox.nvidia_devices()),
        BENCHMARK: Confinement(
            readonly=(*readable, worktree, *harness_paths), hidden=hide, devices=sandbox.nvidia_devices()
        ),
        CLIENT: Confinement(
            writable=(results,) if results is not None else (), readonly=(*readable, *harness_paths), hidden=hide
        ),
    }


def _hf_hub() -> tuple[Path, ...]:
    """The Hugging Face cache's models (read-only: one leg must not change another's model);
    not the token file beside them."""
    home = Path(os.environ.get("HF_HOME") or Path.home() / ".cache" / "huggingface")
    hub = Path(os.environ.get("HF_HUB_CACHE") or home / "hub")
    return (hub,) if hub.is_dir() else ()


def environment(
    role: str, *, worktree: Path, harness: Path | None, confined: bool, extra: dict[str, str]
) -> dict[str, str]:
    """A command's environment: its role's tree on the import path, the token only where a model loads.

    Confined commands start from a small clean environment; unconfined ones
    from this process's, less the tokens where they do not belong.
    """
    env = sandbox.base_env() if confined else dict(os.environ)
    for name in TOKEN_VARIABLES:
        env.pop(name, None)
        if role in LOADS_MODEL and os.environ.get(name):
            env[name] = os.environ[name]
    env.update(extra)
    code = harness if role == CLIENT and harness is not None else worktree
    env["PYTHONPATH"] = str(code.resolve())
    env.update(PYTHONUNBUFFERED="1", PYTHONDONTWRITEBYTECODE="1")
    env.pop("PYTHONSAFEPATH", None)
    return env


def secrets() -> tuple[str, ...]:
    """The token values this host holds: scrubbed from everything captured."""
    return tuple(value for name in TOKEN_VARIABLES if (value := os.environ.get(name)))


# ---------------------------------------------------------------- prepare


def prepare(
    params: dict[str, Any], *, repo: Path, revisions: Path, patch: Path, worktree: Path, out: Path, log: Path
) -> None:
    """Build the leg's image (a working copy) and write ``image.tag``; failures are recorded, not raised."""

    def build(tag: dict[str, Any]) -> Failure | None:
        tag.update(
            worktree=str(worktree),
            setup_command=params["setup_command"],
            setup_timeout_s=params["setup_timeout_s"],
        )
        how = confining(params["sandbox"], params["variant"])
        tag["sandbox"] = how.note
        failure = how.failure or build_worktree(tag, repo=repo, log=log, how=how, params=params)
        if failure is None:
            tag["digest"] = gitops.tree_id(worktree)
        return failure

    image_stage.prepare_leg(params, runtime="local", revisions=revisions, patch=patch, out=out, build=build)


def build_worktree(
    tag: dict[str, Any], *, repo: Path, log: Path, how: Confining, params: dict[str, Any]
) -> Failure | None:
    """Fresh copy at ``tag['checkout']``, agent patch applied, setup run (confined when ``how`` says so)."""
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
    if not tag["setup_command"]:
        return None
    env = environment(SETUP, worktree=worktree, harness=None, confined=how.confined, extra={})
    setup = Placement(shlex.split(tag["setup_command"]), env, worktree)
    try:
        with _launcher(how, params, worktree=worktree, harness=None, inputs=(), host_network=True) as launcher:
            finished = launcher.run(setup, log, SETUP, tag["setup_timeout_s"])
    except processes.MissingProgram as exc:
        return Failure(failures.MISSING_PROGRAM, f"the setup command {tag['setup_command']!r}: {exc}")
    if finished.timed_out or finished.returncode != 0:
        what = "timed out" if finished.timed_out else f"exited with {finished.returncode}"
        return Failure(failures.SETUP_FAILED, f"setup command {tag['setup_command']!r} {what}; see {log}")
    return None


def ensure_worktree(
    tag: dict[str, Any], *, repo: Path, log: Path, how: Confining, params: dict[str, Any]
) -> Failure | None:
    """Rebuild the working copy if it went missing; it must match the recorded digest.

    One round at a time: the rounds of a leg may run at once (on several GPUs, or
    Slurm nodes), and the digest is taken with git's index of the working copy.
    """
    worktree = Path(tag["worktree"])
    with artifacts.exclusive(worktree.with_name(worktree.name + ".lock")):
        if worktree.is_dir() and gitops.tree_id(worktree) == tag["digest"]:
            return None
        failure = build_worktree(tag, repo=repo, log=log, how=how, params=params)
        if failure is None and gitops.tree_id(worktree) != tag["digest"]:
            failure = Failure(failures.SETUP_FAILED, f"rebuilt working copy {worktree} differs from image.tag")
        return failure


@contextlib.contextmanager
def _launcher(
    how: Confining,
    params: dict[str, Any],
    *,
    worktree: Path,
    harness: Path | None,
    inputs: tuple[str, ...],
    results: Path | None = None,
    host_network: bool = False,
) -> Iterator[run_stage.Launcher]:
    """Plain child processes, or a pod whose sandboxes confine each role; the pod's end ends them all.

    Setup gets the host's network when the suite allows it (a build may
    download); a leg's server and client get only their private loopback.
    """
    if not how.confined:
        yield run_stage.HostLauncher()
        return
    python = params["python"] or sys.executable
    rooms = confinements(
        worktree=worktree, harness=harness, hidden=params["hidden"], python=python, inputs=inputs, results=results
    )
    with Pod(host_network=host_network and params["sandbox"]["setup_network"]) as pod:
        yield PodLauncher(pod, rooms)


# ---------------------------------------------------------------- run


def run(params: dict[str, Any], *, spec: Path, image_tag: Path, repo: Path, out: Path) -> None:
    """Run the commit's benchmark spec (the engine from the leg's working copy); write ``run.log``."""
    opener = functools.partial(_worktree_executor, params=params, repo=repo, scratch=out.parent)
    run_stage.run_leg(params, spec=spec, image_tag=image_tag, out=out, open_executor=opener)


@contextlib.contextmanager
def _worktree_executor(
    tag: dict[str, Any],
    gpu_ids: list[str],
    writer: RunLogWriter,
    inputs: tuple[str, ...],  # host files: the leg's commands read them where they are
    results: Path,  # the round's client-results folder: the client writes it where it is
    *,
    params: dict[str, Any],
    repo: Path,
    scratch: Path,
) -> Iterator[run_stage.Executor]:
    how = confining(params["sandbox"], tag["variant"])
    writer.note("sandbox", how.note)
    if how.failure:
        raise run_stage.LegFailure(how.failure)
    failure = ensure_worktree(tag, repo=repo, log=scratch / "setup.log", how=how, params=params)
    if failure:
        raise run_stage.LegFailure(failure)
    worktree = Path(tag["worktree"])
    harness = ensure_harness(repo, Path(params["harness_dir"]), tag["parent"])
    writer.note("worktree", worktree)
    writer.note("harness", f"{harness} at {tag['parent']}")
    devices = {"CUDA_VISIBLE_DEVICES": gpus.visible_devices(gpu_ids, isolated=False)}

    def place(argv: list[str], env: dict[str, str], role: str) -> Placement:
        """The server runs from the working copy; the benchmark's script and workload files from the harness."""
        extra = {**devices, **env}
        cwd = worktree if role == SERVER else harness
        return Placement(
            argv, environment(role, worktree=worktree, harness=harness, confined=how.confined, extra=extra), cwd
        )

    with _launcher(how, params, worktree=worktree, harness=harness, inputs=inputs, results=results) as launcher:
        python = params["python"] or sys.executable
        yield run_stage.ProcessExecutor(
            python=python, place=place, launcher=launcher, secrets=secrets(), result_dir=str(results.resolve())
        )
