"""The run stage, once for every runtime: GPUs, server, health, client, logs, verdict.

Runtimes differ only in *where* a command runs: a child process in a working
copy (local), a container (docker), a child process that enters an image
(apptainer). Each provides an :class:`Executor`; everything else lives here
once, so a fix reaches every runtime: the run.log is written complete or not
at all; the leg's GPUs are leased; a serving leg starts its server, polls its
health with a deadline, notices a dead server at once, runs the client
against it and stops it gracefully; server and client output go to separate
sections; secrets are scrubbed from captured output; the verdict comes last.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shlex
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from patchbench import artifacts, failures
from patchbench.failures import Failure
from patchbench.layout import IMAGE_TAG, SPEC
from patchbench.parsing import per_request
from patchbench.runtime import gpus, processes
from patchbench.runtime.runlog import (
    BENCHMARK_SECTION,
    REQUESTS_NOTE,
    SERVER_SECTION,
    WARMUP_SECTION,
    RunLogWriter,
)
from patchbench.spec.benchspec import BenchSpec, render
from patchbench.spec.per_request import RESULT_DIR

CLIENT_HOST = "127.0.0.1"  # the client always reaches its server over loopback
REDACTED = b"***"
# A round's folder for what a serving client saves (--save-result): the client alone may write it.
CLIENT_RESULTS = "client-results"


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


class LegFailure(Exception):
    """A runtime could not bring the leg to its benchmark; ``failure`` is the leg's result."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(f"{failure.category}: {failure.evidence}")
        self.failure = failure


@dataclass(frozen=True)
class Ended:
    """How a bounded command ended. ``cause`` is what the runtime knows beyond the
    exit code (a container killed for memory), and wins over a plain crash."""

    returncode: int | None
    timed_out: bool = False
    cause: Failure | None = None


class Service(Protocol):
    """A started server: whether it answers, and its lifecycle."""

    def answers(self, path: str) -> bool:
        """Whether it answers ``GET path`` with 200, asked from this process."""

    def poll(self) -> int | None:
        """The exit code once it has exited, else None."""

    def stop(self, grace_s: float) -> int:
        """Stop gracefully, then by force; the exit code (its output is in its log afterwards)."""

    def cause(self) -> Failure | None:
        """Why it died, when the runtime knows better than its exit code."""


class Executor(Protocol):
    """Where a leg's commands run. ``env`` arguments are the spec's own variables."""

    python: str  # replaces a leading ``python`` in spec commands
    bind_host: str  # the address a server binds so this process can poll it
    secrets: tuple[str, ...]  # values scrubbed from every captured output
    result_dir: str  # the round's client-results folder as a client sees it (no other command may write it)

    def start(self, argv: list[str], env: dict[str, str], log: Path, port: int) -> Service: ...

    def run(
        self, argv: list[str], env: dict[str, str], log: Path, timeout_s: float, beside: Service | None = None
    ) -> Ended:
        """Run to completion or deadline; ``beside`` is the server a client must reach."""


# Given the image.tag, the leased GPU ids, the writer, the spec's inputs (host files
# its commands read, which a container must see at the same path) and the round's
# client-results folder (an empty host folder the client alone may write): a context
# that yields the executor and cleans up after it (or raises LegFailure).
OpenExecutor = Callable[
    [dict[str, Any], list[str], RunLogWriter, tuple[str, ...], Path], contextlib.AbstractContextManager[Executor]
]


def run_leg(params: dict[str, Any], *, spec: Path, image_tag: Path, out: Path, open_executor: OpenExecutor) -> None:
    """Run the commit's benchmark spec in the leg's image; write ``run.log`` (complete, or not at all)."""
    tag = artifacts.read_artifact(image_tag, IMAGE_TAG)
    commit_spec = artifacts.read_artifact(spec, SPEC)
    writer = RunLogWriter(out)
    try:
        with processes.interruptible():
            writer.note("started", now())
            verdict(writer, _attempt(params, tag, commit_spec, writer, out.parent, open_executor))
            writer.note("finished", now())
        writer.commit()
    except BaseException:
        writer.abandon()
        raise


def _attempt(
    params: dict[str, Any],
    tag: dict[str, Any],
    commit_spec: dict[str, Any],
    writer: RunLogWriter,
    scratch: Path,
    open_executor: OpenExecutor,
) -> Failure | None:
    if commit_spec["spec"] is None:
        writer.note("not run", "the commit's benchmark spec could not be made")
        return Failure(**commit_spec["error"])
    if tag["status"] != "ok":
        writer.note("not run", f"image status is {tag['status']}")
        return Failure(**tag["failure"])
    devices = gpus.device_list(params["gpu_ids"], params["host_gpus"], os.environ)
    locks = gpus.lock_dir(Path(params["gpu_lock_dir"]), os.environ, socket.gethostname())
    try:
        with gpus.lease(params["gpus"], devices, locks, holder=str(scratch)) as ids:
            writer.note("gpu ids", ",".join(ids))
            spec = BenchSpec.from_dict(commit_spec["spec"])
            results = _emptied(scratch / CLIENT_RESULTS)
            try:
                with open_executor(tag, ids, writer, spec.inputs, results) as executor:
                    return benchmark(
                        spec,
                        executor,
                        passes=Passes(**params["passes"]),
                        timeouts=params["timeouts"],
                        health_paths=params["health_paths"],
                        writer=writer,
                        scratch=scratch,
                    )
            finally:
                shutil.rmtree(results, ignore_errors=True)
    except gpus.LeaseError as exc:
        return Failure(exc.category, str(exc))
    except LegFailure as exc:
        return exc.failure


@dataclass(frozen=True)
class Passes:
    """How one run job measures: unmeasured warm-up passes of a serving client once its
    server is up (the first requests pay for compilation and caches), then measured passes;
    of each measured pass whose client saves them, at most ``requests_kept`` per-request values."""

    warmup: int = 0
    measured: int = 1
    requests_kept: int = 0


def benchmark(
    spec: BenchSpec,
    executor: Executor,
    *,
    passes: Passes,
    timeouts: dict[str, float],
    health_paths: list[str],
    writer: RunLogWriter,
    scratch: Path,
) -> Failure | None:
    """Run the spec with ``executor``: the benchmark alone, or a server and its client.

    Each measured pass has a section of its own in run.log; the first that fails ends the job.
    """
    if spec.benchmark_type == "serving":
        return _serve_and_benchmark(spec, executor, passes, timeouts, health_paths, writer, scratch)
    argv = render(spec.argv, python=executor.python)
    writer.note("command", shlex.join(argv))
    writer.note("passes", passes.measured)
    for _ in range(passes.measured):  # an offline benchmark is one process per pass
        failure = _client_pass(executor, argv, spec.env, BENCHMARK_SECTION, writer, scratch, timeouts["benchmark_s"])
        if failure:
            return failure
    return None


def _serve_and_benchmark(
    spec: BenchSpec,
    executor: Executor,
    passes: Passes,
    timeouts: dict[str, float],
    health_paths: list[str],
    writer: RunLogWriter,
    scratch: Path,
) -> Failure | None:
    port = processes.free_port()
    server_argv = render(spec.server_argv, python=executor.python, host=executor.bind_host, port=port)
    client_argv = render(spec.argv, python=executor.python, host=CLIENT_HOST, port=port, result_dir=executor.result_dir)
    # The client saves per-request values (the save_result rule, off with per_request: 0) into the
    # round's client-results folder: each pass finds it empty.
    saves = RESULT_DIR in spec.argv
    writer.note("server command", shlex.join(server_argv))
    writer.note("command", shlex.join(client_argv))
    writer.note("passes", f"{passes.measured} after {passes.warmup} warm-up")
    server_log = _fresh(scratch / "server.out")
    try:
        server = executor.start(server_argv, spec.env, server_log, port)
        try:
            ready = processes.wait_healthy(server, health_paths, timeouts["server_start_s"])
            writer.note("server readiness", f"{ready.state} after {ready.elapsed_s:.1f}s")
            failure: Failure | None
            if ready.state == "died":
                failure = server.cause() or Failure(
                    failures.SERVER_CRASH, f"server exited with code {ready.returncode} before it was healthy"
                )
            elif ready.state == "timeout":
                failure = Failure(
                    failures.SERVER_START_TIMEOUT, f"server not healthy after {timeouts['server_start_s']}s"
                )
            else:
                sections = [WARMUP_SECTION] * passes.warmup + [BENCHMARK_SECTION] * passes.measured
                failure = None
                for marker in sections:
                    if saves:
                        _emptied(scratch / CLIENT_RESULTS)
                    failure = _client_pass(
                        executor, client_argv, spec.env, marker, writer, scratch, timeouts["benchmark_s"], server
                    )
                    if saves and marker == BENCHMARK_SECTION:
                        _note_requests(writer, scratch / CLIENT_RESULTS, passes.requests_kept)
                    died = server.poll()
                    if died is not None and failure is not None:
                        failure = server.cause() or Failure(
                            failures.SERVER_CRASH, f"server exited with code {died} during the benchmark"
                        )
                    if failure:
                        break
        finally:
            writer.note("server exit code", server.stop(timeouts["stop_s"]))
            _section(writer, SERVER_SECTION, server_log, executor.secrets)
    finally:
        server_log.unlink(missing_ok=True)
    return failure


def _client_pass(
    executor: Executor,
    argv: list[str],
    env: dict[str, str],
    marker: str,
    writer: RunLogWriter,
    scratch: Path,
    timeout_s: float,
    server: Service | None = None,
) -> Failure | None:
    """One run of the benchmark (client), its output under ``marker`` in run.log."""
    log = _fresh(scratch / "benchmark.out")
    try:
        ended = executor.run(argv, env, log, timeout_s, beside=server)
        _section(writer, marker, log, executor.secrets)
    finally:
        log.unlink(missing_ok=True)
    return _client_failure(ended, timeout_s)


def _note_requests(writer: RunLogWriter, results: Path, keep: int) -> None:
    """The pass's per-request values (bounded), read by this process from the folder only the client
    could write, go into run.log as an annotation: the run.log stays the round's one record."""
    writer.note(REQUESTS_NOTE, json.dumps(per_request.read(results, keep), separators=(",", ":")))


def _fresh(path: Path) -> Path:
    path.unlink(missing_ok=True)
    return path


def _emptied(folder: Path) -> Path:
    """``folder``, existing and emptied. A container's client writes as its own user: its files go
    (that needs only the folder's permission), a folder of its that will not is left, and the
    reading of the next pass's file then says what it found."""
    folder.mkdir(parents=True, exist_ok=True)
    for entry in folder.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
    return folder


def _section(writer: RunLogWriter, marker: str, source: Path | None, secrets: tuple[str, ...]) -> None:
    if source is not None and secrets:
        redact(source, secrets)
    writer.section(marker, source)


def redact(path: Path, secrets: tuple[str, ...]) -> None:
    """Replace every secret in a captured output (a program may print its environment)."""
    if not path.exists():
        return
    data = original = path.read_bytes()
    for secret in secrets:
        if secret:
            data = data.replace(secret.encode(), REDACTED)
    if data != original:
        path.write_bytes(data)


def _client_failure(ended: Ended, timeout_s: float) -> Failure | None:
    if ended.timed_out:
        return Failure(failures.TIMEOUT, f"benchmark still running after {timeout_s}s; stopped")
    if ended.cause:
        return ended.cause
    if ended.returncode != 0:
        return Failure(failures.BENCHMARK_CRASH, f"benchmark exited with code {ended.returncode}")
    return None


def verdict(writer: RunLogWriter, failure: Failure | None) -> None:
    writer.note("outcome", failure.category if failure else "ok")
    if failure:
        writer.note("evidence", failure.evidence)


# ------------------------------------------------- commands as child processes

# What a command is to the leg. The server is the engine under test; a client (of a serving
# leg's server) and an offline benchmark are the measuring harness; setup builds the engine.
SERVER, CLIENT, BENCHMARK, SETUP = "server", "client", "benchmark", "setup"


@dataclass(frozen=True)
class Placement:
    """How one command of a leg is started on the host: its words, environment and working directory."""

    argv: list[str]
    env: dict[str, str]
    cwd: Path


# A spec command, its variables and its role -> what is started (the local runtime places each role
# in its own tree; apptainer wraps every command to enter the image).
Place = Callable[[list[str], dict[str, str], str], Placement]


class Running(Protocol):
    """A started command: whether it is still running, and stopping it."""

    def poll(self) -> int | None: ...

    def stop(self, grace_s: float) -> int: ...


class Launcher(Protocol):
    """Starts a leg's commands: as plain children of this process, or confined (``local.PodLauncher``)."""

    def start(self, placement: Placement, log: Path, role: str) -> Running: ...

    def run(self, placement: Placement, log: Path, role: str, timeout_s: float) -> processes.Finished: ...

    def answers(self, port: int, path: str) -> bool:
        """Whether a server of the leg listening on ``port`` answers ``GET path`` with 200."""


@dataclass(frozen=True)
class HostLauncher:
    """Commands as plain child processes (each in its own session), sharing the host's loopback."""

    host: str = "127.0.0.1"

    def start(self, placement: Placement, log: Path, role: str) -> Running:
        proc = processes.start(placement.argv, cwd=placement.cwd, env=placement.env, log=log)
        return _Child(proc)

    def run(self, placement: Placement, log: Path, role: str, timeout_s: float) -> processes.Finished:
        return processes.run(placement.argv, cwd=placement.cwd, env=placement.env, log=log, timeout_s=timeout_s)

    def answers(self, port: int, path: str) -> bool:
        return processes.answers(f"http://{self.host}:{port}{path}")


@dataclass(frozen=True)
class _Child:
    proc: subprocess.Popen[bytes]

    def poll(self) -> int | None:
        return self.proc.poll()

    def stop(self, grace_s: float) -> int:
        return processes.stop(self.proc, grace_s=grace_s)


@dataclass
class ProcessService:
    """A server that a launcher started."""

    running: Running
    port: int
    launcher: Launcher

    def answers(self, path: str) -> bool:
        return self.launcher.answers(self.port, path)

    def poll(self) -> int | None:
        return self.running.poll()

    def stop(self, grace_s: float) -> int:
        return self.running.stop(grace_s)

    def cause(self) -> Failure | None:
        return None


@dataclass
class ProcessExecutor:
    """Commands started by a launcher on this host (the local and apptainer runtimes).

    ``place`` turns a spec command, its variables and its role into what is
    started: the command in the tree its role runs from (local), or wrapped to
    enter an image (apptainer).
    """

    python: str
    place: Place
    launcher: Launcher = field(default_factory=HostLauncher)
    secrets: tuple[str, ...] = ()
    bind_host: str = "127.0.0.1"
    result_dir: str = ""

    def start(self, argv: list[str], env: dict[str, str], log: Path, port: int) -> Service:
        with missing_program(SERVER):
            running = self.launcher.start(self.place(argv, env, SERVER), log, SERVER)
        return ProcessService(running, port, self.launcher)

    def run(
        self, argv: list[str], env: dict[str, str], log: Path, timeout_s: float, beside: Service | None = None
    ) -> Ended:
        role = BENCHMARK if beside is None else CLIENT
        with missing_program(role):
            finished = self.launcher.run(self.place(argv, env, role), log, role, timeout_s)
        return Ended(finished.returncode, finished.timed_out)


@contextlib.contextmanager
def missing_program(role: str) -> Iterator[None]:
    """A program that cannot be started ends the leg as ``missing_program``, never as a crash of patchbench."""
    try:
        yield
    except processes.MissingProgram as exc:
        raise LegFailure(Failure(failures.MISSING_PROGRAM, f"the {role}: {exc}")) from None
