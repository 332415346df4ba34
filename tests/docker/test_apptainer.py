"""The apptainer runtime without Apptainer: the command lines it builds, and legs through a stand-in.

Apptainer cannot be installed here. The stand-in below records each command
line and runs the command on the host instead: the image's source tree is a
fresh copy of the tree (Apptainer's throw-away overlay) on the path, as the
images' own environment puts it; only the APPTAINERENV_* variables reach the
command (--cleanenv); the bound paths and the source tree are mapped back to
the host, the working directory (--pwd) too.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest

from patchbench.runtime.apptainer import APPLY_THEN_EXEC, exec_argv, exec_env, image_reference
from patchbench.runtime.containers import HARNESS_MOUNT, PATCH_MOUNT, RESULTS_MOUNT
from patchbench.runtime.run import CLIENT_RESULTS
from patchbench.runtime.runlog import REQUESTS_NOTE
from tests.conftest import git
from tests.docker.conftest import Harness
from tests.docker.test_forged_results import serve

STAND_IN = f"""#!{sys.executable}
import json, os, shutil, sys, tempfile
args = sys.argv[1:]
with open(os.environ["FAKE_APPTAINER_LOG"], "a") as log:
    log.write(json.dumps(args) + "\\n")
assert args.pop(0) == "exec"
overlay = tempfile.mkdtemp()
shutil.copytree(os.environ["FAKE_APPTAINER_TREE"], overlay, dirs_exist_ok=True)
paths = {{os.environ["FAKE_APPTAINER_SOURCE"]: overlay}}
pwd = None
while args[0].startswith("--"):
    option = args.pop(0)
    if option == "--pwd":
        pwd = args.pop(0)
    elif option == "--bind":
        host, inside = args.pop(0).split(":")[:2]
        paths[inside] = host
image = args.pop(0)
env = {{k[len("APPTAINERENV_"):]: v for k, v in os.environ.items() if k.startswith("APPTAINERENV_")}}
env["PATH"], env["PYTHONPATH"] = os.environ["PATH"], overlay
os.chdir(paths[pwd])
argv = [paths.get(a, a) for a in args]
os.execvpe(argv[0], argv, env)
"""
SOURCE_DIR = "/opt/src"  # the harness suite's container.source_dir
EDITED_BENCHMARK = """diff --git a/benchmarks/run_app.py b/benchmarks/run_app.py
--- a/benchmarks/run_app.py
+++ b/benchmarks/run_app.py
@@ -1 +1,2 @@
 import app
+print("fabulous numbers")
"""


def test_exec_argv_for_a_leg_and_for_an_agent(tmp_path):
    plain = exec_argv(
        ["python3", "bench.py"], executable="apptainer", image="docker://org/img:1", source_dir="/opt/src",
        nv=True, options=["--contain"],
    )  # fmt: skip
    assert plain == [
        "apptainer",
        "exec",
        "--cleanenv",
        "--pwd",
        "/opt/src",
        "--nv",
        "--contain",
        "docker://org/img:1",
        "python3",
        "bench.py",
    ]
    patch = tmp_path / "patch.diff"
    agent = exec_argv(
        ["python3", "bench.py"], executable="apptainer", image="/sif/img.sif", source_dir="/opt/src",
        nv=False, options=[], patch=patch, hf_cache=str(tmp_path), inputs=("/data/sharegpt.json",),
    )  # fmt: skip
    assert agent == [
        "apptainer", "exec", "--cleanenv", "--pwd", "/opt/src",
        "--bind", f"{tmp_path}:/root/.cache/huggingface",
        "--bind", "/data/sharegpt.json:/data/sharegpt.json:ro",
        "--writable-tmpfs", "--bind", f"{patch}:{PATCH_MOUNT}:ro",
        "/sif/img.sif", "sh", "-c", APPLY_THEN_EXEC, PATCH_MOUNT, "/opt/src", "python3", "bench.py",
    ]  # fmt: skip
    measuring = exec_argv(
        ["python3", "bench.py"], executable="apptainer", image="/sif/img.sif", source_dir="/opt/src",
        nv=False, options=[], patch=patch, harness=tmp_path / "harness",
    )  # fmt: skip
    assert measuring == [
        "apptainer", "exec", "--cleanenv", "--pwd", HARNESS_MOUNT,
        "--bind", f"{tmp_path / 'harness'}:{HARNESS_MOUNT}:ro",
        "--writable-tmpfs", "--bind", f"{patch}:{PATCH_MOUNT}:ro",
        "/sif/img.sif", "sh", "-c", APPLY_THEN_EXEC, PATCH_MOUNT, "/opt/src", "python3", "bench.py",
    ]  # fmt: skip


def test_variables_travel_outside_the_command_line():
    env = exec_env({"PATH": "/bin"}, {"HF_TOKEN": "secret", "CUDA_VISIBLE_DEVICES": "1"})
    assert env == {"PATH": "/bin", "APPTAINERENV_HF_TOKEN": "secret", "APPTAINERENV_CUDA_VISIBLE_DEVICES": "1"}


def test_a_local_sif_comes_before_the_registry(tmp_path):
    assert image_reference("org/img:1", str(tmp_path), pull=True) == "docker://org/img:1"
    assert image_reference("org/img:1", str(tmp_path), pull=False) is None
    (tmp_path / "org_img_1.sif").write_bytes(b"sif")
    assert image_reference("org/img:1", str(tmp_path), pull=False) == str(tmp_path / "org_img_1.sif")


@pytest.fixture
def apptainer_suite(target, tmp_path, monkeypatch):
    """A suite on the stand-in, whose "image" holds the parent's tree."""
    stand_in = tmp_path / "bin" / "apptainer"
    stand_in.parent.mkdir()
    stand_in.write_text(STAND_IN)
    stand_in.chmod(0o755)
    tree = tmp_path / "image-tree"
    git(tmp_path, "clone", "-q", str(target.bare), str(tree))
    git(tree, "checkout", "-q", target.parent)
    monkeypatch.setenv("FAKE_APPTAINER_LOG", str(tmp_path / "apptainer.log"))
    monkeypatch.setenv("FAKE_APPTAINER_TREE", str(tree))
    monkeypatch.setenv("FAKE_APPTAINER_SOURCE", SOURCE_DIR)
    monkeypatch.chdir(tmp_path)
    harness = Harness("apptainertest", target, tmp_path)
    harness.overrides = {
        "runtime": "apptainer",
        "apptainer": {"executable": str(stand_in), "sif_dir": str(tmp_path / "sif")},
        "container": {"python": sys.executable},
    }
    return harness


def commands(tmp_path: Path) -> list[list[str]]:
    return [json.loads(line) for line in (tmp_path / "apptainer.log").read_text().splitlines()]


def test_image_stage_finds_a_sif_or_names_the_registry_image(apptainer_suite, tmp_path):
    human = apptainer_suite.leg("human")
    tag = apptainer_suite.prepare(human)
    name = f"patchbench-test/apptainertest:{apptainer_suite.target.commit[:12]}"
    assert tag["status"] == "ok" and tag["reference"] == f"docker://{name}" and tag["digest"] is None
    assert tag["image"] == name and "image_pulled" not in tag and "disk_gb" not in tag  # Apptainer resolves it later
    (tmp_path / "sif").mkdir()
    sif = tmp_path / "sif" / (name.replace("/", "_").replace(":", "_") + ".sif")
    content = b"an image" * 250_000  # 2 MB
    sif.write_bytes(content)
    tag = apptainer_suite.prepare(human)
    assert tag["reference"] == str(sif) and tag["digest"] == "sha256:" + hashlib.sha256(content).hexdigest()
    assert tag["image_pulled"] is False and tag["disk_gb"] == pytest.approx(len(content) / 1e9, abs=1e-6)
    apptainer_suite.overrides["apptainer"]["pull"] = False
    sif.unlink()
    tag = apptainer_suite.prepare(human)
    assert tag["status"] == "failed" and tag["failure"]["category"] == "missing_image"


def test_agent_patch_is_applied_as_each_command_starts(apptainer_suite, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_apptainerFakeToken")
    # The agent's engine, and its own edit of the benchmark (which must not be what measures).
    apptainer_suite.agent_patch(apptainer_suite.target.good_patch + EDITED_BENCHMARK)
    agent = apptainer_suite.leg("agent")
    tag = apptainer_suite.prepare(agent)
    assert tag["status"] == "ok" and [f["code"] for f in tag["findings"]] == ["touches_benchmark"]
    server = ["python", "-m", "http.server", "{port}", "--bind", "{host}"]
    client = [
        "sh",
        "-c",
        'python3 benchmarks/run_app.py && echo "token=$HF_TOKEN"'
        " && python3 -c \"import urllib.request as u; u.urlopen('http://{host}:{port}/health')\"",
    ]
    run = apptainer_suite.run(agent, {"benchmark_type": "serving", "argv": client, "server_argv": server})
    assert run.outcome == "ok", run.text
    # The client runs the pinned harness (the parent's benchmarks/), which imports the engine
    # under test: the agent's app.py; it never gets the token.
    assert "app agent" in run.text and "fabulous" not in run.text
    assert "token=\n" in run.text and "token=***" not in run.text
    server_cmd, client_cmd = commands(tmp_path)  # one measured pass; the harness's commit plans no warm-up
    for command in (server_cmd, client_cmd):
        assert command[:2] == ["exec", "--cleanenv"] and "--writable-tmpfs" in command
        assert "hf_apptainerFakeToken" not in json.dumps(command)
    assert server_cmd[2:4] == ["--pwd", SOURCE_DIR] and HARNESS_MOUNT not in " ".join(server_cmd)
    harness = apptainer_suite.layout.harness(apptainer_suite.target.commit)
    assert client_cmd[2:4] == ["--pwd", HARNESS_MOUNT]
    assert f"{Path(harness).resolve()}:{HARNESS_MOUNT}:ro" in client_cmd
    assert "--nv" not in server_cmd  # request_gpus: false in the harness


def test_a_serving_client_saves_into_its_own_bound_folder(apptainer_suite, tmp_path):
    human = apptainer_suite.leg("human")
    assert apptainer_suite.prepare(human)["status"] == "ok"
    run = serve(apptainer_suite, human, ["python", "-m", "http.server", "{port}", "--bind", "{host}"])
    assert run.outcome == "ok", run.text
    assert json.loads(run.notes[REQUESTS_NOTE])["ttft_ms"] == [5.0, 6.0, 7.0]
    server_cmd, client_cmd = commands(tmp_path)
    folder = (apptainer_suite.leg_dir(human) / CLIENT_RESULTS).resolve()
    assert f"{folder}:{RESULTS_MOUNT}" in client_cmd  # writable: no :ro
    assert client_cmd[client_cmd.index("--result-dir") + 1] == RESULTS_MOUNT
    assert RESULTS_MOUNT not in " ".join(server_cmd) and str(folder) not in " ".join(server_cmd)


def test_compiled_changes_cannot_be_rebuilt_under_apptainer(apptainer_suite):
    apptainer_suite.agent_patch(apptainer_suite.target.compiled_patch)
    tag = apptainer_suite.prepare(apptainer_suite.leg("agent"))
    assert tag["status"] == "failed" and tag["failure"]["category"] == "needs_rebuild"
    assert "cannot rebuild" in tag["failure"]["evidence"]
