"""Agents against baseline and the human fix: per commit, verdict shares, noise floor, ISO-Bench quadrants.

Improvements, their intervals and the verdicts come from the summary's columns
(positive = faster); the summary decided them, the report only shows and counts
them.

Quadrants (ISO-Bench ``build_commit_data.py``): *hard pass* is a verdict of
``beats`` or ``similar``; *soft pass* is a bottleneck label of ``same_target``
or ``related_target``. Q1 true success = both, Q2 good intent = soft only,
Q3 lucky win = hard only, Q4 failure = neither; rates are over all of the
agent's commits, and a commit without a label counts as ``unknown``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from patchbench.plan.legs import AGENT_PREFIX
from patchbench.reporting.legs import (
    Leg,
    benchmark_type,
    category,
    interval,
    num,
    number,
    ok,
    pct,
    short,
    signed,
    text,
)
from patchbench.results.direction import unit
from patchbench.results.stats import VERDICTS

HARD_PASS = frozenset({"beats", "similar"})
SOFT_PASS = frozenset({"same_target", "related_target"})
BOTTLENECK_LABELS = ("same_target", "related_target", "different_target", "no_optimization", "unknown")
QUADRANTS = (
    ("Q1", "true success", "hard and soft pass"),
    ("Q2", "good intent", "soft pass only"),
    ("Q3", "lucky win", "hard pass only"),
    ("Q4", "failure", "neither"),
)


class LabelError(ValueError):
    """A soft-label file the report cannot use."""


def leg_verdict(leg: Leg, reference: str = "human") -> str | None:
    """The summary's verdict on the leg against ``reference``; None when it has none."""
    return (text(leg, f"verdict_vs_{reference}") or None) if ok(leg) else None


def metric_label(leg: Leg) -> str:
    metric = text(leg, "primary_metric")
    return f"{metric} ({unit(metric)})" if metric and unit(metric) else metric


def per_commit(legs: list[Leg], agents: list[str]) -> list[dict[str, Any]]:
    """Every commit where some leg has numbers: each leg's value and its improvement."""
    by_commit: dict[str, dict[str, Leg]] = {}
    for leg in legs:
        by_commit.setdefault(str(leg["commit"]), {})[leg["leg"]] = leg
    rows = []
    for commit, members in by_commit.items():
        if not any(ok(leg) for leg in members.values()):
            continue
        first = next(iter(members.values()))
        rows.append(
            {
                "commit": short(commit, 12),
                "type": benchmark_type(first),
                "model": text(first, "model"),
                "metric": metric_label(first),
                "baseline": _cell(members.get("baseline")),
                "human": _cell(members.get("human")),
                "agents": [_cell(members.get(AGENT_PREFIX + a)) for a in agents],
            }
        )
    return rows


def _cell(leg: Leg | None) -> dict[str, Any]:
    """One leg's cell: its value and improvements when it has numbers, else its status and category."""
    if leg is None or not ok(leg):
        status = f"{leg.get('status')}: {category(leg)}" if leg else "no leg"
        return {"ok": False, "status": status, "value": "", "over_baseline": None}
    over_baseline = number(leg, "improvement_over_baseline_pct")
    return {
        "ok": True,
        "status": "",
        "value": num(number(leg, "primary_value")),
        "n": int(number(leg, "primary_n") or 0),
        "over_baseline": over_baseline,
        "over_baseline_low": number(leg, "ci_low_vs_baseline_pct"),
        "over_baseline_high": number(leg, "ci_high_vs_baseline_pct"),
        "over_baseline_text": signed(over_baseline) + interval(leg, "baseline"),
        "vs_human_text": signed(number(leg, "improvement_over_human_pct")) + interval(leg, "human"),
        "verdict": leg_verdict(leg) or "",
    }


def no_numbers(legs: list[Leg]) -> list[str]:
    """Commits where not one leg produced numbers."""
    with_numbers = {str(leg["commit"]) for leg in legs if ok(leg)}
    return list(dict.fromkeys(short(leg["commit"]) for leg in legs if str(leg["commit"]) not in with_numbers))


def successful(legs: list[Leg]) -> list[dict[str, Any]]:
    """The agent legs with numbers: what they measured and how they compare."""
    rows = []
    for leg in legs:
        if leg.get("variant") != "agent" or not ok(leg):
            continue
        rows.append(
            {
                "agent": text(leg, "agent"),
                "commit": short(leg["commit"], 12),
                "model": text(leg, "model"),
                "type": benchmark_type(leg),
                "metric": metric_label(leg),
                "value": num(number(leg, "primary_value")),
                "n": int(number(leg, "primary_n") or 0),
                "over_baseline": signed(number(leg, "improvement_over_baseline_pct")) + interval(leg, "baseline"),
                "vs_baseline": leg_verdict(leg, "baseline") or "",
                "vs_human": signed(number(leg, "improvement_over_human_pct")) + interval(leg, "human"),
                "verdict": leg_verdict(leg) or "",
            }
        )
    return sorted(rows, key=lambda row: (row["agent"], row["commit"]))


def verdict_shares(agent: str, legs: list[Leg]) -> dict[str, Any]:
    """How the agent's legs with numbers compare to the human fix; shares are of the legs compared."""
    verdicts = [leg_verdict(leg) for leg in legs]
    compared = [v for v in verdicts if v]
    return {
        "agent": agent,
        "commits": len(legs),
        "compared": len(compared),
        "not_compared": len(legs) - len(compared),
        "cells": [
            {"verdict": v, "count": compared.count(v), "share": pct(compared.count(v), len(compared))} for v in VERDICTS
        ],
    }


def read_labels(path: str | Path) -> pd.DataFrame:
    """Soft-metric labels: a CSV with ``commit``, ``agent`` and ``bottleneck`` (or ``label``)."""
    table = pd.read_csv(path, dtype=str).fillna("")
    if "bottleneck" not in table and "label" in table:
        table = table.rename(columns={"label": "bottleneck"})
    missing = {"commit", "agent", "bottleneck"} - set(table.columns)
    if missing:
        raise LabelError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
    table["bottleneck"] = table["bottleneck"].str.strip().replace("", "unknown")
    bad = sorted(set(table["bottleneck"]) - set(BOTTLENECK_LABELS))
    if bad:
        raise LabelError(f"{path}: unknown bottleneck label(s) {', '.join(bad)}; use {', '.join(BOTTLENECK_LABELS)}")
    return table[["commit", "agent", "bottleneck"]]


def match_labels(labels: pd.DataFrame, legs: list[Leg]) -> tuple[dict[tuple[str, str], str], int]:
    """(agent, full commit) -> label; a label's commit may be any unambiguous prefix. Also the unmatched count."""
    commits = sorted({str(leg["commit"]) for leg in legs})
    matched: dict[tuple[str, str], str] = {}
    unmatched = 0
    for row in labels.itertuples(index=False):
        prefix = str(row.commit).strip().lower()
        hits = [c for c in commits if prefix and c.lower().startswith(prefix)]
        if len(hits) == 1:
            matched[(str(row.agent).strip(), hits[0])] = row.bottleneck
        else:
            unmatched += 1
    return matched, unmatched


def quadrant_row(agent: str, legs: list[Leg], labels: dict[tuple[str, str], str]) -> dict[str, Any]:
    counts = dict.fromkeys((q for q, _, _ in QUADRANTS), 0)
    for leg in legs:
        hard = leg_verdict(leg) in HARD_PASS
        soft = labels.get((agent, str(leg["commit"])), "unknown") in SOFT_PASS
        counts[{(True, True): "Q1", (False, True): "Q2", (True, False): "Q3", (False, False): "Q4"}[(hard, soft)]] += 1
    n = len(legs)
    return {
        "agent": agent,
        "commits": n,
        "labelled": sum((agent, str(leg["commit"])) in labels for leg in legs),
        "cells": [{"quadrant": q, "count": counts[q], "rate": pct(counts[q], n)} for q, _, _ in QUADRANTS],
        "true_success": pct(counts["Q1"], n),
        "hard_success": pct(counts["Q1"] + counts["Q3"], n),
    }


def quadrants(labels: pd.DataFrame | None, groups: dict[str, list[Leg]], agents: list[str]) -> dict[str, Any] | None:
    """The quadrant table for every agent with at least one label; None without labels."""
    if labels is None:
        return None
    everything = [leg for name in agents for leg in groups[name]]
    matched, unmatched = match_labels(labels, everything)
    labelled = {agent for agent, _ in matched}
    return {
        "names": [{"id": q, "name": name, "rule": rule} for q, name, rule in QUADRANTS],
        "rows": [quadrant_row(a, groups[a], matched) for a in agents if a in labelled],
        "unlabelled_agents": [a for a in agents if a not in labelled],
        "unmatched": unmatched,
    }


def noise_floor(legs: list[Leg]) -> list[dict[str, Any]]:
    """Per commit with an A/A leg: the baseline measured against itself. Its interval is what
    the machine's noise alone produces; a verdict other than similar or inconclusive is a false one."""
    rows = []
    for leg in legs:
        if leg.get("variant") != "aa":
            continue
        measured = ok(leg) and number(leg, "improvement_over_baseline_pct") is not None
        rows.append(
            {
                "commit": short(leg["commit"], 12),
                "type": benchmark_type(leg),
                "n": int(number(leg, "primary_n") or 0),
                "difference": signed(number(leg, "improvement_over_baseline_pct")) + interval(leg, "baseline")
                if measured
                else f"{leg.get('status')}: {category(leg)}",
                "width": _width(leg) if measured else None,
                "verdict": leg_verdict(leg, "baseline") or "",
            }
        )
    return rows


def _width(leg: Leg) -> str:
    low, high = number(leg, "ci_low_vs_baseline_pct"), number(leg, "ci_high_vs_baseline_pct")
    return f"±{(high - low) / 2:.1f}%" if low is not None and high is not None else "no interval"
