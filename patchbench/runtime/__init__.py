"""Runtimes: where a leg's "image" is prepared and its benchmark runs.

Each runtime has ``prepare`` (the image stage, writes image.tag) and ``run``
(the run stage, writes run.log) with the same signatures:

* ``local`` (the default): a private git working copy per leg;
* ``docker``: containers of per-commit images through the Docker SDK;
* ``apptainer``: the same images through ``apptainer exec``.

What they share lives beside them: ``image`` (the image stage: image.tag,
agent patch vetting), ``run`` (the run stage: GPUs, servers, health, logs,
verdict), ``runlog`` (run.log's format), ``gpus`` (device ids per leg),
``processes`` (deadlines, servers that never outlive the leg), ``images``
(names, identities, which images a suite may remove) and ``containers``
(mounts, environment and token of container commands).

Each runtime also declares what its stages are given (``image_params`` and
``run_params``: the config keys it reads, and who the leg is), so the plan
knows no runtime's keys. Those two are read when Snakemake parses the
workflow: they import nothing heavy.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

NAMES = ("local", "docker", "apptainer")


@dataclass(frozen=True)
class PlannedLeg:
    """What a runtime's params may need beyond the config: who the leg is and who shares its image."""

    suite: str
    leg: str  # ``<commit>/<leg name>``: container labels, image claims
    variant: str
    agent: str
    state_dir: str  # where a container runtime keeps the suite's state
    image_users: Callable[[], list[str]]  # the run jobs that run from the image this leg starts from
    run_ids: tuple[str, ...]  # the leg's own run jobs (``<commit>/<leg>/<round>``)
    hidden: list[str]  # what the leg's confined commands must not see: the suite's results


def module(name: str) -> ModuleType:
    """The runtime named in a config or a stage's params (``prepare``, ``run`` and the params declarations)."""
    if name not in NAMES:
        raise ValueError(f"unknown runtime {name!r}; one of {', '.join(NAMES)}")
    return importlib.import_module(f"patchbench.runtime.{name}")
