"""Every real output in ../shared/fixtures/vllm-outputs, with values read off the files by hand.

Each file starts with a "# source:" comment line that is not vLLM output, so
result blocks start on line 2 or later. Values converted from seconds are
compared approximately (×1000 in floating point); everything else exactly.
"""

from __future__ import annotations

import json

import pytest

from patchbench.parsing import parse_file
from tests.parsing.builders import FIXTURES

SERVING_JSON_2025_05 = {
    "request_rate": 10.0,
    "duration": 36.034275877000255,
    "completed": 300,
    "total_input_tokens": 299700,
    "total_output_tokens": 81050,
    "request_throughput": 8.325406649602808,
    "output_throughput": 2249.247363167692,
    "total_token_throughput": 10566.328606120898,
    "mean_ttft_ms": 54.577085783294024,
    "median_ttft_ms": 52.999333499883505,
    "std_ttft_ms": 9.27197373989555,
    "p99_ttft_ms": 89.76647855975897,
    "mean_tpot_ms": 13.577995860227945,
    "median_tpot_ms": 13.512526767533997,
    "std_tpot_ms": 0.9199628548912276,
    "p99_tpot_ms": 17.652194109258673,
    "mean_itl_ms": 13.505887271504633,
    "median_itl_ms": 12.841573499827064,
    "std_itl_ms": 3.839438281316489,
    "p99_itl_ms": 34.210415409961556,
}

# file -> (benchmark_type, format, first line of the result, metrics)
EXPECTED: dict[str, tuple[str, str, int, dict[str, float | int]]] = {
    # "request_goodput:" and max_concurrency are null, request_rate a number.
    "json__nerdalert-vllm-bench-automation_2025-05_serving-result.json": (
        "serving",
        "serving-json",
        2,
        SERVING_JSON_2025_05,
    ),
    "latency__rocm-mi325x-doc_vllm-bench-latency.txt": (
        "latency",
        "latency-text",
        2,
        {
            "latency_avg_ms": 1475.279240796808,
            "latency_p10_ms": 1470.4144389019347,
            "latency_p25_ms": 1471.1670397227863,
            "latency_p50_ms": 1472.6597834960558,
            "latency_p75_ms": 1475.5478004954057,
            "latency_p90_ms": 1480.5126614111943,
            "latency_p99_ms": 1506.2954947334948,
        },
    ),
    "serving__issue12845.txt": (
        "serving",
        "serving-table",
        2,
        {
            "completed": 772,
            "duration": 329.83,
            "total_input_tokens": 130743,
            "total_output_tokens": 174589,
            "request_throughput": 2.34,
            "output_throughput": 529.33,
            "total_token_throughput": 925.72,
            "mean_ttft_ms": 249.49,
            "median_ttft_ms": 201.98,
            "p99_ttft_ms": 953.35,
            "mean_tpot_ms": 108.19,
            "median_tpot_ms": 108.15,
            "p99_tpot_ms": 169.89,
            "mean_itl_ms": 105.85,
            "median_itl_ms": 80.62,
            "p99_itl_ms": 340.52,
        },
    ),
    # 2023 S0: Namespace on line 2, a tokenizer warning on line 3, "Total time" on line 4.
    "serving__issue359.txt": (
        "serving",
        "serving-s0",
        4,
        {
            "duration": 166.88,
            "request_throughput": 5.99,
            "mean_e2el_ms": 67590.0,
            "mean_latency_per_token_ms": 210.0,
            "mean_latency_per_output_token_ms": 1100.0,
        },
    ),
    # Pre-run lines 2-8 (Namespace, test run, "Traffic request rate: 10.0", a
    # bar); the title is on line 9. "Maximum request concurrency: None" is unset.
    "serving__nerdalert-vllm-bench-automation_2025-05_log.txt": (
        "serving",
        "serving-table",
        9,
        {
            "request_rate": 10.0,
            "completed": 300,
            "duration": 36.03,
            "total_input_tokens": 299700,
            "total_output_tokens": 81050,
            "request_throughput": 8.33,
            "output_throughput": 2249.25,
            "total_token_throughput": 10566.33,
            "mean_ttft_ms": 54.58,
            "median_ttft_ms": 53.00,
            "p99_ttft_ms": 89.77,
            "mean_tpot_ms": 13.58,
            "median_tpot_ms": 13.51,
            "p99_tpot_ms": 17.65,
            "mean_itl_ms": 13.51,
            "median_itl_ms": 12.84,
            "p99_itl_ms": 34.21,
        },
    ),
    # Trailing spaces after every value; "Input token throughput" (before 2024-09).
    "serving__pr5895.txt": (
        "serving",
        "serving-table",
        2,
        {
            "completed": 1000,
            "duration": 339.37,
            "total_input_tokens": 217393,
            "total_output_tokens": 81299,
            "request_throughput": 2.95,
            "input_throughput": 640.58,
            "output_throughput": 239.56,
            "mean_ttft_ms": 26.56,
            "median_ttft_ms": 0.00,
            "p99_ttft_ms": 132.56,
            "mean_tpot_ms": 31.55,
            "median_tpot_ms": 28.21,
            "p99_tpot_ms": 53.48,
            "mean_itl_ms": 28.19,
            "median_itl_ms": 24.31,
            "p99_itl_ms": 127.23,
        },
    ),
    # 2026: "tip:" on line 2; Failed requests, concurrency, configured rate, Peak rows, lower-case "token".
    "serving__vllm-bench_failed10_2026.txt": (
        "serving",
        "serving-table",
        3,
        {
            "completed": 990,
            "failed": 10,
            "max_concurrency": 32,
            "request_rate": 5.00,
            "duration": 2381.82,
            "total_input_tokens": 15840000,
            "total_output_tokens": 599270,
            "request_throughput": 0.42,
            "output_throughput": 251.60,
            "max_output_tokens_per_s": 4997.00,
            "max_concurrent_requests": 40,
            "total_token_throughput": 6901.98,
            "mean_ttft_ms": 1531.03,
            "median_ttft_ms": 1137.29,
            "p99_ttft_ms": 5428.01,
            "mean_tpot_ms": 146.73,
            "median_tpot_ms": 140.85,
            "p99_tpot_ms": 314.75,
            "mean_itl_ms": 70.38,
            "median_itl_ms": 57.02,
            "p99_itl_ms": 808.69,
        },
    ),
    "serving__wang-junjian-blog_v0.8.4_e2el.txt": (
        "serving",
        "serving-table",
        2,
        {
            "completed": 100,
            "duration": 76.26,
            "total_input_tokens": 21566,
            "total_output_tokens": 25066,
            "request_throughput": 1.31,
            "output_throughput": 328.68,
            "total_token_throughput": 611.47,
            "mean_ttft_ms": 7983.40,
            "median_ttft_ms": 6505.51,
            "p99_ttft_ms": 9691.74,
            "mean_tpot_ms": 139.22,
            "median_tpot_ms": 90.44,
            "p99_tpot_ms": 746.98,
            "mean_itl_ms": 85.67,
            "median_itl_ms": 79.00,
            "p99_itl_ms": 117.60,
            "mean_e2el_ms": 29372.42,
            "median_e2el_ms": 24721.81,
            "p99_e2el_ms": 65431.56,
        },
    ),
    "throughput__pr8914_after.txt": (
        "throughput",
        "throughput-text",
        2,
        {"requests_per_second": 89.27, "tokens_per_second": 22853.37, "output_tokens_per_second": 11426.69},
    ),
    # Before 2024-10 "tokens/s" already meant total tokens.
    "throughput__pr8914_before.txt": (
        "throughput",
        "throughput-text",
        2,
        {"requests_per_second": 81.74, "tokens_per_second": 20926.37},
    ),
}


def test_every_fixture_has_an_expectation() -> None:
    assert sorted(path.name for path in FIXTURES.iterdir()) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture(name: str) -> None:
    benchmark_type, format_name, line, metrics = EXPECTED[name]
    result = parse_file(FIXTURES / name)

    assert result["benchmark_type"] == benchmark_type
    assert result["status"] == "ok"
    assert result["failure"] is None
    assert result["metrics"] == pytest.approx(metrics, rel=1e-12)
    assert set(result["metrics"]) == set(metrics)
    assert result["runs"] == [
        {
            "benchmark_type": benchmark_type,
            "status": "ok",
            "format": format_name,
            "line": line,
            "metrics": result["metrics"],
        }
    ]
    json.dumps(result, allow_nan=False)


def test_counts_are_integers() -> None:
    metrics = parse_file(FIXTURES / "serving__vllm-bench_failed10_2026.txt")["metrics"]
    assert [type(metrics[key]) for key in ("completed", "failed", "max_concurrent_requests")] == [int, int, int]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_with_the_type_given(name: str) -> None:
    benchmark_type = EXPECTED[name][0]
    assert parse_file(FIXTURES / name, benchmark_type)["status"] == "ok"
    other = next(kind for kind in ("serving", "latency", "throughput") if kind != benchmark_type)
    mismatched = parse_file(FIXTURES / name, other)
    assert (mismatched["benchmark_type"], mismatched["status"], mismatched["metrics"]) == (other, "failed", {})
    assert len(mismatched["runs"]) == 1
