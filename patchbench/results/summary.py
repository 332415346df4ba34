"""``summary.csv``: one row per leg, failed and skipped legs included.

Each human and agent row carries the improvement of its commit's primary
metric over the baseline leg (and, for agents, over the human leg), so the
table answers the question on its own: did the patch make the engine faster?
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from patchbench import artifacts
from patchbench.results.direction import DEFAULT_PRIMARY, improvement_pct, verdict
from patchbench.layout import METRICS

LEG_COLUMNS = [
    "commit",
    "variant",
    "agent",
    "leg",
    "benchmark_type",
    "model",
    "status",
    "failure_category",
    "failure_reason",
    "primary_metric",
    "primary_value",
    "improvement_over_baseline_pct",
    "improvement_over_human_pct",
    "verdict_vs_human",
    "parent_repaired",
    "patch_source",
    "rules_fired",
    "findings",
    "patch_sha256",
    "attempt",
    "started",
    "finished",
]
# Only when a runtime recorded them (the container runtimes): the leg's image, whether the leg
# pulled it, and the GB the suite's images took once it was ready (the report shows the largest).
IMAGE_COLUMNS = ["image", "image_pulled", "disk_peak_gb"]
# Always present, so a sheet of any one benchmark type still has every type's core columns.
CORE_METRICS = [
    "completed",
    "failed",
    "duration",
    "request_throughput",
    "output_throughput",
    "total_token_throughput",
    "mean_ttft_ms",
    "median_ttft_ms",
    "p99_ttft_ms",
    "mean_tpot_ms",
    "median_tpot_ms",
    "p99_tpot_ms",
    "mean_itl_ms",
    "median_itl_ms",
    "p99_itl_ms",
    "latency_avg_ms",
    "latency_p50_ms",
    "latency_p90_ms",
    "latency_p99_ms",
    "requests_per_second",
    "tokens_per_second",
    "output_tokens_per_second",
]
_VARIANT_ORDER = {"baseline": 0, "human": 1, "agent": 2}


def leg_rows(results: Iterable[dict[str, Any]], primary: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Flatten leg results into rows and add the direction-aware comparisons."""
    primary = {**DEFAULT_PRIMARY, **(primary or {})}
    rows = []
    for result in results:
        metric = primary.get(result.get("benchmark_type") or "", "")
        provenance = result.get("provenance", {})
        row = {key: result.get(key, "") for key in ("commit", "variant", "agent", "leg", "benchmark_type", "model")}
        row.update(
            status=result["status"],
            failure_category=result.get("failure_category", ""),
            failure_reason=result.get("failure_reason", ""),
            primary_metric=metric,
            primary_value=result["metrics"].get(metric),
            parent_repaired=bool(provenance.get("image", {}).get("parent_repaired")),
            patch_source=(result.get("patch_source") or {}).get("source") or "",
            rules_fired=";".join((result.get("spec") or {}).get("rules_fired", [])),
            findings=";".join(f"{f['code']}:{f['severity']}" for f in result.get("findings", [])),
            patch_sha256=provenance.get("patch_sha256", ""),
            attempt=provenance.get("attempt", 1),
            started=provenance.get("started") or "",
            finished=provenance.get("finished") or "",
            **result["metrics"],
        )
        row.update(_image_columns(provenance.get("image") or {}))
        rows.append(row)
    _compare(rows)
    return rows


def _image_columns(image: dict[str, Any]) -> dict[str, Any]:
    """The image columns this leg's provenance knows; the others are left out (empty cells)."""
    known = {"image": image.get("image"), "image_pulled": image.get("image_pulled"), "disk_peak_gb": image.get("disk_gb")}
    known = {key: value for key, value in known.items() if value is not None and value != ""}
    if "image_pulled" in known:
        known["image_pulled"] = bool(known["image_pulled"])
    if "disk_peak_gb" in known:
        known["disk_peak_gb"] = float(known["disk_peak_gb"])
    return known


def _compare(rows: list[dict[str, Any]]) -> None:
    by_commit: dict[str, dict[str, dict[str, Any]]] = {}
    for row in rows:
        if row["variant"] in ("baseline", "human"):
            by_commit.setdefault(row["commit"], {})[row["variant"]] = row
    for row in rows:
        refs = by_commit.get(row["commit"], {})
        metric = row["primary_metric"]
        baseline, human = refs.get("baseline", {}), refs.get("human", {})
        if row["variant"] != "baseline":
            row["improvement_over_baseline_pct"] = improvement_pct(
                row["primary_value"], baseline.get("primary_value"), metric
            )
        if row["variant"] == "agent":
            pct = improvement_pct(row["primary_value"], human.get("primary_value"), metric)
            row["improvement_over_human_pct"] = pct
            row["verdict_vs_human"] = verdict(pct)


def frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Rows in a stable order (commit, then baseline, human, agents) with stable columns.

    The image columns appear (after the leg columns) only when some leg recorded them.
    """
    seen = {k for row in rows for k in row}
    images = [column for column in IMAGE_COLUMNS if column in seen]
    extra = sorted(seen - set(LEG_COLUMNS) - set(IMAGE_COLUMNS) - set(CORE_METRICS))
    df = pd.DataFrame(rows, columns=LEG_COLUMNS + images + CORE_METRICS + extra)
    if not df.empty:
        df["_order"] = df["variant"].map(_VARIANT_ORDER)
        df = df.sort_values(["commit", "_order", "agent"], kind="stable").drop(columns="_order")
    return df.reset_index(drop=True)


def load_results(paths: Iterable[str | Path]) -> list[dict[str, Any]]:
    return [artifacts.read_artifact(p, METRICS) for p in paths]


def read_summary(path: str | Path) -> pd.DataFrame:
    """Read a summary.csv back with empty text cells as ``""`` and numbers as floats."""
    df = pd.read_csv(path, dtype={"commit": str, "agent": str})
    text = [
        "agent", "failure_category", "failure_reason", "model", "benchmark_type", "verdict_vs_human",
        "patch_source", "rules_fired", "findings", "image",
    ]  # fmt: skip
    for column in text:
        if column in df:
            df[column] = df[column].fillna("").astype(str)
    return df
