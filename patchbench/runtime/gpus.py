"""Which GPUs a leg gets: Snakemake counts GPUs, this module names them.

``resources: gpu=N`` only promises that the legs running at once ask for no
more than N GPUs in total; Snakemake never says *which* devices (it never sets
``CUDA_VISIBLE_DEVICES``). So each leg's run claims concrete ids, one
``fcntl`` lock file per id. Locks are taken all-or-nothing and the kernel drops
them when their holder dies, however it dies: two legs running at once never
share a device, and a killed leg never strands one.

The ids come from where the host's devices are known best: a
``CUDA_VISIBLE_DEVICES`` that was already set when the leg started (a Slurm
job's GPUs, or a person restricting the run), else the config's ``gpu_ids``,
else ``0 .. gpus-1``. GPUs belong to a host, and a Slurm job's devices to that
job, so the locks live in a folder per host (and per Slurm job) even when
``results/`` is on a shared filesystem.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

from patchbench import failures

WAIT_S = 600.0
POLL_S = 0.2


class LeaseError(Exception):
    """No devices for the leg; ``category`` says whether it can never fit or waited in vain."""

    def __init__(self, category: str, message: str) -> None:
        super().__init__(message)
        self.category = category


def device_list(gpu_ids: list[int], gpus: int, environ: Mapping[str, str]) -> list[str]:
    """The devices legs may be given here: an already set ``CUDA_VISIBLE_DEVICES``, else config."""
    visible = environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [device.strip() for device in visible.split(",") if device.strip()]
    return [str(i) for i in (gpu_ids or range(gpus))]


def lock_dir(base: Path, environ: Mapping[str, str], host: str) -> Path:
    """Where the device locks of this host (and Slurm job: its GPUs are its own) live."""
    job = environ.get("SLURM_JOB_ID")
    return base / host / f"slurm-{job}" if job else base / host


def visible_devices(ids: list[str], *, isolated: bool) -> str:
    """``CUDA_VISIBLE_DEVICES`` for a process given ``ids``.

    A process on the host sees every device, so it is told the host ids. A
    container that was handed only its own devices (Docker device requests)
    sees them renumbered from 0, so the host ids would point at nothing there.
    """
    return ",".join(str(i) for i in range(len(ids))) if isolated else ",".join(ids)


@contextlib.contextmanager
def lease(count: int, devices: list[str], locks: Path, *, holder: str, wait_s: float = WAIT_S) -> Iterator[list[str]]:
    """Hold ``count`` of ``devices`` for the duration of the block.

    Waits (up to ``wait_s``) while other legs hold them: Snakemake's counter
    already keeps the total within the host, so a wait only covers a holder
    that is still exiting. ``holder`` is written into the lock files for people
    looking at a busy host.
    """
    if count == 0:
        yield []
        return
    if count > len(devices):
        raise LeaseError(failures.GPU_REQUIREMENT, f"needs {count} GPUs, the device list has {len(devices)}: {devices}")
    locks.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_s
    while (held := _claim(count, devices, locks, holder)) is None:
        if time.monotonic() > deadline:
            raise LeaseError(
                failures.GPU_UNAVAILABLE, f"no {count} of GPUs {devices} free after {wait_s:.0f}s (see {locks})"
            )
        time.sleep(POLL_S * (1 + random.random()))  # jitter: two waiters do not retry in lockstep
    try:
        yield list(held)
    finally:
        for fd in held.values():
            os.close(fd)  # closing the descriptor drops its lock


def any_held(locks: str | Path) -> bool:
    """Whether a run holds a GPU lease: one of the lease files under ``locks`` (any host's) is locked."""
    root = Path(locks)
    if not root.is_dir():
        return False
    for path in root.rglob("*.lock"):
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)  # also drops the shared lock, if we got it
    return False


def _claim(count: int, devices: list[str], locks: Path, holder: str) -> dict[str, int] | None:
    """Lock ``count`` free devices (id -> open descriptor, in device order), or lock none and return None."""
    held: dict[str, int] = {}
    for device in devices:
        fd = os.open(locks / f"{device}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        os.ftruncate(fd, 0)
        os.write(fd, f"{holder} pid {os.getpid()}\n".encode())
        held[device] = fd
        if len(held) == count:
            return held
    for fd in held.values():
        os.close(fd)
    return None
