"""What every container runtime (docker, apptainer) gives a leg's commands: mounts, environment, token.

The Hugging Face token is read when a leg runs (from the configured variable,
else the configured file), never from params: Snakemake records params and
prints command lines. It reaches the container only as an environment
variable and is scrubbed from captured output (``run_stage.redact``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from patchbench import failures
from patchbench.failures import Failure
from patchbench.runtime import PlannedLeg, gpus
from patchbench.runtime.run import LegFailure

PATCH_MOUNT = "/patchbench/patch.diff"
HF_CACHE_MOUNT = "/root/.cache/huggingface"
HARNESS_MOUNT = "/patchbench/harness"
RESULTS_MOUNT = "/patchbench/client-results"  # a serving client's result folder (run.CLIENT_RESULTS)


def image_params(config: dict[str, Any], leg: PlannedLeg) -> dict[str, Any]:
    """What every container runtime's image stage reads: naming, the source tree, the rebuild."""
    container = config["container"]
    return {
        "suite": leg.suite,
        "leg": leg.leg,
        "state_dir": leg.state_dir,
        "agent": leg.agent,
        "images": container["images"],
        "source_dir": container["source_dir"],
        "rebuild_command": container["rebuild_command"],
    }


def run_params(config: dict[str, Any], leg: PlannedLeg) -> dict[str, Any]:
    """What every container runtime's run stage reads: who the leg is, the interpreter, the container settings."""
    container = config["container"]
    shared = ("env", "request_gpus", "hf_cache", "hf_token_env", "hf_token_file", "source_dir")
    return {
        "suite": leg.suite,
        "leg": leg.leg,
        "state_dir": leg.state_dir,
        "python": container["python"],
        "container": {k: container[k] for k in shared},
    }


def hf_token(container: dict[str, Any]) -> str:
    """The token from ``hf_token_env``, else from ``hf_token_file``; "" when neither is set."""
    token = os.environ.get(container["hf_token_env"], "") if container["hf_token_env"] else ""
    if token or not container["hf_token_file"]:
        return token
    path = Path(container["hf_token_file"]).expanduser()
    try:
        return path.read_text().strip()
    except OSError as exc:
        raise LegFailure(Failure(failures.ENV_ERROR, f"hf_token_file {path}: {exc.strerror}")) from None


def command_env(container: dict[str, Any], gpu_ids: list[str], *, isolated: bool) -> dict[str, str]:
    """The environment of every command in the leg's containers (the spec's own variables go on top).

    ``isolated``: the container sees only the leg's GPUs (renumbered from 0).
    The Hugging Face cache is mounted read-only (a leg must not change another
    leg's model), so the hub is asked offline.
    """
    env = {**container["env"], "PYTHONUNBUFFERED": "1"}
    env["CUDA_VISIBLE_DEVICES"] = gpus.visible_devices(gpu_ids, isolated=isolated)
    if container["hf_cache"]:
        env.update(HF_HOME=HF_CACHE_MOUNT, HF_HUB_OFFLINE="1")
    return env


def token_env(token: str) -> dict[str, str]:
    """The token's variables, for the commands that load a model (never a client, never setup)."""
    return {"HF_TOKEN": token, "HUGGING_FACE_HUB_TOKEN": token} if token else {}
