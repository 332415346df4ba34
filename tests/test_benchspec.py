import pytest

from patchbench import failures
from patchbench.failures import Failure
from patchbench.plan.commits import CommitRecord
from patchbench.plan.suite import plan_commit
from patchbench.spec.benchspec import BenchSpec, SpecError, build_spec, render
from patchbench.spec.check import SuiteSettings, check
from patchbench.spec.datasets import DatasetChoice
from patchbench.spec.normalize import Command

SERVER = "python -m vllm.entrypoints.openai.api_server --model {model} --host {host} --port {port}"
FLAGS = ("--tensor-parallel-size", "-tp", "--dtype", "--enable-prefix-caching")
# No tree to read (a commit without a usable parent): the config's list routes a serving command.
SUITE = SuiteSettings([], SERVER, FLAGS, "vllm", DatasetChoice(1024, 128))


def spec(command, model=None, rules=()):
    """The command planned as the workflow plans a commit (an error skips it), then made a spec."""
    plan = plan_commit(CommitRecord("c" * 40, "d" * 40, command, model), 8, list(rules))
    if plan.skip:
        raise SpecError(plan.skip.category, plan.skip.evidence)
    result = check(plan.record.commit, plan.command, None, SUITE, model=plan.model, gpus=plan.linted.gpus).result
    if isinstance(result, Failure):
        raise SpecError(result.category, result.evidence)
    return result


@pytest.mark.parametrize(
    "command,kind",
    [
        ("python benchmarks/benchmark_latency.py --model m", "latency"),
        ("python3 benchmarks/benchmark_throughput.py --model m --input-len 8 --output-len 8", "throughput"),
        ("python benchmarks/benchmark_serving.py --model m", "serving"),
        ("vllm bench serve --model m", "serving"),
        ("vllm bench latency --model m", "latency"),
        ("vllm bench throughput --model m", "throughput"),
    ],
)
def test_detects_benchmark_type(command, kind):
    assert spec(command).benchmark_type == kind


@pytest.mark.parametrize(
    "command,category",
    [
        (None, failures.MISSING_PERF_COMMAND),
        ("   ", failures.MISSING_PERF_COMMAND),
        ("python benchmark_guided.py --model m", failures.UNSUPPORTED_BENCHMARK),
        ("vllm bench mystery --model m", failures.UNSUPPORTED_BENCHMARK),
        ("bash run.sh", failures.UNSUPPORTED_BENCHMARK),
        ("python benchmarks/benchmark_latency.py --model 'unterminated", failures.BAD_ARGUMENTS),
        ("python benchmarks/benchmark_latency.py -tp eight", failures.BAD_ARGUMENTS),
        ("python benchmarks/benchmark_latency.py -tp 0", failures.BAD_ARGUMENTS),
        ("python benchmarks/benchmark_latency.py --pipeline-parallel-size -1", failures.BAD_ARGUMENTS),
    ],
)
def test_commands_that_cannot_run_name_their_category(command, category):
    with pytest.raises(SpecError) as info:
        spec(command)
    assert info.value.category == category


@pytest.mark.parametrize(
    "flags,gpus",
    [
        ("", 1),
        ("--tensor-parallel-size 8", 8),
        ("-tp 4", 4),
        ("--tensor_parallel_size=2", 2),
        ("-tp 2 --pipeline-parallel-size 2", 4),
        ("--tensor-parallel-size 1", 1),
    ],
)
def test_gpus_come_from_parallel_sizes(flags, gpus):
    assert spec(f"python benchmarks/benchmark_latency.py --model m {flags}").gpus == gpus


def test_leading_env_assignments_become_the_spec_env():
    rules = [{"name": "env", "action": "env_assignments"}]
    s = spec(
        "VLLM_USE_V1=1 VLLM_ATTENTION_BACKEND=FLASHMLA python3 benchmarks/benchmark_latency.py --model m", rules=rules
    )
    assert s.env == {"VLLM_USE_V1": "1", "VLLM_ATTENTION_BACKEND": "FLASHMLA"}
    assert s.argv[:2] == ("python3", "benchmarks/benchmark_latency.py")
    assert s.rules_fired == ("env",)
    with pytest.raises(SpecError):  # without the rule, the command is not a benchmark
        spec("VLLM_USE_V1=1 python3 benchmarks/benchmark_latency.py --model m")


def test_serving_moves_engine_flags_to_the_server_and_targets_it():
    s = spec(
        "python benchmarks/benchmark_serving.py --model org/m --dtype float16 --num-prompts 10 "
        "--enable-prefix-caching --port 9000 -tp 2"
    )
    assert s.server_argv == (
        "python", "-m", "vllm.entrypoints.openai.api_server", "--model", "org/m",
        "--host", "{host}", "--port", "{port}", "--dtype", "float16", "--enable-prefix-caching", "-tp", "2",
    )  # fmt: skip
    assert s.argv == (
        "python", "benchmarks/benchmark_serving.py", "--model", "org/m", "--num-prompts", "10",
        "--host", "{host}", "--port", "{port}",
    )  # fmt: skip
    assert s.gpus == 2 and s.model == "org/m"


def test_model_falls_back_to_the_table():
    assert spec("vllm bench serve --num-prompts 5", model="org/x").server_argv[4] == "org/x"


def test_spec_round_trips_through_json_dict():
    s = spec("VLLM_USE_V1=0 vllm bench serve --model m -tp 2", rules=[{"name": "env", "action": "env_assignments"}])
    assert BenchSpec.from_dict(s.as_dict()) == s


def test_render_fills_interpreter_host_and_port():
    s = spec("python3 benchmarks/benchmark_serving.py --model m")
    argv = render(s.argv, python="/venv/bin/python", host="127.0.0.1", port=4321)
    assert argv[0] == "/venv/bin/python"
    assert argv[-4:] == ["--host", "127.0.0.1", "--port", "4321"]
    assert render(["vllm", "bench"], python="/p") == ["vllm", "bench"]


def test_the_server_commands_own_flags_are_given_once():
    # The tree sends --model to both sides; the server command already names the model.
    command = Command({}, ["python", "benchmarks/benchmark_serving.py"], "serving", [["--model", "org/m"]])
    s = build_spec(command, server_command=SERVER, server_items=[["--model", "org/m"], ["--dtype", "half"]])
    assert s.server_argv == (
        "python", "-m", "vllm.entrypoints.openai.api_server", "--model", "org/m",
        "--host", "{host}", "--port", "{port}", "--dtype", "half",
    )  # fmt: skip
    assert s.argv[2:4] == ("--model", "org/m") and s.model == "org/m"
