"""A real Docker engine for the container runtime's tests, and a harness that runs legs as the rules do.

Tests that need the engine take the ``engine`` fixture. Without an engine
they are skipped on a developer's machine, but in CI (``CI`` set) they FAIL:
CI must run ``scripts/ci-docker.sh`` first. Every such test gets a suite of
its own; afterwards no container of that suite may be left, and the images
the tests made are removed at the end of the session.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import tarfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest

from patchbench import artifacts, cli, config, gitops
from patchbench.layout import REVISIONS, SPEC, Layout
from patchbench.plan.legs import Leg
from patchbench.plan.suite import SuitePlan, plan_suite
from patchbench.runtime.docker.engine import API_VERSION, LABEL_SUITE
from patchbench.runtime.runlog import read_annotations
from patchbench.spec import resolve
from tests.conftest import commit_all, git

BASE_IMAGE = os.environ.get("PATCHBENCH_BASE_IMAGE", "patchbench/python3:bookworm")
TEST_REPOSITORY = "patchbench-test"  # every image a test makes is named under it


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(
            f"{reason}; in CI the Docker tests must run: run `bash scripts/ci-docker.sh` before pytest", pytrace=False
        )
    pytest.skip(f"{reason} (run `bash scripts/ci-docker.sh`)")


@pytest.fixture(scope="session")
def engine() -> Iterator[docker.DockerClient]:
    """The engine, with the base image the tests build FROM; test images are removed at the end."""
    try:
        client = docker.from_env(version=API_VERSION)
        client.ping()
    except docker.errors.DockerException as exc:
        _unavailable(f"no Docker engine: {exc}")
    try:
        client.images.get(BASE_IMAGE)
    except docker.errors.ImageNotFound:
        _unavailable(f"base image {BASE_IMAGE} is missing")
    yield client
    for image in client.images.list():
        for name in image.tags:
            if name.startswith(TEST_REPOSITORY + "/") or f"/{TEST_REPOSITORY}/" in name:
                client.images.remove(name, force=True)


@dataclass(frozen=True)
class Target:
    """A tiny target repository: ``parent`` and ``commit`` (the human fix), as a bare clone."""

    bare: Path
    parent: str
    commit: str
    good_patch: str  # an agent patch of app.py
    compiled_patch: str  # an agent patch of kernel.c


@pytest.fixture(scope="session")
def target(tmp_path_factory: pytest.TempPathFactory) -> Target:
    root = tmp_path_factory.mktemp("target")
    work = root / "work"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    (work / "app.py").write_text('print("app v1")\n')  # the engine under test: it says which it is
    # The benchmark imports it: run from the commit's pinned harness, it finds the leg's engine on the image's path.
    (work / "benchmarks").mkdir()
    (work / "benchmarks" / "run_app.py").write_text("import app\n")
    (work / "health").write_text("ok\n")  # python -m http.server then answers /health
    (work / "kernel.c").write_text("int kernel(void) { return 0; }\n")
    parent = commit_all(work, "initial")
    (work / "app.py").write_text('print("app agent")\n')
    (work / "kernel.c").write_text("int kernel(void) { return 1; }\n")
    good = git(work, "diff", "--", "app.py") + "\n"
    compiled = git(work, "diff", "--", "kernel.c") + "\n"
    git(work, "checkout", "-q", "--", ".")
    (work / "app.py").write_text('print("app v2")\n')
    commit = commit_all(work, "the fix")
    bare = root / "target.git"
    gitops.mirror(str(work), bare)
    return Target(bare, parent, commit, good, compiled)


@dataclass
class Run:
    """A finished run stage: its annotations and the whole run.log."""

    notes: dict[str, str]
    text: str

    @property
    def outcome(self) -> str:
        return self.notes["outcome"]


@dataclass
class Harness:
    """One suite in a scratch directory, driven stage by stage through the CLI the rules call."""

    name: str
    target: Target
    workdir: Path
    overrides: dict[str, Any] = field(default_factory=dict)

    @property
    def layout(self) -> Layout:
        return Layout(self.name)

    def config(self) -> dict[str, Any]:
        base = {
            "suite": self.name,
            "repo": str(self.target.bare),
            "commits": "commits.csv",
            "agents": [{"name": "a", "patches": "agents/a"}],
            "runtime": "docker",
            "gpus": 1,
            "container": {
                "images": {
                    "human": f"{TEST_REPOSITORY}/{self.name}:{{commit12}}",
                    "baseline": f"{TEST_REPOSITORY}/{self.name}:baseline-{{parent12}}",
                    "agent": f"{TEST_REPOSITORY}/{self.name}:agent-{{agent}}",
                },
                "source_dir": "/opt/src",
                "request_gpus": False,
            },
            "docker": {"base_image": BASE_IMAGE, "build": True, "pull": False, "shm_size": "64m"},
            "timeouts": {"setup_s": 120, "server_start_s": 30, "benchmark_s": 60, "stop_s": 5},
            "repeats": 1,  # one measured pass per run (and, serving, one warm-up before it)
            "rounds": 1,
        }
        return config.validated(_merged(base, self.overrides))

    def plan(self) -> SuitePlan:
        table = self.workdir / "commits.csv"
        perf = "python benchmarks/benchmark_latency.py --model m"
        table.write_text(f"commit,parent_commit,perf_command\n{self.target.commit},{self.target.parent},{perf}\n")
        (self.workdir / "agents" / "a").mkdir(parents=True, exist_ok=True)
        return plan_suite(self.config(), base_dir=self.workdir)

    def agent_patch(self, text: str) -> None:
        (self.workdir / "agents" / "a").mkdir(parents=True, exist_ok=True)
        (self.workdir / "agents" / "a" / f"{self.target.commit}.diff").write_text(text)

    def leg(self, variant: str) -> Leg:
        return Leg(self.target.commit, variant, "a" if variant == "agent" else "")

    def leg_dir(self, leg: Leg) -> Path:
        return Path(self.layout.leg_dir(leg.commit, leg.name))

    def revisions(self) -> Path:
        """The commit's revisions job, as the workflow runs it once per commit."""
        out = Path(self.layout.commit_file(self.target.commit, REVISIONS))
        params = json.dumps(self.plan().revisions_params(self.target.commit))
        assert cli.main(["revisions", "--params", params, "--repo", str(self.target.bare), "--out", str(out)]) == 0
        return out

    def spec_file(self, spec: dict[str, Any]) -> Path:
        """The commit's spec.json holding ``spec`` (a BenchSpec as a dict): these tests' targets are
        toy trees that the spec stage would rule out, and the image and run stages are what they test."""
        spec_file = Path(self.layout.commit_file(self.target.commit, SPEC))
        spec_file.parent.mkdir(parents=True, exist_ok=True)
        artifacts.write_artifact(spec_file, SPEC, {"spec": {"gpus": 1, "env": {}, "server_argv": [], **spec}})
        return spec_file

    def prepare(self, leg: Leg) -> dict[str, Any]:
        """The patch and image stages; the image.tag."""
        plan = self.plan()
        where = self.leg_dir(leg)
        where.mkdir(parents=True, exist_ok=True)
        revisions, patch = self.revisions(), where / "patch.diff"
        spec = self.spec_file({"argv": []})
        agent = plan.agent_patch(leg)
        argv = self._stage("patch", plan.patch_params(leg), repo=self.target.bare, revisions=revisions)
        assert cli.main(argv + ([str(agent)] if agent else []) + ["--out", str(patch)]) == 0
        log = Path(self.layout.log("image", leg.commit, leg.name))
        log.parent.mkdir(parents=True, exist_ok=True)
        worktree = Path(self.layout.worktree(leg.commit, leg.name))
        paths = {"repo": self.target.bare, "revisions": revisions, "spec": spec, "patch": patch}
        paths |= {"worktree": worktree, "log": log}
        argv = self._stage("image", plan.image_params(leg), **paths)
        assert cli.main(argv + ["--out", str(where / "image.tag")]) == 0
        return json.loads((where / "image.tag").read_text())

    def image_log(self, leg: Leg) -> str:
        return Path(self.layout.log("image", leg.commit, leg.name)).read_text()

    def run_argv(self, leg: Leg, spec: dict[str, Any]) -> list[str]:
        """``patchbench leg run`` arguments for ``leg`` running ``spec`` (a BenchSpec as a dict)."""
        where = self.leg_dir(leg)
        spec_file = self.spec_file(spec)
        argv = self._stage(
            "run", self.plan().run_params(leg, 1), spec=spec_file, image=where / "image.tag", repo=self.target.bare
        )
        return argv + ["--out", str(where / "run.log")]

    def run(self, leg: Leg, spec: dict[str, Any]) -> Run:
        return self.run_with(self.run_argv(leg, spec), leg)

    def run_with(self, argv: list[str], leg: Leg) -> Run:
        """The run stage with ``argv`` (``run_argv``'s, perhaps with other params)."""
        assert cli.main(argv) == 0
        run_log = self.leg_dir(leg) / "run.log"
        return Run(read_annotations(run_log), run_log.read_text())

    def spec_of_commit(self) -> dict[str, Any]:
        params = self.plan().spec_params(self.target.commit)
        return resolve.resolve_spec(params, repo=self.target.bare, revisions=self.revisions())["spec"]

    def _stage(self, stage: str, params: dict[str, Any], **paths: Path) -> list[str]:
        argv = ["leg", stage, "--params", json.dumps(params)]
        for key, value in paths.items():
            argv += [f"--{key}", str(value)]
        return argv


def _merged(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overrides.items():
        merged[key] = (
            _merged(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) else value
        )
    return merged


def suite_containers(client: docker.DockerClient, suite: str) -> list[str]:
    return [c.name for c in client.containers.list(all=True, filters={"label": f"{LABEL_SUITE}={suite}"})]


@pytest.fixture
def suite(
    engine: docker.DockerClient, target: Target, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Harness]:
    """A fresh suite in a scratch directory (the rules' relative paths resolve there); nothing may be left behind."""
    monkeypatch.chdir(tmp_path)
    harness = Harness(f"dockertest-{uuid.uuid4().hex[:8]}", target, tmp_path)
    yield harness
    assert suite_containers(engine, harness.name) == [], "containers left behind"


@pytest.fixture(scope="session")
def registry(engine: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private registry on this host (Debian's docker-registry), holding one tiny runnable image.

    The image is a static binary alone (tini from docker.io), so pushing and
    pulling it takes milliseconds.
    """
    program = shutil.which("docker-registry")
    tini = shutil.which("docker-init") or "/usr/bin/docker-init"
    if program is None or not Path(tini).exists():
        _unavailable("docker-registry or docker-init is not installed")
    root = tmp_path_factory.mktemp("registry")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = root / "config.yml"
    settings.write_text(
        f"version: 0.1\nlog: {{level: error}}\nstorage: {{filesystem: {{rootdirectory: {root / 'data'}}}}}\n"
        f"http: {{addr: 127.0.0.1:{port}}}\n"
    )
    server = subprocess.Popen([program, "serve", str(settings)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    address = f"127.0.0.1:{port}"
    try:
        _wait_for(f"http://{address}/v2/")
        layer = io.BytesIO()
        with tarfile.open(fileobj=layer, mode="w") as tar:
            tar.add(Path(tini).resolve(), arcname="hello")
        repository = f"{address}/{TEST_REPOSITORY}/hello"
        engine.api.import_image_from_data(layer.getvalue(), repository=repository, tag="1")
        for line in engine.images.push(repository, tag="1", stream=True, decode=True):
            assert "error" not in line, line
        engine.images.remove(f"{repository}:1")
        yield address
    finally:
        server.terminate()
        server.wait(timeout=10)


def _wait_for(url: str, deadline_s: float = 15) -> None:
    until = time.monotonic() + deadline_s
    while time.monotonic() < until:
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer")
