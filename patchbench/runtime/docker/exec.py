"""The docker run stage: every command of a leg is a container of the leg's image.

Each command (server, client, offline benchmark) is a container labelled with
the suite and the leg; the client joins the server's network namespace and
reaches it on loopback. Containers get exactly the leg's GPUs
(``device_requests`` with their ids). Every container of the leg is removed
when the run ends, however it ends (a failed start leaves one in "Created";
Ctrl-C raises through us), and leftovers of an attempt killed outright are
removed before the next one starts. The image facts go into ``run.log`` as
``image pulled`` and ``image disk gb`` (the larger of the image stage's and
the run stage's measure). Then the images the suite pulled or built that no
pending leg needs are removed.
"""

from __future__ import annotations

import contextlib
import functools
import math
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors
import requests.exceptions
from docker.models.containers import Container
from docker.types import Mount

from patchbench import failures
from patchbench.failures import Failure
from patchbench.runtime import containers, processes
from patchbench.runtime import run as run_stage
from patchbench.runtime.docker.cleanup import collect, sweep
from patchbench.runtime.docker.engine import (
    LABEL_LEG,
    LABEL_ROLE,
    LABEL_RUN,
    LABEL_SUITE,
    connect,
    container_config,
    exec_failure,
    launch,
    say_to,
)
from patchbench.runtime.docker.obtain import Obtainer
from patchbench.runtime.harness import ensure_harness
from patchbench.runtime.images import ImageStore
from patchbench.runtime.runlog import RunLogWriter


def run(params: dict[str, Any], *, spec: Path, image_tag: Path, repo: Path, out: Path) -> None:
    """Run one round of the leg's benchmark in containers of its image; write its run.log; then let go of images."""
    store = ImageStore(Path(params["state_dir"]))
    opener = functools.partial(_container_executor, params=params, repo=repo)
    try:
        run_stage.run_leg(params, spec=spec, image_tag=image_tag, out=out, open_executor=opener)
    finally:
        if store.release(params["run_id"]):
            collect(connect(), store, params["docker"]["disk_budget_gb"], say=say_to(sys.stderr))


@contextlib.contextmanager
def _container_executor(
    tag: dict[str, Any],
    gpu_ids: list[str],
    writer: RunLogWriter,
    inputs: tuple[str, ...],
    results: Path,
    *,
    params: dict[str, Any],
    repo: Path,
) -> Iterator[run_stage.Executor]:
    # The run job's own containers: another round of the same leg may be running beside it.
    labels = {LABEL_SUITE: params["suite"], LABEL_LEG: params["leg"], LABEL_RUN: params["run_id"]}
    client = connect()
    sweep(client, labels)  # an earlier attempt killed outright (SIGKILL) could not clean up
    obtainer = Obtainer.for_leg(
        params,
        repo=repo,
        say=say_to(sys.stderr),
        claimants=[params["run_id"]],
        runs=[params["run_id"]],
        build_timeout_s=params["timeouts"]["setup_s"],
    )
    image = obtainer.ensure(tag["recipe"], tag["digest"])
    writer.note("image", f"{tag['image']} {tag['digest']}")
    writer.note("sandbox", f"docker containers (network {params['docker']['network']}, writable: their own only)")
    facts = obtainer.note_facts(tag["image"], tag["digest"], saw_whole_stage=False)
    if "image_pulled" in facts:
        writer.note("image pulled", "true" if facts["image_pulled"] else "false")
    if "disk_gb" in facts:
        writer.note("image disk gb", facts["disk_gb"])
    token = containers.hf_token(params["container"])
    try:
        yield ContainerExecutor(
            client,
            image.id,
            params=params,
            labels=labels,
            gpu_ids=gpu_ids,
            token=token,
            harness=ensure_harness(repo, Path(params["harness_dir"]), tag["parent"]),
            inputs=inputs,
            results=results,
        )
    finally:
        sweep(connect(), labels)  # a fresh client: an interrupt may have broken the old one's connection


@dataclass
class ContainerService:
    """A server running as a container."""

    container: Container
    url: str
    log: Path

    def answers(self, path: str) -> bool:
        return processes.answers(self.url + path)

    def poll(self) -> int | None:
        self.container.reload()
        return self.container.attrs["State"]["ExitCode"] if self.container.status in ("exited", "dead") else None

    def stop(self, grace_s: float) -> int:
        with contextlib.suppress(docker.errors.NotFound):
            self.container.stop(timeout=max(1, math.ceil(grace_s)))
        code = _exit_code(self.container)
        _save_logs(self.container, self.log)
        return code

    def cause(self) -> Failure | None:
        return _oom(self.container, "server") or _exec_failure(self.container, "server")


class ContainerExecutor:
    """Each command a container of the leg's image, in the leg's source tree, with the leg's GPUs."""

    def __init__(
        self,
        client: docker.DockerClient,
        image_id: str,
        *,
        params: dict[str, Any],
        labels: dict[str, str],
        gpu_ids: list[str],
        token: str,
        harness: Path,
        results: Path,
        inputs: tuple[str, ...] = (),
    ) -> None:
        container, self._docker = params["container"], params["docker"]
        self.client, self.image_id, self.labels, self.gpu_ids = client, image_id, labels, gpu_ids
        self.python = params["python"]
        self.network = self._docker["network"]
        self.bind_host = "0.0.0.0" if self.network == "bridge" else "127.0.0.1"
        self.token = token
        self.secrets: tuple[str, ...] = (token,) if token else ()
        self.request_gpus = container["request_gpus"]
        self.source_dir, self.hf_cache = container["source_dir"], container["hf_cache"]
        self.env = containers.command_env(container, gpu_ids, isolated=self.request_gpus)
        # Host files the commands read (a dataset), read-only at the same path inside.
        self.mounts = [Mount(path, path, type="bind", read_only=True) for path in inputs]
        # The commit's pinned benchmark scripts and workload files, for the client and offline benchmarks.
        self.harness = Mount(containers.HARNESS_MOUNT, str(harness.resolve()), type="bind", read_only=True)
        # The round's client-results folder, writable by a serving client's container alone.
        self.result_dir = containers.RESULTS_MOUNT
        self.results = Mount(self.result_dir, str(results.resolve()), type="bind")

    def start(self, argv: list[str], env: dict[str, str], log: Path, port: int) -> run_stage.Service:
        container = self._launch(argv, env, run_stage.SERVER, self.network)
        host = self.bind_host
        if self.network == "bridge":
            container.reload()
            host = container.attrs["NetworkSettings"]["IPAddress"]
        return ContainerService(container, f"http://{host}:{port}", log)

    def run(
        self, argv: list[str], env: dict[str, str], log: Path, timeout_s: float, beside: run_stage.Service | None = None
    ) -> run_stage.Ended:
        if isinstance(beside, ContainerService):  # the client shares the server's network namespace
            container = self._launch(argv, env, run_stage.CLIENT, f"container:{beside.container.id}")
        else:
            container = self._launch(argv, env, run_stage.BENCHMARK, self.network)
        try:
            code: int | None = container.wait(timeout=max(1, math.ceil(timeout_s)))["StatusCode"]
        except requests.exceptions.RequestException:  # the SDK's way of saying "deadline" (a read timeout)
            code = None
            with contextlib.suppress(docker.errors.APIError):
                container.kill()
        _save_logs(container, log)
        if code is None:
            return run_stage.Ended(None, timed_out=True)
        return run_stage.Ended(code, cause=_oom(container, "benchmark") or _exec_failure(container, "benchmark"))

    def _launch(self, argv: list[str], env: dict[str, str], role: str, network_mode: str) -> Container:
        """One command's container: the server in the leg's source tree (with the token it may need
        to load the model), a client or offline benchmark in the pinned harness; a client with the
        folder it saves its results in."""
        measures = role != run_stage.SERVER
        mounts = [*self.mounts, self.harness, *([self.results] if role == run_stage.CLIENT else [])]
        secret = containers.token_env(self.token) if role in (run_stage.SERVER, run_stage.BENCHMARK) else {}
        config = container_config(
            self.image_id,
            argv,
            env={**self.env, **secret, **env},
            labels={**self.labels, LABEL_ROLE: role},
            workdir=containers.HARNESS_MOUNT if measures else self.source_dir,
            network_mode=network_mode,
            gpu_ids=self.gpu_ids,
            request_gpus=self.request_gpus,
            shm_size=self._docker["shm_size"],
            mem_limit=self._docker["mem_limit"],
            hf_cache=self.hf_cache,
            mounts=mounts if measures else self.mounts,
        )
        return launch(self.client, config)


def _exit_code(container: Container) -> int:
    container.reload()
    return int(container.attrs["State"]["ExitCode"])


def _oom(container: Container, role: str) -> Failure | None:
    container.reload()
    if not container.attrs["State"].get("OOMKilled"):
        return None
    limit = container.attrs["HostConfig"].get("Memory") or 0
    within = f"its memory limit of {limit // 2**20} MiB" if limit else "the host's memory"
    return Failure(failures.OOM, f"the {role} container was killed for exceeding {within} (OOMKilled, exit 137)")


def _exec_failure(container: Container, role: str) -> Failure | None:
    return exec_failure(_exit_code(container), container.logs(stdout=True, stderr=True, tail=5), role)


def _save_logs(container: Container, log: Path) -> None:
    with open(log, "ab") as handle:
        for chunk in container.logs(stdout=True, stderr=True, stream=True, follow=False):
            handle.write(chunk)
