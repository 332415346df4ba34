"""The report: numbers computed from ``summary.csv``, words from Jinja2 templates.

``context`` is a pure function of the summary table; the templates only lay
it out. Markdown and HTML are rendered from the same context so they never
disagree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from patchbench import atomic
from patchbench.compare import unit
from patchbench.failures import CATEGORIES

TEMPLATES = Path(__file__).parent / "templates"
EVIDENCE_EXAMPLES = 3


def _pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.1f}%" if whole else "n/a"


def _num(value: Any, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value == "":
        return ""
    return f"{float(value):,.{digits}f}"


def _signed(value: Any) -> str:
    text = _num(value, 1)
    return f"+{text}%" if text and not text.startswith("-") else (f"{text}%" if text else "")


def context(summary: pd.DataFrame, *, title: str = "patchbench report", band_pct: float = 5.0) -> dict[str, Any]:
    """Everything the templates show, computed from the summary."""
    legs = summary.to_dict("records")
    ok = [leg for leg in legs if leg["status"] == "ok"]
    failed = [leg for leg in legs if leg["status"] != "ok"]
    agents = sorted({leg["agent"] for leg in legs if leg["variant"] == "agent"})
    return {
        "title": title,
        "band_pct": band_pct,
        "totals": {
            "commits": summary["commit"].nunique(),
            "legs": len(legs),
            "ok": len(ok),
            "ok_rate": _pct(len(ok), len(legs)),
            "failed": sum(leg["status"] == "failed" for leg in legs),
            "skipped": sum(leg["status"] == "skipped" for leg in legs),
        },
        "variants": _by_variant(legs),
        "commits": _commit_rows(summary, agents),
        "agents": [_agent_row(name, legs) for name in agents],
        "failures": _failure_rows(failed),
        "coverage": [_coverage_row(name, legs) for name in agents],
        "repairs": _repairs(legs),
        "rules": _rules_fired(summary),
    }


def _by_variant(legs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for variant in ("baseline", "human", "agent"):
        subset = [leg for leg in legs if leg["variant"] == variant]
        ok = sum(leg["status"] == "ok" for leg in subset)
        rows.append({"variant": variant, "legs": len(subset), "ok": ok, "rate": _pct(ok, len(subset))})
    return rows


def _commit_rows(summary: pd.DataFrame, agents: list[str]) -> list[dict[str, Any]]:
    rows = []
    for commit, group in summary.groupby("commit", sort=False):
        by_leg = {leg["leg"]: leg for leg in group.to_dict("records")}
        first = group.iloc[0]
        metric = first["primary_metric"] if isinstance(first["primary_metric"], str) else ""
        cells = []
        for name in ["baseline", "human"] + [f"agent-{a}" for a in agents]:
            leg = by_leg.get(name)
            if leg is None:
                cells.append({"text": "", "ok": False})
            elif leg["status"] == "ok":
                pct = _signed(leg.get("improvement_over_baseline_pct"))
                text = _num(leg["primary_value"]) + (f" ({pct})" if pct and name != "baseline" else "")
                cells.append({"text": text, "ok": True})
            else:
                cells.append({"text": f"{leg['status']}: {leg['failure_category']}", "ok": False})
        rows.append(
            {
                "commit": str(commit)[:12],
                "type": first["benchmark_type"],
                "model": first["model"],
                "metric": f"{metric} ({unit(metric)})" if metric else "",
                "cells": cells,
            }
        )
    return rows


def _agent_row(agent: str, legs: list[dict[str, Any]]) -> dict[str, Any]:
    mine = [leg for leg in legs if leg["agent"] == agent]
    ok = [leg for leg in mine if leg["status"] == "ok"]
    verdicts = [leg.get("verdict_vs_human") for leg in ok]
    return {
        "agent": agent,
        "legs": len(mine),
        "ok": len(ok),
        "rate": _pct(len(ok), len(mine)),
        "beats": verdicts.count("beats"),
        "similar": verdicts.count("similar"),
        "worse": verdicts.count("worse"),
    }


def _column(leg: dict[str, Any], name: str) -> str:
    """A text cell of an optional column ("" when the summary lacks it)."""
    value = leg.get(name, "")
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def _coverage_row(agent: str, legs: list[dict[str, Any]]) -> dict[str, Any]:
    mine = [leg for leg in legs if leg["agent"] == agent]
    # The patch's source says whether there was one, even where another skip (GPUs) came first.
    has_source = any("patch_source" in leg for leg in mine)
    missing = sorted(
        str(leg["commit"])[:8]
        for leg in mine
        if (not _column(leg, "patch_source") if has_source else leg["failure_category"] == "missing_patch")
    )
    sources: dict[str, int] = {}
    for leg in mine:
        if _column(leg, "patch_source"):
            sources[_column(leg, "patch_source")] = sources.get(_column(leg, "patch_source"), 0) + 1
    with_patch = len(mine) - len(missing)
    return {
        "agent": agent,
        "commits": len(mine),
        "with_patch": with_patch,
        "share": _pct(with_patch, len(mine)),
        "missing": missing,
        "sources": sorted(sources.items()),
    }


def _repairs(legs: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Inputs the workflow fixed itself, once per commit."""
    rows: dict[tuple[str, str], str] = {}
    for leg in legs:
        commit = str(leg["commit"])[:12]
        if str(leg.get("parent_repaired")).lower() == "true":
            rows[(commit, "missing_parent_commit")] = "parent resolved as the commit's first parent in the repository"
        for finding in filter(None, _column(leg, "findings").split(";")):
            code, _, severity = finding.partition(":")
            if severity == "repairable" and code != "missing_parent_commit":
                rows[(commit, code)] = "repaired by a normalization rule"
    return [{"commit": c, "code": code, "how": how} for (c, code), how in sorted(rows.items())]


def _rules_fired(summary: pd.DataFrame) -> list[dict[str, Any]]:
    if "rules_fired" not in summary:
        return []
    per_commit = summary.drop_duplicates("commit")["rules_fired"].fillna("")
    counts: dict[str, int] = {}
    for cell in per_commit:
        for rule in filter(None, str(cell).split(";")):
            counts[rule] = counts.get(rule, 0) + 1
    return [{"rule": rule, "commits": n} for rule, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]


def _failure_rows(failed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for leg in failed:
        groups.setdefault(leg["failure_category"] or "unknown", []).append(leg)
    rows = []
    for category, members in sorted(groups.items(), key=lambda item: (-len(item[1]), item[0])):
        rows.append(
            {
                "category": category,
                "meaning": CATEGORIES.get(category, ""),
                "count": len(members),
                "share": _pct(len(members), len(failed)),
                "examples": [
                    {"leg": f"{str(m['commit'])[:12]}/{m['leg']}", "evidence": str(m["failure_reason"]).strip()}
                    for m in members[:EVIDENCE_EXAMPLES]
                ],
            }
        )
    return rows


def render(summary: pd.DataFrame, out_dir: str | Path, **options: Any) -> tuple[Path, Path]:
    """Write ``report.md`` and a self-contained ``report.html`` into ``out_dir``."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html.j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    ctx = context(summary, **options)
    out = Path(out_dir)
    paths = out / "report.md", out / "report.html"
    atomic.write_text(paths[0], env.get_template("report.md.j2").render(ctx))
    atomic.write_text(paths[1], env.get_template("report.html.j2").render(ctx))
    return paths
