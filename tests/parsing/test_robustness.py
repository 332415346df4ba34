"""Garbage never crashes the parser, the answer always has the documented shape, and logs stream."""

from __future__ import annotations

import json
import math
import tempfile
import tracemalloc
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patchbench import failures
from patchbench.parsing import parse_file, parse_lines
from tests.parsing.builders import (
    FIXTURES,
    LATENCIES_2024_06,
    SUMMARY_2024_06_METRICS,
    server_log,
    serving_json,
    table_2024_06,
)

FULL_2024_06 = {**SUMMARY_2024_06_METRICS, **LATENCIES_2024_06}
RUN_KEYS = {"benchmark_type", "status", "format", "line", "metrics"}
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_documented_shape(result: dict) -> None:
    assert set(result) == {"benchmark_type", "status", "metrics", "runs", "failure"}
    assert result["benchmark_type"] in (None, "serving", "latency", "throughput")
    assert result["status"] in ("ok", "incomplete", "failed")
    for metrics in [result["metrics"], *(run["metrics"] for run in result["runs"])]:
        assert all(type(value) in (int, float) and math.isfinite(value) for value in metrics.values())
    for run in result["runs"]:
        assert set(run) == RUN_KEYS and run["status"] in ("ok", "incomplete") and run["line"] >= 1
    if result["status"] == "failed":
        assert result["metrics"] == {} and result["failure"] is not None
    if result["failure"] is not None:
        assert set(result["failure"]) == {"category", "evidence"}
        assert result["failure"]["category"] in failures.CATEGORIES
        evidence = result["failure"]["evidence"].split("\n")
        assert 1 <= len(evidence) <= 5 and all(len(line) <= 300 for line in evidence)
    json.dumps(result, allow_nan=False)


def parse_bytes(data: bytes) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "run.log"
        path.write_bytes(data)
        return parse_file(path)


@FAST
@given(st.binary(max_size=4000))
def test_random_bytes(data: bytes) -> None:
    assert_documented_shape(parse_bytes(data))


@FAST
@given(st.text(max_size=2000))
def test_random_text_as_lines_and_as_one_string(text: str) -> None:
    assert_documented_shape(parse_lines(text.splitlines(keepends=True)))
    assert_documented_shape(parse_lines([text]))


# Lines made of the pieces results are made of, so the garbage reaches deep into the parser.
FRAGMENTS = st.sampled_from(
    [
        "Successful requests:",
        "Failed requests:",
        "Mean TTFT (ms):",
        "P99.9 ITL (ms):",
        "Avg latency:",
        "90% percentile latency:",
        "Throughput:",
        "requests/s",
        "tokens/s",
        "Total num prompt tokens:",
        "============ Serving Benchmark Result ============",
        "=" * 50,
        "{",
        "}",
        "[",
        "]",
        '"completed":',
        ":",
        ",",
        "nan",
        "inf",
        "-1e309",
        "12.5",
        "0",
        "None",
        "Traceback (most recent call last):",
        '  File "/app/benchmarks/benchmark_serving.py", line 1',
        "RuntimeError: x",
        "CUDA out of memory",
        "[patchbench] --- server output ---",
        "(APIServer pid=1) ",
        "(task, pid=1) ",
        "\x1b[36m(Actor pid=2, ip=10.0.0.1)\x1b[0m ",
        "100%|",
        "ERROR 01-02 03:04:05 [core.py:1] ",
        "\r",
        "\x1b[1m",
        "# ",
        "    ",
        "\x00",
        "\ufffd",
    ]
)
RESULTISH_LINES = st.lists(st.lists(FRAGMENTS | st.text(max_size=8), max_size=6).map("".join), max_size=60)


@FAST
@given(RESULTISH_LINES)
def test_lines_made_of_result_fragments(lines: list[str]) -> None:
    assert_documented_shape(parse_lines(lines))


NOISE = st.text(st.characters(blacklist_characters="\n"), max_size=120).filter(
    lambda line: "==========" not in line and not line.lstrip(" \t#/>$*").startswith("{")
)


@FAST
@given(st.lists(st.tuples(st.integers(min_value=1, max_value=20), NOISE), max_size=30))
def test_noise_inserted_into_a_table_keeps_its_metrics(insertions: list[tuple[int, str]]) -> None:
    lines = table_2024_06()
    for position, noise in sorted(insertions, reverse=True):
        lines.insert(position, noise)
    result = parse_lines(lines)
    assert_documented_shape(result)
    assert (result["status"], result["metrics"]) == ("ok", FULL_2024_06)


@FAST
@given(st.integers(min_value=1, max_value=4000))
def test_json_cut_anywhere_never_crashes(cut: int) -> None:
    text = serving_json()
    assert_documented_shape(parse_lines([text[:cut]]))


def test_parse_lines_agrees_with_parse_file() -> None:
    for path in sorted(FIXTURES.iterdir()):
        with open(path, encoding="utf-8") as handle:
            assert parse_lines(handle) == parse_file(path), path.name


def test_non_utf8_and_nul_bytes() -> None:
    data = b"\xff\xfe\x00garbage\n" + "\n".join(table_2024_06()).encode("latin-1", "replace") + b"\n\x00\x00"
    result = parse_bytes(data)
    assert result["status"] == "ok" and result["metrics"] == FULL_2024_06


def test_a_large_log_streams(tmp_path: Path) -> None:
    chunk = ("\n".join(server_log(200)) + "\n").encode()
    path = tmp_path / "run.log"
    with open(path, "wb") as out:
        for _ in range(50_000_000 // len(chunk) + 1):
            out.write(chunk)
        out.write(("\n".join(table_2024_06()) + "\n").encode())
    assert path.stat().st_size > 50_000_000
    tracemalloc.start()
    result = parse_file(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert result["status"] == "ok" and result["metrics"] == FULL_2024_06
    assert peak < 24 * 2**20


def test_one_endless_line(tmp_path: Path) -> None:
    path = tmp_path / "bar.log"
    with open(path, "wb") as out:
        for _ in range(40):
            out.write(b"#" * 1_000_000)
    tracemalloc.start()
    result = parse_file(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert (result["status"], result["failure"]["category"]) == ("failed", failures.NO_METRICS)
    assert len(result["failure"]["evidence"]) <= 300
    assert peak < 8 * 2**20


def test_endless_progress_bar_then_the_table(tmp_path: Path) -> None:
    path = tmp_path / "bar.log"
    bar = b" 50%|#####     | 500/1000 [00:10<00:10, 50.00it/s]\r"
    with open(path, "wb") as out:
        out.write(bar * 200_000)
        out.write(("\n".join(table_2024_06()) + "\n").encode())
    result = parse_file(path)
    assert (result["status"], result["metrics"]) == ("ok", FULL_2024_06)
    assert result["runs"][0]["line"] == 1
