"""What happened to the legs: successes, failures and skips by category and type, coverage, root causes, repairs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from patchbench.failures import CATEGORIES, MISSING_PARENT_COMMIT, TOUCHES_BENCHMARK
from patchbench.reporting.legs import (
    Leg,
    attempted,
    benchmark_type,
    brief,
    category,
    failed,
    leg_id,
    ok,
    pct,
    share,
    short,
    skipped,
    text,
)

EVIDENCE_EXAMPLES = 3


def group_row(name: str, legs: list[Leg], has_patch: Callable[[Leg], bool], types: list[str]) -> dict[str, Any]:
    """One group's outcome: commits, patches, successful, failed and skipped legs, successes per type."""
    tried = attempted(legs, has_patch)
    good = [leg for leg in tried if ok(leg)]
    bad = sum(failed(leg) for leg in tried)
    held = sum(skipped(leg) for leg in tried)
    commits = len({leg["commit"] for leg in legs})
    return {
        "name": name,
        "commits": commits,
        "attempted": len(tried),
        "attempted_share": pct(len(tried), commits),
        "ok": len(good),
        "ok_rate": pct(len(good), len(tried)),
        "ok_share": share(len(good), len(tried)),
        "ok_of_commits": pct(len(good), commits),
        "failed": bad,
        "failed_rate": pct(bad, len(tried)),
        "skipped": held,
        "skipped_rate": pct(held, len(tried)),
        "ok_by_type": [sum(benchmark_type(leg) == t for leg in good) for t in types],
    }


def coverage_row(agent: str, legs: list[Leg], has_patch: Callable[[Leg], bool]) -> dict[str, Any]:
    """Which commits the agent has a patch for, and from which sources."""
    missing = sorted(short(leg["commit"]) for leg in legs if not has_patch(leg))
    sources = Counter(text(leg, "patch_source") for leg in legs if text(leg, "patch_source"))
    with_patch = len(legs) - len(missing)
    return {
        "agent": agent,
        "commits": len(legs),
        "with_patch": with_patch,
        "share": pct(with_patch, len(legs)),
        "missing": missing,
        "sources": sorted(sources.items()),
    }


def by_type(groups: dict[str, list[Leg]], has_patch: Callable[[Leg], bool], types: list[str]) -> list[dict[str, Any]]:
    """Attempted, successful, failed and skipped legs per benchmark type and group."""
    rows = []
    for kind in types:
        for name, legs in groups.items():
            tried = [leg for leg in attempted(legs, has_patch) if benchmark_type(leg) == kind]
            good = sum(ok(leg) for leg in tried)
            held = sum(skipped(leg) for leg in tried)
            rows.append(
                {
                    "type": kind,
                    "group": name,
                    "attempted": len(tried),
                    "ok": good,
                    "rate": pct(good, len(tried)),
                    "ok_share": share(good, len(tried)),
                    "failed": len(tried) - good - held,
                    "failed_share": share(len(tried) - good - held, len(tried)),
                    "skipped": held,
                }
            )
    return rows


def category_counts(legs: list[Leg], has_patch: Callable[[Leg], bool], which: Callable[[Leg], bool]) -> Counter[str]:
    return Counter(category(leg) for leg in attempted(legs, has_patch) if which(leg))


def failure_breakdown(groups: dict[str, list[Leg]], has_patch: Callable[[Leg], bool]) -> list[dict[str, Any]]:
    """Per category, each group's failed legs and their share of that group's failures; largest first.

    Agents come first in the ordering key: the report is about them, and the
    baseline and human columns show which failures were not the agent's doing.
    """
    return _breakdown(groups, has_patch, failed)


def skip_breakdown(groups: dict[str, list[Leg]], has_patch: Callable[[Leg], bool]) -> list[dict[str, Any]]:
    """The same for the legs skipped before anything ran: why their commits could not run."""
    return _breakdown(groups, has_patch, skipped)


def _breakdown(
    groups: dict[str, list[Leg]], has_patch: Callable[[Leg], bool], which: Callable[[Leg], bool]
) -> list[dict[str, Any]]:
    counts = {name: category_counts(legs, has_patch, which) for name, legs in groups.items()}
    totals = {name: sum(c.values()) for name, c in counts.items()}
    agents = [name for name in groups if name not in ("baseline", "human")]
    names = set().union(*counts.values()) if counts else set()

    def order(cat: str) -> tuple[int, int, str]:
        return (-sum(counts[a][cat] for a in agents), -sum(c[cat] for c in counts.values()), cat)

    return [
        {
            "category": cat,
            "meaning": CATEGORIES.get(cat, ""),
            "cells": [
                {"group": name, "count": counts[name][cat], "share": pct(counts[name][cat], totals[name])}
                for name in groups
            ],
        }
        for cat in sorted(names, key=order)
    ]


def root_causes(legs: list[Leg], has_patch: Callable[[Leg], bool]) -> list[dict[str, Any]]:
    """Every category of failed, then of skipped legs, with how many legs and commits it hit and a
    few distinct pieces of evidence."""
    rows = []
    for which in (failed, skipped):
        found: dict[str, list[Leg]] = {}
        for leg in attempted(legs, has_patch):
            if which(leg):
                found.setdefault(category(leg), []).append(leg)
        for cat, members in sorted(found.items(), key=lambda item: (-len(item[1]), item[0])):
            rows.append(
                {
                    "category": cat,
                    "skipped": which is skipped,
                    "meaning": CATEGORIES.get(cat, ""),
                    "legs": len(members),
                    "commits": len({leg["commit"] for leg in members}),
                    "examples": _examples(members),
                }
            )
    return rows


def _examples(members: list[Leg]) -> list[dict[str, str]]:
    """Up to a few legs of different commits whose evidence differs: one message shows once."""
    seen: set[str] = set()
    examples = []
    for leg in members:
        evidence = str(leg.get("failure_reason") or "").strip()
        if evidence in seen or str(leg["commit"]) in seen:
            continue
        seen.update((evidence, str(leg["commit"])))
        examples.append({"leg": leg_id(leg), "evidence": evidence, "brief": brief(evidence)})
        if len(examples) == EVIDENCE_EXAMPLES:
            break
    return examples


def repairs(legs: list[Leg]) -> list[dict[str, str]]:
    """Inputs the workflow fixed itself, once per commit."""
    rows: dict[tuple[str, str], str] = {}
    for leg in legs:
        commit = short(leg["commit"], 12)
        if text(leg, "parent_repaired").lower() == "true":
            rows[(commit, MISSING_PARENT_COMMIT)] = "parent resolved as the commit's first parent in the repository"
        for finding in filter(None, text(leg, "findings").split(";")):
            code, _, severity = finding.partition(":")
            if severity == "repairable" and code != MISSING_PARENT_COMMIT:
                rows[(commit, code)] = "repaired by a normalization rule"
    return [{"commit": c, "code": code, "how": how} for (c, code), how in sorted(rows.items())]


def touched_benchmark(legs: list[Leg]) -> list[str]:
    """Agent legs whose patch edits the benchmark (``touches_benchmark``): measured with the pinned harness anyway."""
    return [
        leg_id(leg)
        for leg in legs
        if any(f.partition(":")[0] == TOUCHES_BENCHMARK for f in filter(None, text(leg, "findings").split(";")))
    ]


def rules_fired(legs: list[Leg]) -> list[dict[str, Any]]:
    """Normalization rules and the number of commits they rewrote (rules act once per commit)."""
    per_commit = {str(leg["commit"]): text(leg, "rules_fired") for leg in legs}
    counts = Counter(rule for cell in per_commit.values() for rule in filter(None, cell.split(";")))
    return [{"rule": rule, "commits": n} for rule, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]
