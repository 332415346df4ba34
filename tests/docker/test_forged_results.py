"""A server (the agent's code) that tries to forge what its client saves, against the local and docker runtimes.

The client of a serving leg saves its per-request values (--save-result) into
the round's client-results folder; the run stage reads them from there. The
server runs the agent's code, so it must not be able to write that folder: not
at its host path, not at the path the client's container sees, not at the path
it could read from the client's command line in /proc. The server here tries
all three for as long as it runs and says so when a write succeeds; the client
saves known values. The local runtime's case runs in bubblewrap (CI installs
it); it uses this folder's harness of stages, so it sits beside the docker case.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from patchbench.runtime.containers import RESULTS_MOUNT
from patchbench.runtime.run import CLIENT_RESULTS
from patchbench.runtime.runlog import REQUESTS_NOTE, SERVER_SECTION
from tests.docker.conftest import Harness, Run

FORGERY = """
import glob, http.server, json, os, sys, threading, time
port, host, marker, targets = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
forged = json.dumps({"ttfts": [0.000001] * 3, "itls": [[]] * 3, "errors": [""] * 3})

def from_proc():  # the folder named on any visible process's command line
    for path in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            words = open(path, "rb").read().split(b"\\0")
        except OSError:
            continue
        if b"--result-dir" in words[:-1]:
            yield words[words.index(b"--result-dir") + 1].decode()

def forge():
    while True:
        for folder in [*targets, *from_proc()]:
            for name in ("result.json", marker + ".json"):
                try:
                    with open(os.path.join(folder, name), "w") as handle:
                        handle.write(forged)
                    print("FORGED", folder, name, flush=True)
                except OSError:
                    pass
        time.sleep(0.05)

threading.Thread(target=forge, daemon=True).start()
http.server.ThreadingHTTPServer((host, port), http.server.SimpleHTTPRequestHandler).serve_forever()
"""
SAVE = """
import json, os, sys, time
folder = sys.argv[sys.argv.index("--result-dir") + 1]
time.sleep(1.5)  # the server forges all along
saved = {"ttfts": [0.005, 0.006, 0.007], "itls": [[0.01, 0.01]] * 3, "output_lens": [3] * 3, "errors": [""] * 3}
with open(os.path.join(folder, "result.json"), "w") as handle:
    json.dump(saved, handle)
time.sleep(1.5)
print("saved into", folder)
"""
CLIENT = ["python", "-c", SAVE, "--host", "{host}", "--port", "{port}", "--result-dir", "{result_dir}"]


@pytest.fixture(params=["local", "docker"])
def suite(request, target, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Harness:
    if request.param == "docker":
        request.getfixturevalue("engine")
    monkeypatch.chdir(tmp_path)
    harness = Harness(f"forgetest-{uuid.uuid4().hex[:8]}", target, tmp_path)
    harness.overrides = {"runtime": request.param, "sandbox": {"mode": "required"}}
    return harness


def test_the_server_cannot_forge_what_its_client_saves(suite):
    agent = suite.leg("agent")
    suite.agent_patch(suite.target.good_patch)
    assert suite.prepare(agent)["status"] == "ok"
    marker = f"forged-{uuid.uuid4().hex[:8]}"
    host_folder = (suite.leg_dir(agent) / CLIENT_RESULTS).resolve()
    server = ["python", "-c", FORGERY, "{port}", "{host}", marker, str(host_folder), RESULTS_MOUNT]
    run = serve(suite, agent, server)
    assert run.outcome == "ok", run.text
    assert "saved into" in run.text and "FORGED" not in run.text.split(SERVER_SECTION)[1], run.text
    kept = json.loads(run.notes[REQUESTS_NOTE])
    assert kept["ttft_ms"] == [5.0, 6.0, 7.0] and kept["tpot_ms"] == [10.0, 10.0, 10.0], kept


def serve(suite: Harness, leg, server: list[str]) -> Run:
    """Run a serving spec whose client saves per-request values (the run params of a serving leg)."""
    argv = suite.run_argv(leg, {"benchmark_type": "serving", "argv": CLIENT, "server_argv": server})
    params = json.loads(argv[3])
    params["passes"] = {"warmup": 0, "measured": 1, "requests_kept": 10}
    argv[3] = json.dumps(params)
    return suite.run_with(argv, leg)
