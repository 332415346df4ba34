"""The demo suite's target: tinyllm's history is built deterministically and every scenario is as designed.

These tests work on real git repositories and run the real benchmark scripts
(on tiny workloads). They check structure and outcomes (what applies, what
compiles, what crashes, what the output looks like), never timings: speed is
measured by the workflow, not asserted here.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from patchbench.target.demo import DEMO_DIR, DemoBuildError, build_demo_repo, load_history

PYTHON = sys.executable
SLUGS = ["initial", "latency", "serving", "throughput", "eight-gpus"]

# (agent, scenario) -> does the patch apply to the commit's parent? Absent: no patch on purpose.
APPLIES = {
    ("alpha", "latency"): True,  # as good as the human fix
    ("beta", "latency"): True,  # slower than the baseline
    ("alpha", "serving"): True,  # crashes the server at start-up
    ("beta", "serving"): True,  # a real improvement
    ("alpha", "throughput"): True,  # applies, but with a Python syntax error
    ("beta", "throughput"): False,  # made against another version
    ("alpha", "eight-gpus"): True,
    ("alpha", "not-in-repo"): True,  # a patch for a commit the repository lacks
}


def git(args: list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=check)


def read_table() -> list[dict[str, str]]:
    with (DEMO_DIR / "commits.csv").open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The demo repository and its commit SHAs by slug."""
    repo = tmp_path_factory.mktemp("demo") / "tinyllm"
    shas = build_demo_repo(repo)
    return repo, dict(zip(SLUGS, shas))


@pytest.fixture(scope="module")
def table_by_scenario() -> dict[str, dict[str, str]]:
    return {row["scenario"]: row for row in read_table()}


def worktree(repo: Path, rev: str, dest: Path) -> Path:
    git(["worktree", "add", "--detach", "--quiet", str(dest), rev], repo)
    return dest


def parent_of(built: tuple[Path, dict[str, str]], scenario: str) -> str:
    repo, shas = built
    return git(["rev-parse", f"{shas[scenario]}^"], repo).stdout.strip()


# ---- the history ------------------------------------------------------------------


def test_history_lists_the_scenarios_in_order() -> None:
    assert [entry.slug for entry in load_history()] == SLUGS


def test_building_twice_gives_identical_shas(built: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    _, shas = built
    again = build_demo_repo(tmp_path / "again")
    assert again == list(shas.values())


def test_build_refuses_a_non_empty_destination(tmp_path: Path) -> None:
    (tmp_path / "junk").write_text("x")
    with pytest.raises(FileExistsError):
        build_demo_repo(tmp_path)


def test_a_history_patch_that_no_longer_applies_is_reported_with_gits_words(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    shutil.copytree(DEMO_DIR, demo)
    runner = demo / "engine" / "tinyllm" / "worker" / "model_runner.py"
    runner.write_text(runner.read_text().replace("logits = self.model.forward", "logits  = self.model.forward"))
    with pytest.raises(DemoBuildError, match=r"(?s)01-latency\.diff .*patch does not apply"):
        build_demo_repo(tmp_path / "repo", demo)


def test_history_is_linear_with_fixed_identity_and_plain_files(built: tuple[Path, dict[str, str]]) -> None:
    repo, shas = built
    ordered = list(shas.values())
    assert git(["rev-list", "--reverse", "HEAD"], repo).stdout.split() == ordered
    assert git(["symbolic-ref", "--short", "HEAD"], repo).stdout.strip() == "main"
    assert git(["status", "--porcelain"], repo).stdout == ""
    idents = set(git(["log", "--format=%an <%ae>|%cn <%ce>"], repo).stdout.split("\n")) - {""}
    assert idents == {"tinyllm developers <dev@tinyllm.invalid>|tinyllm developers <dev@tinyllm.invalid>"}
    tree = git(["ls-tree", "-r", "HEAD"], repo).stdout.splitlines()
    assert {line.split()[0] for line in tree} == {"100644"}
    paths = {line.split("\t", 1)[1] for line in tree}
    assert "README.md" in paths and "benchmarks/benchmark_serving.py" in paths
    assert not any("__pycache__" in p or p.endswith(".pyc") for p in paths)


def test_human_commits_have_non_empty_diffs(built: tuple[Path, dict[str, str]]) -> None:
    repo, shas = built
    for slug in SLUGS[1:]:
        changed = git(["diff", "--name-only", f"{shas[slug]}^", shas[slug]], repo).stdout.split()
        assert changed and all(p.startswith("tinyllm/") for p in changed), slug


def test_performance_fixes_keep_greedy_outputs(built: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    """Every human commit changes speed, not results: root and HEAD generate the same text."""
    repo, shas = built
    script = (
        "from tinyllm import LLM, SamplingParams\n"
        "llm = LLM('tinyllm/tiny-1b')\n"
        "params = SamplingParams(temperature=0.0, max_tokens=6, ignore_eos=True)\n"
        "outs = llm.generate(['hello world', 'a tiny test'], params, use_tqdm=False)\n"
        "print(repr([o.outputs[0].text for o in outs]))\n"
    )
    texts = []
    for name, rev in (("root", shas["initial"]), ("head", shas["eight-gpus"])):
        wt = worktree(repo, rev, tmp_path / name)
        proc = run_python(["-c", script], wt)
        assert proc.returncode == 0, proc.stderr
        texts.append(proc.stdout.strip().splitlines()[-1])
    assert texts[0] == texts[1]


# ---- the commit table and the agent patches -------------------------------------------


def test_commit_table_names_the_built_commits(
    built: tuple[Path, dict[str, str]], table_by_scenario: dict[str, dict[str, str]]
) -> None:
    repo, shas = built
    rows = read_table()
    assert list(rows[0]) == ["commit", "parent_commit", "perf_command", "model", "scenario"]
    assert sorted(table_by_scenario) == sorted(SLUGS[1:] + ["not-in-repo"])
    for row in rows:
        assert re.fullmatch(r"[0-9a-f]{40}", row["commit"])
        assert row["perf_command"].startswith("python benchmarks/benchmark_")
        assert f"--model {row['model']}" in row["perf_command"]
        assert "--host" not in row["perf_command"] and "--port" not in row["perf_command"]
        scenario = row["scenario"]
        if scenario == "not-in-repo":
            assert git(["cat-file", "-e", f"{row['commit']}^{{commit}}"], repo, check=False).returncode != 0
            assert row["parent_commit"] == ""
            continue
        assert row["commit"] == shas[scenario]
        if scenario == "throughput":
            assert row["parent_commit"] == ""  # the workflow must find it in the repository
        else:
            assert row["parent_commit"] == parent_of(built, scenario)
    assert "--tensor-parallel-size 8" in table_by_scenario["eight-gpus"]["perf_command"]
    for scenario in ("latency", "serving", "throughput"):
        assert f"benchmark_{scenario}.py" in table_by_scenario[scenario]["perf_command"]


def test_readme_sha_table_is_current(built: tuple[Path, dict[str, str]]) -> None:
    _, shas = built
    table = dict(re.findall(r"^\| ([a-z-]+) \| `([0-9a-f]{40})` \|$", (DEMO_DIR / "README.md").read_text(), re.M))
    assert table == shas


def test_agent_patch_files_are_named_by_table_commits(table_by_scenario: dict[str, dict[str, str]]) -> None:
    commit_to_scenario = {row["commit"]: scenario for scenario, row in table_by_scenario.items()}
    found = set()
    for agent in ("alpha", "beta"):
        for patch in (DEMO_DIR / "agents" / agent).iterdir():
            assert patch.suffix == ".diff" and patch.stem in commit_to_scenario, patch
            found.add((agent, commit_to_scenario[patch.stem]))
    assert found == set(APPLIES)  # beta has no patch for eight-gpus and not-in-repo, by design


@pytest.mark.parametrize("agent,scenario", sorted(k for k in APPLIES if k[1] != "not-in-repo"))
def test_agent_patch_applies_to_the_parent_as_designed(
    built: tuple[Path, dict[str, str]], tmp_path: Path, agent: str, scenario: str
) -> None:
    repo, shas = built
    wt = worktree(repo, parent_of(built, scenario), tmp_path / "wt")
    patch = DEMO_DIR / "agents" / agent / f"{shas[scenario]}.diff"
    check = git(["apply", "--check", str(patch)], wt, check=False)
    assert (check.returncode == 0) == APPLIES[(agent, scenario)], check.stderr
    if check.returncode != 0:
        assert "patch does not apply" in check.stderr
        return
    git(["apply", str(patch)], wt)
    changed = [p for p in git(["diff", "--name-only"], wt).stdout.split() if p.endswith(".py")]
    assert changed
    errors = []
    for path in changed:
        try:
            compile((wt / path).read_text(encoding="utf-8"), path, "exec")
        except SyntaxError as exc:
            errors.append(f"{path}: {exc.msg}")
    if (agent, scenario) == ("alpha", "throughput"):
        assert errors, "the syntax-error patch must yield a file that does not compile"
    else:
        assert errors == []


def test_not_in_repo_patch_applies_to_head(built: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    """The patch for the missing commit is a plausible one (made against the newest commit)."""
    repo, _ = built
    wt = worktree(repo, "HEAD", tmp_path / "wt")
    patch = DEMO_DIR / "agents" / "alpha" / "2a77bcda7a2b817abe8e61b0605e2d3d3c2b5af9.diff"
    assert git(["apply", "--check", str(patch)], wt, check=False).returncode == 0


# ---- the benchmark scripts, for real ----------------------------------------------------


def run_python(args: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(cwd), PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run([PYTHON, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def head(built: tuple[Path, dict[str, str]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo, _ = built
    return worktree(repo, "HEAD", tmp_path_factory.mktemp("head") / "wt")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(cwd: Path, port: int) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(cwd), PYTHONDONTWRITEBYTECODE="1")
    cmd = [PYTHON, "-m", "tinyllm.entrypoints.openai.api_server", "--model", "tinyllm/tiny-1b"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--disable-log-requests"]
    return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_healthy(server: subprocess.Popen[str], port: int, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as resp:
                if resp.status == 200:
                    return True
        except OSError:
            time.sleep(0.05)
    return False


def stop(server: subprocess.Popen[str]) -> str:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
    try:
        out, _ = server.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        out, _ = server.communicate()
    return out


def test_latency_benchmark_prints_vllm_format(head: Path, tmp_path: Path) -> None:
    out_json = tmp_path / "latency.json"
    args = ["benchmarks/benchmark_latency.py", "--model", "tinyllm/tiny-1b", "--input-len", "8", "--output-len", "4"]
    args += [
        "--batch-size",
        "2",
        "--num-iters-warmup",
        "1",
        "--num-iters",
        "3",
        "-tp",
        "1",
        "--output-json",
        str(out_json),
    ]
    proc = run_python(args, head)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.startswith("Namespace(")
    assert "Warming up..." in out
    number = r"[0-9.]+(?:e-?[0-9]+)?"
    assert re.search(rf"^Avg latency: {number} seconds$", out, re.M)
    for p in (10, 25, 50, 75, 90, 99):
        assert re.search(rf"^{p}% percentile latency: {number} seconds$", out, re.M), p
    result = json.loads(out_json.read_text())
    assert set(result) == {"avg_latency", "latencies", "percentiles"} and len(result["latencies"]) == 3
    assert sorted(result["percentiles"], key=int) == ["10", "25", "50", "75", "90", "99"]
    assert out_json.read_text().startswith('{\n    "avg_latency"')  # indented by 4


def test_throughput_benchmark_prints_vllm_format(head: Path, tmp_path: Path) -> None:
    out_json = tmp_path / "throughput.json"
    args = ["benchmarks/benchmark_throughput.py", "--model", "tinyllm/tiny-1b", "--input-len", "16"]
    args += ["--output-len", "4", "--num-prompts", "4", "--dataset-name", "random", "--output-json", str(out_json)]
    proc = run_python(args, head)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.startswith("Namespace(")
    assert re.search(
        r"^Throughput: \d+\.\d\d requests/s, \d+\.\d\d total tokens/s, \d+\.\d\d output tokens/s$", out, re.M
    )
    assert re.search(r"^Total num prompt tokens:  64$", out, re.M)
    assert re.search(r"^Total num output tokens:  16$", out, re.M)
    result = json.loads(out_json.read_text())
    assert set(result) == {
        "elapsed_time",
        "num_requests",
        "total_num_tokens",
        "requests_per_second",
        "tokens_per_second",
    }
    assert result["num_requests"] == 4 and result["total_num_tokens"] == 80


def check_serving_table(out: str) -> None:
    lines = out.splitlines()
    start = lines.index("============ Serving Benchmark Result ============")
    table = lines[start + 1 :]
    end = table.index("=" * 50)
    table = table[:end]
    rows = [line for line in table if not line.startswith("-")]
    headers = [line for line in table if line.startswith("-")]
    assert headers == [
        "---------------Time to First Token----------------",
        "-----Time per Output Token (excl. 1st token)------",
        "---------------Inter-token Latency----------------",
    ]
    labels = [line[:40].rstrip() for line in rows]
    assert labels == [
        "Successful requests:",
        "Benchmark duration (s):",
        "Total input tokens:",
        "Total generated tokens:",
        "Request throughput (req/s):",
        "Output token throughput (tok/s):",
        "Total Token throughput (tok/s):",
        "Mean TTFT (ms):",
        "Median TTFT (ms):",
        "P99 TTFT (ms):",
        "Mean TPOT (ms):",
        "Median TPOT (ms):",
        "P99 TPOT (ms):",
        "Mean ITL (ms):",
        "Median ITL (ms):",
        "P99 ITL (ms):",
    ]
    for line in rows:  # "{:<40} {:<10}": label padded to 40, a space, the value padded to 10
        assert len(line) >= 51 and line[40] == " " and line[41] != " ", line
        value = line[41:].rstrip()
        assert re.fullmatch(r"\d+" if "requests:" in line or "tokens:" in line else r"\d+\.\d\d", value), line


def test_serving_benchmark_against_a_real_server(head: Path, tmp_path: Path) -> None:
    port = free_port()
    server = start_server(head, port)
    try:
        assert wait_healthy(server, port), stop(server)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=5) as resp:
            assert json.load(resp)["data"][0]["id"] == "tinyllm/tiny-1b"
        args = ["benchmarks/benchmark_serving.py", "--backend", "vllm", "--model", "tinyllm/tiny-1b"]
        args += ["--dataset-name", "random", "--random-input-len", "8", "--random-output-len", "4"]
        args += ["--num-prompts", "4", "--request-rate", "inf", "--host", "127.0.0.1", "--port", str(port)]
        args += ["--save-result", "--result-dir", str(tmp_path), "--result-filename", "serving.json"]
        proc = run_python(args, head)
    finally:
        server_log = stop(server)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert out.startswith("Namespace(")
    for line in (
        "Starting initial single prompt test run...",
        "Initial test run completed. Starting main benchmark run...",
        "Traffic request rate: inf",
        "Burstiness factor: 1.0 (Poisson process)",
        "Maximum request concurrency: None",
    ):
        assert line in out.splitlines()
    check_serving_table(out)
    assert re.search(r"^Successful requests: +4 +$", out, re.M)
    assert re.search(r"^Total generated tokens: +16 +$", out, re.M)
    result = json.loads((tmp_path / "serving.json").read_text())
    for key in (
        "date",
        "backend",
        "model_id",
        "tokenizer_id",
        "num_prompts",
        "request_rate",
        "duration",
        "completed",
        "total_input_tokens",
        "total_output_tokens",
        "request_throughput",
        "output_throughput",
        "total_token_throughput",
        "mean_ttft_ms",
        "median_ttft_ms",
        "p99_ttft_ms",
        "mean_tpot_ms",
        "p99_itl_ms",
    ):
        assert key in result, key
    assert result["request_rate"] == "inf" and result["completed"] == 4
    # The server's own log: vLLM-like start-up lines, and a clean exit on SIGTERM.
    assert server.returncode == 0, server_log
    assert f"Started server process [{server.pid}]" in server_log
    assert f"Uvicorn running on http://127.0.0.1:{port}" in server_log
    assert "Finished server process" in server_log


def test_serving_benchmark_without_a_server_fails_like_vllm(head: Path) -> None:
    args = ["benchmarks/benchmark_serving.py", "--model", "tinyllm/tiny-1b", "--dataset-name", "random"]
    args += ["--random-input-len", "8", "--random-output-len", "4", "--num-prompts", "2", "--port", str(free_port())]
    proc = run_python(args, head)
    assert proc.returncode != 0
    assert (
        "ValueError: Initial test run failed - Please make sure benchmark arguments are correctly specified."
        in proc.stderr
    )
    assert "ConnectionRefusedError" in proc.stderr


def test_serving_benchmark_rejects_other_datasets(head: Path) -> None:
    proc = run_python(
        ["benchmarks/benchmark_serving.py", "--model", "tinyllm/tiny-1b", "--dataset-name", "sharegpt"], head
    )
    assert proc.returncode == 2 and "invalid choice: 'sharegpt'" in proc.stderr


def test_crashing_agent_patch_kills_the_server_before_it_is_healthy(
    built: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    repo, shas = built
    wt = worktree(repo, parent_of(built, "serving"), tmp_path / "wt")
    git(["apply", str(DEMO_DIR / "agents" / "alpha" / f"{shas['serving']}.diff")], wt)
    port = free_port()
    server = start_server(wt, port)
    healthy = wait_healthy(server, port)
    log = stop(server)
    assert not healthy
    assert server.returncode not in (0, None)
    assert "AttributeError: 'SchedulerConfig' object has no attribute" in log
    assert "Uvicorn running" not in log
