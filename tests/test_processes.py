"""Process control against real processes: deadlines, dead servers, no leftovers."""

import os
import sys
import time
from pathlib import Path

import pytest

from patchbench.runtime import processes
from patchbench.runtime.run import HostLauncher, Placement, ProcessService


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


SPAWN_TREE = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
print("grandchild", child.pid, flush=True)
time.sleep(300)
"""


def test_deadline_stops_the_whole_process_tree(tmp_path):
    log = tmp_path / "out.log"
    finished = processes.run(
        [sys.executable, "-c", SPAWN_TREE], cwd=tmp_path, env=dict(os.environ), log=log, timeout_s=2
    )
    assert finished.timed_out and finished.returncode is None
    grandchild = int(log.read_text().split()[1])
    deadline = time.monotonic() + 5
    while alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(grandchild)


def test_exit_code_and_output_are_kept(tmp_path):
    log = tmp_path / "out.log"
    code = "import sys; print('hello'); sys.stderr.write('oops\\n'); sys.exit(3)"
    finished = processes.run([sys.executable, "-c", code], cwd=tmp_path, env=dict(os.environ), log=log, timeout_s=30)
    assert (finished.returncode, finished.timed_out) == (3, False)
    assert log.read_text().split() == ["hello", "oops"]


def serve(argv, cwd, port=None):
    """A server started as the run stage starts one on the host."""
    launcher = HostLauncher()
    running = launcher.start(Placement(argv, dict(os.environ), cwd), cwd / "server.log", "server")
    return ProcessService(running, port or processes.free_port(), launcher)


def test_dead_server_is_noticed_at_once_not_at_the_deadline(tmp_path):
    server = serve([sys.executable, "-c", "raise SystemExit('engine failed to start')"], tmp_path)
    ready = processes.wait_healthy(server, ["/health"], deadline_s=120)
    assert ready.state == "died" and ready.returncode == 1
    assert ready.elapsed_s < 120


def test_healthy_server_falls_back_to_second_path_and_stops(tmp_path):
    (tmp_path / "models").write_text("{}")  # http.server answers 200 for /models, 404 for /health
    port = processes.free_port()
    server = serve([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"], tmp_path, port)
    try:
        ready = processes.wait_healthy(server, ["/health", "/models"], deadline_s=30)
        assert ready.state == "ready"
    finally:
        code = server.stop(grace_s=5)
    assert code is not None and not alive(server.running.proc.pid)


def test_silent_server_times_out(tmp_path):
    server = serve([sys.executable, "-c", "import time; time.sleep(60)"], tmp_path)
    try:
        ready = processes.wait_healthy(server, ["/health"], deadline_s=1)
        assert ready.state == "timeout"
    finally:
        server.stop(grace_s=1)
    assert not alive(server.running.proc.pid)


def test_a_program_that_cannot_be_started_is_named(tmp_path):
    not_executable = tmp_path / "data.txt"
    not_executable.write_text("no program\n")
    cases = {
        "no-such-program-anywhere": "cannot start 'no-such-program-anywhere': No such file or directory (looked for on PATH=/usr/bin)",
        str(tmp_path / "absent"): f"cannot start '{tmp_path / 'absent'}': No such file or directory",
    }
    for program, message in cases.items():
        try:
            processes.run([program], cwd=tmp_path, env={"PATH": "/usr/bin"}, log=tmp_path / "out.log", timeout_s=5)
        except processes.MissingProgram as exc:
            assert str(exc) == message and exc.program == program
        else:
            raise AssertionError(f"{program} started")
    with pytest.raises(processes.MissingProgram):  # not executable (root may still get ENOEXEC)
        processes.start([str(not_executable)], cwd=tmp_path, env={}, log=tmp_path / "out.log")


def test_a_missing_working_directory_is_not_blamed_on_the_program(tmp_path):
    with pytest.raises(FileNotFoundError):
        processes.start([sys.executable, "-c", "pass"], cwd=tmp_path / "gone", env={}, log=tmp_path / "out.log")
