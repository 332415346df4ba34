"""The local runtime: a leg's image is a private working copy of the target repository.

``prepare`` checks out the right commit (the parent for baseline and agents,
the commit itself for human), applies the agent's patch with ``git apply``
(vetted first, never forced), runs the suite's setup command, and records the
copy's content digest in ``image.tag``. ``run`` executes the commit's
benchmark spec in that copy, starting and stopping a server for serving runs.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

from patchbench import atomic, failures, gitops, processes
from patchbench.benchspec import BenchSpec, render
from patchbench.failures import Failure
from patchbench.patches import check_and_apply, compiled_sources
from patchbench.revisions import resolve as revisions_of
from patchbench.runlog import BENCHMARK_SECTION, SERVER_SECTION, RunLogWriter


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


# ---------------------------------------------------------------- prepare


def prepare(params: dict[str, Any], *, repo: Path, patch: Path, worktree: Path, out: Path, log: Path) -> None:
    """Build the leg's image (a working copy) and write ``image.tag``; failures are recorded, not raised."""
    tag: dict[str, Any] = {"runtime": "local", "variant": params["variant"], "patch": str(patch)}
    failure = Failure(**params["skip"]) if params["skip"] else None
    status = "skipped" if failure else "failed"
    if failure is None:
        revisions, failure = revisions_of(repo, params)
        tag.update(revisions)
    if failure is None:
        tag["checkout"] = tag["commit"] if params["variant"] == "human" else tag["parent"]
        tag["worktree"] = str(worktree)
        tag["setup_command"] = params["setup_command"]
        tag["setup_timeout_s"] = params["setup_timeout_s"]
        failure = build_worktree(tag, repo=repo, log=log)
        if failure is None:
            tag["digest"] = gitops.tree_id(worktree)
            status = "ok"
    tag["status"] = status
    tag["failure"] = failure.as_dict() if failure else None
    atomic.write_json(out, tag)


def build_worktree(tag: dict[str, Any], *, repo: Path, log: Path) -> Failure | None:
    """Fresh copy at ``tag['checkout']``, agent patch applied, setup run."""
    worktree = Path(tag["worktree"])
    shutil.rmtree(worktree, ignore_errors=True)
    gitops.checkout_detached(repo, tag["checkout"], worktree)
    if tag["variant"] == "agent":
        failure = check_and_apply(worktree, Path(tag["patch"]))
        if failure:
            return failure
        compiled = compiled_sources(Path(tag["patch"]))
        tag["needs_rebuild"] = bool(compiled)
        if compiled and not tag["setup_command"]:
            # Benchmarking without the change would credit the agent with the baseline.
            return Failure(
                failures.NEEDS_REBUILD,
                f"patch changes compiled sources ({', '.join(compiled[:5])}) and no setup_command rebuilds them",
            )
    if tag["setup_command"]:
        argv = shlex.split(tag["setup_command"])
        finished = processes.run(argv, cwd=worktree, env=leg_env(worktree, {}), log=log, timeout_s=tag["setup_timeout_s"])
        if finished.timed_out or finished.returncode != 0:
            what = "timed out" if finished.timed_out else f"exited with {finished.returncode}"
            return Failure(failures.SETUP_FAILED, f"setup command {tag['setup_command']!r} {what}; see {log}")
    return None


def ensure_worktree(tag: dict[str, Any], *, repo: Path, log: Path) -> Failure | None:
    """Rebuild the working copy if it went missing; it must match the recorded digest."""
    worktree = Path(tag["worktree"])
    if worktree.is_dir() and gitops.tree_id(worktree) == tag["digest"]:
        return None
    failure = build_worktree(tag, repo=repo, log=log)
    if failure is None and gitops.tree_id(worktree) != tag["digest"]:
        failure = Failure(failures.SETUP_FAILED, f"rebuilt working copy {worktree} differs from image.tag")
    return failure


def leg_env(worktree: Path, extra: dict[str, str]) -> dict[str, str]:
    """The leg's environment: its own source tree first on the import path, unbuffered output."""
    env = dict(os.environ)
    env.update(extra)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(worktree.resolve()), env.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("PYTHONSAFEPATH", None)
    return env


# ---------------------------------------------------------------- run


def run(params: dict[str, Any], *, spec: Path, image_tag: Path, repo: Path, out: Path) -> None:
    """Run the commit's benchmark spec in the leg's image; write ``run.log`` (complete, or not at all)."""
    tag = json.loads(image_tag.read_text())
    params = {**params, "spec": json.loads(spec.read_text())["spec"]}
    writer = RunLogWriter(out)
    try:
        with processes.interruptible():
            writer.note("started", now())
            _run_in_worktree(params, tag, repo=repo, writer=writer, scratch=out.parent)
            writer.note("finished", now())
        writer.commit()
    except BaseException:
        writer.abandon()
        raise


def _run_in_worktree(
    params: dict[str, Any], tag: dict[str, Any], *, repo: Path, writer: RunLogWriter, scratch: Path
) -> None:
    if tag["status"] != "ok":
        writer.note("not run", f"image status is {tag['status']}")
        _verdict(writer, Failure(**tag["failure"]))
        return
    setup_log = scratch / "setup.log"
    failure = ensure_worktree(tag, repo=repo, log=setup_log)
    if failure:
        _verdict(writer, failure)
        return
    spec = BenchSpec.from_dict(params["spec"])
    worktree = Path(tag["worktree"])
    env = leg_env(worktree, spec.env)
    python = params["python"] or sys.executable
    timeouts = params["timeouts"]
    writer.note("worktree", worktree)
    if spec.benchmark_type == "serving":
        failure = _serve_and_benchmark(spec, python, worktree, env, timeouts, params["health_paths"], writer, scratch)
    else:
        argv = render(spec.argv, python=python)
        writer.note("command", shlex.join(argv))
        client_log = scratch / "benchmark.out"
        client_log.unlink(missing_ok=True)
        try:
            finished = processes.run(argv, cwd=worktree, env=env, log=client_log, timeout_s=timeouts["benchmark_s"])
            writer.section(BENCHMARK_SECTION, client_log)
        finally:
            client_log.unlink(missing_ok=True)
        failure = _client_failure(finished, timeouts["benchmark_s"])
    _verdict(writer, failure)


def _serve_and_benchmark(
    spec: BenchSpec,
    python: str,
    worktree: Path,
    env: dict[str, str],
    timeouts: dict[str, float],
    health_paths: list[str],
    writer: RunLogWriter,
    scratch: Path,
) -> Failure | None:
    host, port = "127.0.0.1", processes.free_port()
    server_argv = render(spec.server_argv, python=python, host=host, port=port)
    client_argv = render(spec.argv, python=python, host=host, port=port)
    writer.note("server command", shlex.join(server_argv))
    writer.note("command", shlex.join(client_argv))
    server_log, client_log = scratch / "server.out", scratch / "benchmark.out"
    for path in (server_log, client_log):
        path.unlink(missing_ok=True)
    server = processes.start(server_argv, cwd=worktree, env=env, log=server_log)
    try:
        ready = processes.wait_healthy(server, f"http://{host}:{port}", health_paths, timeouts["server_start_s"])
        writer.note("server readiness", f"{ready.state} after {ready.elapsed_s:.1f}s")
        if ready.state == "died":
            failure = Failure(failures.SERVER_CRASH, f"server exited with code {ready.returncode} before it was healthy")
        elif ready.state == "timeout":
            failure = Failure(
                failures.SERVER_START_TIMEOUT, f"server not healthy after {timeouts['server_start_s']}s"
            )
        else:
            finished = processes.run(
                client_argv, cwd=worktree, env=env, log=client_log, timeout_s=timeouts["benchmark_s"]
            )
            died = server.poll()
            failure = _client_failure(finished, timeouts["benchmark_s"])
            if died is not None and failure is not None:
                failure = Failure(failures.SERVER_CRASH, f"server exited with code {died} during the benchmark")
    finally:
        code = processes.stop(server, grace_s=timeouts["stop_s"])
        writer.note("server exit code", code)
        writer.section(SERVER_SECTION, server_log)
        writer.section(BENCHMARK_SECTION, client_log if client_log.exists() else None)
        for path in (server_log, client_log):
            path.unlink(missing_ok=True)
    return failure


def _client_failure(finished: processes.Finished, timeout_s: float) -> Failure | None:
    if finished.timed_out:
        return Failure(failures.TIMEOUT, f"benchmark still running after {timeout_s}s; stopped")
    if finished.returncode != 0:
        return Failure(failures.BENCHMARK_CRASH, f"benchmark exited with code {finished.returncode}")
    return None


def _verdict(writer: RunLogWriter, failure: Failure | None) -> None:
    writer.note("outcome", failure.category if failure else "ok")
    if failure:
        writer.note("evidence", failure.evidence)
