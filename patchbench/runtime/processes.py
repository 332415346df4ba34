"""Child processes with deadlines, and servers that never outlive the leg.

Every process is started in its own session so that stopping it stops its
whole tree (vLLM's API server forks engine workers). SIGTERM/SIGINT sent to
patchbench itself (Ctrl-C, Snakemake cancelling a job) are turned into an
exception, so ``finally`` blocks reap the children before we exit.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

STOP_GRACE_S = 10.0
POLL_INTERVAL_S = 0.2
WATCH_INTERVAL_S = 1.0
PR_SET_PDEATHSIG = 1


class Interrupted(BaseException):
    """patchbench itself was asked to stop; children must be stopped first."""


class MissingProgram(Exception):
    """The program a command names does not exist where it was to run: nothing was started."""

    def __init__(self, program: str, reason: str) -> None:
        super().__init__(f"cannot start {program!r}: {reason}")
        self.program = program


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """Turn SIGTERM and SIGINT into :class:`Interrupted` for the duration of the block.

    A watchdog also sends us SIGTERM when our parent or grandparent (the job's
    shell, Snakemake) disappears: a Snakemake killed with SIGKILL cannot stop
    its jobs, so the jobs notice and stop their servers themselves.
    """

    def handler(signum: int, _frame: object) -> None:
        raise Interrupted(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    stop_watching = threading.Event()
    watchdog = threading.Thread(target=_watch_ancestors, args=(_ancestors(), stop_watching), daemon=True)
    watchdog.start()
    try:
        yield
    finally:
        stop_watching.set()
        for sig, old in previous.items():
            signal.signal(sig, old)


def _ancestors() -> list[int]:
    """Our parent and grandparent (when they are not init)."""
    parent = os.getppid()
    pids = [parent]
    with contextlib.suppress(OSError, IndexError, ValueError):
        stat = Path(f"/proc/{parent}/stat").read_text()
        pids.append(int(stat.rsplit(")", 1)[1].split()[1]))
    return [pid for pid in pids if pid > 1]


def _watch_ancestors(pids: list[int], stop_watching: threading.Event) -> None:
    while not stop_watching.wait(WATCH_INTERVAL_S):
        if any(not alive(pid) for pid in pids):
            os.kill(os.getpid(), signal.SIGTERM)
            return


def alive(pid: int) -> bool:
    """Whether a process of this id exists (on this host)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _die_with_parent() -> None:
    """In the child: be killed when the leg runner dies, however it dies (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def free_port() -> int:
    """A TCP port nobody listens on right now, so parallel serving legs never collide."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(argv: list[str], *, cwd: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start ``argv`` without a shell, stdout and stderr into ``log``.

    Raises :class:`MissingProgram` when ``argv[0]`` cannot be found or executed
    (a ``vllm`` console script that is not installed, a mistyped setup command,
    a file that is not executable).
    """
    with open(log, "ab") as out:
        try:
            return subprocess.Popen(
                argv,
                cwd=cwd,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        except OSError as exc:
            # exec's failures name the program; a missing working directory (our bug) or a
            # resource limit is not the leg's program.
            if exc.filename is None or Path(exc.filename) == Path(cwd):
                raise
            raise MissingProgram(argv[0], missing_reason(argv[0], exc.strerror, env)) from None


def missing_reason(program: str, strerror: str, env: dict[str, str]) -> str:
    if "/" in program:
        return strerror
    return f"{strerror} (looked for on PATH={env.get('PATH', '')})"


def stop(proc: subprocess.Popen[bytes], grace_s: float = STOP_GRACE_S) -> int:
    """Stop the process group gracefully (SIGTERM), then by force; return the exit code."""
    if proc.poll() is None:
        _signal_group(proc, signal.SIGTERM)
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            pass
    _signal_group(proc, signal.SIGKILL)  # stragglers the leader left behind
    return proc.wait()


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


@dataclass(frozen=True)
class Finished:
    """How a bounded run ended: its exit code, or that it hit the deadline."""

    returncode: int | None
    timed_out: bool
    elapsed_s: float


def run(argv: list[str], *, cwd: Path, env: dict[str, str], log: Path, timeout_s: float) -> Finished:
    """Run to completion or deadline; the process tree is gone when this returns."""
    began = time.monotonic()
    proc = start(argv, cwd=cwd, env=env, log=log)
    return finish(proc.wait, lambda: stop(proc, grace_s=2.0), timeout_s=timeout_s, began=began)


def finish(wait: Callable[..., int], stop_all: Callable[[], object], *, timeout_s: float, began: float) -> Finished:
    """Wait for a started command until its deadline, then stop whatever it left (``stop_all``)."""
    try:
        returncode = wait(timeout=timeout_s)
        return Finished(returncode, False, time.monotonic() - began)
    except subprocess.TimeoutExpired:
        return Finished(None, True, time.monotonic() - began)
    finally:
        stop_all()


@dataclass(frozen=True)
class Readiness:
    """Whether a server came up: ``ready``, ``died`` (with exit code) or ``timeout``."""

    state: str
    returncode: int | None = None
    elapsed_s: float = 0.0


class Answering(Protocol):
    """A started server: whether it has exited, and whether it answers a path."""

    def poll(self) -> int | None: ...

    def answers(self, path: str) -> bool: ...


def wait_healthy(server: Answering, paths: list[str], deadline_s: float) -> Readiness:
    """Poll the health endpoints until one answers 200, the server dies, or the deadline.

    A dead server is noticed at the next poll, not at the deadline. Paths are
    tried in order (``/health`` first, ``/v1/models`` for servers without it).
    """
    began = time.monotonic()
    while True:
        returncode = server.poll()
        if returncode is not None:
            return Readiness("died", returncode, time.monotonic() - began)
        for path in paths:
            if server.answers(path):
                return Readiness("ready", None, time.monotonic() - began)
        if time.monotonic() - began > deadline_s:
            return Readiness("timeout", None, time.monotonic() - began)
        time.sleep(POLL_INTERVAL_S)


def answers(url: str) -> bool:
    """Whether ``GET url`` answers 200 within 2 s."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False
