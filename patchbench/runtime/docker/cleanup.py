"""What a docker suite leaves behind: its containers swept, its idle images collected within the budget."""

from __future__ import annotations

import contextlib
from typing import Any

import docker
import docker.errors

from patchbench.runtime import images
from patchbench.runtime.docker.engine import Say
from patchbench.runtime.images import ImageStore


def sweep(client: docker.DockerClient, labels: dict[str, str]) -> int:
    """Remove every container carrying ``labels`` (running or not); how many there were."""
    filters = {"label": [f"{key}={value}" for key, value in labels.items()]}
    found = client.containers.list(all=True, filters=filters)
    for container in found:
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True)
    return len(found)


def owned_sizes(client: docker.DockerClient, state: dict[str, Any]) -> dict[str, int]:
    """Bytes of each image the suite owns; names that are gone or now name another image are dropped."""
    sizes = {}
    for name, entry in list(images.owned(state).items()):
        try:
            image = client.images.get(name)
        except docker.errors.ImageNotFound:
            image = None
        if image is None or image.id != entry["id"]:  # gone, or the name was given to another image
            del images.owned(state)[name]
            continue
        sizes[name] = int(image.attrs.get("Size", 0))
    return sizes


def held(client: docker.DockerClient, store: ImageStore) -> float:
    """GB the images this suite brought onto the host take now (images present before are not counted)."""
    with store.state() as state:
        return images.held_gb(owned_sizes(client, state))


def collect(client: docker.DockerClient, store: ImageStore, budget_gb: float, *, say: Say) -> list[str]:
    """Remove the suite's idle images beyond the budget (by name: other names of an image keep it)."""
    removed = []
    with store.state() as state:
        sizes = owned_sizes(client, state)
        for name in images.removable(state, sizes, int(budget_gb * images.GB)):
            try:
                client.images.remove(name)
            except docker.errors.APIError as exc:
                say(f"keeping image {name}: {exc.explanation or exc}")
                continue
            del images.owned(state)[name]
            removed.append(name)
            say(f"removed image {name}: no pending leg needs it")
    return removed
