"""Every output format of the research report, built as vLLM prints it, with the text around it."""

from __future__ import annotations

import json

import pytest

from patchbench.parsing import parse_lines
from tests.parsing.builders import (
    ITL,
    LATENCIES_2024_06,
    SUMMARY_2024_06,
    SUMMARY_2024_06_METRICS,
    TPOT,
    TTFT,
    latency_2024,
    row,
    server_log,
    serving_json,
    serving_s0,
    serving_s1,
    stat_rows,
    table,
    table_2024_06,
    title,
)

FULL_2024_06 = {**SUMMARY_2024_06_METRICS, **LATENCIES_2024_06}


def only_run(lines: list[str], benchmark_type: str | None = None) -> dict:
    result = parse_lines(lines, benchmark_type)
    assert len(result["runs"]) == 1, result["runs"]
    json.dumps(result, allow_nan=False)
    return result["runs"][0]


# --- serving stdout ----------------------------------------------------------


def test_serving_s0_2023() -> None:
    run = only_run(serving_s0())
    assert run["format"] == "serving-s0" and run["status"] == "ok" and run["line"] == 2
    assert run["metrics"] == pytest.approx(
        {
            "duration": 166.88,
            "request_throughput": 5.99,
            "mean_e2el_ms": 67590.0,
            "mean_latency_per_token_ms": 210.0,
            "mean_latency_per_output_token_ms": 1100.0,
        }
    )


def test_serving_s0_cut_short_is_incomplete() -> None:
    assert only_run(serving_s0()[:4])["status"] == "incomplete"


def test_serving_s1_2024_02() -> None:
    run = only_run(serving_s1())
    assert (run["format"], run["status"], run["line"]) == ("serving-s1", "ok", 3)
    assert run["metrics"] == {
        "completed": 1000,
        "duration": 12.345678,
        "total_input_tokens": 217393,
        "total_output_tokens": 81299,
        "request_throughput": 81.0,
        "input_throughput": 17609.8,
        "output_throughput": 6585.43,
        "mean_ttft_ms": 26.56,
        "median_ttft_ms": 20.0,
        "p99_ttft_ms": 132.56,
        "mean_tpot_ms": 31.55,
        "median_tpot_ms": 28.21,
        "p99_tpot_ms": 53.48,
    }


def test_serving_s1_without_its_last_lines_is_incomplete() -> None:
    assert only_run(serving_s1()[:-2])["status"] == "incomplete"


def test_serving_table_2024_03_first_form() -> None:
    lines = table((None, [(label, value) for label, value in SUMMARY_2024_06[:7]]), TTFT)
    run = only_run(lines)
    assert (run["format"], run["status"], run["line"]) == ("serving-table", "ok", 1)
    assert run["metrics"] == {
        **SUMMARY_2024_06_METRICS,
        "mean_ttft_ms": 26.56,
        "median_ttft_ms": 20.0,
        "p99_ttft_ms": 132.56,
    }


def test_serving_table_with_pre_run_lines_2024_to_2025() -> None:
    lines = [
        "Starting initial single prompt test run...",
        "Initial test run completed. Starting main benchmark run...",
        "Traffic request rate: 4.0 RPS.",
        "Burstiness factor: 1.0 (Poisson process)",
        "Maximum request concurrency: 16",
        *table_2024_06(),
        "Stopping profiler...",
        "Profiler stopped",
    ]
    run = only_run(lines)
    assert run["line"] == 6
    assert run["metrics"] == {**FULL_2024_06, "request_rate": 4.0, "max_concurrency": 16}


def test_infinite_request_rate_is_left_out() -> None:
    run = only_run(["Traffic request rate: inf", "Maximum request concurrency: None", *table_2024_06()])
    assert run["metrics"] == FULL_2024_06


def test_serving_2024_08_custom_percentiles_and_e2el() -> None:
    e2el = ("End-to-end Latency", stat_rows("E2EL", "900.00", "850.50", {"25": "700.10", "99.9": "2000.00"}))
    ttft = ("Time to First Token", stat_rows("TTFT", "26.56", "20.00", {"25": "10.00", "99.9": "300.25"}))
    run = only_run(table((None, SUMMARY_2024_06), ttft, e2el))
    assert run["status"] == "ok"
    assert {key: run["metrics"][key] for key in ("p25_ttft_ms", "p99.9_ttft_ms", "mean_e2el_ms", "p99.9_e2el_ms")} == {
        "p25_ttft_ms": 10.0,
        "p99.9_ttft_ms": 300.25,
        "mean_e2el_ms": 900.0,
        "p99.9_e2el_ms": 2000.0,
    }


@pytest.mark.parametrize("label", ["Total Token throughput (tok/s):", "Total token throughput (tok/s):"])
def test_total_token_throughput_both_spellings(label: str) -> None:
    rows = [("Successful requests:", 10), ("Benchmark duration (s):", "1.00"), (label, "123.45")]
    assert only_run(table((None, rows)))["metrics"]["total_token_throughput"] == 123.45


def test_serving_2026_table_with_every_newer_row_and_section() -> None:
    summary = [
        ("Successful requests:", 990),
        ("Failed requests:", 10),
        ("Maximum request concurrency:", 32),
        ("Request rate configured (RPS):", "5.00"),
        ("Benchmark duration (s):", "100.00"),
        ("Total input tokens:", 1000),
        ("Total generated tokens:", 2000),
        ("Request throughput (req/s):", "9.90"),
        ("Request goodput (req/s):", "8.50"),
        ("Output token throughput (tok/s):", "20.00"),
        ("Peak output token throughput (tok/s):", "4997.00"),
        ("Peak concurrent requests:", "40.00"),
        ("RTFx (Inverse Real-Time Factor):", "12.50"),
        ("Total token throughput (tok/s):", "30.00"),
        ("Some row of 2027 (units):", "1.00"),
    ]
    probe = [
        ("Probe requests completed:", 20),
        ("Probe requests failed:", 1),
        ("Median probe E2EL (ms):", "15.00"),
        ("P99 probe E2EL (ms):", "30.00"),
        ("Max probe E2EL (ms):", "31.00"),
    ]
    queue = stat_rows("Client Queue Time", "5.00", "4.00", {"99": "9.00"})
    queue_e2el = stat_rows("E2EL incl. Client Queue", "50.00", "40.00", {"99": "90.00"})
    spec = [
        ("Acceptance rate (%):", "51.47"),
        ("Acceptance length:", "2.54"),
        ("Drafts:", 20481),
        ("Draft tokens:", 61443),
        ("Accepted tokens:", 31626),
    ]
    lines = table(
        (None, summary),
        ("Probe Requests", probe),
        TTFT,
        ("Client-side Queueing", queue),
        ("Queue-inclusive End-to-end Latency", queue_e2el),
        ("Speculative Decoding", spec),
    )
    # The per-position block prints a bare heading and indented rows.
    lines[-1:-1] = ["Per-position acceptance (%):", row("  Position 0:", "73.59"), row("  Position 1:", "49.46")]
    run = only_run(lines)
    assert run["status"] == "ok"
    assert run["metrics"] == {
        "completed": 990,
        "failed": 10,
        "max_concurrency": 32,
        "request_rate": 5.0,
        "duration": 100.0,
        "total_input_tokens": 1000,
        "total_output_tokens": 2000,
        "request_throughput": 9.9,
        "request_goodput": 8.5,
        "output_throughput": 20.0,
        "max_output_tokens_per_s": 4997.0,
        "max_concurrent_requests": 40,
        "rtfx": 12.5,
        "total_token_throughput": 30.0,
        "probe_completed": 20,
        "probe_failed": 1,
        "probe_median_e2el_ms": 15.0,
        "probe_p99_e2el_ms": 30.0,
        "probe_max_e2el_ms": 31.0,
        "mean_ttft_ms": 26.56,
        "median_ttft_ms": 20.0,
        "p99_ttft_ms": 132.56,
        "mean_client_queue_time_ms": 5.0,
        "median_client_queue_time_ms": 4.0,
        "p99_client_queue_time_ms": 9.0,
        "mean_e2el_including_client_queue_ms": 50.0,
        "median_e2el_including_client_queue_ms": 40.0,
        "p99_e2el_including_client_queue_ms": 90.0,
        "spec_decode_acceptance_rate": 51.47,
        "spec_decode_acceptance_length": 2.54,
        "spec_decode_num_drafts": 20481,
        "spec_decode_draft_tokens": 61443,
        "spec_decode_accepted_tokens": 31626,
    }


def test_serving_2026_embedding_and_diffusion_rows() -> None:
    embed = [
        ("Successful requests:", 50),
        ("Failed requests:", 0),
        ("Benchmark duration (s):", "2.00"),
        ("Total input tokens:", 5000),
        ("Request throughput (req/s):", "25.00"),
        ("Input throughput (inputs/s):", "25.00"),
    ]
    diffusion = [
        ("Committed throughput (tok/s):", "100.00"),
        ("Denoising steps per canvas:", "4.00"),
        ("Committed per denoising step:", "8.00"),
        ("Committed tokens:", 800),
        ("Denoising steps:", 100),
        ("Canvas positions evaluated:", 3200),
    ]
    run = only_run(
        table(
            (None, embed),
            ("End-to-end Latency", stat_rows("E2EL", "80.00", "75.00", {})),
            ("Diffusion Decoding", diffusion),
        )
    )
    assert run["metrics"] == {
        "completed": 50,
        "failed": 0,
        "duration": 2.0,
        "total_input_tokens": 5000,
        "request_throughput": 25.0,
        "input_sequence_throughput": 25.0,
        "mean_e2el_ms": 80.0,
        "median_e2el_ms": 75.0,
        "diffusion_committed_throughput": 100.0,
        "diffusion_steps_per_canvas": 4.0,
        "diffusion_committed_per_step": 8.0,
        "diffusion_committed_tokens": 800,
        "diffusion_denoising_steps": 100,
        "diffusion_canvas_positions": 3200,
    }


def test_value_longer_than_its_column_runs_on() -> None:
    rows = [
        ("Successful requests:", 10),
        ("Benchmark duration (s):", "12345678901.25"),
        ("Total input tokens:", 123456789012345),
    ]
    assert only_run(table((None, rows)))["metrics"] == {
        "completed": 10,
        "duration": 12345678901.25,
        "total_input_tokens": 123456789012345,
    }


# --- latency and throughput stdout ----------------------------------------------


def test_latency_2023_average_only() -> None:
    lines = [
        "Namespace(model='facebook/opt-125m', batch_size=8, num_iters=3)",
        "SamplingParams(n=1)",
        "Warming up...",
        "Avg latency: 1.2345678901234 seconds",
    ]
    run = only_run(lines)
    assert (run["format"], run["status"], run["line"]) == ("latency-text", "ok", 4)
    assert run["metrics"] == pytest.approx({"latency_avg_ms": 1234.5678901234})


@pytest.mark.parametrize("percentiles", [(10, 25, 50, 75, 90), (10, 25, 50, 75, 90, 99)], ids=["2024-04", "2024-06"])
def test_latency_2024_percentiles(percentiles: tuple[int, ...]) -> None:
    run = only_run(latency_2024(1.5, percentiles))
    expected = {"latency_avg_ms": 1500.0, **{f"latency_p{p}_ms": 1500.0 + p for p in percentiles}}
    assert run["status"] == "ok" and run["metrics"] == pytest.approx(expected)


def test_latency_2025_12_bench_iterations_and_profiling_lines() -> None:
    lines = [
        "Bench iterations: 100%|██████████| 30/30 [00:45<00:00,  1.50s/it]",
        *latency_2024()[2:],
        "Profiling with torch profiler ...",
    ]
    assert only_run(lines)["status"] == "ok"


def test_latency_percentiles_cut_short_are_incomplete() -> None:
    assert only_run(latency_2024()[:5])["status"] == "incomplete"


@pytest.mark.parametrize(
    ("line", "metrics"),
    [
        ("Throughput: 2300.50 tokens/s", {"tokens_per_second": 2300.5}),
        ("Throughput: 9.00 requests/s, 2300.50 tokens/s", {"requests_per_second": 9.0, "tokens_per_second": 2300.5}),
        (
            "Throughput: 9.00 requests/s, 2300.50 total tokens/s, 1150.25 output tokens/s",
            {"requests_per_second": 9.0, "tokens_per_second": 2300.5, "output_tokens_per_second": 1150.25},
        ),
    ],
    ids=["2023-05", "2023-06", "2024-10"],
)
def test_throughput_eras(line: str, metrics: dict[str, float]) -> None:
    run = only_run(["Processed prompts: 100%|██████████| 1000/1000 [00:10<00:00, 99.00it/s]", line])
    assert (run["format"], run["status"], run["metrics"]) == ("throughput-text", "ok", metrics)


def test_throughput_2025_token_counts_and_warnings() -> None:
    lines = [
        "When dataset path is not set, it will default to random dataset",
        "\x1b[91mWARNING\x1b[0m: Multi-modal request with vllm backend detected.",
        "Throughput: 7.15 requests/s, 4656.00 total tokens/s, 1072.15 output tokens/s",
        "Total num prompt tokens:  5014",
        "Total num output tokens:  1500",
    ]
    assert only_run(lines)["metrics"] == {
        "requests_per_second": 7.15,
        "tokens_per_second": 4656.0,
        "output_tokens_per_second": 1072.15,
        "total_num_prompt_tokens": 5014,
        "total_num_output_tokens": 1500,
    }


# --- JSON results -----------------------------------------------------------------


def test_serving_json_one_line() -> None:
    run = only_run(["$ cat result.json", serving_json()])
    assert (run["format"], run["status"], run["line"]) == ("serving-json", "ok", 2)
    assert run["metrics"] == {
        "duration": 12.5,
        "completed": 100,
        "total_input_tokens": 1000,
        "total_output_tokens": 2000,
        "request_throughput": 8.0,
        "output_throughput": 160.0,
        "total_token_throughput": 240.0,
        "mean_ttft_ms": 10.0,
        "median_ttft_ms": 9.5,
        "std_ttft_ms": 1.25,
        "p99_ttft_ms": 20.0,
    }


def test_serving_json_historical_keys() -> None:
    old = json.loads(serving_json(**{"request_inthroughput": 7.5, "input_throughput": 80.0}))
    del old["request_throughput"], old["total_token_throughput"]
    goodput = serving_json(**{"request_goodput:": 6.5, "max_concurrency": 8, "request_rate": 4.0, "p99.9_itl_ms": 3.0})
    first, second = parse_lines([json.dumps(old), goodput])["runs"]
    assert (first["metrics"]["request_throughput"], first["metrics"]["input_throughput"]) == (7.5, 80.0)
    assert {
        key: second["metrics"][key] for key in ("request_goodput", "max_concurrency", "request_rate", "p99.9_itl_ms")
    } == {
        "request_goodput": 6.5,
        "max_concurrency": 8,
        "request_rate": 4.0,
        "p99.9_itl_ms": 3.0,
    }


def test_append_result_json_lines_are_several_runs() -> None:
    result = parse_lines([serving_json(duration=1.0), serving_json(duration=2.0), serving_json(duration=3.0)])
    assert [run["metrics"]["duration"] for run in result["runs"]] == [1.0, 2.0, 3.0]
    assert [run["line"] for run in result["runs"]] == [1, 2, 3]
    assert result["metrics"]["duration"] == 3.0


def test_pretty_printed_serving_json_among_log_lines() -> None:
    pretty = json.dumps(json.loads(serving_json()), indent=2).splitlines()
    result = parse_lines(["INFO 05-30 20:38:06 [api_server.py:1] done", *pretty, "INFO:     Shutting down"])
    assert [(run["format"], run["status"], run["line"]) for run in result["runs"]] == [("serving-json", "ok", 2)]
    assert result["metrics"]["p99_ttft_ms"] == 20.0


def test_latency_output_json_indent_4() -> None:
    document = {
        "avg_latency": 1.5,
        "latencies": [1.4, 1.5, 1.6],
        "percentiles": {"10": 1.41, "25": 1.45, "50": 1.5, "75": 1.55, "90": 1.59, "99": 1.6},
    }
    run = only_run(json.dumps(document, indent=4).splitlines())
    assert (run["format"], run["status"]) == ("latency-json", "ok")
    assert run["metrics"] == pytest.approx(
        {
            "latency_avg_ms": 1500.0,
            "latency_p10_ms": 1410.0,
            "latency_p25_ms": 1450.0,
            "latency_p50_ms": 1500.0,
            "latency_p75_ms": 1550.0,
            "latency_p90_ms": 1590.0,
            "latency_p99_ms": 1600.0,
        }
    )


def test_throughput_output_json() -> None:
    document = {
        "elapsed_time": 10.0,
        "num_requests": 100,
        "total_num_tokens": 50000,
        "requests_per_second": 10.0,
        "tokens_per_second": 5000.0,
    }
    run = only_run(json.dumps(document, indent=4).splitlines())
    assert (run["format"], run["status"], run["metrics"]) == ("throughput-json", "ok", document)


def test_summary_keys_after_huge_arrays_are_found() -> None:
    document = json.loads(serving_json())
    document["itls"] = [[0.001] * 200 for _ in range(2000)]
    document["generated_texts"] = ['}]{[\\"' * 50] * 2000
    document["p99_itl_ms"] = 5.5
    run = only_run([json.dumps(document)])
    assert run["status"] == "ok" and run["metrics"]["p99_itl_ms"] == 5.5


def test_json_cut_short_is_incomplete_with_what_it_had() -> None:
    text = serving_json()
    cut = text[: text.index('"ttfts"') + 20]
    run = only_run([cut])
    assert run["status"] == "incomplete"
    assert run["metrics"]["completed"] == 100 and "mean_ttft_ms" not in run["metrics"]


def test_json_that_is_not_a_result_is_ignored() -> None:
    assert parse_lines(['{"architectures": ["LlamaForCausalLM"], "hidden_size": 4096}', "{'a': 1}"])["runs"] == []


# --- text around results -------------------------------------------------------------


NOISE_AROUND = {
    "server logs between rows": lambda lines: [line for pair in zip(lines, server_log(len(lines))) for line in pair],
    "comment prefix #": lambda lines: ["# " + line for line in lines],
    "comment prefix //": lambda lines: ["// " + line for line in lines],
    "indentation": lambda lines: ["    " + line for line in lines],
    "markdown fence": lambda lines: ["```text", *lines, "```"],
    "trailing annotations": lambda lines: [line + "   <- better" if "(ms):" in line else line for line in lines],
    "ANSI colours": lambda lines: [f"\x1b[1m{line}\x1b[0m" for line in lines],
    "shell prompt and Namespace": lambda lines: [
        "$ python benchmarks/benchmark_serving.py --model m",
        "Namespace(backend='vllm', request_rate=inf)",
        *lines,
    ],
    "CRLF line ends": lambda lines: [line + "\r\n" for line in lines],
}


@pytest.mark.parametrize("noise", sorted(NOISE_AROUND))
def test_text_around_a_table_does_not_break_it(noise: str) -> None:
    result = parse_lines(NOISE_AROUND[noise](table_2024_06()))
    assert (result["status"], result["metrics"]) == ("ok", FULL_2024_06)


def test_progress_bar_glued_to_the_title_by_carriage_return() -> None:
    lines = table_2024_06()
    lines[0] = (
        " 99%|█████████▉| 990/1000 [00:30<00:00, 33.21it/s]\r100%|██████████| 1000/1000 [00:30<00:00, 33.21it/s]\r"
        + lines[0]
    )
    result = parse_lines(["Starting main benchmark run...", *lines])
    assert result["status"] == "ok" and result["runs"][0]["line"] == 2


def test_progress_bar_glued_in_front_of_the_title_without_carriage_return() -> None:
    lines = table_2024_06()
    lines[0] = "100%|██████████| 1000/1000 [00:30<00:00, 33.21it/s]" + lines[0]
    assert parse_lines(lines)["status"] == "ok"


def test_runner_annotations_are_never_parsed() -> None:
    lines = ["[patchbench] outcome: ok", "[patchbench] Successful requests: 5", "[patchbench] Avg latency: 1.0 seconds"]
    assert parse_lines(lines)["runs"] == []


# --- several runs, truncation -------------------------------------------------------


def test_several_tables_metrics_of_the_last_complete() -> None:
    first = table_2024_06()
    second = table((None, [("Successful requests:", 5), ("Benchmark duration (s):", "9.00")]))
    third = table_2024_06(end=False)[:4]
    result = parse_lines([*first, *server_log(2), *second, *third])
    # 21 table lines, 6 server lines, a 4-line table, then the cut one.
    assert [(run["status"], run["line"]) for run in result["runs"]] == [("ok", 1), ("ok", 28), ("incomplete", 32)]
    assert (result["status"], result["metrics"]) == ("ok", {"completed": 5, "duration": 9.0})


def test_pre_run_line_of_the_next_run_ends_a_cut_table() -> None:
    result = parse_lines([*table_2024_06(end=False)[:5], "Traffic request rate: 5.0", *table_2024_06()])
    first, second = result["runs"]
    assert (first["status"], "request_rate" in first["metrics"]) == ("incomplete", False)
    assert (second["status"], second["metrics"]["request_rate"]) == ("ok", 5.0)


def test_a_sweep_of_s1_blocks_splits_at_the_repeated_row() -> None:
    result = parse_lines([*serving_s1(10), *serving_s1(20)])
    assert [run["metrics"]["completed"] for run in result["runs"]] == [10, 20]
    assert [run["status"] for run in result["runs"]] == ["ok", "ok"]


def test_table_without_its_closing_rule_is_incomplete() -> None:
    result = parse_lines(table_2024_06(end=False))
    assert (result["status"], result["metrics"], result["failure"]) == ("incomplete", FULL_2024_06, None)


def test_row_without_a_value_makes_the_table_incomplete() -> None:
    lines = table_2024_06()
    lines[3] = "Total input tokens:"
    assert parse_lines(lines)["status"] == "incomplete"


def test_nan_value_is_dropped_but_the_table_stays_complete() -> None:
    lines = table_2024_06()
    lines[-2] = row("P99 ITL (ms):", "nan")
    result = parse_lines(lines)
    assert result["status"] == "ok" and "p99_itl_ms" not in result["metrics"]


def test_last_partial_block_when_none_is_complete() -> None:
    result = parse_lines([*table_2024_06(end=False)[:3], *serving_s0()[:3]])
    assert result["status"] == "incomplete"
    assert result["metrics"] == {"duration": 166.88, "request_throughput": 5.99}


def test_type_given_picks_only_blocks_of_that_type() -> None:
    lines = [*table_2024_06(), "Throughput: 9.00 requests/s, 2300.50 tokens/s"]
    assert parse_lines(lines)["benchmark_type"] == "throughput"
    result = parse_lines(lines, "serving")
    assert (result["benchmark_type"], result["metrics"]) == ("serving", FULL_2024_06)
    assert len(result["runs"]) == 2


def test_line_numbers_count_physical_lines() -> None:
    lines = ["a\rb\rc", "x", *table_2024_06()]
    assert parse_lines(lines)["runs"][0]["line"] == 3


@pytest.mark.parametrize(
    ("lines", "benchmark_type"),
    [
        (["$ vllm bench latency --model m", "Killed"], "latency"),
        (
            ["usage: benchmark_throughput.py [-h]", "benchmark_throughput.py: error: unrecognized arguments: --x"],
            "throughput",
        ),
        (["Namespace(backend='vllm', request_rate=inf, num_prompts=10)"], "serving"),
        (["nothing here"], None),
    ],
)
def test_type_detected_without_a_result(lines: list[str], benchmark_type: str | None) -> None:
    assert parse_lines(lines)["benchmark_type"] == benchmark_type


# Row labels with their expected key, to check the section titles do not matter.
@pytest.mark.parametrize("section", [title("Time to First Token", "-"), "--- something else ---", ""])
def test_section_titles_are_not_needed(section: str) -> None:
    lines = table((None, SUMMARY_2024_06), TTFT, TPOT, ITL)
    lines = [section if line.startswith("---") else line for line in lines]
    assert parse_lines(lines)["metrics"] == FULL_2024_06
