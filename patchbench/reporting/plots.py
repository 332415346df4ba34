"""Figures drawn from the report's context: SVG text, same input same bytes, no display, no network.

``draw`` returns ``{file name: svg}``; the report embeds them in the HTML and
writes them beside it, where Snakemake's ``--report`` picks them up.
"""

from __future__ import annotations

import io
from typing import Any

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402  (after choosing the backend)

OUTCOMES = "outcomes.svg"
OUTCOMES_BY_TYPE = "outcomes_by_type.svg"
IMPROVEMENT = "improvement.svg"
NAMES = (OUTCOMES, OUTCOMES_BY_TYPE, IMPROVEMENT)

OK_COLOR, FAIL_COLOR, SKIP_COLOR = "#2e8b57", "#c0392b", "#bdc3c7"
HUMAN_COLOR = "#222222"
PALETTE = ("#1f77b4", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f")
FAILURE_PALETTE = ("#c0392b", "#e67e22", "#f1c40f", "#8e44ad", "#2980b9", "#7f8c8d", "#d35400", "#16a085")
MAX_CATEGORIES = len(FAILURE_PALETTE) - 1
RC = {"svg.hashsalt": "patchbench", "svg.fonttype": "path", "font.size": 9}


def draw(ctx: dict[str, Any]) -> dict[str, str]:
    with matplotlib.rc_context(RC):
        return {
            OUTCOMES: _svg(outcomes(ctx)),
            OUTCOMES_BY_TYPE: _svg(outcomes_by_type(ctx)),
            IMPROVEMENT: _svg(improvement(ctx)),
        }


def _svg(fig: Figure) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    return buffer.getvalue()


def _empty(message: str) -> Figure:
    fig = Figure(figsize=(6, 1.2))
    ax = fig.add_subplot()
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center")
    return fig


def _stack_segments(ctx: dict[str, Any]) -> list[tuple[str, str, list[int]]]:
    """(label, color, count per group): successes, the largest failure categories, the other failures,
    then the legs skipped before running."""
    groups = ctx["groups"]
    rows = ctx["failures"]
    segments = [("success", OK_COLOR, [g["ok"] for g in groups])]
    for color, row in zip(FAILURE_PALETTE, rows[:MAX_CATEGORIES]):
        segments.append((row["category"], color, [cell["count"] for cell in row["cells"]]))
    rest = [sum(row["cells"][i]["count"] for row in rows[MAX_CATEGORIES:]) for i in range(len(groups))]
    if any(rest):
        segments.append(("other failures", FAILURE_PALETTE[-1], rest))
    if any(g["skipped"] for g in groups):
        segments.append(("skipped before running", SKIP_COLOR, [g["skipped"] for g in groups]))
    return segments


def outcomes(ctx: dict[str, Any]) -> Figure:
    """Per group (baseline, human, agents): the share of attempted legs that succeeded,
    failed (by category) or were skipped."""
    groups = ctx["groups"]
    if not any(g["attempted"] for g in groups):
        return _empty("no legs were attempted")
    fig = Figure(figsize=(8, 1.4 + 0.45 * len(groups)), layout="constrained")
    ax = fig.add_subplot()
    shown = groups[::-1]  # the first group on top
    left = [0.0] * len(shown)
    for label, color, counts in _stack_segments(ctx):
        widths = [100.0 * c / g["attempted"] if g["attempted"] else 0.0 for c, g in zip(counts[::-1], shown)]
        ax.barh([g["name"] for g in shown], widths, left=left, color=color, label=label, edgecolor="white", lw=0.5)
        left = [a + b for a, b in zip(left, widths)]
    for y, g in enumerate(shown):
        ax.text(101, y, f"{g['ok']}/{g['attempted']} ok", va="center", fontsize=8)
    ax.set_xlim(0, 115)
    ax.set_xlabel("share of attempted legs (%)")
    ax.set_title("Outcome of attempted legs per group")
    fig.legend(loc="outside lower center", ncol=4, frameon=False)
    return fig


def outcomes_by_type(ctx: dict[str, Any]) -> Figure:
    """For each group, per benchmark type, the share of attempted legs that succeeded, failed or were skipped."""
    rows = [row for row in ctx["types"] if row["attempted"]]
    if not rows:
        return _empty("no legs were attempted")
    names = list(dict.fromkeys(row["group"] for row in rows))
    fig = Figure(figsize=(8, 1.0 + 0.32 * len(rows) + 0.35 * len(names)), layout="constrained")
    axes = fig.subplots(len(names), 1, sharex=True, squeeze=False)[:, 0]
    for ax, name in zip(axes, names):
        mine = [row for row in rows if row["group"] == name][::-1]
        kinds = [row["type"] for row in mine]
        good = [100.0 * row["ok_share"] for row in mine]
        bad = [100.0 * row["failed_share"] for row in mine]
        ax.barh(kinds, good, color=OK_COLOR, label="success")
        ax.barh(kinds, bad, left=good, color=FAIL_COLOR, label="failure")
        done = [g + b for g, b in zip(good, bad)]
        ax.barh(kinds, [100.0 - d for d in done], left=done, color=SKIP_COLOR, label="skipped")
        for y, row in enumerate(mine):
            ax.text(101, y, f"{row['ok']}/{row['attempted']}", va="center", fontsize=8)
        ax.set_xlim(0, 112)
        ax.set_ylabel(name, rotation=0, ha="right", va="center")
    fig.suptitle("Success and failure shares per benchmark type")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=3, frameon=False)
    axes[-1].set_xlabel("share of attempted legs (%)")
    return fig


def improvement(ctx: dict[str, Any]) -> Figure:
    """Improvement over baseline per commit with its interval: the human fix and each agent (no marker: no numbers)."""
    rows = ctx["comparison"]["commits"]
    series = [("human", HUMAN_COLOR, "D", [row["human"] for row in rows])]
    for i, agent in enumerate(ctx["agent_names"]):
        series.append((agent, PALETTE[i % len(PALETTE)], "o", [row["agents"][i] for row in rows]))
    if not any(cell.get("over_baseline") is not None for _, _, _, cells in series for cell in cells):
        return _empty("no commit has numbers for the baseline and another leg")
    labels = [f"{row['commit'][:8]} {row['type']}" for row in rows][::-1]
    fig = Figure(figsize=(8, 1.6 + 0.24 * len(rows)), layout="constrained")
    ax = fig.add_subplot()
    ax.axvline(0, color="#999999", linewidth=0.8)
    for k, (name, color, marker, cells) in enumerate(series):
        dodge = (k - (len(series) - 1) / 2) * 0.6 / len(series)  # equal values stay visible side by side
        points = [(cell, y + dodge) for y, cell in enumerate(cells[::-1]) if cell.get("over_baseline") is not None]
        if not points:
            continue
        xs = [cell["over_baseline"] for cell, _ in points]
        # The interval as an error bar; a leg without one (too few samples) has none.
        low = [
            x - cell["over_baseline_low"] if cell.get("over_baseline_low") is not None else 0
            for x, (cell, _) in zip(xs, points)
        ]
        high = [
            cell["over_baseline_high"] - x if cell.get("over_baseline_high") is not None else 0
            for x, (cell, _) in zip(xs, points)
        ]
        ax.errorbar(
            xs,
            [y for _, y in points],
            xerr=[low, high],
            fmt=marker,
            color=color,
            label=name,
            markersize=4.5,
            elinewidth=1,
            capsize=2,
        )
    ax.set_yticks(range(len(labels)), labels)
    ax.set_ylim(-0.7, len(labels) - 0.3)
    ax.set_xlabel("improvement of the primary metric over baseline (%; positive = faster), with its interval")
    ax.set_title("Improvement over baseline per commit")
    ax.grid(axis="x", color="#eeeeee")
    fig.legend(loc="outside lower center", ncol=4, frameon=False)
    return fig
