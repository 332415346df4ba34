"""Legs in containers against the real engine: serving, crashes, deadlines, OOM, GPUs, secrets, Ctrl-C.

After every test the suite fixture checks that no container of the suite is left.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from patchbench.runtime.docker.engine import LABEL_SUITE, container_config, launch
from patchbench.runtime.run import LegFailure
from patchbench.runtime.runlog import BENCHMARK_SECTION, SERVER_SECTION
from tests.docker.conftest import BASE_IMAGE, suite_containers

SERVER = ["python", "-m", "http.server", "{port}", "--bind", "{host}"]  # answers /health from the tree's file
CLIENT = [
    "python",
    "-c",
    "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).read())",
    "http://{host}:{port}/health",
]
FAKE_TOKEN = "hf_patchbenchFakeToken1234567890"


@pytest.fixture
def baseline(suite):
    leg = suite.leg("baseline")
    assert suite.prepare(leg)["status"] == "ok"
    return leg


def test_serving_leg_starts_polls_benchmarks_and_stops_its_server(suite, baseline):
    run = suite.run(baseline, {"benchmark_type": "serving", "argv": CLIENT, "server_argv": SERVER})
    assert run.outcome == "ok", run.text
    assert run.notes["server readiness"].startswith("ready")
    assert run.notes["gpu ids"] == "0"
    client, server = run.text.split(BENCHMARK_SECTION)[1].split(SERVER_SECTION)  # the server's comes once it stopped
    assert "GET /health" in server and "b'ok\\n'" in client  # each side's output in its own section
    assert int(run.notes["server exit code"]) in (0, 143)  # stopped by SIGTERM, gracefully


def test_a_server_that_dies_is_a_crash_at_once(suite, baseline):
    crash = ["python", "-c", "import time; time.sleep(0.5); raise SystemExit('RuntimeError: engine failed to start')"]
    began = time.monotonic()
    run = suite.run(baseline, {"benchmark_type": "serving", "argv": CLIENT, "server_argv": crash})
    assert time.monotonic() - began < 20  # the start deadline is 30s: noticed at once, not at the deadline
    assert run.outcome == "server_crash" and run.notes["server readiness"].startswith("died")
    assert "engine failed to start" in run.text.split(SERVER_SECTION)[1]


def test_a_benchmark_past_its_deadline_is_stopped_as_a_timeout(suite, baseline):
    suite.overrides = {"timeouts": {"benchmark_s": 2}}
    began = time.monotonic()
    run = suite.run(
        baseline, {"benchmark_type": "latency", "argv": ["python", "-c", "print('going'); import time; time.sleep(60)"]}
    )
    assert time.monotonic() - began < 20
    assert run.outcome == "timeout" and "going" in run.text


def test_a_container_killed_for_memory_is_oom(suite, baseline):
    suite.overrides = {"docker": {"mem_limit": "32m"}}
    run = suite.run(
        baseline, {"benchmark_type": "latency", "argv": ["python", "-c", "x = bytearray(512 << 20); print(len(x))"]}
    )
    assert run.outcome == "oom", run.text
    assert "OOMKilled" in run.notes["evidence"] and "32 MiB" in run.notes["evidence"]


def test_a_benchmark_program_the_image_lacks_is_a_missing_program(suite, baseline):
    # tini (the containers' init) execs the command: exit 127 and its FATAL line, read back as the cause.
    run = suite.run(baseline, {"benchmark_type": "throughput", "argv": ["vllm", "bench", "throughput", "--model", "m"]})
    assert run.outcome == "missing_program", run.text
    assert run.notes["evidence"] == "the benchmark: cannot start 'vllm' in the image: No such file or directory"


def test_a_server_program_the_image_lacks_is_a_missing_program_at_once(suite, baseline):
    began = time.monotonic()
    run = suite.run(baseline, {"benchmark_type": "serving", "argv": CLIENT, "server_argv": ["vllm", "serve", "m"]})
    assert time.monotonic() - began < 20
    assert run.outcome == "missing_program" and run.notes["server readiness"].startswith("died")
    assert run.notes["evidence"] == "the server: cannot start 'vllm' in the image: No such file or directory"


def test_the_specs_input_files_are_mounted_read_only_at_their_host_path(suite, baseline, tmp_path):
    dataset = tmp_path / "sharegpt.json"
    dataset.write_text('[{"conversations": []}]')
    script = "import sys; print(open(sys.argv[1]).read()); open(sys.argv[1], 'a')"
    run = suite.run(
        baseline,
        {"benchmark_type": "latency", "argv": ["python", "-c", script, str(dataset)], "inputs": [str(dataset)]},
    )
    assert '[{"conversations": []}]' in run.text  # read at the same path inside the container
    assert "Read-only file system" in run.text and run.outcome == "benchmark_crash"


def test_a_gpu_request_the_host_cannot_serve_fails_the_start_and_leaves_nothing(engine, suite, baseline):
    suite.overrides = {"container": {"request_gpus": True}}
    run = suite.run(baseline, {"benchmark_type": "latency", "argv": ["python", "-c", "print(1)"]})
    assert run.outcome == "container_start_failed"
    assert "gpu" in run.notes["evidence"]
    assert suite_containers(engine, suite.name) == []  # not even one in "Created"


def test_the_leg_gets_its_device_ids(suite, baseline):
    suite.overrides = {"gpus": 2, "gpu_ids": [3, 5]}
    show = ["python", "-c", "import os; print('visible=' + os.environ['CUDA_VISIBLE_DEVICES'])"]
    run = suite.run(baseline, {"benchmark_type": "latency", "argv": show})
    assert run.notes["gpu ids"] == "3"
    assert "visible=3" in run.text  # no device request here (request_gpus: false): the host's numbering


@pytest.mark.parametrize("source", ["env", "file"])
def test_the_token_reaches_the_container_but_never_the_logs(suite, baseline, monkeypatch, tmp_path, source):
    if source == "env":
        monkeypatch.setenv("PATCHBENCH_TEST_TOKEN", FAKE_TOKEN)
        suite.overrides = {"container": {"hf_token_env": "PATCHBENCH_TEST_TOKEN"}}
    else:
        (tmp_path / "token").write_text(FAKE_TOKEN + "\n")
        suite.overrides = {"container": {"hf_token_env": "", "hf_token_file": str(tmp_path / "token")}}
    leak = ["python", "-c", "import os; t = os.environ['HF_TOKEN']; print('token=' + t, len(t))"]
    run = suite.run(baseline, {"benchmark_type": "latency", "argv": leak})
    assert run.outcome == "ok"
    assert f"token=*** {len(FAKE_TOKEN)}" in run.text
    for path in (tmp_path / "results").rglob("*"):
        if path.is_file():
            assert FAKE_TOKEN.encode() not in path.read_bytes(), path


def test_sigterm_stops_the_leg_and_removes_its_containers(engine, suite, baseline):
    argv = suite.run_argv(
        baseline, {"benchmark_type": "latency", "argv": ["python", "-c", "import time; time.sleep(120)"]}
    )
    proc = subprocess.Popen([sys.executable, "-m", "patchbench.cli", *argv])
    try:
        deadline = time.monotonic() + 30
        while not suite_containers(engine, suite.name) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert suite_containers(engine, suite.name), "the benchmark container never started"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) != 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert suite_containers(engine, suite.name) == []
    assert not (suite.leg_dir(baseline) / "run.log").exists()  # an interrupted leg leaves no run.log to trust


def test_without_an_init_process_the_engine_refuses_to_start_a_missing_program(engine, suite):
    # Without tini, runc's own exec fails and the engine answers the start with a 400.
    config = container_config(
        BASE_IMAGE, ["no-such-program", "x"], env={}, labels={LABEL_SUITE: suite.name}, workdir="/", network_mode="none"
    )
    config["init"] = False
    with pytest.raises(LegFailure) as raised:
        launch(engine, config)
    assert raised.value.failure.category == "missing_program"
    assert 'exec: "no-such-program": executable file not found in $PATH' in raised.value.failure.evidence
    assert suite_containers(engine, suite.name) == []
