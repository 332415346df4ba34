"""``summary.csv``: one row per leg, failed and skipped legs included, and the verdicts.

Each human, A/A and agent row compares the repeated samples of its commit's
primary metric with the baseline leg's (agents also with the human leg's):
the improvement, its confidence interval, the Mann-Whitney p-value and the
verdict (``results.stats``). This is the one place a verdict is decided; the
report reads it. The band and confidence it used are columns too, so the table
says on its own how it was judged.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from patchbench import artifacts, config
from patchbench.layout import METRICS
from patchbench.plan.legs import Leg
from patchbench.results import SummaryError
from patchbench.results.stats import Comparison, compare_samples

# How each leg compares with each reference leg; ``{ref}`` is baseline or human.
COMPARISON_COLUMNS = (
    "improvement_over_{ref}_pct",
    "ci_low_vs_{ref}_pct",
    "ci_high_vs_{ref}_pct",
    "p_vs_{ref}",
    "verdict_vs_{ref}",
)
REFERENCES = ("baseline", "human")
LEG_COLUMNS = [
    "format_version",
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
    "primary_n",
    *(column.format(ref=ref) for ref in REFERENCES for column in COMPARISON_COLUMNS),
    "verdict_band_pct",
    "verdict_confidence",
    "parent_repaired",
    "patch_source",
    "rules_fired",
    "findings",
    "sandbox",
    "patch_sha256",
    "attempt",
    "started",
    "finished",
    "gpu_busy_s",
]
# What a summary needs to be read at all (a summary made elsewhere may lack the rest: see complete()).
REQUIRED_COLUMNS = ("commit", "variant", "status", "benchmark_type")
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
_VARIANT_ORDER = {"baseline": 0, "human": 1, "aa": 2, "agent": 3}


def leg_rows(
    results: Iterable[dict[str, Any]], primary: dict[str, str] | None = None, verdict: dict[str, float] | None = None
) -> list[dict[str, Any]]:
    """Flatten leg results into rows and add the comparisons and verdicts."""
    primary = primary or config.schema_default("primary_metrics")
    rows = []
    for result in results:
        metric = primary.get(result.get("benchmark_type") or "", "")
        provenance = result.get("provenance", {})
        row = {key: result.get(key, "") for key in ("commit", "variant", "agent", "leg", "benchmark_type", "model")}
        samples = [s["metrics"].get(metric) for s in result.get("samples", [])] if result["status"] == "ok" else []
        row.update(
            status=result["status"],
            failure_category=result.get("failure_category", ""),
            failure_reason=result.get("failure_reason", ""),
            primary_metric=metric,
            primary_value=result["metrics"].get(metric),
            primary_samples=samples,
            parent_repaired=bool(provenance.get("image", {}).get("parent_repaired")),
            patch_source=(result.get("patch_source") or {}).get("source") or "",
            rules_fired=";".join((result.get("spec") or {}).get("rules_fired", [])),
            findings=";".join(f"{f['code']}:{f['severity']}" for f in result.get("findings", [])),
            sandbox=provenance.get("sandbox") or "",
            patch_sha256=provenance.get("patch_sha256", ""),
            attempt=provenance.get("attempt", 1),
            started=provenance.get("started") or "",
            finished=provenance.get("finished") or "",
            gpu_busy_s=gpu_busy_s(result.get("rounds", [])),
            **result["metrics"],
        )
        row.update(_image_columns(provenance.get("image") or {}))
        rows.append(row)
    compare(rows, verdict or config.schema_default("verdict"))
    return rows


def gpu_busy_s(rounds: list[dict[str, Any]]) -> float | None:
    """Seconds the leg's run jobs ran (each round from its start to its end); None when no round has both times."""
    spans = [
        (datetime.fromisoformat(r["finished"]) - datetime.fromisoformat(r["started"])).total_seconds()
        for r in rounds
        if r.get("started") and r.get("finished")
    ]
    return round(sum(spans), 3) if spans else None


def compare(rows: list[dict[str, Any]], verdict: dict[str, float]) -> None:
    """Add each row's comparisons with its commit's baseline (and, for agents, human) samples."""
    band, confidence = verdict["band_pct"], verdict["confidence"]
    samples = {id(row): row.pop("primary_samples") for row in rows}
    references = {(row["commit"], row["variant"]): row for row in rows if row["variant"] in REFERENCES}
    for row in rows:
        mine = samples[id(row)]
        row.update(format_version=artifacts.FORMATS["summary.csv"], primary_n=len(mine))
        row.update(verdict_band_pct=band, verdict_confidence=confidence)
        for ref in _references_of(row["variant"]):
            other = references.get((row["commit"], ref))
            theirs = samples[id(other)] if other is not None else []
            if mine and theirs:
                result = compare_samples(mine, theirs, row["primary_metric"], band_pct=band, confidence=confidence)
                row.update(_comparison_columns(ref, result))


def _references_of(variant: str) -> tuple[str, ...]:
    """Whom a leg is judged against: human and the A/A leg against baseline, agents against both."""
    return {"baseline": (), "human": ("baseline",), "aa": ("baseline",)}.get(variant, REFERENCES)


def _comparison_columns(ref: str, result: Comparison) -> dict[str, Any]:
    values = (result.improvement_pct, result.ci_low_pct, result.ci_high_pct, result.p_value, result.verdict)
    return {column.format(ref=ref): value for column, value in zip(COMPARISON_COLUMNS, values)}


def _image_columns(image: dict[str, Any]) -> dict[str, Any]:
    """The image columns this leg's provenance knows; the others are left out (empty cells)."""
    known = {
        "image": image.get("image"),
        "image_pulled": image.get("image_pulled"),
        "disk_peak_gb": image.get("disk_gb"),
    }
    known = {key: value for key, value in known.items() if value is not None and value != ""}
    if "image_pulled" in known:
        known["image_pulled"] = bool(known["image_pulled"])
    if "disk_peak_gb" in known:
        known["disk_peak_gb"] = float(known["disk_peak_gb"])
    return known


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
    """A summary.csv, checked, with empty text cells as ``""`` and numbers as floats.

    A summary patchbench wrote carries its format version and is refused in a
    format this patchbench does not write. One made elsewhere (no
    ``format_version`` column) needs only ``REQUIRED_COLUMNS`` and the metric
    columns: what it lacks is derived the way the summary stage does it.
    """
    try:
        df = pd.read_csv(path, dtype={"commit": str, "agent": str})
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise SummaryError(f"{path}: cannot read it as a CSV table: {exc}") from None
    missing = [column for column in REQUIRED_COLUMNS if column not in df]
    if missing:
        raise SummaryError(f"{path}: no {missing[0]!r} column; a summary needs {', '.join(REQUIRED_COLUMNS)}")
    if "format_version" in df:
        for version in df["format_version"].dropna().unique():
            artifacts.check_format(path, "summary.csv", int(version))
    else:
        df = complete(df)
    text = [
        "agent", "failure_category", "failure_reason", "model", "benchmark_type", "patch_source",
        "rules_fired", "findings", "sandbox", "image", *(f"verdict_vs_{ref}" for ref in REFERENCES),
    ]  # fmt: skip
    for column in text:
        if column in df:
            df[column] = df[column].fillna("").astype(str)
    return df


def complete(df: pd.DataFrame) -> pd.DataFrame:
    """A summary made elsewhere with what the summary stage would have added: leg names, the
    primary metric and value, and the comparisons and verdicts of those single values."""
    df = df.copy()
    df["agent"] = df["agent"].fillna("").astype(str) if "agent" in df else ""
    if "leg" not in df:
        df["leg"] = [Leg(c, v, a).name for c, v, a in zip(df["commit"], df["variant"], df["agent"])]
    primary = config.schema_default("primary_metrics")
    if "primary_metric" not in df:
        df["primary_metric"] = [primary.get(kind, "") for kind in df["benchmark_type"].fillna("")]
    if "primary_value" not in df:
        df["primary_value"] = [
            row.get(metric) if metric else None for metric, row in zip(df["primary_metric"], df.to_dict("records"))
        ]
    rows = df.to_dict("records")
    for row in rows:
        value = row["primary_value"]
        usable = row["status"] == "ok" and isinstance(value, (int, float)) and value == value
        row["primary_samples"] = [value] if usable else []
    compare(rows, config.schema_default("verdict"))
    return pd.DataFrame(rows)
