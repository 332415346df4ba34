"""The apptainer runtime: the container images, run with ``apptainer exec`` (clusters without Docker).

The images and their names are the docker runtime's (config ``container``).
A leg's image is a local ``.sif`` when ``apptainer.sif_dir`` has one, else
``docker://<name>`` (Apptainer converts and caches it itself). Apptainer
images are read-only and cannot be committed, so an agent's patch (vetted on
the host first) is mounted read-only and applied with ``git apply`` as each
command starts, in a throw-away writable overlay; a patch that would need a
rebuild cannot be honoured, so such legs fail as ``needs_rebuild``. The
server runs in the image's source tree; a client or offline benchmark runs
in the commit's pinned harness (``runtime.harness``), bound read-only, with
the engine under test still the leg's. Commands are child processes of the
leg, as with the local runtime, and share the host's network: a server binds
127.0.0.1 on a free port. A serving client gets its round's client-results
folder bound writable; the server does not. Apptainer itself still binds the
user's home, ``/tmp`` and the working directory into every container unless
``apptainer.options`` says otherwise (``--contain``, ``--no-mount home,cwd``):
where the results live under the home, an agent's server could reach them.

Apptainer is not installable on our machines: the command lines are built by
the pure functions below and tested; no test runs a real Apptainer.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from patchbench import failures
from patchbench.artifacts import file_sha256
from patchbench.failures import Failure
from patchbench.runtime import PlannedLeg, containers, images
from patchbench.runtime import image as image_stage
from patchbench.runtime import run as run_stage
from patchbench.runtime.harness import ensure_harness
from patchbench.runtime.runlog import RunLogWriter

DOCKER_SCHEME = "docker://"
ENV_PREFIX = "APPTAINERENV_"  # how variables reach a --cleanenv container without appearing on its command line
# `sh -c SCRIPT PATCH SOURCE_DIR CMD...`: $0 is the patch, $1 the tree it applies to, then the command.
APPLY_THEN_EXEC = 'git -C "$1" apply "$0" && shift && exec "$@"'


def image_reference(name: str, sif_dir: str, *, pull: bool) -> str | None:
    """A local ``.sif`` of ``name`` when there is one, else ``docker://name`` when pulling is allowed."""
    if sif_dir:
        sif = Path(sif_dir).expanduser() / images.sif_file(name)
        if sif.is_file():
            return str(sif)
    return DOCKER_SCHEME + name if pull else None


def exec_argv(
    argv: list[str],
    *,
    executable: str,
    image: str,
    source_dir: str,
    nv: bool,
    options: list[str],
    patch: Path | None = None,
    hf_cache: str = "",
    inputs: tuple[str, ...] = (),
    harness: Path | None = None,
    results: Path | None = None,
) -> list[str]:
    """``apptainer exec`` of ``argv`` in ``source_dir`` of ``image``, or in the pinned ``harness``
    (bound read-only) for a command that measures; an agent's ``patch`` applied to ``source_dir``
    first; ``inputs``, host files the command reads, bound read-only at the same path; ``results``,
    a serving client's result folder, bound writable."""
    workdir = containers.HARNESS_MOUNT if harness is not None else source_dir
    command = [executable, "exec", "--cleanenv", "--pwd", workdir]
    if nv:
        command.append("--nv")
    if hf_cache:
        command += ["--bind", f"{Path(hf_cache).expanduser().resolve()}:{containers.HF_CACHE_MOUNT}"]
    for path in inputs:
        command += ["--bind", f"{path}:{path}:ro"]
    if harness is not None:
        command += ["--bind", f"{harness.resolve()}:{containers.HARNESS_MOUNT}:ro"]
    if results is not None:
        command += ["--bind", f"{results.resolve()}:{containers.RESULTS_MOUNT}"]
    if patch is not None:
        command += ["--writable-tmpfs", "--bind", f"{patch.resolve()}:{containers.PATCH_MOUNT}:ro"]
    command += [*options, image]
    if patch is not None:
        command += ["sh", "-c", APPLY_THEN_EXEC, containers.PATCH_MOUNT, source_dir]
    return command + argv


def exec_env(host_env: dict[str, str], env: dict[str, str]) -> dict[str, str]:
    """Apptainer's own environment: the host's, plus ``env`` handed to the container as ``APPTAINERENV_*``."""
    return {**host_env, **{ENV_PREFIX + key: value for key, value in env.items()}}


# ---------------------------------------------------------------- params


def image_params(config: dict[str, Any], leg: PlannedLeg) -> dict[str, Any]:
    settings = config["apptainer"]
    return {**containers.image_params(config, leg), "apptainer": {k: settings[k] for k in ("sif_dir", "pull")}}


def run_params(config: dict[str, Any], leg: PlannedLeg) -> dict[str, Any]:
    settings = config["apptainer"]
    return {**containers.run_params(config, leg), "apptainer": {k: settings[k] for k in ("executable", "options")}}


# ---------------------------------------------------------------- prepare


def prepare(
    params: dict[str, Any], *, repo: Path, revisions: Path, patch: Path, worktree: Path, out: Path, log: Path
) -> None:
    """Find the leg's image (a local .sif, or a docker:// reference) and write ``image.tag``."""

    def build(tag: dict[str, Any]) -> Failure | None:
        name = images.start_image(
            params["images"],
            variant=params["variant"],
            suite=params["suite"],
            commit=tag["commit"],
            parent=tag["parent"],
        )
        if params["variant"] == "agent":
            failure = image_stage.judge_patch(
                tag,
                image_stage.vet_patch(repo, tag["checkout"], patch, worktree),
                can_rebuild=False,
                why_not="the apptainer runtime cannot rebuild an image",
            )
            if failure:
                return failure
        settings = params["apptainer"]
        reference = image_reference(name, settings["sif_dir"], pull=settings["pull"])
        if reference is None:
            where = Path(settings["sif_dir"] or ".") / images.sif_file(name)
            return Failure(failures.MISSING_IMAGE, f"{name}: no {where}, and pulling is off (apptainer.pull: false)")
        tag.update(image=name, reference=reference, apply_patch=params["variant"] == "agent")
        # A docker:// reference is resolved by Apptainer at run time: its content (and whether it is
        # pulled or found in Apptainer's cache, and its size) is not known here.
        if reference.startswith(DOCKER_SCHEME):
            tag["digest"] = None
        else:  # a .sif already on the host: not pulled; its size is fixed by its digest, so image.tag stays stable
            sif = Path(reference)
            disk_gb = images.held_gb({name: sif.stat().st_size})
            tag.update(digest="sha256:" + file_sha256(sif), image_pulled=False, disk_gb=disk_gb)
        return None

    image_stage.prepare_leg(params, runtime="apptainer", revisions=revisions, patch=patch, out=out, build=build)


# ---------------------------------------------------------------- run


def run(params: dict[str, Any], *, spec: Path, image_tag: Path, repo: Path, out: Path) -> None:
    """Run the leg's benchmark through ``apptainer exec``; write ``run.log``."""
    opener = functools.partial(_apptainer_executor, params=params, repo=repo, scratch=out.parent)
    run_stage.run_leg(params, spec=spec, image_tag=image_tag, out=out, open_executor=opener)


@contextlib.contextmanager
def _apptainer_executor(
    tag: dict[str, Any],
    gpu_ids: list[str],
    writer: RunLogWriter,
    inputs: tuple[str, ...],
    results: Path,
    *,
    params: dict[str, Any],
    repo: Path,
    scratch: Path,
) -> Iterator[run_stage.Executor]:
    settings, container = params["apptainer"], params["container"]
    if shutil.which(settings["executable"]) is None:
        raise run_stage.LegFailure(
            Failure(failures.ENV_ERROR, f"{settings['executable']!r} is not installed on this host (not on PATH)")
        )
    token = containers.hf_token(container)
    base_env = containers.command_env(container, gpu_ids, isolated=False)
    wrap = functools.partial(
        exec_argv,
        executable=settings["executable"],
        image=tag["reference"],
        source_dir=container["source_dir"],
        nv=container["request_gpus"],
        options=settings["options"],
        patch=Path(tag["patch"]) if tag["apply_patch"] else None,
        hf_cache=container["hf_cache"],
        inputs=inputs,
    )
    harness = ensure_harness(repo, Path(params["harness_dir"]), tag["parent"])
    writer.note("image", f"{tag['image']} {tag['reference']}")
    writer.note("sandbox", "apptainer containers (the host's network, --cleanenv, --writable-tmpfs)")

    def place(argv: list[str], env: dict[str, str], role: str) -> run_stage.Placement:
        # The token only where the model loads: the server, an offline benchmark.
        secret = containers.token_env(token) if role in (run_stage.SERVER, run_stage.BENCHMARK) else {}
        measures = role != run_stage.SERVER
        command = wrap(
            argv, harness=harness if measures else None, results=results if role == run_stage.CLIENT else None
        )
        return run_stage.Placement(command, exec_env(dict(os.environ), {**base_env, **secret, **env}), scratch)

    secrets = (token,) if token else ()
    yield run_stage.ProcessExecutor(
        python=params["python"], place=place, secrets=secrets, result_dir=containers.RESULTS_MOUNT
    )
