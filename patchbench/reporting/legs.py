"""The summary's rows as plain records, and the few questions every section asks of them.

A *group* is a column of the comparison: ``baseline``, ``human`` or one agent.
A group's *attempted* legs are those that had something to run: every
baseline and human leg, and the agent legs with a patch. An agent's missing
patches are coverage, not failures, as in the ISO-Bench reports. An attempted
leg succeeded, failed, or was skipped before anything ran (its commit's
command cannot run: a lint or tree finding, too few GPUs); skipped is never
counted as failed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pandas as pd

from patchbench.failures import MISSING_PATCH
from patchbench.spec.command import BENCHMARK_TYPES

Leg = dict[str, Any]
REFERENCE_GROUPS = ("baseline", "human")
UNKNOWN_TYPE = "unknown"


def records(summary: pd.DataFrame) -> list[Leg]:
    """One dict per row, with missing cells as ``None`` whatever pandas read them as."""
    return [
        {key: (None if _missing(value) else value) for key, value in row.items()} for row in summary.to_dict("records")
    ]


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def text(leg: Leg, column: str) -> str:
    """A text cell; ``""`` when empty or when the summary has no such column."""
    value = leg.get(column)
    return "" if value is None else str(value)


def number(leg: Leg, column: str) -> float | None:
    value = leg.get(column)
    if value is None or value == "":
        return None
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(result) else result


def short(commit: Any, length: int = 8) -> str:
    return str(commit)[:length]


def leg_id(leg: Leg) -> str:
    return f"{short(leg['commit'], 12)}/{leg['leg']}"


def first_line(value: Any) -> str:
    lines = [line.strip() for line in str(value or "").splitlines() if line.strip()]
    return lines[0] if lines else ""


def brief(value: Any, lines: int = 3, width: int = 240) -> str:
    """Evidence on one line: its first few non-empty lines joined, cut to ``width`` characters."""
    kept = [line.strip() for line in str(value or "").splitlines() if line.strip()][:lines]
    joined = " / ".join(kept)
    return joined if len(joined) <= width else joined[: width - 1] + "…"


def ok(leg: Leg) -> bool:
    return leg.get("status") == "ok"


def skipped(leg: Leg) -> bool:
    """Skipped before anything ran (a lint or tree finding, too few GPUs): never a failure."""
    return leg.get("status") == "skipped"


def failed(leg: Leg) -> bool:
    return not ok(leg) and not skipped(leg)


def benchmark_type(leg: Leg) -> str:
    return text(leg, "benchmark_type") or UNKNOWN_TYPE


def category(leg: Leg) -> str:
    return text(leg, "failure_category") or "unknown"


def agents(legs: list[Leg]) -> list[str]:
    return sorted({text(leg, "agent") for leg in legs if leg.get("variant") == "agent"})


def commits(legs: list[Leg]) -> list[str]:
    """Every commit once, in the summary's order."""
    return list(dict.fromkeys(str(leg["commit"]) for leg in legs))


def types(legs: list[Leg]) -> list[str]:
    """Benchmark types present: the known ones in their usual order, then any other."""
    present = {benchmark_type(leg) for leg in legs}
    return [t for t in BENCHMARK_TYPES if t in present] + sorted(present - set(BENCHMARK_TYPES))


def groups(legs: list[Leg]) -> dict[str, list[Leg]]:
    """``baseline``, ``human``, then each agent, with their legs."""
    out: dict[str, list[Leg]] = {name: [] for name in REFERENCE_GROUPS}
    out.update({name: [] for name in agents(legs)})
    for leg in legs:
        name = text(leg, "agent") if leg.get("variant") == "agent" else leg.get("variant")
        if name in out:
            out[name].append(leg)
    return out


def patch_test(legs: list[Leg]) -> Callable[[Leg], bool]:
    """Whether an agent leg had a patch: its source when the summary records sources, else its category."""
    if any("patch_source" in leg for leg in legs):
        return lambda leg: bool(text(leg, "patch_source"))
    return lambda leg: text(leg, "failure_category") != MISSING_PATCH


def attempted(legs: list[Leg], has_patch: Callable[[Leg], bool]) -> list[Leg]:
    return [leg for leg in legs if leg.get("variant") != "agent" or has_patch(leg)]


def pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.1f}%" if whole else "n/a"


def share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def num(value: float | None, digits: int = 2) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def signed(value: float | None) -> str:
    """``+12.3%``, ``-4.0%`` or ``""``."""
    return "" if value is None else f"{value:+.1f}%"


def interval(leg: Leg, reference: str) -> str:
    """`` [low, high]`` of the improvement over ``reference``, or ``""`` without an interval."""
    low, high = number(leg, f"ci_low_vs_{reference}_pct"), number(leg, f"ci_high_vs_{reference}_pct")
    return "" if low is None or high is None else f" [{low:+.1f}, {high:+.1f}]"


def verdict_paragraph(legs: list[Leg]) -> str:
    """The verdict rule in one paragraph, with the band and confidence the summary judged with."""
    band, confidence = "?", "?"
    for leg in legs:
        if number(leg, "verdict_band_pct") is not None and number(leg, "verdict_confidence") is not None:
            band, confidence = f"{number(leg, 'verdict_band_pct'):g}", f"{100 * number(leg, 'verdict_confidence'):g}"
            break
    return (
        "Every leg is measured several times, in rounds that interleave a commit's legs in a shuffled order. "
        "The improvement over a reference leg (positive = faster: lower latency, higher throughput) is the "
        "Hodges-Lehmann estimate of the ratio between the two legs' samples, shown with its exact "
        f"{confidence}% confidence interval (distribution-free: from the ranks, as in the Mann-Whitney test). "
        f"A leg beats the reference only when the whole interval lies above +{band}%, is worse only when it lies "
        f"wholly below -{band}%, is similar when it lies wholly within ±{band}%, and is inconclusive otherwise, "
        "also when too few samples give no interval (95% needs at least 4 per leg). "
        "summary.csv also has each comparison's Mann-Whitney p-value."
    )


def unconfined(legs: list[Leg]) -> dict[str, Any] | None:
    """Agent legs whose code ran without a sandbox (the local runtime's ``sandbox.mode``: off, or
    auto on a host without one): what the report must say first. None when there are none."""
    ran = [leg for leg in legs if leg.get("variant") == "agent" and text(leg, "sandbox").startswith(("none", "off"))]
    if not ran:
        return None
    reasons = sorted({text(leg, "sandbox") for leg in ran})
    return {"legs": len(ran), "reasons": reasons}
