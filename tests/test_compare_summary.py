import math

import pytest

from patchbench.results.direction import improvement_pct, lower_is_better, verdict
from patchbench.results.summary import frame, leg_rows


@pytest.mark.parametrize(
    "metric,lower",
    [("mean_ttft_ms", True), ("p99.9_itl_ms", True), ("latency_avg_ms", True), ("duration", True),
     ("output_throughput", False), ("tokens_per_second", False), ("request_throughput", False)],
)  # fmt: skip
def test_direction(metric, lower):
    assert lower_is_better(metric) is lower


def test_improvement_is_positive_when_faster_in_both_directions():
    assert improvement_pct(80.0, 100.0, "mean_ttft_ms") == pytest.approx(20.0)
    assert improvement_pct(120.0, 100.0, "mean_ttft_ms") == pytest.approx(-20.0)
    assert improvement_pct(150.0, 100.0, "tokens_per_second") == pytest.approx(50.0)
    assert improvement_pct(None, 100.0, "tokens_per_second") is None
    assert improvement_pct(1.0, 0.0, "tokens_per_second") is None
    assert improvement_pct(math.nan, 1.0, "tokens_per_second") is None


@pytest.mark.parametrize("pct,expected", [(5.1, "beats"), (5.0, "similar"), (-4.9, "similar"), (-5.1, "worse")])
def test_verdict_band(pct, expected):
    assert verdict(pct, 5.0) == expected


def result(leg, status="ok", metrics=None, category=""):
    variant, _, agent = leg.partition("-")
    return {
        "commit": "c" * 40, "leg": leg, "variant": variant, "agent": agent, "benchmark_type": "latency",
        "model": "m", "status": status, "failure_category": category, "failure_reason": "",
        "metrics": metrics or {}, "provenance": {"patch_sha256": "0" * 64},
    }  # fmt: skip


def test_rows_compare_each_leg_with_baseline_and_human():
    rows = leg_rows(
        [
            result("agent-b", metrics={"latency_avg_ms": 75.0}),
            result("baseline", metrics={"latency_avg_ms": 100.0}),
            result("human", metrics={"latency_avg_ms": 80.0}),
            result("agent-a", "failed", category="server_crash"),
        ]
    )
    df = frame(rows)
    assert list(df["leg"]) == ["baseline", "human", "agent-a", "agent-b"]
    by_leg = df.set_index("leg")
    assert by_leg.loc["human", "improvement_over_baseline_pct"] == pytest.approx(20.0)
    assert by_leg.loc["agent-b", "improvement_over_baseline_pct"] == pytest.approx(25.0)
    assert by_leg.loc["agent-b", "improvement_over_human_pct"] == pytest.approx(6.25)
    assert by_leg.loc["agent-b", "verdict_vs_human"] == "beats"
    assert by_leg.loc["agent-a", "failure_category"] == "server_crash"
    assert math.isnan(by_leg.loc["agent-a", "improvement_over_baseline_pct"])
    for column in ("mean_ttft_ms", "p99_itl_ms", "output_throughput", "tokens_per_second", "latency_p99_ms"):
        assert column in df.columns


def test_image_columns_only_when_a_runtime_recorded_them():
    pulled = result("baseline", metrics={"latency_avg_ms": 100.0})
    pulled["provenance"]["image"] = {"runtime": "docker", "image": "img:b", "image_pulled": True, "disk_gb": 3.5}
    unknown = result("human", metrics={"latency_avg_ms": 80.0})
    unknown["provenance"]["image"] = {"runtime": "docker", "digest": "sha256:2", "image": "img:h"}  # no run notes
    local = result("agent-a", metrics={"latency_avg_ms": 90.0})
    local["provenance"]["image"] = {"runtime": "local", "digest": "sha256:3"}
    rows = {row["leg"]: row for row in leg_rows([pulled, unknown, local])}
    assert (rows["baseline"]["image"], rows["baseline"]["image_pulled"], rows["baseline"]["disk_peak_gb"]) == ("img:b", True, 3.5)
    assert rows["human"]["image"] == "img:h" and "image_pulled" not in rows["human"] and "disk_peak_gb" not in rows["human"]
    assert not {"image", "image_pulled", "disk_peak_gb"} & set(rows["agent-a"])
    df = frame(list(rows.values()))
    columns = list(df.columns)
    assert columns[columns.index("finished") + 1 : columns.index("finished") + 4] == ["image", "image_pulled", "disk_peak_gb"]
    assert math.isnan(df.set_index("leg").loc["agent-a", "disk_peak_gb"])
    spine = frame(leg_rows([result("baseline"), result("human")]))
    assert not {"image", "image_pulled", "disk_peak_gb"} & set(spine.columns)  # local runs: the columns are absent
