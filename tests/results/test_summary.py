"""summary.csv: one row per leg with the comparisons and verdicts, decided once from the legs' samples."""

import math

import pandas as pd
import pytest

from patchbench.artifacts import FormatError
from patchbench.results.direction import lower_is_better
from patchbench.results.summary import SummaryError, frame, leg_rows, read_summary

COMMIT = "c" * 40
VERDICT = {"band_pct": 5, "confidence": 0.95}
# Five measurements of a baseline latency; the other legs are exact multiples of them (in another order),
# so the true ratio of each leg to the baseline is known.
BASE = [100.0, 101.0, 99.0, 100.5, 99.5]


def result(leg, samples=None, status="ok", category="", metric="latency_avg_ms"):
    variant, _, agent = leg.partition("-")
    values = samples or []
    return {
        "commit": COMMIT, "leg": leg, "variant": variant, "agent": agent, "benchmark_type": "latency",
        "model": "m", "status": status, "failure_category": category, "failure_reason": "",
        "metrics": {metric: sorted(values)[len(values) // 2]} if values else {},
        "samples": [{"round": 1, "pass": k, "metrics": {metric: v}} for k, v in enumerate(values, 1)],
        "provenance": {"patch_sha256": "0" * 64},
    }  # fmt: skip


def scaled(factor):
    return [v * factor for v in reversed(BASE)]


@pytest.mark.parametrize(
    "metric,lower",
    [("mean_ttft_ms", True), ("p99.9_itl_ms", True), ("latency_avg_ms", True), ("duration", True),
     ("output_throughput", False), ("tokens_per_second", False), ("request_throughput", False)],
)  # fmt: skip
def test_direction(metric, lower):
    assert lower_is_better(metric) is lower


def test_each_leg_is_judged_once_against_baseline_and_human():
    rows = leg_rows(
        [
            result("agent-b", scaled(0.75)),  # 25% faster than baseline, 6.25% faster than human
            result("baseline", BASE),
            result("human", scaled(0.8)),
            result("agent-same", scaled(0.8)),  # the human fix's own numbers
            result("agent-a", status="failed", category="server_crash"),
        ],
        verdict=VERDICT,
    )
    df = frame(rows).set_index("leg")
    assert list(df.index) == ["baseline", "human", "agent-a", "agent-b", "agent-same"]
    assert df.loc["human", "improvement_over_baseline_pct"] == pytest.approx(20.0)
    assert df.loc["human", "verdict_vs_baseline"] == "beats"
    assert df.loc["agent-b", "improvement_over_human_pct"] == pytest.approx(6.25)
    # 5 vs 5: the exact 95% interval is the 3rd smallest and 3rd largest of the 25 pairwise ratios
    # 0.9375 * b_i / b_j (P(U <= 2) = 4/252): after 101/99 and 100.5/99 comes 101/99.5, and at the
    # other end 99.5/101, so the improvement's interval is 4.8% to 7.6%.
    low, high = df.loc["agent-b", "ci_low_vs_human_pct"], df.loc["agent-b", "ci_high_vs_human_pct"]
    assert (low, high) == (
        pytest.approx(100 * (1 - 0.9375 * 101 / 99.5)),
        pytest.approx(100 * (1 - 0.9375 * 99.5 / 101)),
    )
    # 6.25% faster, but the interval reaches into the 5% band: not enough to call it better.
    assert df.loc["agent-b", "verdict_vs_human"] == "inconclusive"
    assert df.loc["agent-same", "improvement_over_human_pct"] == pytest.approx(0.0)
    assert df.loc["agent-same", "verdict_vs_human"] in ("similar", "inconclusive")
    assert 0 < df.loc["agent-same", "p_vs_human"] <= 1
    assert (df.loc["agent-b", "primary_n"], df.loc["agent-b", "primary_value"]) == (5, pytest.approx(75.0))
    assert df.loc["agent-a", "failure_category"] == "server_crash" and df.loc["agent-a", "primary_n"] == 0
    assert math.isnan(df.loc["agent-a", "improvement_over_baseline_pct"])
    assert (df["verdict_band_pct"] == 5).all() and (df["verdict_confidence"] == 0.95).all()
    assert math.isnan(df.loc["human", "improvement_over_human_pct"]) and df.loc["human", "verdict_vs_human"] != "beats"
    for column in ("mean_ttft_ms", "p99_itl_ms", "output_throughput", "tokens_per_second", "latency_p99_ms"):
        assert column in df.columns


def test_the_band_is_the_configured_one():
    legs = [result("baseline", BASE), result("agent-x", scaled(0.93))]  # 7% faster, tightly
    wide = frame(leg_rows(legs, verdict={"band_pct": 10, "confidence": 0.95})).set_index("leg")
    narrow = frame(leg_rows(legs, verdict={"band_pct": 2, "confidence": 0.95})).set_index("leg")
    assert wide.loc["agent-x", "verdict_vs_baseline"] == "similar"
    assert narrow.loc["agent-x", "verdict_vs_baseline"] == "beats"


def test_one_sample_a_leg_has_no_interval_and_no_verdict():
    df = frame(leg_rows([result("baseline", [100.0]), result("human", [50.0])], verdict=VERDICT)).set_index("leg")
    assert df.loc["human", "improvement_over_baseline_pct"] == pytest.approx(50.0)
    assert math.isnan(df.loc["human", "ci_low_vs_baseline_pct"])
    assert df.loc["human", "verdict_vs_baseline"] == "inconclusive"


def test_image_columns_only_when_a_runtime_recorded_them():
    pulled = result("baseline", BASE)
    pulled["provenance"]["image"] = {"runtime": "docker", "image": "img:b", "image_pulled": True, "disk_gb": 3.5}
    unknown = result("human", scaled(0.8))
    unknown["provenance"]["image"] = {"runtime": "docker", "digest": "sha256:2", "image": "img:h"}  # no run notes
    local = result("agent-a", scaled(0.9))
    local["provenance"]["image"] = {"runtime": "local", "digest": "sha256:3"}
    rows = {row["leg"]: row for row in leg_rows([pulled, unknown, local])}
    assert (rows["baseline"]["image"], rows["baseline"]["image_pulled"], rows["baseline"]["disk_peak_gb"]) == (
        "img:b",
        True,
        3.5,
    )
    assert (
        rows["human"]["image"] == "img:h"
        and "image_pulled" not in rows["human"]
        and "disk_peak_gb" not in rows["human"]
    )
    assert not {"image", "image_pulled", "disk_peak_gb"} & set(rows["agent-a"])
    df = frame(list(rows.values()))
    columns = list(df.columns)
    assert columns[columns.index("gpu_busy_s") + 1 : columns.index("gpu_busy_s") + 4] == [
        "image",
        "image_pulled",
        "disk_peak_gb",
    ]
    assert math.isnan(df.set_index("leg").loc["agent-a", "disk_peak_gb"])
    spine = frame(leg_rows([result("baseline"), result("human")]))
    assert not {"image", "image_pulled", "disk_peak_gb"} & set(spine.columns)  # local runs: the columns are absent


def test_a_summary_in_another_format_is_refused_with_what_to_do(tmp_path):
    path = tmp_path / "summary.csv"
    df = frame(leg_rows([result("baseline", BASE), result("human", scaled(0.8))]))
    df.assign(format_version=1).to_csv(path, index=False)
    with pytest.raises(FormatError, match="older patchbench.*rebuild"):
        read_summary(path)
    df.assign(format_version=99).to_csv(path, index=False)
    with pytest.raises(FormatError, match="newer patchbench"):
        read_summary(path)


def test_a_summary_made_elsewhere_gets_what_the_summary_stage_adds(tmp_path):
    path = tmp_path / "theirs.csv"
    pd.DataFrame(
        {
            "commit": ["a1", "a1", "a1"],
            "variant": ["baseline", "human", "agent"],
            "agent": ["", "", "x"],
            "status": ["ok", "ok", "ok"],
            "benchmark_type": ["throughput"] * 3,
            "tokens_per_second": [1000.0, 1200.0, 900.0],
        }
    ).to_csv(path, index=False)
    df = read_summary(path).set_index("leg")
    assert list(df.index) == ["baseline", "human", "agent-x"]
    assert (df["primary_metric"] == "tokens_per_second").all()
    assert df.loc["human", "improvement_over_baseline_pct"] == pytest.approx(20.0)
    assert df.loc["agent-x", "improvement_over_human_pct"] == pytest.approx(-25.0)
    assert df.loc["agent-x", "verdict_vs_human"] == "inconclusive"  # one value each: no interval


def test_a_summary_without_a_required_column_names_it(tmp_path):
    path = tmp_path / "theirs.csv"
    pd.DataFrame({"commit": ["a1"], "variant": ["baseline"], "benchmark_type": ["latency"]}).to_csv(path, index=False)
    with pytest.raises(SummaryError, match="no 'status' column"):
        read_summary(path)


def test_gpu_busy_is_the_sum_of_the_rounds_own_times():
    ran = result("baseline", BASE)
    ran["rounds"] = [
        {"round": 1, "started": "2026-01-01T10:00:00.250+00:00", "finished": "2026-01-01T10:00:03.000+00:00"},
        {"round": 2, "started": "2026-01-01T10:05:00+00:00", "finished": "2026-01-01T10:05:01.500+00:00"},
        {"round": 3, "status": "failed"},  # a round without times adds nothing
    ]
    never = result("human", scaled(0.8))
    never["rounds"] = []
    rows = {row["leg"]: row for row in leg_rows([ran, never])}
    assert rows["baseline"]["gpu_busy_s"] == pytest.approx(4.25)
    assert rows["human"]["gpu_busy_s"] is None
