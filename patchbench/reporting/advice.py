"""What to do next, what the run cost, and how benchmark types are told apart.

Recommendations appear only when the data calls for them: each failure
category that an action can cure names the commits (or agent patches) it hit.
Infrastructure figures come from the summary's timestamps and the run jobs' own
times; figures it does not record (images pulled, peak disk, GPU-busy time in a
summary made before it was recorded) say so instead of showing a number.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from patchbench import config, failures
from patchbench.reporting.legs import Leg, attempted, benchmark_type, first_line, number, ok, short, text
from patchbench.spec.command import BENCH_SUBCOMMAND, BENCHMARK_TYPES, script_path

NOT_RECORDED = "not recorded"
# Optional summary columns the container runtime may record.
IMAGE_COLUMN, IMAGE_PULLED_COLUMN, DISK_PEAK_COLUMN = "image", "image_pulled", "disk_peak_gb"
GPU_BUSY_COLUMN = "gpu_busy_s"  # the leg's run jobs' seconds; summaries before it have none


@dataclass(frozen=True)
class Advice:
    scope: str  # "commit": one item per commit; "patch": one per agent patch
    singular: str
    plural: str
    action: str


ADVICE: dict[str, Advice] = {
    failures.GPU_REQUIREMENT: Advice(
        "commit",
        "needs more GPUs than this host has",
        "need more GPUs than this host has",
        "Run them on a host with enough GPUs (and `--resources gpu=N`).",
    ),
    failures.MISSING_PARENT_COMMIT: Advice(
        "commit",
        "has no usable parent commit",
        "have no usable parent commit",
        "Record `parent_commit` in the commit table or fetch the history that contains it.",
    ),
    failures.MISSING_IMAGE: Advice(
        "commit",
        "has no image",
        "have no image",
        "Build or publish the images named in the evidence, or allow the workflow to build them.",
    ),
    failures.MISSING_PERF_COMMAND: Advice(
        "commit",
        "has no perf command",
        "have no perf command",
        "Add the benchmark command to the commit table.",
    ),
    failures.PLACEHOLDER_IN_COMMAND: Advice(
        "commit",
        "has placeholders in its perf command",
        "have placeholders in their perf commands",
        "Fill them in the commit table or with a normalization rule.",
    ),
    failures.LOCAL_PATH_IN_COMMAND: Advice(
        "commit",
        "uses paths from its author's machine",
        "use paths from their authors' machines",
        "Replace them with a normalization rule or a dataset the workflow provides.",
    ),
    failures.UNSUPPORTED_BENCHMARK: Advice(
        "commit",
        "has a perf command the workflow cannot run",
        "have perf commands the workflow cannot run",
        "Rewrite them with a normalization rule.",
    ),
    failures.BAD_ARGUMENTS: Advice(
        "commit",
        "passes arguments the benchmark rejects",
        "pass arguments the benchmark rejects",
        "Fix the flags in the commit table or with a normalization rule.",
    ),
    failures.UNSUPPORTED_FLAG: Advice(
        "commit",
        "passes options its tree's benchmark and server do not accept",
        "pass options their trees' benchmarks and servers do not accept",
        "Drop or rename them with a normalization rule; `patchbench lint --repo` lists them before a run.",
    ),
    failures.MISSING_BENCHMARK_SCRIPT: Advice(
        "commit",
        "has no benchmark program in its tree",
        "have no benchmark program in their trees",
        "Point the command at a program the parent's tree has, or leave the commit out.",
    ),
    failures.MISSING_PROGRAM: Advice(
        "commit",
        "ran a program that does not exist where its legs run",
        "ran programs that do not exist where their legs run",
        "Install it there (`vllm bench` needs vLLM in the legs' environment or image), "
        "or fix `python`, `setup_command` or `serving.server_command`.",
    ),
    failures.MISSING_PATCH: Advice(
        "patch",
        "agent patch is missing",
        "agent patches are missing",
        "Rerun the agent on these commits.",
    ),
    failures.PATCH_APPLY_FAILED: Advice(
        "patch",
        "agent patch does not apply",
        "agent patches do not apply",
        "Check that they were made against the parent commit.",
    ),
    failures.PATCH_SYNTAX_ERROR: Advice(
        "patch",
        "agent patch does not compile",
        "agent patches do not compile",
        "These are the agents' own errors.",
    ),
    failures.PATCH_REJECTED: Advice(
        "patch",
        "agent patch was rejected as unsafe",
        "agent patches were rejected as unsafe",
        "Inspect them before allowing anything.",
    ),
    failures.NEEDS_REBUILD: Advice(
        "patch",
        "patch changes compiled sources",
        "patches change compiled sources",
        "Allow rebuilds in config to measure them.",
    ),
}
RETRY_ADVICE = "Rerun with `retry: failed`; if they fail again, read the evidence under root causes."


def recommendations(legs: list[Leg], has_patch: Callable[[Leg], bool]) -> list[dict[str, Any]]:
    """One recommendation per curable category that occurred, largest first, then one for retryable legs."""
    items: dict[str, dict[str, str]] = {}
    for leg in legs:
        is_agent = leg.get("variant") == "agent"
        cat = failures.MISSING_PATCH if is_agent and not has_patch(leg) else text(leg, "failure_category")
        advice = ADVICE.get(cat)
        if ok(leg) or advice is None or (advice.scope == "patch" and not is_agent):
            continue
        key = short(leg["commit"]) if advice.scope == "commit" else f"{text(leg, 'agent')}/{short(leg['commit'])}"
        detail = "" if cat == failures.MISSING_PATCH else first_line(leg.get("failure_reason"))
        items.setdefault(cat, {}).setdefault(key, detail)
    rows = [_row(cat, found) for cat, found in sorted(items.items(), key=lambda item: (-len(item[1]), item[0]))]
    retry = _retryable(legs, has_patch)
    return rows + [retry] if retry else rows


def _row(cat: str, found: dict[str, str]) -> dict[str, Any]:
    """``{count} {what}: {found}. {action}``; commit-scoped advice names its noun, patch-scoped advice has one."""
    advice, count = ADVICE[cat], len(found)
    noun = "" if advice.scope == "patch" else ("commit " if count == 1 else "commits ")
    return {
        "category": cat,
        "count": count,
        "what": noun + (advice.singular if count == 1 else advice.plural),
        "found": [{"key": key, "detail": detail} for key, detail in sorted(found.items())],
        "action": advice.action,
    }


def _retryable(legs: list[Leg], has_patch: Callable[[Leg], bool]) -> dict[str, Any] | None:
    failed = [
        leg for leg in attempted(legs, has_patch) if not ok(leg) and text(leg, "failure_category") in failures.RETRYABLE
    ]
    if not failed:
        return None
    counts = Counter(text(leg, "failure_category") for leg in failed)
    return {
        "category": "retryable",
        "count": len(failed),
        "what": f"{'leg' if len(failed) == 1 else 'legs'} failed in ways a plain rerun may cure",
        "found": [{"key": cat, "detail": str(n)} for cat, n in sorted(counts.items(), key=lambda i: (-i[1], i[0]))],
        "action": RETRY_ADVICE,
    }


def infrastructure(legs: list[Leg]) -> dict[str, Any]:
    """Wall time (first run started to last run finished), GPU-busy time (the run jobs' own
    times, the summary's ``gpu_busy_s``) and their ratio, images pulled and peak disk, or
    "not recorded" for each figure the summary does not hold."""
    times = pd.DataFrame(
        {
            "started": pd.to_datetime([text(leg, "started") or None for leg in legs], utc=True, errors="coerce"),
            "finished": pd.to_datetime([text(leg, "finished") or None for leg in legs], utc=True, errors="coerce"),
        }
    )
    known = times.dropna(subset=["started", "finished"])
    wall = (known["finished"].max() - known["started"].min()).total_seconds() if len(known) else None
    busy = [number(leg, GPU_BUSY_COLUMN) for leg in legs if leg.get("status") != "skipped"]
    ran = [seconds for seconds in busy if seconds]
    gpu_busy = sum(ran) if any(GPU_BUSY_COLUMN in leg for leg in legs) else None
    return {
        "first_started": known["started"].min().isoformat() if len(known) else NOT_RECORDED,
        "last_finished": known["finished"].max().isoformat() if len(known) else NOT_RECORDED,
        "wall_time": duration(wall),
        "gpu_busy": duration(gpu_busy),
        "wall_per_gpu_busy": f"{wall / gpu_busy:.2f}" if wall and gpu_busy else NOT_RECORDED,
        "legs_ran": len(ran),
        "retried": sum((number(leg, "attempt") or 1) > 1 for leg in legs),
        "images_pulled": _images_pulled(legs),
        "peak_disk": _peak_disk(legs),
    }


def duration(seconds: float | None) -> str:
    if seconds is None or pd.isna(seconds):
        return NOT_RECORDED
    total = int(round(seconds))
    return f"{total // 3600}:{total % 3600 // 60:02d}:{total % 60:02d}"


def _images_pulled(legs: list[Leg]) -> str:
    if not any(IMAGE_PULLED_COLUMN in leg for leg in legs):
        return NOT_RECORDED
    pulled = [leg for leg in legs if text(leg, IMAGE_PULLED_COLUMN).lower() in ("true", "1", "yes")]
    names = {text(leg, IMAGE_COLUMN) for leg in pulled if text(leg, IMAGE_COLUMN)}
    return str(len(names) if names else len(pulled))


def _peak_disk(legs: list[Leg]) -> str:
    values = [float(leg[DISK_PEAK_COLUMN]) for leg in legs if leg.get(DISK_PEAK_COLUMN) not in (None, "")]
    return f"{max(values):,.1f} GB" if values else NOT_RECORDED


def detection(legs: list[Leg]) -> list[dict[str, Any]]:
    """The appendix table: how each benchmark type is recognised, its primary metric, and its commits here."""
    primary = {benchmark_type(leg): text(leg, "primary_metric") for leg in legs if text(leg, "primary_metric")}
    commits = Counter(benchmark_type(leg) for leg in {str(leg["commit"]): leg for leg in legs}.values())
    return [
        {
            "type": kind,
            "script": script_path(kind),
            "subcommand": f"vllm bench {BENCH_SUBCOMMAND[kind]}",
            "primary": primary.get(kind, config.schema_default("primary_metrics").get(kind, "")),
            "commits": commits.get(kind, 0),
        }
        for kind in BENCHMARK_TYPES
    ]


def undetected(legs: list[Leg]) -> int:
    """Commits whose type could not be read from the command."""
    return sum(benchmark_type(leg) not in BENCHMARK_TYPES for leg in {str(leg["commit"]): leg for leg in legs}.values())
