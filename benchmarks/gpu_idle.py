"""How long the GPU waits for images: wall time / GPU-busy time of a simulated campaign.

A campaign of N commits, each with a baseline, a human and A agent legs (one
round each), on the demo engine: every run sleeps R seconds inside the
benchmark (the stand-in for GPU work), and every image takes P seconds to
prepare:

* ``local``: the suite's setup command sleeps P seconds in each leg's working copy;
* ``docker``: each commit's baseline and human images are in a real registry
  (Debian's ``docker-registry``, offline) and are pulled through a proxy that
  holds every blob download for P/2 seconds, as a slow network would (a pull
  fetches its image's config, then its layers: about P); agents derive their
  images from the baseline's, as always.

Each runs exactly ``snakemake --cores 1 --resources gpu=1`` and prints, from
the legs' provenance (``summary.csv``: every leg's rounds, start to end),
GPU-busy time (the sum of the run jobs' durations), the wall time from the
first run's start to the last run's end (the report's), the whole Snakemake
process's wall time, the ratios, and how long image jobs really took (from
their logs). Target: wall / GPU-busy <= 1.10 when P <= R x K
(K = ``prepare.parallel``).

Run from the repository root with the venv's binaries on PATH (docker: after
``scripts/ci-docker.sh``):
    python benchmarks/gpu_idle.py [--commits 20] [--agents 2] [--prepare-s 10] [--run-s 10]
        [--parallel 2] [--lookahead 1] [--runtime local docker]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import http.client
import http.server
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml
from suites import ROOT, copy_workflow

from patchbench.target.demo import build_demo_repo

SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
PERF = (
    "python benchmarks/benchmark_latency.py --model tinyllm/tiny-1b --input-len 16 --output-len 10 --batch-size 2 "
    "--num-iters-warmup 1 --num-iters 3"
)
BASE_IMAGE = os.environ.get("PATCHBENCH_BASE_IMAGE", "patchbench/python3:bookworm")
SOURCE_DIR = "/opt/tinyllm"
BLOB = re.compile(r"^/v2/.+/blobs/sha256:[0-9a-f]+$")


@dataclass(frozen=True)
class Campaign:
    repo: Path
    commits: list[tuple[str, str]]  # (commit, parent), oldest first
    table: Path
    agents: dict[str, Path]  # agent -> its patch directory


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "b@x", "GIT_COMMITTER_NAME": "bench"}
    env["GIT_COMMITTER_EMAIL"] = "b@x"
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True).stdout.strip()


def build_campaign(scratch: Path, commits: int, agents: int, run_s: float) -> Campaign:
    """The demo engine's history, a commit whose latency benchmark sleeps ``run_s`` seconds, then
    ``commits`` commits on top of it, each changing one line; every agent changes that line too."""
    repo = scratch / "target"
    build_demo_repo(repo)
    script = repo / "benchmarks" / "benchmark_latency.py"
    code = script.read_text()
    anchor = "from tinyllm import LLM, SamplingParams\n"
    script.write_text(code.replace(anchor, anchor + f"time.sleep({run_s})  # gpu_idle: the stand-in for GPU work\n", 1))
    (repo / "campaign.txt").write_text("0\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "gpu_idle: a benchmark as long as a GPU run")
    parent = git(repo, "rev-parse", "HEAD")
    history = []
    for i in range(1, commits + 1):
        (repo / "campaign.txt").write_text(f"{i}\n")
        git(repo, "commit", "-qam", f"commit {i}")
        commit = git(repo, "rev-parse", "HEAD")
        history.append((commit, parent))
        parent = commit
    patch_dirs = {}
    for a in range(agents):
        folder = scratch / "agents" / f"agent{a}"
        folder.mkdir(parents=True)
        for i, (commit, _) in enumerate(history, 1):
            (folder / f"{commit}.diff").write_text(
                "diff --git a/campaign.txt b/campaign.txt\n--- a/campaign.txt\n+++ b/campaign.txt\n"
                f"@@ -1 +1 @@\n-{i - 1}\n+{i - 1} agent {a}\n"
            )
        patch_dirs[f"agent{a}"] = folder
    table = scratch / "commits.csv"
    with open(table, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["commit", "parent_commit", "perf_command", "model"])
        writer.writerows([commit, parent, PERF, "tinyllm/tiny-1b"] for commit, parent in history)
    return Campaign(repo, history, table, patch_dirs)


def suite_config(name: str, campaign: Campaign, args: argparse.Namespace) -> dict:
    config = {
        "suite": name,
        "repo": str(campaign.repo),
        "commits": str(campaign.table),
        "agents": [{"name": agent, "patches": str(folder)} for agent, folder in campaign.agents.items()],
        "gpus": 1,
        "repeats": 1,
        "rounds": 1,
        "engine_package": "tinyllm",
    }
    if (args.workflow / "patchbench" / "runtime" / "lookahead.py").exists():  # a checkout from before has no such keys
        config["prepare"] = {"lookahead": args.lookahead, "parallel": args.parallel}
    return config


# ------------------------------------------------------------------ docker: a registry behind a slow proxy


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def registry(scratch: Path) -> Iterator[int]:
    """Debian's docker-registry on a free port, storing under ``scratch``."""
    port = free_port()
    settings = scratch / "registry.yml"
    settings.write_text(
        f"version: 0.1\nlog: {{level: error}}\nstorage: {{filesystem: {{rootdirectory: {scratch / 'registry'}}}}}\n"
        f"http: {{addr: 127.0.0.1:{port}}}\n"
    )
    server = subprocess.Popen(
        ["docker-registry", "serve", str(settings)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        yield port
    finally:
        server.terminate()
        server.wait()


@contextmanager
def slow_proxy(upstream: int, delay_s: float) -> Iterator[int]:
    """An HTTP proxy to the registry that holds every blob download for ``delay_s`` seconds."""

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def forward(self) -> None:
            if self.command == "GET" and BLOB.match(self.path):
                time.sleep(delay_s)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            connection = http.client.HTTPConnection("127.0.0.1", upstream, timeout=600)
            connection.putrequest(self.command, self.path, skip_accept_encoding=True)
            for key, value in self.headers.items():  # every Accept: the engine names each manifest type it reads
                if key.lower() not in ("connection", "host"):
                    connection.putheader(key, value)
            connection.endheaders(body)
            response = connection.getresponse()
            data = response.read()
            self.send_response(response.status)
            for key, value in response.getheaders():
                if key.lower() not in ("connection", "transfer-encoding", "content-length"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            connection.close()

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = forward

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()


def publish_images(campaign: Campaign, pushed_to: str, named: str, suite: str) -> dict[str, str]:
    """Build each commit's baseline and human image, push them and drop them from the host.

    Each image carries its own name as a label, so two names of one revision are two images,
    and each pull fetches at least its own config blob through the slow proxy.
    """
    import docker

    client = docker.from_env()
    templates = {
        "baseline": f"{named}/{suite}/baseline:baseline-{{parent12}}",
        "human": f"{named}/{suite}/bench:{{commit}}",
    }
    for commit, parent in campaign.commits:
        for variant, revision in (("baseline", parent), ("human", commit)):
            name = templates[variant].replace("{parent12}", parent[:12]).replace("{commit}", commit)
            tag = name.replace(named, pushed_to, 1)
            context = io.BytesIO(
                subprocess.run(
                    ["git", "archive", "--format=tar", "--prefix=src/", revision],
                    cwd=campaign.repo,
                    check=True,
                    capture_output=True,
                ).stdout
            )
            dockerfile = (
                f"FROM {BASE_IMAGE}\nCOPY src/ {SOURCE_DIR}/\nWORKDIR {SOURCE_DIR}\nENV PYTHONPATH={SOURCE_DIR}\n"
                f"LABEL gpu_idle.name={name}\n"
            )
            with tarfile.open(fileobj=context, mode="a") as tar:
                info = tarfile.TarInfo("Dockerfile")
                info.size = len(dockerfile)
                tar.addfile(info, io.BytesIO(dockerfile.encode()))
            context.seek(0)
            client.images.build(fileobj=context, custom_context=True, tag=tag, rm=True)
            for line in client.images.push(tag, stream=True, decode=True):
                if "error" in line:
                    sys.exit(f"push of {tag} failed: {line['error']}")
            client.images.remove(tag)
    return templates


def remove_images(*prefixes: str) -> None:
    """The campaign's images that the workflow kept within its disk budget."""
    import docker

    client = docker.from_env()
    for image in client.images.list():
        for name in image.tags:
            if name.startswith(prefixes):
                client.images.remove(name, force=True)


def docker_config(config: dict, templates: dict[str, str], args: argparse.Namespace) -> dict:
    return {
        **config,
        "runtime": "docker",
        "container": {"images": templates, "source_dir": SOURCE_DIR, "request_gpus": False},
        "docker": {"pull": True, "build": False, "disk_budget_gb": args.disk_budget_gb, "shm_size": "64m"},
    }


# ------------------------------------------------------------------ the measurement


def seconds(stamp: str) -> float:
    return dt.datetime.fromisoformat(stamp).timestamp()


def run_suite(workdir: Path, package: Path, config: dict) -> dict[str, float]:
    path = workdir / f"{config['suite']}.yaml"
    path.write_text(yaml.safe_dump(config))
    env = {
        **os.environ,
        "PATH": f"{Path(SNAKEMAKE).parent}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(package),
    }
    began = time.perf_counter()
    proc = subprocess.run(
        [SNAKEMAKE, "--cores", "1", "--resources", "gpu=1", "--configfile", str(path)],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
    )
    process_wall = time.perf_counter() - began
    if proc.returncode != 0:
        sys.exit(f"the campaign failed:\n{proc.stderr[-3000:]}")
    base = workdir / "results" / config["suite"]
    legs = [json.loads(path.read_text()) for path in base.glob("legs/*/*/metrics.json")]
    failed = [f"{leg['commit'][:8]} {leg['leg']}: {leg['failure_reason']}" for leg in legs if leg["status"] != "ok"]
    if failed:
        sys.exit("legs failed:\n" + "\n".join(failed))
    rounds = [(seconds(r["started"]), seconds(r["finished"])) for leg in legs for r in leg["rounds"]]
    prepared = image_times(base)
    return {
        "runs": len(rounds),
        "gpu_busy_s": sum(finished - started for started, finished in rounds),
        "wall_s": max(finished for _, finished in rounds) - min(started for started, _ in rounds),
        "process_wall_s": process_wall,
        "image_s_median": sorted(prepared)[len(prepared) // 2] if prepared else float("nan"),
        "image_s_max": max(prepared, default=float("nan")),
    }


def image_times(base: Path) -> list[float]:
    """How long each image job prepared (its log's ``prepare: began`` to its image.tag); a workflow
    from before the lookahead logs no such line."""
    times = []
    for log in (base / "logs" / "image").glob("*/*.log"):
        began = [
            line.split("began ", 1)[1] for line in log.read_text().splitlines() if line.startswith("prepare: began")
        ]
        tag = base / "legs" / log.parent.name / log.stem / "image.tag"
        times += [tag.stat().st_mtime - seconds(began[-1])] if began else []
    return times


def show(runtime: str, figures: dict[str, float]) -> None:
    busy = figures["gpu_busy_s"]
    print(
        f"{runtime}: {int(figures['runs'])} runs, GPU-busy {busy:.1f} s; "
        f"wall (first run to last) {figures['wall_s']:.1f} s = {figures['wall_s'] / busy:.3f} x GPU-busy; "
        f"whole snakemake {figures['process_wall_s']:.1f} s = {figures['process_wall_s'] / busy:.3f} x; "
        f"image jobs took {figures['image_s_median']:.1f} s (median), {figures['image_s_max']:.1f} s (max)",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=20)
    parser.add_argument("--agents", type=int, default=2)
    parser.add_argument("--prepare-s", type=float, default=10.0, help="P: seconds each image takes to prepare")
    parser.add_argument("--run-s", type=float, default=10.0, help="R: seconds each run takes")
    parser.add_argument("--parallel", type=int, default=2, help="K: prepare.parallel")
    parser.add_argument("--lookahead", type=int, default=1, help="prepare.lookahead")
    parser.add_argument("--disk-budget-gb", type=float, default=2.0, help="docker.disk_budget_gb")
    parser.add_argument("--runtime", nargs="+", choices=["local", "docker"], default=["local", "docker"])
    parser.add_argument(
        "--workflow",
        type=Path,
        default=ROOT,
        help="the patchbench checkout to measure (default: this one), for a before/after",
    )
    args = parser.parse_args()
    print(
        f"{args.commits} commits x {2 + args.agents} legs, one round each; P = {args.prepare_s:g} s, "
        f"R = {args.run_s:g} s, K = {args.parallel}, lookahead {args.lookahead} "
        f"(P <= R x K: {args.prepare_s <= args.run_s * args.parallel})",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="patchbench-gpu-idle-") as scratch_dir:
        scratch = Path(scratch_dir)
        campaign = build_campaign(scratch, args.commits, args.agents, args.run_s)
        workdir = scratch / "workflow"
        workdir.mkdir()
        copy_workflow(workdir, args.workflow)
        if "local" in args.runtime:
            config = suite_config("gpuidle-local", campaign, args) | {"setup_command": f"sleep {args.prepare_s:g}"}
            show("local", run_suite(workdir, args.workflow, config))
        if "docker" in args.runtime:
            if shutil.which("docker-registry") is None:
                sys.exit("docker-registry is not installed: run scripts/ci-docker.sh")
            with registry(scratch) as direct, slow_proxy(direct, args.prepare_s / 2) as slow:
                suite = f"gpuidle-docker-{os.getpid()}"
                templates = publish_images(campaign, f"127.0.0.1:{direct}", f"127.0.0.1:{slow}", suite)
                config = docker_config(suite_config(suite, campaign, args), templates, args)
                try:
                    show("docker", run_suite(workdir, args.workflow, config))
                finally:
                    remove_images(f"127.0.0.1:{slow}/{suite}/", f"patchbench/agent:{suite}-")
    return 0


if __name__ == "__main__":
    sys.exit(main())
