"""The docker runtime: every command of a leg runs in a container of the leg's image (Docker SDK).

``obtain`` is the image stage (pull, build or derive the leg's image),
``exec`` the run stage (server, client and offline benchmarks as containers),
``cleanup`` what a suite leaves behind (containers, idle images), ``engine``
the client and the configuration of one container. This module only declares
what the stages are given and hands over to them: the plan reads it when
Snakemake parses the workflow, which must not import the Docker SDK.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from patchbench.runtime import PlannedLeg, containers

IMAGE_KEYS = ("pull", "registry_timeout_s", "build", "base_image", "dockerfile")
ENGINE_KEYS = ("network", "shm_size", "mem_limit", "disk_budget_gb", "registry_timeout_s")


def image_params(config: dict[str, Any], leg: PlannedLeg) -> dict[str, Any]:
    docker = config["docker"]
    return {
        **containers.image_params(config, leg),
        "docker": {k: docker[k] for k in IMAGE_KEYS},
        "claimants": leg.image_users(),  # a pulled image may go once they have run
        "runs": list(leg.run_ids),  # an agent's derived image, once these have
    }


def run_params(config: dict[str, Any], leg: PlannedLeg) -> dict[str, Any]:
    docker = config["docker"]
    return {**containers.run_params(config, leg), "docker": {k: docker[k] for k in ENGINE_KEYS}}


def prepare(params: dict[str, Any], **paths: Path) -> None:
    from patchbench.runtime.docker.obtain import prepare as obtain

    obtain(params, **paths)


def run(params: dict[str, Any], **paths: Path) -> None:
    from patchbench.runtime.docker.exec import run as execute

    execute(params, **paths)
