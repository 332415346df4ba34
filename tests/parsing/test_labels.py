"""The label and key tables, and that docs/metrics.md documents every entry of them."""

from __future__ import annotations

import re

import pytest

from patchbench.parsing.labels import (
    SERVING_JSON_ALIASES,
    SERVING_JSON_KEYS,
    SERVING_ROW,
    TEXT_LABELS,
    THROUGHPUT_JSON_KEYS,
    THROUGHPUT_UNITS,
    latency_json_key,
    lookup_label,
    parse_throughput_line,
    serving_json_key,
    throughput_json_key,
)
from tests.parsing.builders import REPO_ROOT

DOC = (REPO_ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")
_STAT_KEY = re.compile(r"(?:mean|median|p\{p\})_(.+)_ms")


@pytest.mark.parametrize(
    ("label", "key", "scale"),
    [
        ("Successful requests", "completed", 1.0),
        ("Total Token throughput (tok/s)", "total_token_throughput", 1.0),
        ("Total token   throughput (tok/s)", "total_token_throughput", 1.0),
        ("P99.9 ITL (ms)", "p99.9_itl_ms", 1.0),
        ("P99.0 TTFT (ms)", "p99_ttft_ms", 1.0),
        ("P5 E2EL (ms)", "p5_e2el_ms", 1.0),
        ("Mean TPOT", "mean_tpot_ms", 1.0),
        ("Median E2EL incl. Client Queue (ms)", "median_e2el_including_client_queue_ms", 1.0),
        ("P90 probe E2EL (ms)", "probe_p90_e2el_ms", 1.0),
        ("Avg latency", "latency_avg_ms", 1000.0),
        ("75% percentile latency", "latency_p75_ms", 1000.0),
        ("Average latency per output token", "mean_latency_per_output_token_ms", 1000.0),
    ],
)
def test_lookup_label(label: str, key: str, scale: float) -> None:
    found = lookup_label(label)
    assert found is not None and (found[0], found[1].scale) == (key, scale)


@pytest.mark.parametrize(
    "label", ["Avg prompt throughput", "P99 Foo (ms)", "100%|████", "Per-position acceptance (%)", "Position 0", ""]
)
def test_unknown_labels(label: str) -> None:
    assert lookup_label(label) is None


def test_throughput_units() -> None:
    assert parse_throughput_line(" 1.5 requests/s, 20 total tokens/s, 10 output tokens/s, junk") == {
        "requests_per_second": 1.5,
        "tokens_per_second": 20.0,
        "output_tokens_per_second": 10.0,
    }


@pytest.mark.parametrize(
    ("key", "mapped"),
    [
        ("request_inthroughput", ("request_throughput", 1.0)),
        ("request_goodput:", ("request_goodput", 1.0)),
        ("p99.0_ttft_ms", ("p99_ttft_ms", 1.0)),
        ("std_itl_ms", ("std_itl_ms", 1.0)),
        ("probe_p99_e2el_ms", ("probe_p99_e2el_ms", 1.0)),
        ("ttfts", None),
        ("num_prompts", None),
        ("burstiness", None),
    ],
)
def test_serving_json_keys(key: str, mapped: tuple[str, float] | None) -> None:
    assert serving_json_key(key) == mapped


def test_latency_and_throughput_json_keys() -> None:
    assert latency_json_key("avg_latency") == ("latency_avg_ms", 1000.0)
    assert latency_json_key("percentiles.99") == ("latency_p99_ms", 1000.0)
    assert latency_json_key("latencies") is None
    assert throughput_json_key("tokens_per_second") == ("tokens_per_second", 1.0)
    assert throughput_json_key("elapsed") is None


def test_docs_list_every_text_label_and_key() -> None:
    doc = DOC.lower()
    for label, spec in TEXT_LABELS.items():
        stat = _STAT_KEY.fullmatch(spec.key)
        if spec.family == SERVING_ROW and stat:
            # Generated "<Stat> <Metric>" rows: the doc has the matrix of both.
            assert f"`{stat[1]}`" in DOC, stat[1]
        else:
            assert label in doc, label
            assert f"`{spec.key}`" in DOC, spec.key


def test_docs_list_every_json_key_and_unit() -> None:
    for key in [*SERVING_JSON_KEYS, *SERVING_JSON_ALIASES, *THROUGHPUT_JSON_KEYS]:
        assert key in DOC, key
    for unit in THROUGHPUT_UNITS:
        assert f"`{unit}`" in DOC, unit
