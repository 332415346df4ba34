"""The ISO-Bench suite's lint --repo and spec stage against the real vLLM history's shapes.

The repository is synthesized from tests/fixtures/vllm/tree-facts.json (see
vllm_fixture.py): every ISO-Bench commit and parent with exactly the options
its benchmark scripts, ``vllm bench`` subcommands, engine and server define.
The commit table is ISO-Bench's mapping with its SHAs rewritten to the
fixture's. What each command becomes was worked out from the vLLM clone
(``git show <parent>:benchmarks/benchmark_serving.py`` and friends), not read
off the code under test: e.g. the serving clients before 2024-07 have no
random dataset (no ``--random-input-len``), and those before 2024-04 no
``--dataset-name`` but a required ``--dataset``.
"""

from __future__ import annotations

import json
import shlex
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from patchbench import cli, config
from patchbench.layout import REVISIONS, SPEC
from patchbench.plan.suite import SuitePlan, plan_suite
from tests.conftest import REPO_ROOT
from tests.spec.vllm_fixture import FixtureRepo, build_repo, load_facts

MAPPING = REPO_ROOT / "config" / "isobench" / "benchmark_mode_mapping.json"
COMMITS = load_facts()["commits"]
SERVER = [
    "python",
    "-m",
    "vllm.entrypoints.openai.api_server",
    "--model",
    "{model}",
    "--host",
    "{host}",
    "--port",
    "{port}",
]
RANDOM = ["--dataset-name", "random", "--random-input-len", "1024", "--random-output-len", "128"]
LLAMA = "meta-llama/Llama-3.1-8B-Instruct"
SHAREGPT = "<sharegpt>"  # stands for the configured file's absolute path

# Serving clients that offer no random dataset (checked in the clone: no --random-input-len before 2024-07).
NO_RANDOM_DATASET = {
    "21d93c14", "2a052011", "2f192835", "3476ed08", "3a243095", "7c01f706",
    "80aa7e91", "8bc68e19", "8d75fe48", "ad8d696a", "cf2f084d", "ec3b5ce9",
}  # fmt: skip
UNSUPPORTED = {"379da6dc", "89a84b0b", "d55e446d", "83450458"}
PRE_VLLM = {"c45f3c3a", "d4bc1a4d"}
# Skipped by the command-only lint, before the tree is read (with 8 GPUs on the host).
PLANNED_SKIPS = {
    "3127e975": "missing_perf_command", "9f1710f1": "missing_perf_command", "19d98e0c": "missing_perf_command",
    "2deb029d": "unsupported_benchmark", "9323a315": "unsupported_benchmark", "9474e89b": "unsupported_benchmark",
    "526de822": "placeholder_in_command", "fa63e710": "local_path_in_command",
}  # fmt: skip


@pytest.fixture(scope="module")
def fixture_repo(tmp_path_factory: pytest.TempPathFactory) -> FixtureRepo:
    return build_repo(tmp_path_factory.mktemp("vllm") / "repo")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory, fixture_repo: FixtureRepo) -> Path:
    """The ISO-Bench table on the fixture's SHAs (keyed by their short form), a ShareGPT file, and suite files."""
    root = tmp_path_factory.mktemp("suite")
    table = {}
    for key, entry in json.loads(MAPPING.read_text()).items():
        known = COMMITS[key]  # the full SHAs the clone resolved (two entries give only 8 digits)
        entry = dict(entry, commit_full=fixture_repo.shas[known["commit"]])
        if entry.get("parent_commit"):
            entry["parent_commit"] = fixture_repo.shas[known["parent"]]
        table[entry["commit_full"][:8]] = entry
    (root / "mapping.json").write_text(json.dumps(table))
    (root / "sharegpt.json").write_text("[]")
    suite = yaml.safe_load((REPO_ROOT / "config" / "isobench-vllm.yaml").read_text())
    suite.update(repo=str(fixture_repo.path), commits=str(root / "mapping.json"), gpus=8)
    (root / "random.yaml").write_text(yaml.safe_dump(suite))
    (root / "sharegpt.yaml").write_text(
        yaml.safe_dump({**suite, "datasets": {"sharegpt": str(root / "sharegpt.json")}})
    )
    return root


def real_key(fixture_repo: FixtureRepo, commit: str) -> str:
    """The ISO-Bench key (real short SHA) of a fixture commit."""
    return next(real for real, fake in fixture_repo.shas.items() if fake == commit)[:8]


def spec_stage(workdir: Path, fixture_repo: FixtureRepo, suite_file: str) -> dict[str, dict[str, Any]]:
    """Per ISO-Bench key: the plan's skip, or spec.json as the revisions and spec jobs write it (their CLI)."""
    plan: SuitePlan = plan_suite(config.load(workdir / suite_file), base_dir=workdir)
    results = {}
    for commit, planned in plan.commits.items():
        key = real_key(fixture_repo, commit)
        if planned.skip is not None:
            results[key] = {"skip": planned.skip.category}
            continue
        folder = workdir / "legs" / Path(suite_file).stem / commit
        revisions, spec = folder / REVISIONS, folder / SPEC
        repo = str(fixture_repo.path)
        params = json.dumps(plan.revisions_params(commit))
        assert cli.main(["revisions", "--params", params, "--repo", repo, "--out", str(revisions)]) == 0
        params = json.dumps(plan.spec_params(commit))
        assert (
            cli.main(["spec", "--params", params, "--repo", repo, "--revisions", str(revisions), "--out", str(spec)])
            == 0
        )
        results[key] = json.loads(spec.read_text())
    return results


@pytest.fixture(scope="module")
def with_random(workdir: Path, fixture_repo: FixtureRepo) -> dict[str, dict[str, Any]]:
    return spec_stage(workdir, fixture_repo, "random.yaml")


@pytest.fixture(scope="module")
def with_sharegpt(workdir: Path, fixture_repo: FixtureRepo) -> dict[str, dict[str, Any]]:
    return spec_stage(workdir, fixture_repo, "sharegpt.yaml")


def outcome(result: dict[str, Any]) -> str:
    if "skip" in result:
        return result["skip"]
    return "spec" if result["spec"] is not None else result["error"]["category"]


def client_and_server(result: dict[str, Any], sharegpt: str = "") -> tuple[list[str], list[str]]:
    """The client's argv without its endpoint and per-request saving (see ``saving``), and what
    the server gets beyond the server command."""
    spec = result["spec"]
    assert spec["argv"][-4:] == ["--host", "{host}", "--port", "{port}"]
    client = [SHAREGPT if sharegpt and token == sharegpt else token for token in spec["argv"][:-4]]
    client = client[: client.index("--save-result")] if "--save-result" in client else client
    template = [token.replace("{model}", spec["model"]) for token in SERVER]
    assert spec["server_argv"][: len(template)] == template  # --model given once, by the server command
    return client, spec["server_argv"][len(template) :]


# ---------------------------------------------------------------- what each command becomes

SERVING = "python benchmarks/benchmark_serving.py"
EXPECTED_SPECS = {
    # engine flags the client lacks go to the server, as the 2024-08 tree defines them
    "660470e5": (
        f"{SERVING} --model {LLAMA}",
        "--tensor-parallel-size 1 --enable-prefix-caching --use-v2-block-manager",
    ),
    "e206b543": (f"{SERVING} --model {LLAMA} --backend vllm --num-prompts 100", "--guided-decoding-backend xgrammar"),
    "22dd9c27": (f"{SERVING} --model {LLAMA} --num-prompts 300 --seed 0", "--dtype float16"),
    "dae68969": (f"{SERVING} --model deepseek-ai/DeepSeek-R1", "--tensor-parallel-size 8"),
    # model identity goes to both sides
    "8aa1485f": (
        f"{SERVING} --model meta-llama/Llama-4-Scout-17B-16E-Instruct --trust-remote-code",
        "--trust-remote-code --max-model-len 16384",
    ),
}
EXACT_SPECS = {
    # `vllm bench serve` with random options and no dataset name: random, named
    "299ebb62": (
        "vllm bench serve --model Qwen/Qwen2.5-1.5B-Instruct --request-rate 1 --num-prompts 100 "
        "--random-input-len 1000 --random-output-len 100 --tokenizer Qwen/Qwen2.5-1.5B-Instruct --ignore-eos "
        "--dataset-name random",
        "--tokenizer Qwen/Qwen2.5-1.5B-Instruct",
    ),
    # its own endpoint is replaced by the leg's server; random as written
    "a3223766": (
        "vllm bench serve --dataset-name random --model facebook/opt-125m --served-model-name facebook/opt-125m "
        "--random-input-len 700 --random-output-len 1 --endpoint /v1/completions --ignore-eos --request-rate 200 "
        "--num-prompts 100",
        "--served-model-name facebook/opt-125m",
    ),
    # a Hugging Face dataset is usable as written
    "e7523c2e": (
        f"{SERVING} --backend openai-chat --model google/gemma-3-12b-it --endpoint /v1/chat/completions "
        "--dataset-name hf --dataset-path lmarena-ai/VisionArena-Chat --hf-split train --num-prompts 1000",
        "",
    ),
}
STANDALONE = {
    # the tree of 2025-07 has `vllm bench throughput`: it stays (a host without vllm: missing_program)
    "0ec82edd": "vllm bench throughput --model Qwen/Qwen3-30B-A3B --load-format dummy --input-len 1000 --output-len 100",
    "bfdb1ba5": "python benchmarks/benchmark_latency.py --model meta-llama/Llama-2-7b-chat-hf --batch-size 1 "
    "--output-len 2 --input-len 1000 --num-iters 1",
}
EVIDENCE = {
    "89a84b0b": ("unsupported_flag", "accepts: --input-len 1024"),
    "379da6dc": ("unsupported_flag", "accepts: --input-len 1000, --output-len 50"),
    "d55e446d": ("unsupported_flag", "accepts: --batch-size 2"),
    "83450458": (
        "unsupported_flag",
        "benchmarks/benchmark_latency.py of this revision does not accept: --ngram-prompt-lookup-max 4",
    ),
    "c45f3c3a": ("missing_benchmark_script", "the tree has no vllm package"),
    "d4bc1a4d": ("missing_benchmark_script", "the tree has no vllm package"),
    "3a243095": ("bad_arguments", "no usable dataset"),
    "ec3b5ce9": ("bad_arguments", "no usable dataset"),
}


@pytest.mark.parametrize("key", sorted(EXPECTED_SPECS))
def test_serving_options_go_where_the_tree_defines_them(with_random, key):
    client, server = client_and_server(with_random[key])
    assert client == shlex.split(EXPECTED_SPECS[key][0]) + RANDOM
    assert server == shlex.split(EXPECTED_SPECS[key][1])
    assert with_random[key]["spec"]["rules_fired"][-2:] == ["serving-dataset", "per-request-values"]


@pytest.mark.parametrize("key", sorted(EXACT_SPECS))
def test_commands_with_a_usable_dataset(with_random, key):
    client, server = client_and_server(with_random[key])
    assert (client, server) == (shlex.split(EXACT_SPECS[key][0]), shlex.split(EXACT_SPECS[key][1]))


@pytest.mark.parametrize("key", sorted(STANDALONE))
def test_standalone_commands_run_as_their_tree_has_them(with_random, key):
    spec = with_random[key]["spec"]
    assert spec["argv"] == shlex.split(STANDALONE[key]) and spec["server_argv"] == []


@pytest.mark.parametrize("key", sorted(EVIDENCE))
def test_commands_a_tree_cannot_run_are_skipped_with_their_evidence(with_random, key):
    category, evidence = EVIDENCE[key]
    assert with_random[key]["spec"] is None
    assert with_random[key]["error"]["category"] == category
    assert evidence in with_random[key]["error"]["evidence"]


# What each commit's client offers for saving per-request values, read with grep in the real
# sources at the commit's parent: --save-result since 2024-02, --result-dir since 2024-03,
# --result-filename since 2024-06; --save-detailed (without it, no per-request arrays) since
# 2025-03 in benchmarks/benchmark_serving.py, and between 2025-04 and 2025-07 in `vllm bench serve`.
SAVED = "--save-result --result-dir {result_dir} --result-filename result.json"
DETAILED = "--save-result --save-detailed --result-dir {result_dir} --result-filename result.json"
SAVING = {
    "2f192835": "--save-result --result-dir {result_dir}",  # 2024-04: the client names its file
    "660470e5": SAVED,  # 2024-08
    "9badee53": SAVED,  # 2025-03-04
    "015069b0": DETAILED,  # 2025-05, benchmark_serving.py
    "299ebb62": SAVED,  # 2025-04, vllm bench serve: saves the arrays without being asked
    "a3223766": DETAILED,  # 2025-07, vllm bench serve
}


@pytest.mark.parametrize("key", sorted(SAVING))
def test_each_client_saves_per_request_values_as_its_revision_can(with_sharegpt, key):
    argv = with_sharegpt[key]["spec"]["argv"]
    start = argv.index("--save-result")
    assert argv[start:-4] == shlex.split(SAVING[key])
    assert "per-request-values" in with_sharegpt[key]["spec"]["rules_fired"]


def test_a_client_that_cannot_save_into_a_folder_is_not_asked_to(with_sharegpt):
    # 2024-03 (3a243095): --save-result without --result-dir would write into the harness it runs in.
    spec = with_sharegpt["3a243095"]["spec"]
    assert "--save-result" not in spec["argv"] and "per-request-values" not in spec["rules_fired"]


def test_a_dataset_file_from_the_authors_machine_is_replaced(with_random):
    # 9badee53: --dataset-path ShareGPT_V3_unfiltered_cleaned_split.json, a file the tree does not ship.
    client, _ = client_and_server(with_random["9badee53"])
    assert client == [*shlex.split(f"{SERVING} --model meta-llama/Llama-3.2-1B-Instruct"), *RANDOM]


def test_outcomes_of_all_96_commits_with_the_random_dataset(with_random):
    by_outcome = {key: outcome(result) for key, result in with_random.items()}
    assert len(by_outcome) == 96
    expected = {
        **PLANNED_SKIPS,
        **{key: "bad_arguments" for key in NO_RANDOM_DATASET},
        **{key: "unsupported_flag" for key in UNSUPPORTED},
        **{key: "missing_benchmark_script" for key in PRE_VLLM},
    }
    assert {key: o for key, o in by_outcome.items() if o != "spec"} == expected
    assert Counter(by_outcome.values())["spec"] == 96 - len(expected) == 70


# ---------------------------------------------------------------- with a ShareGPT file


def test_the_sharegpt_file_is_spelt_as_each_client_wants(with_sharegpt, workdir):
    sharegpt = str(workdir / "sharegpt.json")
    cases = {
        "015069b0": f"{SERVING} --model Qwen/Qwen2.5-7B-Instruct --request-rate 1 --dataset-name sharegpt --dataset-path {SHAREGPT}",
        "2f192835": f"{SERVING} --model {LLAMA} --backend vllm --num-prompts 100 --dataset-name sharegpt --dataset-path {SHAREGPT}",
        # 2024-03: no --dataset-name; --dataset is required
        "3a243095": f"{SERVING} --model {LLAMA} --backend vllm --num-prompts 100 --dataset {SHAREGPT}",
        "cf2f084d": f"{SERVING} --model {LLAMA} --backend vllm --num-prompts 100 --dataset {SHAREGPT}",
    }
    for key, command in cases.items():
        client, _ = client_and_server(with_sharegpt[key], sharegpt)
        assert client == shlex.split(command), key
        assert with_sharegpt[key]["spec"]["inputs"] == [sharegpt]  # mounted into containers
    # Random options without a dataset name still mean random.
    assert "random" in with_sharegpt["299ebb62"]["spec"]["argv"] and with_sharegpt["299ebb62"]["spec"]["inputs"] == []


def test_outcomes_of_all_96_commits_with_a_sharegpt_file(with_sharegpt):
    failing = {key: outcome(r) for key, r in with_sharegpt.items() if outcome(r) != "spec"}
    # The 2023 clients want --tokenizer (not --model) and post to an API the OpenAI server lacks.
    assert {key: o for key, o in failing.items() if o == "bad_arguments"} == {
        "ec3b5ce9": "bad_arguments",
        "21d93c14": "bad_arguments",
    }
    assert "requires --tokenizer" in with_sharegpt["ec3b5ce9"]["error"]["evidence"]
    assert len(failing) == len(PLANNED_SKIPS) + 2 + len(UNSUPPORTED) + len(PRE_VLLM) == 16


# ---------------------------------------------------------------- lint --repo says the same


@pytest.mark.parametrize("suite_file", ["random.yaml", "sharegpt.yaml"])
def test_lint_repo_reports_what_the_spec_stage_decides(workdir, fixture_repo, capsys, suite_file, request):
    results = request.getfixturevalue("with_random" if suite_file == "random.yaml" else "with_sharegpt")
    argv = ["lint", "--mapping", str(workdir / "mapping.json"), "--gpus", "8", "--json"]
    argv += ["--configfile", str(workdir / suite_file), "--repo", str(fixture_repo.path)]
    assert cli.main(argv) == 0
    findings = json.loads(capsys.readouterr().out)
    first_error: dict[str, str] = {}
    for finding in findings:
        if finding["severity"] == "error":
            first_error.setdefault(real_key(fixture_repo, finding["commit"]), finding["code"])
    assert first_error == {key: outcome(r) for key, r in results.items() if outcome(r) != "spec"}
    codes = {(real_key(fixture_repo, f["commit"]), f["code"], f["severity"]) for f in findings}
    assert ("9badee53", "local_path_in_command", "repairable") in codes
