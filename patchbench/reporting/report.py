"""The report: numbers computed from ``summary.csv``, words from Jinja2 templates.

``context`` is a pure function of the summary table (and, when given, the
soft-metric labels); the templates only lay it out. Markdown and HTML are
rendered from the same context so they never disagree, and the figures are
drawn from it too: written beside the report (``plots/*.svg``, which the
workflow lists for Snakemake's ``--report``) and embedded in the HTML, so the
HTML needs nothing else.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from patchbench import artifacts
from patchbench.reporting import advice, legs, outcomes, plots, versus

TEMPLATES = Path(__file__).parent / "templates"
PLOTS_DIR = "plots"


def context(
    summary: pd.DataFrame,
    *,
    title: str = "patchbench report",
    labels: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Everything the templates show, computed from the summary (and the labels)."""
    rows = legs.records(summary)
    agents = legs.agents(rows)
    types = legs.types(rows)
    groups = legs.groups(rows)
    has_patch = legs.patch_test(rows)
    return {
        "title": title,
        "verdict_paragraph": legs.verdict_paragraph(rows),
        "unconfined": legs.unconfined(rows),
        "commits": len(legs.commits(rows)),
        "agent_names": agents,
        "type_names": types,
        "groups": [outcomes.group_row(name, members, has_patch, types) for name, members in groups.items()],
        "coverage": [outcomes.coverage_row(a, groups[a], has_patch) for a in agents],
        "types": outcomes.by_type(groups, has_patch, types),
        "successful": versus.successful(rows),
        "comparison": {
            "commits": versus.per_commit(rows, agents),
            "no_numbers": versus.no_numbers(rows),
            "verdicts": [versus.verdict_shares(a, groups[a]) for a in agents],
            "quadrants": versus.quadrants(labels, groups, agents),
            "noise_floor": versus.noise_floor(rows),
        },
        "failures": outcomes.failure_breakdown(groups, has_patch),
        "skips": outcomes.skip_breakdown(groups, has_patch),
        "root_causes": outcomes.root_causes(rows, has_patch),
        "repairs": outcomes.repairs(rows),
        "rules": outcomes.rules_fired(rows),
        "touched_benchmark": outcomes.touched_benchmark(rows),
        "recommendations": advice.recommendations(rows, has_patch),
        "infrastructure": advice.infrastructure(rows),
        "detection": advice.detection(rows),
        "undetected": advice.undetected(rows),
    }


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html.j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


def _data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def render(
    summary: pd.DataFrame, out_dir: str | Path, *, labels: pd.DataFrame | None = None, **options: Any
) -> tuple[Path, Path]:
    """Write ``report.md``, a self-contained ``report.html`` and ``plots/*.svg`` into ``out_dir``."""
    ctx = context(summary, labels=labels, **options)
    figures = plots.draw(ctx)
    out = Path(out_dir)
    for name, svg in figures.items():
        artifacts.write_text(out / PLOTS_DIR / name, svg)
    env = _environment()
    md_path, html_path = out / "report.md", out / "report.html"
    plot_files = {name: f"{PLOTS_DIR}/{name}" for name in figures}
    artifacts.write_text(md_path, env.get_template("report.md.j2").render(ctx, plots=plot_files))
    embedded = {name: _data_uri(svg) for name, svg in figures.items()}
    artifacts.write_text(html_path, env.get_template("report.html.j2").render(ctx, plots=embedded))
    return md_path, html_path
