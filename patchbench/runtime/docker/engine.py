"""The Docker engine as every docker stage talks to it: the client, labels, one container's config.

Only Docker Engine API 1.41 calls are used (Debian 12's docker.io 20.10).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

import docker
import docker.errors
from docker.models.containers import Container
from docker.models.images import Image
from docker.types import DeviceRequest, Mount

from patchbench import failures
from patchbench.failures import Failure
from patchbench.runtime import containers
from patchbench.runtime import run as run_stage
from patchbench.runtime.images import RECIPE_LABEL

API_VERSION = "1.41"

CLIENT_TIMEOUT_S = 300

LABEL_SUITE, LABEL_LEG, LABEL_ROLE = "patchbench.suite", "patchbench.leg", "patchbench.role"
LABEL_RUN = "patchbench.run"  # ``<commit>/<leg>/<round>``: the run job a container belongs to

# How Docker Engine 20.10 (runc) and docker-init (tini) say that a command's program is not in the image.
EXEC_NOT_FOUND = re.compile(r'exec: "[^"]*": (?:executable file not found|no such file or directory)')
TINI_EXEC_FAILED = re.compile(rb"\[FATAL tini \(\d+\)\] exec (.+?) failed: ([^\n]+)")

Say = Callable[[str], None]


def connect(timeout_s: float = CLIENT_TIMEOUT_S) -> docker.DockerClient:
    """A client of the engine named by the environment (``DOCKER_HOST``, else the local socket)."""
    return docker.from_env(version=API_VERSION, timeout=int(timeout_s))


def identity(image: Image) -> str:
    """What ``image.tag`` records: the recipe digest of an image patchbench made, else the image ID."""
    return image.labels.get(RECIPE_LABEL) or image.id


def say_to(handle: IO[str]) -> Say:
    def say(line: str) -> None:
        handle.write(line.rstrip("\n") + "\n")
        handle.flush()

    return say


def container_config(
    image: str,
    argv: list[str],
    *,
    env: dict[str, str],
    labels: dict[str, str],
    workdir: str,
    network_mode: str,
    gpu_ids: Sequence[str] = (),
    request_gpus: bool = False,
    shm_size: str = "",
    mem_limit: str = "",
    hf_cache: str = "",
    mounts: Sequence[Mount] = (),
    cpu_shares: int = 0,
) -> dict[str, Any]:
    """``containers.create`` arguments for one command; pure, so the flags are testable without an engine.

    The command replaces the image's entrypoint (vLLM images start their
    server by default). GPUs are requested by id, only when there are any to
    give and the host can give them.
    """
    config: dict[str, Any] = {
        "image": image,
        "entrypoint": argv[:1],
        "command": argv[1:],
        "environment": env,
        "labels": labels,
        "working_dir": workdir,
        "network_mode": network_mode,
        "init": True,  # a real PID 1 forwards SIGTERM: graceful stops take milliseconds, not the grace period
        "mounts": list(mounts),  # binds only: the SDK's `volumes` would also declare image volumes a commit keeps
    }
    if shm_size:
        config["shm_size"] = shm_size
    if mem_limit:
        config["mem_limit"] = mem_limit
    if hf_cache:
        cache = str(Path(hf_cache).expanduser().resolve())
        config["mounts"].append(Mount(containers.HF_CACHE_MOUNT, cache, type="bind", read_only=True))
    if request_gpus and gpu_ids:
        config["device_requests"] = [DeviceRequest(device_ids=list(gpu_ids), capabilities=[["gpu"]])]
    if cpu_shares:
        config["cpu_shares"] = cpu_shares
    return config


def launch(client: docker.DockerClient, config: dict[str, Any]) -> Container:
    """Create and start a container, or say why the engine would not (``container_start_failed``).

    A failed start leaves the container "Created" (a GPU request on a host
    without NVIDIA's toolkit): it is removed here, not left behind.
    """
    try:
        container = client.containers.create(**config)
    except docker.errors.APIError as exc:
        raise run_stage.LegFailure(Failure(failures.CONTAINER_START_FAILED, str(exc.explanation or exc))) from None
    try:
        container.start()
    except docker.errors.APIError as exc:
        with contextlib.suppress(docker.errors.APIError):
            container.remove(force=True)
        raise run_stage.LegFailure(start_failure(str(exc.explanation or exc))) from None
    return container


def start_failure(explanation: str) -> Failure:
    """Why the engine would not start a container. Without an init process, the runtime's own
    exec of the command fails at start (``exec: "vllm": executable file not found in $PATH``)."""
    if EXEC_NOT_FOUND.search(explanation):
        return Failure(failures.MISSING_PROGRAM, explanation)
    return Failure(failures.CONTAINER_START_FAILED, explanation)


def exec_failure(exit_code: int, log_tail: bytes, role: str) -> Failure | None:
    """A command the image lacks. With ``init`` (tini as PID 1, as patchbench starts every
    container) the container starts and tini's exec fails: exit 127 and tini's FATAL line."""
    match = TINI_EXEC_FAILED.search(log_tail) if exit_code == 127 else None
    if match is None:
        return None
    program, reason = (group.decode("utf-8", "replace") for group in match.groups())
    return Failure(failures.MISSING_PROGRAM, f"the {role}: cannot start {program!r} in the image: {reason}")
