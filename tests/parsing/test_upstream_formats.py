"""Real vLLM outputs as they reach a log: the upstream print statements, and what tools do to them.

Each sample is written by hand after the print statements of the upstream
vLLM file and commit named in its comment (label left-justified to 40, one
space, value padded to 10, as ``"{:<40} {:<10}"`` prints it). The expected
values are read off the sample, not taken from the parser.
"""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest

from patchbench.parsing import parse_file, parse_lines
from tests.parsing.builders import row, serving_json, title


def parse_bytes(tmp_path: Path, data: bytes, name: str = "run.log") -> dict:
    path = tmp_path / name
    path.write_bytes(data)
    result = parse_file(path)
    json.dumps(result, allow_nan=False)
    return result


# --- latency: "Std latency" (vllm/benchmarks/latency.py, 2026, upstream 00cae0753) ----------

# print(f"Avg latency: {np.mean(latencies).item()} seconds")
# print(f"Std latency: {np.std(latencies).item()} seconds")
# for percentage, percentile in ...: print(f"{percentage}% percentile latency: {percentile} seconds")
LATENCY_2026 = [
    "Warming up...",
    "Warmup iterations:  50%|█████     | 5/10 [00:05<00:05,  1.01s/it]\rWarmup iterations: 100%|██████████| 10/10"
    " [00:10<00:00,  1.01s/it]",
    "Bench iterations: 100%|██████████| 30/30 [00:30<00:00,  1.01s/it]",
    "Avg latency: 1.0125 seconds",
    "Std latency: 0.0025 seconds",
    "10% percentile latency: 1.01 seconds",
    "25% percentile latency: 1.011 seconds",
    "50% percentile latency: 1.0125 seconds",
    "75% percentile latency: 1.014 seconds",
    "90% percentile latency: 1.015 seconds",
    "99% percentile latency: 1.02 seconds",
]
LATENCY_2026_METRICS = {
    "latency_avg_ms": 1012.5,
    "latency_std_ms": 2.5,
    "latency_p10_ms": 1010.0,
    "latency_p25_ms": 1011.0,
    "latency_p50_ms": 1012.5,
    "latency_p75_ms": 1014.0,
    "latency_p90_ms": 1015.0,
    "latency_p99_ms": 1020.0,
}


def test_latency_2026_prints_its_standard_deviation() -> None:
    result = parse_lines(LATENCY_2026)
    assert (result["benchmark_type"], result["status"]) == ("latency", "ok")
    assert result["metrics"] == pytest.approx(LATENCY_2026_METRICS)
    assert [run["line"] for run in result["runs"]] == [4]


def test_latency_2026_output_json_has_std_latency() -> None:
    # json.dump({"avg_latency", "std_latency", "latencies", "percentiles"}, f, indent=4)
    text = """{
    "avg_latency": 1.0125,
    "std_latency": 0.0025,
    "latencies": [
        1.01,
        1.015
    ],
    "percentiles": {
        "10": 1.01,
        "25": 1.011,
        "50": 1.0125,
        "75": 1.014,
        "90": 1.015,
        "99": 1.02
    }
}"""
    result = parse_lines(text.split("\n"))
    assert (result["status"], result["runs"][0]["format"]) == ("ok", "latency-json")
    assert result["metrics"] == pytest.approx(LATENCY_2026_METRICS)


# --- a whole `vllm bench serve` log of 2026 (vllm/benchmarks/serve.py at 009e6d4a1) ----------

SERVE_2026_LOG = [
    "Namespace(subparser='bench', bench_type='serve', seed=0, num_prompts=100, dataset_name='random', "
    "request_rate=4.0, max_concurrency=16, percentile_metrics=None, metric_percentiles='50,99')",
    "WARNING: vllm bench serve no longer sets temperature==0 (greedy) in requests by default. The default "
    "will be determined on the server side and can be model/API specific. For the old behavior, include "
    "--temperature=0.",
    "Starting initial single prompt test run...",
    "Skipping endpoint ready check.",
    "Warming up with 4 requests...",
    "\r  0%|          | 0/4 [00:00<?, ?it/s]\r100%|██████████| 4/4 [00:00<00:00, 11.20it/s]",
    "Warmup run completed.",
    "Starting main benchmark run...",
    "Traffic request rate: 4.0",
    "Burstiness factor: 1.0 (Poisson process)",
    "Maximum request concurrency: 16",
    "  0%|          | 0/100 [00:00<?, ?it/s]\r 50%|█████     | 50/100 [00:12<00:12,  4.01it/s]\r"
    "100%|██████████| 100/100 [00:25<00:00,  3.99it/s]",
    # calculate_metrics(): failed requests are listed before the table; an error
    # text is often a whole traceback.
    "Failed requests during benchmark run detected (capping to 10):",
    "Error 0: Traceback (most recent call last):",
    '  File "/usr/local/lib/python3.12/dist-packages/vllm/benchmarks/lib/endpoint_request_func.py", line 220, '
    "in async_request_openai_completions",
    "    async with session.post(url=api_url, json=payload, headers=headers) as response:",
    "aiohttp.client_exceptions.ServerDisconnectedError: Server disconnected",
    "",
    "Error 1: Bad Request",
    "tip: install termplotlib and gnuplot to plot the metrics",
    title(" Serving Benchmark Result ", "="),
    row("Successful requests:", 98),
    row("Failed requests:", 2),
    row("Maximum request concurrency:", 16),
    row("Request rate configured (RPS):", "4.00"),
    row("Benchmark duration (s):", "25.06"),
    row("Total input tokens:", 100352),
    row("Total generated tokens:", 12544),
    row("Request throughput (req/s):", "3.91"),
    row("Output token throughput (tok/s):", "500.56"),
    row("Peak output token throughput (tok/s):", "640.00"),
    row("Peak concurrent requests:", "16.00"),
    row("Total token throughput (tok/s):", "4505.03"),
    title("Time to First Token", "-"),
    row("Mean TTFT (ms):", "45.12"),
    row("Median TTFT (ms):", "41.80"),
    row("P50 TTFT (ms):", "41.80"),
    row("P99 TTFT (ms):", "120.33"),
    title("Time per Output Token (excl. 1st token)", "-"),
    row("Mean TPOT (ms):", "12.04"),
    row("Median TPOT (ms):", "11.97"),
    row("P50 TPOT (ms):", "11.97"),
    row("P99 TPOT (ms):", "14.10"),
    title("Inter-token Latency", "-"),
    row("Mean ITL (ms):", "12.01"),
    row("Median ITL (ms):", "11.50"),
    row("P50 ITL (ms):", "11.50"),
    row("P99 ITL (ms):", "30.25"),
    title("Client-side Queueing", "-"),
    row("Mean Client Queue Time (ms):", "3.50"),
    row("Median Client Queue Time (ms):", "0.00"),
    row("P50 Client Queue Time (ms):", "0.00"),
    row("P99 Client Queue Time (ms):", "80.00"),
    title("Queue-inclusive End-to-end Latency", "-"),
    row("Mean E2EL incl. Client Queue (ms):", "1580.40"),
    row("Median E2EL incl. Client Queue (ms):", "1570.00"),
    row("P50 E2EL incl. Client Queue (ms):", "1570.00"),
    row("P99 E2EL incl. Client Queue (ms):", "1700.90"),
    title("Speculative Decoding", "-"),
    row("Acceptance rate (%):", "62.50"),
    row("Acceptance length:", "2.88"),
    row("Drafts:", 4000),
    row("Draft tokens:", 12000),
    row("Accepted tokens:", 7500),
    "Per-position acceptance (%):",
    row("  Position 0:", "80.00"),
    row("  Position 1:", "62.50"),
    row("  Position 2:", "45.00"),
    "=" * 50,
]
SERVE_2026_METRICS = {
    "completed": 98,
    "failed": 2,
    "max_concurrency": 16,
    "request_rate": 4.0,
    "duration": 25.06,
    "total_input_tokens": 100352,
    "total_output_tokens": 12544,
    "request_throughput": 3.91,
    "output_throughput": 500.56,
    "max_output_tokens_per_s": 640.0,
    "max_concurrent_requests": 16,
    "total_token_throughput": 4505.03,
    "mean_ttft_ms": 45.12,
    "median_ttft_ms": 41.8,
    "p50_ttft_ms": 41.8,
    "p99_ttft_ms": 120.33,
    "mean_tpot_ms": 12.04,
    "median_tpot_ms": 11.97,
    "p50_tpot_ms": 11.97,
    "p99_tpot_ms": 14.1,
    "mean_itl_ms": 12.01,
    "median_itl_ms": 11.5,
    "p50_itl_ms": 11.5,
    "p99_itl_ms": 30.25,
    "mean_client_queue_time_ms": 3.5,
    "median_client_queue_time_ms": 0.0,
    "p50_client_queue_time_ms": 0.0,
    "p99_client_queue_time_ms": 80.0,
    "mean_e2el_including_client_queue_ms": 1580.4,
    "median_e2el_including_client_queue_ms": 1570.0,
    "p50_e2el_including_client_queue_ms": 1570.0,
    "p99_e2el_including_client_queue_ms": 1700.9,
    "spec_decode_acceptance_rate": 62.5,
    "spec_decode_acceptance_length": 2.88,
    "spec_decode_num_drafts": 4000,
    "spec_decode_draft_tokens": 12000,
    "spec_decode_accepted_tokens": 7500,
}


def test_a_whole_2026_serve_log_with_failed_request_tracebacks() -> None:
    result = parse_lines(SERVE_2026_LOG)
    assert (result["benchmark_type"], result["status"], result["failure"]) == ("serving", "ok", None)
    assert result["metrics"] == pytest.approx(SERVE_2026_METRICS)
    assert [(run["format"], run["line"]) for run in result["runs"]] == [("serving-table", 21)]


# --- what log collectors and editors do to the same output -----------------------------------------


def test_time_stamped_traceback_is_still_followed_to_its_exception() -> None:
    # A failed `vllm bench serve` in a CI log: the server is not there.
    lines = [
        "$ vllm bench serve --model meta-llama/Llama-3.1-8B-Instruct --num-prompts 10",
        "Starting initial single prompt test run...",
        "Traceback (most recent call last):",
        '  File "/usr/local/lib/python3.12/dist-packages/vllm/benchmarks/serve.py", line 812, in benchmark',
        "    test_output = await request_func(request_func_input=test_input, session=session)",
        '  File "/usr/local/lib/python3.12/dist-packages/aiohttp/connector.py", line 1268, in _wrap_create_connection',
        "    raise client_error(req.connection_key, exc) from exc",
        "aiohttp.client_exceptions.ClientConnectorError: Cannot connect to host 127.0.0.1:8000 ssl:default "
        "[Connect call failed ('127.0.0.1', 8000)]",
    ]
    stamped = [f"2025-05-30T20:38:{index:02d}.0000000Z {line}" for index, line in enumerate(lines)]
    result = parse_lines(stamped)
    assert (result["benchmark_type"], result["status"]) == ("serving", "failed")
    assert result["failure"] == {"category": "server_crash", "evidence": lines[-1]}


def test_buildkite_time_stamp_escapes() -> None:
    # A raw Buildkite log (vLLM's own CI) starts lines with "\x1b_bk;t=<ms>\x07".
    throughput = [
        "Throughput: 41.65 requests/s, 19324.48 total tokens/s, 9512.95 output tokens/s",
        "Total num prompt tokens:  225154",
        "Total num output tokens:  228393",
    ]
    lines = [f"\x1b_bk;t=17181234{index:05d}\x07{line}" for index, line in enumerate(throughput)]
    result = parse_lines(lines)
    assert (result["benchmark_type"], result["status"]) == ("throughput", "ok")
    assert result["metrics"] == pytest.approx(
        {
            "requests_per_second": 41.65,
            "tokens_per_second": 19324.48,
            "output_tokens_per_second": 9512.95,
            "total_num_prompt_tokens": 225154,
            "total_num_output_tokens": 228393,
        }
    )


def test_powershell_utf16_log(tmp_path: Path) -> None:
    # `python benchmarks/benchmark_throughput.py ... | Tee-Object run.log` on Windows
    # PowerShell 5 writes UTF-16LE with a byte-order mark and CRLF line ends.
    # Format of benchmark_throughput.py 2023-06-04 .. 2024-10-22 (8274ca23a).
    text = "Namespace(backend='vllm', dataset=None, input_len=128, output_len=128, num_prompts=1000)\r\n"
    text += "Processed prompts: 100%|##########| 1000/1000 [00:21<00:00, 46.9it/s]\r\n"
    text += "Throughput: 46.90 requests/s, 12006.40 tokens/s\r\n"
    result = parse_bytes(tmp_path, codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    assert (result["benchmark_type"], result["status"]) == ("throughput", "ok")
    assert result["metrics"] == {"requests_per_second": 46.9, "tokens_per_second": 12006.4}
    assert result["runs"][0]["line"] == 3


def test_serving_json_saved_with_a_byte_order_mark(tmp_path: Path) -> None:
    # benchmark_serving.py --save-result of 2024-10 (855e0e6f9: "request_goodput:"),
    # re-saved by a Windows editor: UTF-8 with a BOM, CRLF.
    text = (
        '{"date": "20241101-120000", "backend": "vllm", "model_id": "m", "num_prompts": 10, '
        '"request_rate": "inf", "burstiness": 1.0, "max_concurrency": null, "duration": 4.5, '
        '"completed": 10, "total_input_tokens": 1000, "total_output_tokens": 900, '
        '"request_throughput": 2.2222, "request_goodput:": null, "output_throughput": 200.0, '
        '"total_token_throughput": 422.22, "mean_ttft_ms": 30.5, "median_ttft_ms": 29.0, '
        '"std_ttft_ms": 2.5, "p99_ttft_ms": 40.0}\r\n'
    )
    result = parse_bytes(tmp_path, codecs.BOM_UTF8 + text.encode(), "result.json")
    assert (result["benchmark_type"], result["status"]) == ("serving", "ok")
    assert result["metrics"] == {
        "duration": 4.5,
        "completed": 10,
        "total_input_tokens": 1000,
        "total_output_tokens": 900,
        "request_throughput": 2.2222,
        "output_throughput": 200.0,
        "total_token_throughput": 422.22,
        "mean_ttft_ms": 30.5,
        "median_ttft_ms": 29.0,
        "std_ttft_ms": 2.5,
        "p99_ttft_ms": 40.0,
    }


def test_json_cat_into_a_log_keeps_its_byte_order_mark() -> None:
    # `cat latency.json` after the run: the BOM lands at the start of a line mid-log.
    # benchmark_latency.py --output-json of 2024-05 (f09edd8a2): indent 4, no "99" yet.
    lines = [
        "$ cat latency.json",
        "\ufeff{",
        '    "avg_latency": 2.0,',
        '    "latencies": [',
        "        1.5,",
        "        2.5",
        "    ],",
        '    "percentiles": {',
        '        "10": 1.6,',
        '        "25": 1.75,',
        '        "50": 2.0,',
        '        "75": 2.25,',
        '        "90": 2.4',
        "    }",
        "}",
    ]
    result = parse_lines(lines)
    assert (result["status"], result["runs"][0]["line"]) == ("ok", 2)
    assert result["metrics"] == pytest.approx(
        {
            "latency_avg_ms": 2000.0,
            "latency_p10_ms": 1600.0,
            "latency_p25_ms": 1750.0,
            "latency_p50_ms": 2000.0,
            "latency_p75_ms": 2250.0,
            "latency_p90_ms": 2400.0,
        }
    )


def test_pretty_printed_serving_json_with_nan_infinity_and_null() -> None:
    # A --save-result file passed through `python -m json.tool --indent 2`: vLLM's
    # json.dump writes NaN/Infinity as bare words (allow_nan defaults to True).
    text = """{
  "date": "20250301-101010",
  "request_rate": "inf",
  "burstiness": Infinity,
  "max_concurrency": null,
  "duration": 10.0,
  "completed": 0,
  "total_input_tokens": 0,
  "total_output_tokens": 0,
  "request_throughput": 0.0,
  "request_goodput:": null,
  "output_throughput": 0.0,
  "total_token_throughput": 0.0,
  "errors": [
    "Traceback (most recent call last):\\n  ...",
    "Bad Request"
  ],
  "mean_ttft_ms": NaN,
  "median_ttft_ms": NaN,
  "std_ttft_ms": NaN,
  "p99_ttft_ms": -Infinity
}"""
    result = parse_lines(text.split("\n"))
    assert (result["status"], result["runs"][0]["format"]) == ("ok", "serving-json")
    assert result["metrics"] == {
        "duration": 10.0,
        "completed": 0,
        "total_input_tokens": 0,
        "total_output_tokens": 0,
        "request_throughput": 0.0,
        "output_throughput": 0.0,
        "total_token_throughput": 0.0,
    }
    assert result["failure"] == {"category": "requests_failed", "evidence": '"completed": 0'}


def test_append_result_after_a_run_killed_while_writing() -> None:
    # --append-result (2025-04, #17028) writes "\n" + json.dump(...) per run. A run
    # killed mid-write leaves a cut line; the next run's object must not be swallowed.
    cut = '{"date": "20250501-000000", "duration": 30.0, "completed": 100, "total_input_tokens": 51'
    whole = (
        '{"date": "20250501-001000", "duration": 31.0, "completed": 100, "failed": 0, '
        '"request_throughput": 3.23, "mean_ttft_ms": 25.0, "p99_ttft_ms": 80.5}'
    )
    result = parse_lines([cut, whole])
    assert [(run["status"], run["line"]) for run in result["runs"]] == [("incomplete", 1), ("ok", 2)]
    assert result["metrics"] == {
        "duration": 31.0,
        "completed": 100,
        "failed": 0,
        "request_throughput": 3.23,
        "mean_ttft_ms": 25.0,
        "p99_ttft_ms": 80.5,
    }


def test_save_detailed_result_larger_than_the_line_cap(tmp_path: Path) -> None:
    # benchmark_serving.py before 2025-03 (and --save-detailed since) saves per-request
    # arrays before the summary keys; `itls` has one number per token, so a large run's
    # single line passes any fixed cap. Here about 40 MB.
    itls = "[" + ", ".join(["0.012345678901234567"] * 1000) + "]"
    head = '{"duration": 600.5, "completed": 1800, "total_input_tokens": 900000, "itls": ['
    tail = '], "generated_texts": ["x \\"[y]\\""], "mean_ttft_ms": 55.5, "p99_itl_ms": 90.25}\n'
    path = tmp_path / "detailed.json"
    with open(path, "w") as out:
        out.write(head)
        out.write(", ".join([itls] * 1800))
        out.write(tail)
    assert path.stat().st_size > 36 * 1024 * 1024
    result = parse_file(path)
    assert result["status"] == "ok"
    assert result["metrics"] == {
        "duration": 600.5,
        "completed": 1800,
        "total_input_tokens": 900000,
        "mean_ttft_ms": 55.5,
        "p99_itl_ms": 90.25,
    }


@pytest.mark.parametrize(
    ("path", "category"),
    [
        ("/usr/local/lib/python3.12/dist-packages/vllm/v1/engine/core.py", "server_crash"),
        ("/usr/local/lib/python3.12/dist-packages/vllm/benchmarks/serve.py", "benchmark_crash"),
    ],
)
def test_time_stamps_keep_the_frames_that_tell_a_tracebacks_origin(path: str, category: str) -> None:
    lines = [
        "Traceback (most recent call last):",
        f'  File "{path}", line 10, in run',
        "    raise ValueError('boom')",
        "ValueError: boom",
    ]
    result = parse_lines([f"2025-05-30 20:38:1{index},000 {line}" for index, line in enumerate(lines)])
    assert result["failure"] == {"category": category, "evidence": "ValueError: boom"}


# --- log collectors: each puts its own prefix before every line -------------------------

COLLECTOR_PREFIXES = {
    # GitHub Actions' raw log ("...1234567Z ", 7 fraction digits); docker logs -t and
    # kubectl logs --timestamps (RFC 3339 with nanoseconds).
    "github actions, docker logs -t": lambda index: (
        "2025-05-30T20:38:10.1234567Z ",
        "2025-05-30T20:38:10.123456789+00:00 ",
    )[index % 2],
    # docker compose logs (v2 "service-1", v1 "service_1"), padded to the longest name.
    "docker compose": lambda index: ("vllm-bench-1  | ", "bench_1       | ")[index % 2],
    # docker compose logs -t: the service, then the time stamp.
    "docker compose -t": lambda index: f"bench-1  | 2025-05-30T20:38:{index % 60:02d}.123456789Z ",
    # kubectl logs --prefix, and with --timestamps too.
    "kubectl --prefix": lambda index: "[pod/bench-7f9c/bench] ",
    "kubectl --prefix --timestamps": lambda index: f"[pod/bench-7f9c/bench] 2025-05-30T20:38:{index % 60:02d}.1Z ",
    # Jenkins' timestamper plugin: ISO in brackets, or the time of day.
    "jenkins timestamper": lambda index: ("[2025-05-30T20:38:10.123Z] ", "[20:38:10] ")[index % 2],
    # A container runtime's node log (/var/log/pods/...): time, stream, full or partial line.
    "CRI node log": lambda index: f"2025-05-30T20:38:{index % 60:02d}.123456789Z {('stdout', 'stderr')[index % 2]} F ",
    # A wrapper re-logging the benchmark with Python's logging (with and without a logger name).
    "python logging": lambda index: ("2025-05-30 20:38:10,123 - INFO - ", "2025-05-30 20:38:10,123 - bench - INFO - ")[
        index % 2
    ],
}


@pytest.mark.parametrize("collector", sorted(COLLECTOR_PREFIXES))
def test_log_collector_prefixes_before_every_line(collector: str) -> None:
    prefix = COLLECTOR_PREFIXES[collector]
    result = parse_lines([prefix(index) + line for index, line in enumerate(SERVE_2026_LOG)])
    assert (result["benchmark_type"], result["status"], result["failure"]) == ("serving", "ok", None)
    assert result["metrics"] == pytest.approx(SERVE_2026_METRICS)


def test_a_traceback_under_docker_compose_is_followed_to_its_exception() -> None:
    lines = [
        "Traceback (most recent call last):",
        '  File "/usr/local/lib/python3.12/dist-packages/vllm/v1/engine/core.py", line 10, in run',
        "    raise RuntimeError('CUDA error: an illegal memory access was encountered')",
        "RuntimeError: CUDA error: an illegal memory access was encountered",
    ]
    result = parse_lines([f"vllm-1  | {line}" for line in lines])
    assert result["failure"] == {
        "category": "server_crash",
        "evidence": "RuntimeError: CUDA error: an illegal memory access was encountered",
    }


def test_lines_that_only_look_like_collector_prefixes_are_kept() -> None:
    # torch's "[rank0]:" and the runner's own annotations start with "[" too; a
    # tqdm bar has "| " in it. None of them is a prefix to remove.
    lines = [
        "[patchbench] --- benchmark output ---",
        "Processed prompts: 100%|██████████| 1000/1000 [00:21<00:00, 46.9it/s]",
        "[rank0]: Traceback (most recent call last):",
        '[rank0]:   File "/usr/local/lib/python3.12/dist-packages/vllm/benchmarks/throughput.py", line 9, in main',
        "[rank0]: ValueError: max_model_len is too small",
    ]
    result = parse_lines(lines)
    assert result["failure"] == {
        "category": "benchmark_crash",
        "evidence": "[rank0]: ValueError: max_model_len is too small",
    }


# --- before 2025-10 vLLM printed no failed count (#26478): the requests that did not complete ----


# benchmark_serving.py of 2024-09 (v0.6.x): print(args) first, then the table without
# "Failed requests". vllm#11167: --num-prompts 100 gave "Successful requests: 97".
def serving_2024_log(num_prompts: int, successful: int) -> list[str]:
    return [
        f"Namespace(backend='vllm', base_url=None, host='localhost', port=8000, endpoint='/v1/completions', "
        f"dataset_name='sharegpt', model='meta-llama/Llama-2-7b-hf', num_prompts={num_prompts}, request_rate=inf, "
        "seed=0, save_result=False)",
        "Starting initial single prompt test run...",
        "Initial test run completed. Starting main benchmark run...",
        "Traffic request rate: inf",
        f"100%|██████████| {num_prompts}/{num_prompts} [00:12<00:00, 80.00it/s]",
        title(" Serving Benchmark Result ", "="),
        row("Successful requests:", successful),
        row("Benchmark duration (s):", "12.50"),
        row("Total input tokens:", 7400),
        row("Total generated tokens:", 4736),
        row("Request throughput (req/s):", "2.96"),
        row("Output token throughput (tok/s):", "378.88"),
        title("Time to First Token", "-"),
        row("Mean TTFT (ms):", "40.10"),
        row("Median TTFT (ms):", "38.00"),
        row("P99 TTFT (ms):", "90.00"),
        "=" * 50,
    ]


def test_most_requests_missing_from_a_2024_table_is_requests_failed() -> None:
    result = parse_lines(serving_2024_log(num_prompts=1000, successful=37))
    assert (result["status"], result["metrics"]["completed"]) == ("ok", 37)
    assert result["failure"] == {
        "category": "requests_failed",
        "evidence": row("Successful requests:", 37).strip()
        + "\nnum_prompts=1000: 963 requests did not complete (this vLLM version prints no failed count)",
    }
    assert "num_prompts" not in result["metrics"]  # a setting, not a measurement


def test_a_few_requests_missing_from_a_2024_table_is_no_failure() -> None:
    # vllm#11167's 97 of 100: the result stands (failed <= completed, as with "Failed requests").
    result = parse_lines(serving_2024_log(num_prompts=100, successful=97))
    assert (result["status"], result["failure"]) == ("ok", None)


def test_the_namespace_of_one_run_does_not_judge_the_next() -> None:
    # Two invocations in one log; the second printed no Namespace (cut from the paste).
    lines = serving_2024_log(num_prompts=100, successful=97) + serving_2024_log(num_prompts=1000, successful=37)[1:]
    result = parse_lines(lines)
    assert [run["status"] for run in result["runs"]] == ["ok", "ok"]
    assert (result["metrics"]["completed"], result["failure"]) == (37, None)


def test_most_requests_missing_from_a_2024_result_file_is_requests_failed() -> None:
    # --save-result of 2024-10: "errors" has one entry per request, "" for those that completed.
    errors = ["Bad Request"] * 963 + [""] * 37
    result = parse_lines([serving_json(num_prompts=1000, completed=37, errors=errors)])
    assert result["failure"] == {
        "category": "requests_failed",
        "evidence": '"completed": 37\nnum_prompts=1000: 963 requests did not complete '
        "(this vLLM version prints no failed count)",
    }


def test_a_failed_count_in_the_result_wins_over_num_prompts() -> None:
    # 2025-10+: "failed" is there; num_prompts then says nothing more.
    result = parse_lines([serving_json(num_prompts=1000, completed=300, failed=0)])
    assert (result["status"], result["failure"]) == ("ok", None)
