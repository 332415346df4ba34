"""The tree checks on small hand-written facts: what the real history does not show (incomplete readings, stubs)."""

from __future__ import annotations

import shlex

from patchbench.failures import Failure
from patchbench.spec.check import SuiteSettings, check
from patchbench.spec.datasets import DatasetChoice
from patchbench.spec.normalize import normalize
from patchbench.spec.tree import Option, ParserFacts, TreeFacts

SERVER = "python -m vllm.entrypoints.openai.api_server --model {model} --host {host} --port {port}"
TREE_RULES = [{"name": "serving-dataset", "action": "serving_dataset"}]
SUITE = SuiteSettings(TREE_RULES, SERVER, ("--dtype", "--tensor-parallel-size"), "vllm", DatasetChoice(1024, 128))


def options(*flags: str, required: tuple[str, ...] = ()) -> ParserFacts:
    return ParserFacts(tuple(Option((f,), "1", f in required) for f in flags))


CLIENT = options("--model", "--dataset-name", "--random-input-len", "--random-output-len", "--num-prompts")
ENGINE = options("--model", "--dtype", "--tensor-parallel-size")
SERVER_FACTS = ParserFacts(options("--host", "--port").options, includes=("AsyncEngineArgs",))


def tree(client: ParserFacts = CLIENT, **changes) -> TreeFacts:
    facts = {
        "package": True,
        "scripts": {"serving": client},
        "server": SERVER_FACTS,
        "engine": {"AsyncEngineArgs": ENGINE},
    }
    return TreeFacts(**{**facts, **changes})


def judge(command: str, facts: TreeFacts | None, suite: SuiteSettings = SUITE):
    return check("c" * 40, normalize(shlex.split(command), []), facts, suite, model=None, gpus=1)


def test_options_a_set_could_not_read_go_where_the_configs_list_says():
    incomplete = ParserFacts(
        CLIENT.options, unknown=("benchmark_serving.py:9: an option whose name is computed at run time",)
    )
    checked = judge("python benchmarks/benchmark_serving.py --model m --dtype half --mystery 1", tree(incomplete))
    spec = checked.result
    assert not isinstance(spec, Failure)
    assert spec.server_argv[-2:] == ("--dtype", "half")  # in serving.server_flags
    assert "--mystery" in spec.argv  # not in the list: stays with the client
    [finding] = checked.findings
    assert (finding.code, finding.severity) == ("undecided_flag", "warning")
    assert "computed at run time" in finding.message and "--dtype half to the server" in finding.message
    assert checked.routing["undecided"] == [["--dtype", "half"], ["--mystery", "1"]]


def test_a_server_command_that_runs_another_module_leaves_the_server_undecided():
    suite = SuiteSettings(
        TREE_RULES, "vllm serve {model} --host {host} --port {port}", ("--dtype",), "vllm", SUITE.dataset
    )
    checked = judge("python benchmarks/benchmark_serving.py --model m --dtype half", tree(), suite)
    assert not isinstance(checked.result, Failure) and checked.result.server_argv[-2:] == ("--dtype", "half")
    assert "does not run vllm.entrypoints.openai.api_server" in checked.findings[0].message


def test_a_tree_without_the_server_module_cannot_serve():
    checked = judge("python benchmarks/benchmark_serving.py --model m", tree(server=None))
    assert checked.result == Failure(
        "missing_benchmark_script", "the tree has no server module vllm.entrypoints.openai.api_server"
    )


def test_a_stub_script_without_the_cli_is_a_deprecated_script():
    checked = judge("python benchmarks/benchmark_latency.py --model m", tree(stubs=frozenset({"latency"})))
    assert isinstance(checked.result, Failure) and checked.result.category == "deprecated_script"


def test_a_required_client_option_the_command_lacks():
    lengths = ("--random-input-len", "--random-output-len")
    client = options("--model", "--tokenizer", "--dataset-name", *lengths, required=("--tokenizer",))
    checked = judge("python benchmarks/benchmark_serving.py --model m", tree(client))
    assert checked.result == Failure(
        "bad_arguments",
        "python benchmarks/benchmark_serving.py of this revision requires --tokenizer, which the command does not give",
    )


def test_without_a_tree_the_configs_list_routes_and_no_rule_needs_the_tree():
    checked = judge("python benchmarks/benchmark_serving.py --model m --dtype half --num-prompts 5", None)
    assert not isinstance(checked.result, Failure)
    assert checked.result.server_argv[-2:] == ("--dtype", "half") and "--dataset-name" not in checked.result.argv
    assert checked.findings == [] and checked.command.fired == []
