"""vLLM output as the tools around it reshape it (issue 19): job runners' line prefixes,
text glued to a result line, result files trimmed to their latency statistics, and the
benchmark's name quoted where only a hint of it is left.

Each test is built from a family of shapes, written by hand after the tool that makes
them (named in the comments); expected values are read off the inputs.
"""

from __future__ import annotations

import json

import pytest

from patchbench import failures
from patchbench.parsing import parse_lines
from tests.parsing.builders import (
    LATENCIES_2024_06,
    SUMMARY_2024_06_METRICS,
    row,
    table_2024_06,
    title,
    traceback,
)
from tests.parsing.test_upstream_formats import LATENCY_2026, LATENCY_2026_METRICS, SERVE_2026_LOG, SERVE_2026_METRICS

FULL_2024_06 = {**SUMMARY_2024_06_METRICS, **LATENCIES_2024_06}
CYAN, DIM, RESET = "\x1b[36m", "\x1b[2m", "\x1b[0m"

# --- process prefixes of job runners --------------------------------------------------------

# What Ray, SkyPilot and vLLM put before every line of a process they started. Ray
# (ray/_private/worker.py, print_worker_logs) prints "({task or actor name} pid={pid})", adds
# ", ip={ip}" for another node, and colours the prefix when it writes to a terminal.
# SkyPilot names the task, or the node in a multi-node job, followed by a comma.
PROCESS_PREFIXES = {
    "skypilot task": "(task, pid=25491) ",
    "skypilot head node": "(head, rank=0, pid=18260) ",
    "skypilot worker node, pid before ip": "(worker1, rank=1, pid=2960, ip=172.31.0.82) ",
    "skypilot worker node, ip before pid": "(worker2, rank=2, ip=10.146.0.25, pid=13680) ",
    "skypilot, coloured": f"{CYAN}(head, rank=0, pid=3808){RESET} ",
    "ray task without a name": "(pid=45601) ",
    "ray named task": "(run_benchmark pid=4242) ",
    "ray actor on another node": "(RayWorkerWrapper pid=5121, ip=10.0.0.7) ",
    "ray actor, coloured": f"{DIM}{CYAN}(BenchmarkActor pid=311, ip=10.0.0.3){RESET} ",
    "ray serve replica": "(ServeReplica:default:VLLMDeployment pid=8812) ",
    "ray data worker": "(MapWorker(MapBatches(vLLMEngineStageUDF)) pid=731, ip=10.0.0.9) ",
    "vllm worker process": "(VllmWorker rank=0 pid=7151) ",
    "ray task inside a skypilot task": "(task, pid=25491) (run_benchmark pid=4242) ",
}


@pytest.mark.parametrize("prefix", sorted(PROCESS_PREFIXES))
def test_a_serving_log_behind_a_process_prefix(prefix: str) -> None:
    tag = PROCESS_PREFIXES[prefix]
    result = parse_lines([tag + line for line in SERVE_2026_LOG])
    assert (result["benchmark_type"], result["status"], result["failure"]) == ("serving", "ok", None)
    assert result["metrics"] == pytest.approx(SERVE_2026_METRICS)
    assert [(run["format"], run["line"]) for run in result["runs"]] == [("serving-table", 21)]


@pytest.mark.parametrize("prefix", sorted(PROCESS_PREFIXES))
def test_latency_output_and_its_json_behind_a_process_prefix(prefix: str) -> None:
    # `vllm bench latency ... --output-json latency.json; cat latency.json` in one task.
    document = json.dumps(
        {
            "avg_latency": 1.0125,
            "std_latency": 0.0025,
            "latencies": [1.01, 1.015],
            "percentiles": {"10": 1.01, "25": 1.011, "50": 1.0125, "75": 1.014, "90": 1.015, "99": 1.02},
        },
        indent=4,
    )
    tag = PROCESS_PREFIXES[prefix]
    result = parse_lines([tag + line for line in [*LATENCY_2026, *document.split("\n")]])
    runs = [(run["format"], run["status"]) for run in result["runs"]]
    assert runs == [("latency-text", "ok"), ("latency-json", "ok")]
    assert result["metrics"] == pytest.approx(LATENCY_2026_METRICS)


# Text in parentheses at the start of a line that is not a process prefix: it names no pid.
NOT_PREFIXES = ["(before) ", "(venv) ", "(1) ", "(pid 4242) ", "(see pid=4242 above) ", "(note: pid=4242) "]


@pytest.mark.parametrize("text", NOT_PREFIXES)
def test_parenthesised_text_is_not_a_process_prefix(text: str) -> None:
    # A comparison written by hand, "(before) Mean TTFT (ms): …", is not a result.
    assert parse_lines([text + line for line in table_2024_06()])["runs"] == []


def test_a_traceback_behind_a_process_prefix_still_tells_its_process() -> None:
    # The prefix stays on the failure side: a vLLM worker's traceback is the server's.
    tag = "(VllmWorker rank=0 pid=7151) "
    lines = traceback("RuntimeError: NCCL error: unhandled system error", ("/usr/bin/vllm",), prefix=tag)
    assert parse_lines(lines)["failure"] == {
        "category": failures.SERVER_CRASH,
        "evidence": tag + "RuntimeError: NCCL error: unhandled system error",
    }


@pytest.mark.parametrize(
    "prefix",
    [
        "(pid=45601) ",
        f"{DIM}{CYAN}(RayWorkerWrapper pid=5121, ip=10.0.0.7){RESET} ",
        "(task, pid=25491) (APIServer pid=7) ",
    ],
)
def test_server_warnings_behind_a_ray_prefix_are_not_failures(prefix: str) -> None:
    # vLLM's logger prefix is found behind the process prefix, so a WARNING stays harmless.
    warning = "WARNING 09-10 12:00:00 [__init__.py:26] Failed to import from vllm._C with ModuleNotFoundError('x')"
    assert parse_lines([prefix + warning])["failure"]["category"] == failures.NO_METRICS


# --- text glued to a result line ---------------------------------------------------------------

# The last row of a table, as vLLM prints it (value padded to 10) and as an editor or a
# web form that trims trailing spaces keeps it.
LAST_ROW = row("P99 ITL (ms):", "127.23")
LAST_ROW_TRIMMED = LAST_ROW.rstrip()
RULE = "=" * 50
TITLE = title(" Serving Benchmark Result ", "=")
BAR_START = "  0%|          | 0/1000 [00:00<?, ?it/s]"
BAR_END = "100%|██████████| 1000/1000 [00:30<00:00, 33.21it/s]"

# tqdm draws on stderr with "\r"; where a log viewer or a pipe dropped the "\r", the bar
# is glued to the line printed before it. Its percentage is always three characters
# ("{percentage:3.0f}%|"), so "127.23100%|" is 127.23 and a full bar.
GLUED_TO_THE_LAST_ROW = {
    "bar after the padded value": LAST_ROW + BAR_START,
    "bar after the trimmed value": LAST_ROW_TRIMMED + BAR_END,
    "bar with its description": LAST_ROW + "Processed prompts: " + BAR_END,
    "closing rule after the padded value": LAST_ROW + RULE,
    "closing rule after the trimmed value": LAST_ROW_TRIMMED + RULE,
}


@pytest.mark.parametrize("tail", sorted(GLUED_TO_THE_LAST_ROW))
def test_text_glued_to_the_last_row(tail: str) -> None:
    lines = table_2024_06(end=False)
    lines[-1] = GLUED_TO_THE_LAST_ROW[tail]
    if RULE not in lines[-1]:
        lines.append(RULE)
    result = parse_lines(lines)
    assert (result["status"], result["metrics"]) == ("ok", FULL_2024_06)


@pytest.mark.parametrize("bar", [BAR_START, BAR_END, "Processed prompts: " + BAR_END])
def test_a_bar_glued_to_the_closing_rule(bar: str) -> None:
    lines = table_2024_06()
    lines[-1] += bar
    result = parse_lines(lines)
    assert (result["status"], result["metrics"]) == ("ok", FULL_2024_06)


@pytest.mark.parametrize("last_row", [LAST_ROW, LAST_ROW_TRIMMED], ids=["padded", "trimmed"])
def test_a_pasted_copy_glued_to_the_last_row(last_row: str) -> None:
    # The output pasted twice, the second copy starting on the first one's last line.
    first = table_2024_06(end=False)
    second = table_2024_06()
    result = parse_lines([*first[:-1], last_row + second[0], *second[1:]])
    first_run, second_run = result["runs"]
    assert (first_run["status"], first_run["metrics"]) == ("incomplete", FULL_2024_06)
    assert (second_run["status"], second_run["line"], result["metrics"]) == ("ok", len(first), FULL_2024_06)


def test_a_bar_glued_to_a_count_keeps_the_count() -> None:
    # "1000" + "100%|": the bar's three-character field is not part of the number.
    lines = table_2024_06()
    lines[1] = row("Successful requests:", 1000).rstrip() + BAR_END
    result = parse_lines(lines)
    assert (result["status"], result["metrics"]) == ("ok", FULL_2024_06)


@pytest.mark.parametrize(
    "glued",
    ["2025-05-30T20:38:10.123Z INFO done", "0.5%|", ".5", "1e"],
    ids=["time stamp", "not a tqdm bar", "a second point", "an exponent without digits"],
)
def test_digits_glued_to_a_value_never_make_another_number(glued: str) -> None:
    # Nothing tells where the value ends: the row has no number and the table is damaged.
    # (Digits then a space, "127.23" + "5 requests", cannot be told from the value at all.)
    lines = table_2024_06()
    lines[-2] = LAST_ROW_TRIMMED + glued
    result = parse_lines(lines)
    assert result["status"] == "incomplete"
    assert "p99_itl_ms" not in result["metrics"]


# --- result files trimmed to their latency statistics ------------------------------------------

# vllm-ascend's nightly serving files keep the latency statistics of a --save-result
# file and drop the counts: no "completed", no "request_throughput". They are serving
# results that cannot be complete.
TRIMMED_RESULTS = {
    "one line, three metrics": (
        '{"mean_ttft_ms": 45.12, "median_ttft_ms": 41.8, "p99_ttft_ms": 120.33, "mean_tpot_ms": 12.04, '
        '"median_tpot_ms": 11.97, "p99_tpot_ms": 14.1, "mean_itl_ms": 12.01, "median_itl_ms": 11.5, '
        '"p99_itl_ms": 30.25}',
        {
            "mean_ttft_ms": 45.12,
            "median_ttft_ms": 41.8,
            "p99_ttft_ms": 120.33,
            "mean_tpot_ms": 12.04,
            "median_tpot_ms": 11.97,
            "p99_tpot_ms": 14.1,
            "mean_itl_ms": 12.01,
            "median_itl_ms": 11.5,
            "p99_itl_ms": 30.25,
        },
    ),
    "indented, with setup strings and std": (
        json.dumps(
            {
                "test_name": "serving_qwen3_8b_tp1_qps_4",
                "model_id": "Qwen/Qwen3-8B",
                "request_rate": "inf",
                "mean_ttft_ms": 80.5,
                "median_ttft_ms": 75.25,
                "std_ttft_ms": 9.5,
                "p99_ttft_ms": 140.0,
                "mean_e2el_ms": 2400.5,
                "p99_e2el_ms": 3100.75,
            },
            indent=4,
        ),
        {
            "mean_ttft_ms": 80.5,
            "median_ttft_ms": 75.25,
            "std_ttft_ms": 9.5,
            "p99_ttft_ms": 140.0,
            "mean_e2el_ms": 2400.5,
            "p99_e2el_ms": 3100.75,
        },
    ),
    "with output throughput, any percentiles, NaN": (
        '{"output_throughput": 1830.5, "median_ttft_ms": 33.0, "p50_tpot_ms": 9.5, "p90_tpot_ms": 11.25, '
        '"p99.9_itl_ms": 48.0, "std_itl_ms": NaN}',
        {
            "output_throughput": 1830.5,
            "median_ttft_ms": 33.0,
            "p50_tpot_ms": 9.5,
            "p90_tpot_ms": 11.25,
            "p99.9_itl_ms": 48.0,
        },
    ),
    "a single statistic": ('{"backend": "vllm", "p99_tpot_ms": 21.5}', {"p99_tpot_ms": 21.5}),
}


@pytest.mark.parametrize("shape", sorted(TRIMMED_RESULTS))
def test_a_result_file_with_only_latency_statistics_is_an_incomplete_serving_result(shape: str) -> None:
    text, metrics = TRIMMED_RESULTS[shape]
    result = parse_lines(text.split("\n"))
    assert (result["benchmark_type"], result["status"], result["failure"]) == ("serving", "incomplete", None)
    assert [(run["format"], run["line"]) for run in result["runs"]] == [("serving-json", 1)]
    assert result["metrics"] == metrics


def test_a_complete_result_wins_over_a_trimmed_one() -> None:
    trimmed, _ = TRIMMED_RESULTS["one line, three metrics"]
    whole = '{"duration": 10.0, "completed": 100, "request_throughput": 10.0, "mean_ttft_ms": 50.5}'
    result = parse_lines([whole, trimmed])
    assert [run["status"] for run in result["runs"]] == ["ok", "incomplete"]
    assert result["metrics"] == {"duration": 10.0, "completed": 100, "request_throughput": 10.0, "mean_ttft_ms": 50.5}


NOT_RESULTS = {
    # vllm-ascend's report script maps result keys to column titles.
    "column titles": '{"test_name": "Test name", "median_ttft_ms": "TTFT (ms)", "median_tpot_ms": "TPOT (ms)"}',
    "a template": '{"mean_ttft_ms": null, "p99_ttft_ms": null}',
    "thresholds one level down": '{"model": "m", "thresholds": {"p99_ttft_ms": 200, "mean_tpot_ms": 40}}',
    "names in a list": '{"percentile_metrics": ["p99_ttft_ms", "mean_tpot_ms"], "metric_percentiles": "99"}',
    "near misses": '{"ttft_ms": 12.5, "max_ttft_ms": 400, "p99_ttft": 5.0, "mean_ttft_s": 0.1, "p99_ttft_ms_slo": 3}',
}


@pytest.mark.parametrize("shape", sorted(NOT_RESULTS))
def test_json_that_only_names_latency_statistics_is_not_a_result(shape: str) -> None:
    result = parse_lines([NOT_RESULTS[shape]])
    assert (result["runs"], result["status"]) == ([], "failed")


# --- the benchmark's name where only a hint of it is left --------------------------------------

NAMED_TYPES = {
    # The 2025-09 deprecation stub, condensed onto one line by whoever reported it.
    "stub, condensed": ("Please use: vllm bench latency", "latency"),
    "stub, joined": (
        "DEPRECATED: This script has been moved to the vLLM CLI. Please use the following command instead: "
        "vllm bench throughput",
        "throughput",
    ),
    # Python's subprocess quoting the child's command line, as a list or a string.
    "argv list": (
        "subprocess.CalledProcessError: Command '['vllm', 'bench', 'serve', '--model', 'm']' returned non-zero "
        "exit status 1.",
        "serving",
    ),
    "argv string": (
        "subprocess.CalledProcessError: Command 'vllm bench latency --model m' returned non-zero exit status 1.",
        "latency",
    ),
    # Launchers that log the command they start.
    "launcher": ("INFO:runner:Launching child process: vllm bench serve --model m --port 8000", "serving"),
    "shell trace": ("+ python3 benchmarks/benchmark_throughput.py --model m --input-len 128", "throughput"),
    "module path": ("Running /usr/bin/python3 -m vllm.entrypoints.cli.main bench latency --model m", "latency"),
}


@pytest.mark.parametrize("case", sorted(NAMED_TYPES))
def test_the_type_named_in_a_quoted_command(case: str) -> None:
    line, benchmark_type = NAMED_TYPES[case]
    result = parse_lines([line])
    assert (result["status"], result["benchmark_type"]) == ("failed", benchmark_type)


NOT_NAMED = {
    "another bench subcommand": "Please use: vllm bench encoder",
    "the server command": "Launching child process: vllm serve meta-llama/Llama-3.1-8B --port 8000",
    "a kernel benchmark": "+ python3 benchmarks/kernels/benchmark_moe.py --tune",
    "a prompt in vLLM's request log": (
        "(APIServer pid=7) INFO 05-30 20:38:10 [logger.py:43] Received request cmpl-1: prompt: "
        "'How do I run vllm bench latency?', params: SamplingParams(n=1)"
    ),
    "a runner annotation": "[patchbench] command: vllm bench serve --model m",
}


@pytest.mark.parametrize("case", sorted(NOT_NAMED))
def test_text_that_names_no_benchmark_type(case: str) -> None:
    assert parse_lines([NOT_NAMED[case]])["benchmark_type"] is None


@pytest.mark.parametrize("prefix", ["", "(task, pid=25491) "])
def test_the_type_named_in_a_tracebacks_files(prefix: str) -> None:
    files = ("/usr/local/lib/python3.12/dist-packages/vllm/benchmarks/throughput.py",)
    result = parse_lines(traceback("KeyError: 'prompt_len'", files, prefix=prefix))
    assert (result["status"], result["benchmark_type"]) == ("failed", "throughput")


def test_the_first_hint_wins() -> None:
    lines = ["Please use: vllm bench serve", "usage: benchmark_latency.py [-h]"]
    assert parse_lines(lines)["benchmark_type"] == "serving"
