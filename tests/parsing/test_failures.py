"""Failure categories from the log alone, and which one wins when several show."""

from __future__ import annotations

import pytest

from patchbench import failures
from patchbench.parsing import parse_lines
from tests.parsing.builders import row, server_log, table, table_2024_06, traceback

SERVER = "[patchbench] --- server output ---"
BENCHMARK = "[patchbench] --- benchmark output ---"
ENGINE_PREFIX = "(EngineCore_DP0 pid=200) ERROR 09-10 12:00:30 [core.py:700] "
ENGINE_FILES = (
    "/usr/lib/python3/site-packages/vllm/v1/engine/core.py",
    "/usr/lib/python3/site-packages/vllm/v1/worker/gpu_worker.py",
)
CUDA_OOM = (
    "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of 79.10 GiB"
)
ENGINE_FAILED = "RuntimeError: Engine core initialization failed. See root cause above. Failed core proc(s): {}"
CONNECTION = "aiohttp.client_exceptions.ClientConnectorError: Cannot connect to host 127.0.0.1:8000 ssl:default [Connection refused]"


def engine_crash(exception: str) -> list[str]:
    """vLLM V1 start-up failing in its engine core, then the API server giving up."""
    return [
        SERVER,
        "(APIServer pid=100) INFO 09-10 12:00:00 [api_server.py:1] vLLM API server version 0.10.2",
        ENGINE_PREFIX + "EngineCore failed to start.",
        *traceback(exception, ENGINE_FILES, prefix=ENGINE_PREFIX),
        *traceback(
            ENGINE_FAILED,
            ("/usr/bin/vllm", "/usr/lib/python3/site-packages/vllm/entrypoints/openai/api_server.py"),
            prefix="(APIServer pid=100) ",
        ),
    ]


def client_gives_up() -> list[str]:
    return [
        BENCHMARK,
        "Starting initial single prompt test run...",
        *traceback(CONNECTION, ("/app/benchmarks/benchmark_serving.py",)),
    ]


def failure(lines: list[str]) -> tuple[str, str, str]:
    result = parse_lines(lines)
    assert result["failure"] is not None, result
    return result["status"], result["failure"]["category"], result["failure"]["evidence"]


def test_oom_in_the_engine_beats_the_crash_it_caused() -> None:
    status, category, evidence = failure([*engine_crash(CUDA_OOM), *client_gives_up()])
    assert (status, category) == ("failed", failures.OOM)
    assert evidence == ENGINE_PREFIX + CUDA_OOM


@pytest.mark.parametrize(
    "exception",
    [
        "ValueError: Free memory on device (10.5/79.1 GiB) on startup is less than desired GPU memory utilization (0.9, 71.2 GiB).",
        "RuntimeError: CUDA out of memory occurred when warming up sampler with 1024 dummy requests.",
        "ValueError: No available memory for the cache blocks. Try increasing `gpu_memory_utilization`.",
        "ValueError: To serve at least one request (4.0 GiB KV cache is needed, which is larger than the available KV cache memory (2.1 GiB).",
    ],
)
def test_oom_messages(exception: str) -> None:
    assert failure(engine_crash(exception))[1] == failures.OOM


def test_host_oom_killer() -> None:
    assert failure(["Warming up...", "Killed"]) == ("failed", failures.OOM, "Killed")
    assert failure(["/bin/sh: line 1:  4242 Killed                  python benchmark_latency.py"])[1] == failures.OOM


def test_a_traceback_beats_a_killed_process() -> None:
    lines = [BENCHMARK, *traceback("KeyError: 'ttft'"), "Killed"]
    assert failure(lines)[1] == failures.BENCHMARK_CRASH


def test_engine_died_without_a_known_root_cause_is_a_server_crash() -> None:
    status, category, evidence = failure(
        [*engine_crash("RuntimeError: CUDA error: an illegal memory access was encountered"), *client_gives_up()]
    )
    assert (status, category) == ("failed", failures.SERVER_CRASH)
    assert evidence.splitlines() == [
        ENGINE_PREFIX + "EngineCore failed to start.",
        ENGINE_PREFIX + "RuntimeError: CUDA error: an illegal memory access was encountered",
        "(APIServer pid=100) " + ENGINE_FAILED,
        CONNECTION,
    ]


def test_server_traceback_without_markers_is_told_by_its_process_tag() -> None:
    lines = traceback("RuntimeError: boom", ("/usr/bin/vllm",), prefix="(APIServer pid=100) ")
    assert failure(lines)[1] == failures.SERVER_CRASH


def test_server_traceback_without_markers_is_told_by_its_files() -> None:
    lines = traceback(
        "RuntimeError: boom",
        ("/site-packages/vllm/entrypoints/openai/api_server.py", "/site-packages/vllm/engine/llm_engine.py"),
    )
    assert failure(lines)[1] == failures.SERVER_CRASH


def test_client_traceback_is_a_benchmark_crash() -> None:
    lines = [SERVER, *server_log(3), BENCHMARK, "Starting main benchmark run...", *traceback("KeyError: 'choices'")]
    assert failure(lines) == ("failed", failures.BENCHMARK_CRASH, "KeyError: 'choices'")


def test_offline_benchmark_traceback_through_the_engine_is_a_benchmark_crash() -> None:
    files = ("/app/benchmarks/benchmark_latency.py", "/site-packages/vllm/engine/llm_engine.py")
    assert failure(traceback("RuntimeError: shape mismatch", files))[1] == failures.BENCHMARK_CRASH


def test_markers_decide_the_process() -> None:
    plain = traceback("RuntimeError: boom", ("/app/x.py",))
    assert failure([SERVER, *plain])[1] == failures.SERVER_CRASH
    assert failure([BENCHMARK, *plain])[1] == failures.BENCHMARK_CRASH


def test_shutdown_noise_is_not_a_crash() -> None:
    lines = [BENCHMARK, *traceback("KeyError: 'ttft'"), SERVER, *traceback("KeyboardInterrupt", ("/usr/bin/vllm",))]
    assert failure(lines)[1] == failures.BENCHMARK_CRASH
    lines = [SERVER, *traceback("asyncio.exceptions.CancelledError", ("/usr/bin/vllm",))]
    assert failure(lines)[1] == failures.NO_METRICS


@pytest.mark.parametrize(
    "line",
    [
        "benchmark_serving.py: error: ambiguous option: --dataset could match --dataset-name, --dataset-path",
        "vllm bench serve: error: unrecognized arguments: --input-len 128",
        "benchmark_latency.py: error: the following arguments are required: --model",
        "vllm serve: error: argument --max-model-len: invalid int value: 'big'",
        "vllm: error: argument subparser: invalid choice: 'bench' (choose from 'serve', 'chat')",
    ],
)
def test_argparse_errors(line: str) -> None:
    lines = ["usage: benchmark_serving.py [-h] [--backend BACKEND]", line]
    assert failure(lines) == ("failed", failures.BAD_ARGUMENTS, line)


def test_client_rejecting_how_it_was_called_in_a_traceback() -> None:
    message = "ValueError: Either --input-len or --random-input-len must be provided for a random dataset"
    assert failure([BENCHMARK, *traceback(message)])[1] == failures.BAD_ARGUMENTS
    bare_assert = [
        "Traceback (most recent call last):",
        '  File "/app/benchmarks/benchmark_throughput.py", line 300, in main',
        "    assert args.input_len is not None",
        "AssertionError",
    ]
    assert failure(bare_assert)[1] == failures.BAD_ARGUMENTS


@pytest.mark.parametrize(
    "exception",
    [
        "ModuleNotFoundError: No module named 'vllm.benchmarks'",
        "ImportError: cannot import name 'LogitsWarper' from 'transformers.generation' (/site-packages/transformers/generation/__init__.py)",
        "ImportError: /site-packages/vllm/_C.abi3.so: undefined symbol: _ZN3c104cuda9SetDevice",
    ],
)
def test_broken_environment_beats_the_crash_it_caused(exception: str) -> None:
    status, category, evidence = failure([*engine_crash(exception), *client_gives_up()])
    assert (status, category, evidence) == ("failed", failures.ENV_ERROR, ENGINE_PREFIX + exception)


@pytest.mark.parametrize(
    "line",
    [
        "bash: line 1: vllm: command not found",
        "python3: can't open file '/app/benchmarks/benchmark_serving.py': [Errno 2] No such file or directory",
    ],
)
def test_missing_program_is_a_broken_environment(line: str) -> None:
    assert failure(["$ vllm bench serve --model m", line]) == ("failed", failures.ENV_ERROR, line)


def test_import_warnings_are_not_failures() -> None:
    lines = [
        "(APIServer pid=1) WARNING 09-10 12:00:00 [__init__.py:26] Failed to import from vllm._C with ModuleNotFoundError(\"No module named 'vllm._C'\")"
    ]
    assert failure(lines)[1] == failures.NO_METRICS


def test_deprecated_stub_beats_what_it_looks_like() -> None:
    stub = [
        "DEPRECATED: This script has been moved to the vLLM CLI.",
        "",
        "Please use the following command instead:",
        "    vllm bench serve",
        "",
        "For help with the new command, run:",
        "    vllm bench serve --help",
    ]
    result = parse_lines([*stub, "vllm bench serve: error: unrecognized arguments: --dataset x"])
    assert result["failure"] == {"category": failures.DEPRECATED_SCRIPT, "evidence": stub[0]}
    assert result["benchmark_type"] == "serving"


def test_all_requests_failed_with_a_result() -> None:
    rows = [("Successful requests:", 0), ("Failed requests:", 1000), ("Benchmark duration (s):", "1.00")]
    warning = "/site-packages/vllm/benchmarks/serve.py:512: UserWarning: All requests failed. This is likely due to a misconfiguration on the benchmark arguments."
    lines = [
        warning,
        "Failed requests during benchmark run detected (capping to 10):",
        "Error 0: Bad Request",
        "Error 1: Bad Request",
        *table((None, rows)),
    ]
    result = parse_lines(lines)
    assert result["status"] == "ok"
    assert result["failure"] == {
        "category": failures.REQUESTS_FAILED,
        "evidence": "\n".join(
            [
                row("Successful requests:", 0).strip(),
                row("Failed requests:", 1000).strip(),
                warning,
                "Error 0: Bad Request",
            ]
        ),
    }


def test_most_requests_failed() -> None:
    rows = [("Successful requests:", 10), ("Failed requests:", 990), ("Benchmark duration (s):", "1.00")]
    assert parse_lines(table((None, rows)))["failure"]["category"] == failures.REQUESTS_FAILED


def test_some_requests_failed_is_still_ok() -> None:
    rows = [("Successful requests:", 990), ("Failed requests:", 10), ("Benchmark duration (s):", "1.00")]
    assert parse_lines(table((None, rows)))["failure"] is None


def test_completed_zero_in_a_json_result() -> None:
    result = parse_lines(['{"duration": 1.0, "completed": 0, "failed": 5, "request_throughput": 0.0}'])
    assert result["failure"] == {"category": failures.REQUESTS_FAILED, "evidence": '"completed": 0\n"failed": 5'}


def test_initial_test_run_failed() -> None:
    message = "ValueError: Initial test run failed - Please make sure benchmark arguments are correctly specified. Error: Bad Request"
    assert failure([BENCHMARK, *traceback(message)]) == ("failed", failures.REQUESTS_FAILED, message)


def test_ready_check_gave_up() -> None:
    message = "ValueError: Initial test run failed - Please make sure benchmark arguments are correctly specified. Error: Endpoint readiness timed out after 600s."
    lines = ["Waiting for endpoint to become up in 600 seconds", *traceback(message)]
    assert failure(lines)[1] == failures.SERVER_START_TIMEOUT


def test_server_unreachable_beats_the_failed_test_run() -> None:
    message = "ValueError: Initial test run failed - Please make sure benchmark arguments are correctly specified. Error: Cannot connect to host localhost:8000"
    assert failure(traceback(message))[1] == failures.SERVER_CRASH


def test_incomplete_table_with_the_reason() -> None:
    lines = [BENCHMARK, *table_2024_06(end=False)[:10], *traceback("KeyError: 'p99'")]
    result = parse_lines(lines)
    assert result["status"] == "incomplete"
    assert result["failure"] == {"category": failures.BENCHMARK_CRASH, "evidence": "KeyError: 'p99'"}


def test_failures_before_a_complete_result_do_not_count() -> None:
    lines = [*engine_crash(CUDA_OOM), "[patchbench] retrying", *table_2024_06()]
    assert parse_lines(lines)["failure"] is None


def test_no_metrics_quotes_the_last_lines() -> None:
    lines = [*server_log(4), "[patchbench] outcome: ok", ""]
    status, category, evidence = failure(lines)
    assert (status, category) == ("failed", failures.NO_METRICS)
    assert evidence.splitlines() == server_log(4)[-5:]


def test_no_metrics_on_an_empty_log() -> None:
    assert failure([]) == ("failed", failures.NO_METRICS, "empty log")
    assert failure(["", "   ", "[patchbench] outcome: ok"]) == ("failed", failures.NO_METRICS, "empty log")


def test_evidence_is_short() -> None:
    long_oom = ENGINE_PREFIX + CUDA_OOM + " x" * 500
    lines = [f"{i} {long_oom}" for i in range(20)]
    evidence = failure(lines)[2].splitlines()
    assert len(evidence) == 5 and all(len(line) <= 300 for line in evidence)


def test_a_whole_successful_run_log() -> None:
    lines = [
        "[patchbench] command: vllm bench serve --model m",
        SERVER,
        "(APIServer pid=1) WARNING 09-10 12:00:00 [__init__.py:26] Failed to import from vllm._C with ImportError('x')",
        "(EngineCore_DP0 pid=2) INFO 09-10 12:00:20 [gpu_worker.py:276] Available KV cache memory: 52.34 GiB",
        *server_log(5),
        "(APIServer pid=1) INFO:     Shutting down",
        *traceback("KeyboardInterrupt", ("/usr/bin/vllm",), prefix="(APIServer pid=1) "),
        BENCHMARK,
        "Starting initial single prompt test run...",
        "Initial test run completed. Starting main benchmark run...",
        *table_2024_06(),
        "[patchbench] outcome: ok",
    ]
    result = parse_lines(lines)
    assert (result["benchmark_type"], result["status"], result["failure"]) == ("serving", "ok", None)
    # 4 lines, 15 server lines, shutdown (1) and its traceback (4), marker, 2 pre-run lines: title on 28.
    assert result["runs"][0]["line"] == 28


def test_unknown_benchmark_type_is_a_caller_error() -> None:
    with pytest.raises(ValueError, match="unknown benchmark type"):
        parse_lines([], "serve")
