"""GPU ids for legs: a fake device list, real lock files, real concurrent processes (no engine needed)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from patchbench.runtime import gpus
from patchbench.runtime.docker.engine import container_config

HOLD = """
import json, sys, time
from pathlib import Path
from patchbench.runtime import gpus
with gpus.lease(int(sys.argv[1]), json.loads(sys.argv[2]), Path(sys.argv[3]), holder="test") as ids:
    began = time.monotonic()
    print("held", flush=True)
    time.sleep(float(sys.argv[4]))
    print(json.dumps({"ids": ids, "began": began, "ended": time.monotonic()}), flush=True)
"""


def hold(count: int, devices: list[int], lock_dir, seconds: float) -> subprocess.Popen[str]:
    argv = [sys.executable, "-c", HOLD, str(count), json.dumps(devices), str(lock_dir), str(seconds)]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)


def test_device_list_and_numbering():
    assert gpus.device_list([], 2, {}) == ["0", "1"]
    assert gpus.device_list([4, 6], 2, {}) == ["4", "6"]
    assert gpus.device_list([], 0, {}) == []
    assert gpus.visible_devices(["4", "6"], isolated=False) == "4,6"  # a process on the host
    assert gpus.visible_devices(["4", "6"], isolated=True) == "0,1"  # a container handed only those two


def test_devices_already_chosen_for_us_win():
    """A Slurm job's GPUs (or a person's restriction) come as CUDA_VISIBLE_DEVICES, maybe as UUIDs."""
    assert gpus.device_list([0, 1, 2, 3], 4, {"CUDA_VISIBLE_DEVICES": "2,3"}) == ["2", "3"]
    assert gpus.device_list([], 1, {"CUDA_VISIBLE_DEVICES": "GPU-8a1f"}) == ["GPU-8a1f"]
    assert gpus.device_list([], 1, {"CUDA_VISIBLE_DEVICES": ""}) == []  # none visible means none


def test_locks_are_per_host_and_per_slurm_job(tmp_path):
    assert gpus.lock_dir(tmp_path, {}, "node1") == tmp_path / "node1"
    assert gpus.lock_dir(tmp_path, {"SLURM_JOB_ID": "42"}, "node1") == tmp_path / "node1" / "slurm-42"


def test_no_gpus_no_lease_and_no_device_request(tmp_path):
    with gpus.lease(0, [], tmp_path / "locks", holder="t") as ids:
        assert ids == []
    assert not (tmp_path / "locks").exists()
    config = container_config(
        "img", ["true"], env={}, labels={}, workdir="/", network_mode="none", gpu_ids=[], request_gpus=True
    )
    assert "device_requests" not in config


def test_device_request_names_exactly_the_leased_ids():
    config = container_config(
        "img", ["true"], env={}, labels={}, workdir="/", network_mode="none", gpu_ids=["3", "5"], request_gpus=True
    )
    (request,) = config["device_requests"]
    assert request["DeviceIDs"] == ["3", "5"] and request["Capabilities"] == [["gpu"]]
    unrequested = container_config(
        "img", ["true"], env={}, labels={}, workdir="/", network_mode="none", gpu_ids=["3"], request_gpus=False
    )
    assert "device_requests" not in unrequested


def test_more_gpus_than_the_device_list_never_fit(tmp_path):
    with pytest.raises(gpus.LeaseError) as caught:
        with gpus.lease(3, ["0", "1"], tmp_path, holder="t"):
            pass
    assert caught.value.category == "gpu_requirement"


def test_concurrent_legs_never_share_a_device(tmp_path):
    """Six legs of one GPU each on a two-GPU host, all started at once."""
    procs = [hold(1, ["0", "1"], tmp_path, 0.4) for _ in range(6)]
    spans = [json.loads(p.communicate(timeout=60)[0].splitlines()[-1]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    for i, a in enumerate(spans):
        for b in spans[i + 1 :]:
            overlap = a["began"] < b["ended"] and b["began"] < a["ended"]
            assert not (overlap and set(a["ids"]) & set(b["ids"])), (a, b)
    assert {i for s in spans for i in s["ids"]} == {"0", "1"}  # both devices were used


def test_a_leg_needing_two_waits_for_both(tmp_path):
    first = hold(1, ["0", "1"], tmp_path, 1.0)
    assert first.stdout.readline().strip() == "held"
    began = time.monotonic()
    with gpus.lease(2, ["0", "1"], tmp_path, holder="t") as ids:
        waited = time.monotonic() - began
    assert ids == ["0", "1"] and waited > 0.3
    first.communicate(timeout=30)


def test_a_killed_holder_frees_its_device(tmp_path):
    holder = hold(1, ["0"], tmp_path, 60)
    assert holder.stdout.readline().strip() == "held"
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=10)
    with gpus.lease(1, ["0"], tmp_path, holder="t", wait_s=5) as ids:
        assert ids == ["0"]


def test_a_device_held_too_long_is_gpu_unavailable(tmp_path):
    holder = hold(1, ["0"], tmp_path, 60)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(gpus.LeaseError) as caught:
            with gpus.lease(1, ["0"], tmp_path, holder="t", wait_s=0.5):
                pass
        assert caught.value.category == "gpu_unavailable"
    finally:
        holder.kill()
        holder.wait(timeout=10)
