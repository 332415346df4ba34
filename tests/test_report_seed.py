"""A synthetic summary with the counts of the hand-written seed report (TRAE GPT-5 on 96 vLLM commits).

Layout by commit index ``i`` (0..95):

- 0-7 missing image, 8-13 missing parent commit (every leg fails),
  14-15 need 8 GPUs (every leg skipped);
- 16-31: trae-gpt5 succeeds (16-25 serving, 26-30 latency, 31 throughput);
  against the human fix 16-23 beat it by 10%, 24-28 match it, 29-31 are 10% worse;
- 32-51: trae-gpt5's server crashes (20); 52-66: no metrics (15);
- 67-95: trae-gpt5 has no patch (29);
- other commits' types cycle serving, latency, throughput by ``i % 3``;
- baseline and human have numbers on 16-95; the human fix is 20% faster than baseline;
- agent-b (patches for all 96) succeeds on 16-49 (34), server crash on 50-95;
- agent-c (patches for all 96) succeeds on 20-49 (30), no metrics on 16-19 and 50-95;
  both match the human fix exactly.

Every leg starts 600 s x i + 120 s x (its position) after T0; a leg that ran
takes 100 s, the others 0 s.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest

from patchbench.reporting import report
from patchbench.results import summary

N_COMMITS = 96
TRAE, AGENT_B, AGENT_C = "trae-gpt5", "agent-b", "agent-c"
T0 = datetime(2026, 1, 5, 8, 0, 0, tzinfo=UTC)
SPREAD = (0.99, 0.995, 1.0, 1.005, 1.01)
MODEL = "meta-llama/Llama-3.1-8B-Instruct"
# Primary metric per type, a baseline value, and "better by x%" for the metric's direction.
PRIMARY = {
    "serving": ("mean_ttft_ms", 100.0),
    "latency": ("latency_avg_ms", 1000.0),
    "throughput": ("tokens_per_second", 1000.0),
}
EVIDENCE = {
    "missing_image": "image not found: docker.io/isobench/vllm-bench:{c}",
    "missing_parent_commit": "no usable parent_commit: commit {c} is not in the repository",
    "gpu_requirement": "needs 8 GPUs (tensor x pipeline x data parallel), the host offers 1; perf command has -tp 8",
    "server_crash": "server exited with code 1 before it was healthy\nRuntimeError: CUDA error in {c}",
    "no_metrics": "the run finished but printed no result\nlast line: Processed prompts {c}",
    "missing_patch": "no patch from agent for {c}",
}


def commit_id(i: int) -> str:
    return hashlib.sha1(f"seed-commit-{i}".encode()).hexdigest()


def commit_type(i: int) -> str:
    if 16 <= i <= 25:
        return "serving"
    if 26 <= i <= 30:
        return "latency"
    if i == 31:
        return "throughput"
    return ("serving", "latency", "throughput")[i % 3]


def better(kind: str, value: float, pct: float) -> float:
    """``value`` improved by ``pct`` percent in the direction of the type's primary metric."""
    metric = PRIMARY[kind][0]
    return value * (1 - pct / 100) if metric.endswith("_ms") else value * (1 + pct / 100)


def commit_failure(i: int) -> str:
    if i < 8:
        return "missing_image"
    if i < 14:
        return "missing_parent_commit"
    if i < 16:
        return "gpu_requirement"
    return ""


def trae_outcome(i: int) -> str:
    """ "ok", a failure category, or "missing_patch"."""
    if commit_failure(i):
        return commit_failure(i)
    if i <= 31:
        return "ok"
    if i <= 51:
        return "server_crash"
    if i <= 66:
        return "no_metrics"
    return "missing_patch"


def agent_b_outcome(i: int) -> str:
    return commit_failure(i) or ("ok" if i <= 49 else "server_crash")


def agent_c_outcome(i: int) -> str:
    return commit_failure(i) or ("ok" if 20 <= i <= 49 else "no_metrics")


def trae_vs_human(i: int) -> float:
    return 10.0 if i <= 23 else (0.0 if i <= 28 else -10.0)


def leg_result(i: int, position: int, variant: str, agent: str, outcome: str, value: float | None) -> dict[str, Any]:
    c = commit_id(i)
    kind = commit_type(i)
    metric = PRIMARY[kind][0]
    ran = outcome in ("ok", "server_crash", "no_metrics")
    started = T0 + timedelta(seconds=600 * i + 120 * position)
    finished = started + timedelta(seconds=100 if ran else 0)
    status = "ok" if outcome == "ok" else ("skipped" if outcome in ("gpu_requirement", "missing_patch") else "failed")
    return {
        "commit": c,
        "variant": variant,
        "agent": agent,
        "leg": f"agent-{agent}" if agent else variant,
        "benchmark_type": kind,
        "model": MODEL,
        "status": status,
        "failure_category": "" if outcome == "ok" else outcome,
        "failure_reason": "" if outcome == "ok" else EVIDENCE[outcome].format(c=c),
        "metrics": {metric: value} if outcome == "ok" else {},
        # Five repeats around the value, as tight as a quiet machine gives (+-1%): intervals are narrow.
        "samples": [{"metrics": {metric: value * s}} for s in SPREAD] if outcome == "ok" else [],
        "patch_source": {"source": f"trajectories:{agent}"} if agent and outcome != "missing_patch" else None,
        "provenance": {"started": started.isoformat(), "finished": finished.isoformat(), "image": {}},
        # One round; a leg skipped before anything ran has none.
        "rounds": []
        if status == "skipped"
        else [{"round": 1, "started": started.isoformat(), "finished": finished.isoformat()}],
    }


def commit_results(i: int) -> list[dict[str, Any]]:
    kind = commit_type(i)
    base = PRIMARY[kind][1]
    human = better(kind, base, 20.0)
    reference = commit_failure(i) or "ok"
    legs = [
        leg_result(i, 0, "baseline", "", reference, base),
        leg_result(i, 1, "human", "", reference, human),
        leg_result(i, 2, "agent", TRAE, trae_outcome(i), better(kind, human, trae_vs_human(i))),
        leg_result(i, 3, "agent", AGENT_B, agent_b_outcome(i), human),
        leg_result(i, 4, "agent", AGENT_C, agent_c_outcome(i), human),
    ]
    return legs


def seed_summary(band_pct: float = 5) -> pd.DataFrame:
    """The summary table exactly as the workflow's summary step builds it."""
    results = [leg for i in range(N_COMMITS) for leg in commit_results(i)]
    return summary.frame(summary.leg_rows(results, verdict={"band_pct": band_pct, "confidence": 0.95}))


def seed_labels() -> pd.DataFrame:
    """Bottleneck labels for trae-gpt5 (8-character commits, as ISO-Bench writes them).

    Beats (16-23): 16-19 same_target, 20-21 related_target, 22-23 different_target.
    Similar (24-28): 24-25 same_target, 26-28 no_optimization.
    Worse (29-31): 29 same_target, 30-31 unknown. Failed 32-41: related_target. Others unlabelled.
    """
    label = {i: "same_target" for i in (16, 17, 18, 19, 24, 25, 29)}
    label.update({i: "related_target" for i in (20, 21, *range(32, 42))})
    label.update({i: "different_target" for i in (22, 23)})
    label.update({i: "no_optimization" for i in (26, 27, 28)})
    label.update({i: "unknown" for i in (30, 31)})
    return pd.DataFrame(
        [{"commit": commit_id(i)[:8], "agent": TRAE, "bottleneck": b} for i, b in sorted(label.items())]
    )


# ---------------------------------------------------------------- the seed's tables, rendered
# Expected strings are the seed's arithmetic, written out by hand (see the layout above):
#   trae-gpt5: 67/96 = 69.8% with a patch; 16/67 = 23.9% successful; 49/67 = 73.1% failed; 16/96 = 16.7%;
#     2/67 = 3.0% skipped (the 8-GPU commits 14-15 are skipped, never failed)
#   agent-b: 34/96 = 35.4%, 60/96 = 62.5% failed; agent-c: 30/96 = 31.2%, 64/96 = 66.7%; 2/96 = 2.1% skipped
#   baseline and human: 80/96 = 83.3%, 14/96 = 14.6% failed (commits 0-13), 2/96 = 2.1% skipped
#   failures of trae-gpt5: 20/49 = 40.8%, 15/49 = 30.6%, 8/49 = 16.3%, 6/49 = 12.2%


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("seed-report")
    path = out / "summary.csv"
    seed_summary().to_csv(path, index=False)
    md, html = report.render(summary.read_summary(path), out, labels=seed_labels(), title="Seed")
    return out, md.read_text(), html.read_text()


def test_key_results_match_the_seed(rendered):
    _, md, html = rendered
    assert "Commits in the suite: **96**" in md
    assert "| trae-gpt5 | 96 | 67 | 69.8% | 16 | 23.9% | 49 | 73.1% | 2 | 3.0% |" in md
    assert "| agent-b | 96 | 96 | 100.0% | 34 | 35.4% | 60 | 62.5% | 2 | 2.1% |" in md
    assert "| agent-c | 96 | 96 | 100.0% | 30 | 31.2% | 64 | 66.7% | 2 | 2.1% |" in md
    assert "| baseline | 96 | 96 | 100.0% | 80 | 83.3% | 14 | 14.6% | 2 | 2.1% |" in md
    assert (
        "- **baseline**: 80 of 96 legs succeeded (83.3%), 14 failed (14.6%), 2 were skipped before running (2.1%)."
        in md
    )
    for text in ("23.9%", "73.1%", "35.4%", "31.2%", "40.8%", "69.8%"):
        assert text in html


def test_patch_coverage_lists_the_missing_commits(rendered):
    _, md, _ = rendered
    assert "| trae-gpt5 | 96 | 67 | 69.8% | trajectories:trae-gpt5 (67) |" in md
    missing = sorted(commit_id(i)[:8] for i in range(67, 96))
    assert f"Missing patches of **trae-gpt5** (29): `{missing[0]}`" in md
    assert all(f"`{m}`" in md for m in missing)


def test_results_by_benchmark_type(rendered):
    _, md, _ = rendered
    # trae-gpt5 attempted 28 serving, 21 latency, 18 throughput (commits 0-15 and 32-66 by i % 3, plus 16-31).
    # Skipped: commit 15 (serving) and 14 (throughput), the 8-GPU ones.
    assert "| serving | trae-gpt5 | 28 | 10 | 35.7% | 17 | 1 |" in md
    assert "| latency | trae-gpt5 | 21 | 5 | 23.8% | 16 | 0 |" in md
    assert "| throughput | trae-gpt5 | 18 | 1 | 5.6% | 16 | 1 |" in md


def test_failure_breakdown_counts_and_shares_largest_first(rendered):
    _, md, html = rendered
    section = md.split("## Failure breakdown")[1].split("## Root causes")[0]
    failed, skipped = section.split("Legs skipped before running")
    rows = [line for line in failed.splitlines() if line.startswith("| `")]
    # Categories by the agents' failed legs: 20+46+0, 15+0+50, 8x3, 6x3; the 8-GPU legs are skipped, not failed.
    assert [row.split("`")[1] for row in rows] == [
        "server_crash",
        "no_metrics",
        "missing_image",
        "missing_parent_commit",
    ]
    assert rows[0].startswith("| `server_crash` | 0 (0.0%) | 0 (0.0%) | 46 (76.7%) | 0 (0.0%) | 20 (40.8%) |")
    for cell in ("20 (40.8%)", "15 (30.6%)", "8 (16.3%)", "6 (12.2%)"):
        assert f"| {cell} |" in failed
        assert f'<td class="num">{cell}</td>' in html
    assert "| **failed** | 14 | 14 | 60 | 64 | 49 | |" in failed
    [row] = [line for line in skipped.splitlines() if line.startswith("| `")]
    assert row.startswith("| `gpu_requirement` | 2 (100.0%) | 2 (100.0%) | 2 (100.0%) | 2 (100.0%) | 2 (100.0%) |")
    assert "| **skipped** | 2 | 2 | 2 | 2 | 2 | |" in skipped


def test_comparison_across_agents(rendered):
    _, md, _ = rendered
    assert "| trae-gpt5 | 96 | 67 | 16 | 23.9% | 16.7% | 10 | 5 | 1 | 8 | 5 | 3 | 0 |" in md
    assert "| agent-b | 96 | 96 | 34 | 35.4% | 35.4% | 16 | 11 | 7 | 0 | 34 | 0 | 0 |" in md
    assert "| agent-c | 96 | 96 | 30 | 31.2% | 31.2% | 12 | 11 | 7 | 0 | 30 | 0 | 0 |" in md


def test_verdicts_and_their_shares(rendered):
    _, md, _ = rendered
    # 8 beat the human fix by 10%, 5 match it, 3 are 10% worse: 8/16, 5/16, 3/16; with five repeats
    # within +-1% every interval lies clear of the 5% band, so none is inconclusive.
    assert "| trae-gpt5 | 96 | 16 | 8 (50.0%) | 5 (31.2%) | 3 (18.8%) | 0 (0.0%) | 80 |" in md
    assert "| agent-b | 96 | 34 | 0 (0.0%) | 34 (100.0%) | 0 (0.0%) | 0 (0.0%) | 62 |" in md


def test_a_wider_band_makes_every_leg_similar():
    ctx = report.context(seed_summary(band_pct=15))
    trae = next(v for v in ctx["comparison"]["verdicts"] if v["agent"] == TRAE)
    assert [(c["verdict"], c["count"], c["share"]) for c in trae["cells"]] == [
        ("beats", 0, "0.0%"),
        ("similar", 16, "100.0%"),
        ("worse", 0, "0.0%"),
        ("inconclusive", 0, "0.0%"),
    ]
    assert "within ±15%" in ctx["verdict_paragraph"]


def test_quadrants_from_soft_labels(rendered):
    _, md, _ = rendered
    # Q1 = 6 beats + 2 similar with a soft pass; Q2 = 1 worse + 10 failed with one; Q3 = 2 + 3; Q4 = the other 72.
    assert "| trae-gpt5 | 96 | 26 | 8 (8.3%) | 11 (11.5%) | 5 (5.2%) | 72 (75.0%) | 8.3% | 13.5% |" in md
    assert "No labels for: agent-b, agent-c." in md


def test_successful_commits_carry_metric_unit_and_improvements(rendered):
    _, md, _ = rendered
    c16, c31 = commit_id(16)[:12], commit_id(31)[:12]
    # serving: baseline 100 ms, human 80 ms, agent 72 ms; throughput: 1000, 1200, 1080 tok/s. Each leg's five
    # repeats are the value times 0.99 .. 1.01, so the 95% interval (3rd smallest and largest of the 25 pairwise
    # ratios) is the ratio times 0.995/1.01 .. 1.01/0.995: 0.72 -> +26.9 .. +29.1, 0.9 -> +8.6 .. +11.3 (latency).
    assert (
        f"| trae-gpt5 | `{c16}` | {MODEL} | serving | mean_ttft_ms (ms) | 72.00 (5) | +28.0% [+26.9, +29.1] | beats "
        "| +10.0% [+8.6, +11.3] | beats |" in md
    )
    assert (
        f"| trae-gpt5 | `{c31}` | {MODEL} | throughput | tokens_per_second (/s) | 1,080.00 (5) | +8.0% [+6.4, +9.6] "
        "| beats | -10.0% [-11.3, -8.6] | worse |" in md
    )
    assert md.count("| trae-gpt5 | `") == 16


def test_recommendations_follow_from_the_data(rendered):
    _, md, _ = rendered
    assert "**2 commits need more GPUs than this host has**" in md
    assert "**6 commits have no usable parent commit**" in md
    assert "**8 commits have no image**" in md
    assert "**29 agent patches are missing**" in md
    assert "**131 legs failed in ways a plain rerun may cure**: `server_crash` (66), `no_metrics` (65)" in md
    assert "docker.io/isobench/vllm-bench:" in md  # the image names come with the advice
    assert "do not apply" not in md  # no patch failed to apply, so no advice about it


def test_root_causes_show_evidence_from_the_legs(rendered):
    _, md, _ = rendered
    assert "### `missing_image`: 40 leg(s) on 8 commit(s)" in md
    assert "### `server_crash`: 66 leg(s) on 64 commit(s)" in md
    assert "-tp 8" in md
    section = md.split("## Root causes")[1].split("### Fixes applied")[0]
    # Three examples each, from different commits with different evidence; the two GPU commits say the same.
    assert section.count("- `") == 4 * 3 + 1


def test_infrastructure(rendered):
    _, md, _ = rendered
    # First start T0, last finish: commit 95's agent-c leg, 600*95 + 120*4 + 100 s = 15:59:40 later.
    assert "| wall time (first leg started to last leg finished) | 15:59:40 |" in md
    # 371 legs ran for 100 s: baseline and human on 80 commits, trae-gpt5 on 51, agent-b and agent-c on 80 each.
    assert "| GPU-busy time (sum of the run jobs of the 371 legs that ran) | 10:18:20 |" in md
    assert "| wall time / GPU-busy time (1.00: the GPU never waited) | 1.55 |" in md  # 57,580 s / 37,100 s
    assert "| images pulled | not recorded |" in md
    assert "| peak disk | not recorded |" in md


def test_commits_without_numbers_and_type_detection(rendered):
    _, md, _ = rendered
    assert "No leg produced numbers for 16 commit(s)" in md
    # 37 serving, 31 latency, 28 throughput commits.
    assert "| serving | `benchmarks/benchmark_serving.py` | `vllm bench serve` | `mean_ttft_ms` | 37 |" in md
    assert (
        "| throughput | `benchmarks/benchmark_throughput.py` | `vllm bench throughput` | `tokens_per_second` | 28 |"
        in md
    )


def test_plots_are_written_and_embedded(rendered):
    out, md, html = rendered
    for name in ("outcomes.svg", "outcomes_by_type.svg", "improvement.svg"):
        svg = (out / "plots" / name).read_text()
        assert svg.lstrip().startswith("<?xml") and "<svg" in svg
        assert f"](plots/{name})" in md
    assert html.count('src="data:image/svg+xml;base64,') == 3
