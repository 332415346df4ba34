"""The shipped normalization rules (the config schema's defaults) on real ISO-Bench commands."""

import shlex

import pytest
import yaml

from patchbench.config import SCHEMA
from patchbench.spec.datasets import DatasetChoice
from patchbench.spec.normalize import TreeContext, apply_tree_rules, normalize
from patchbench.spec.tree import ParserFacts, TreeFacts

RULES = yaml.safe_load(SCHEMA.read_text())["properties"]["normalization"]["default"]


def run(command, tree=None):
    """The plan's step, then (given facts about a tree) the spec job's."""
    c = normalize(shlex.split(command), RULES)
    if tree is not None:
        c = apply_tree_rules(c, RULES, TreeContext(tree, DatasetChoice(1024, 128)))
    return c, shlex.join(c.program + [t for i in c.items for t in i])


def test_env_prefix_and_underscore_flags_from_isobench_fa63e710():
    c, text = run(
        "VLLM_USE_V1=1 python3 benchmarks/benchmark_latency.py --model m --tensor-parallel-size 1 "
        "--input_len 1000 --batch_size 32"
    )
    assert c.env == {"VLLM_USE_V1": "1"}
    assert (
        text
        == "python3 benchmarks/benchmark_latency.py --model m --tensor-parallel-size 1 --input-len 1000 --batch-size 32"
    )
    assert c.fired == ["env-assignments", "flag-spelling"]


def test_sonnet_becomes_random_with_fixed_lengths():
    c, text = run("python benchmarks/benchmark_serving.py --model m --dataset-name sonnet --sonnet-input-len 550")
    assert text == (
        "python benchmarks/benchmark_serving.py --model m --dataset-name random "
        "--random-input-len 550 --random-output-len 150"
    )
    assert c.fired == ["sonnet-to-random", "sonnet-options"]


def test_throughput_gets_default_lengths_only_without_a_dataset():
    c, text = run("python benchmarks/benchmark_throughput.py --model google/gemma-2b")
    assert text.endswith("--input-len 512 --output-len 128") and c.fired == ["throughput-default-lengths"]
    c, _ = run("python benchmarks/benchmark_throughput.py --model m --input-len 256 --output-len 256")
    assert c.fired == []


def test_ngram_speculation_gets_the_lookup_size_it_cannot_run_without():
    # vLLM 2024-10 (83450458's parent) raises "ngram_prompt_lookup_max=None must be > 0"; its docs use 4.
    c, text = run(
        "python benchmarks/benchmark_latency.py --model m --speculative-model '[ngram]' --num-speculative-tokens 5"
    )
    assert text.endswith("--num-speculative-tokens 5 --ngram-prompt-lookup-max 4") and c.fired == ["ngram-lookup-size"]
    c, _ = run("python benchmarks/benchmark_latency.py --model m --speculative-model org/draft")
    assert c.fired == []


@pytest.mark.parametrize(
    "script", ["/home/ray/default/vllm_public/benchmarks/benchmark_latency.py", "benchmark/benchmark_latency.py"]
)
def test_script_outside_benchmarks_is_repaired(script):
    c, text = run(f"python {script} --model m")
    assert text == "python benchmarks/benchmark_latency.py --model m" and c.fired == ["script-path"]


def test_cli_style_follows_the_target_tree():
    old_tree = TreeFacts(package=True, scripts={"throughput": ParserFacts()})
    c, text = run("vllm bench throughput --model m --input-len 10 --output-len 5", old_tree)
    assert text.startswith("python benchmarks/benchmark_throughput.py --model m") and "target-cli" in c.fired
    new_tree = TreeFacts(package=True, stubs=frozenset({"latency"}), bench={"latency": ParserFacts()})
    c, text = run("python benchmarks/benchmark_latency.py --model m", new_tree)
    assert text == "vllm bench latency --model m"
    c, _ = run("vllm bench serve --model m")  # no facts (no tree): left alone
    assert "target-cli" not in c.fired


def test_unrunnable_scripts_stay_unknown():
    assert run("python benchmark_guided.py --model m")[0].kind is None
    assert run("python benchmarks/benchmark_prefix_caching.py --model m")[0].kind is None
