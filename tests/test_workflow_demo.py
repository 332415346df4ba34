"""The demo suite end to end: a real Snakemake run on a real git history, then a no-op rerun.

The expected outcome of every leg follows from how the demo was built (see
demo/README.md): which agent patch is good, slow, crashing, broken or stale.
"""

from __future__ import annotations

import hashlib
import json
import statistics

import pandas as pd
import pytest

from patchbench.layout import Layout
from tests.workflow import copy_project, snakemake

DEMO = Layout("demo")

EXPECTED = {
    # commit slug in demo/history.yaml -> {leg: (status, failure_category)}
    "latency": {
        "baseline": ("ok", ""),
        "human": ("ok", ""),
        "agent-alpha": ("ok", ""),
        "agent-beta": ("ok", ""),
        "agent-ident": ("ok", ""),
    },
    "serving": {
        "baseline": ("ok", ""),
        "human": ("ok", ""),
        "agent-alpha": ("failed", "server_crash"),
        "agent-beta": ("ok", ""),
        "agent-ident": ("ok", ""),
    },
    "throughput": {
        "baseline": ("ok", ""),
        "human": ("ok", ""),
        "agent-alpha": ("failed", "patch_syntax_error"),
        "agent-beta": ("failed", "patch_apply_failed"),
        "agent-ident": ("ok", ""),
    },
    "eight-gpus": {
        leg: ("skipped", "gpu_requirement") for leg in ("baseline", "human", "agent-alpha", "agent-beta", "agent-ident")
    },
    "not-in-repo": {
        "baseline": ("failed", "missing_parent_commit"),
        "human": ("failed", "missing_parent_commit"),
        "agent-alpha": ("failed", "missing_parent_commit"),
        "agent-beta": ("skipped", "missing_patch"),
        "agent-ident": ("skipped", "missing_patch"),
    },
}
LEGS_PER_COMMIT = 5
REPEATS = ROUNDS = 5  # config/config.yaml: one measured pass per round


def running_legs() -> int:
    """Legs the demo runs: all but those skipped before anything runs."""
    return sum(status != "skipped" for legs in EXPECTED.values() for status, _ in legs.values())


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    workdir = copy_project(tmp_path_factory.mktemp("demo") / "patchbench")
    proc = snakemake(workdir, "--cores", "2", "--resources", "gpu=1")
    assert proc.returncode == 0, proc.stderr[-4000:]
    return workdir


def commit_slugs(workdir) -> dict[str, str]:
    """Map the demo table's commits to the scenario they were built for."""
    table = pd.read_csv(workdir / "demo" / "commits.csv", dtype=str).fillna("")
    return dict(zip(table["commit"], table["scenario"]))


def test_every_leg_ends_as_designed(demo_run):
    summary = pd.read_csv(demo_run / DEMO.summary, dtype={"agent": str}).fillna("")
    slugs = commit_slugs(demo_run)
    assert len(summary) == LEGS_PER_COMMIT * len(slugs)
    seen = {}
    for row in summary.itertuples():
        seen.setdefault(slugs[row.commit], {})[row.leg] = (row.status, row.failure_category)
    assert seen == EXPECTED


def test_successful_legs_have_real_numbers_and_failures_have_evidence(demo_run):
    summary = pd.read_csv(demo_run / DEMO.summary, dtype={"agent": str})
    ok = summary[summary.status == "ok"]
    assert (ok.primary_value > 0).all()
    assert ok[ok.benchmark_type == "serving"].mean_ttft_ms.notna().all()
    assert ok[ok.benchmark_type == "latency"].latency_avg_ms.notna().all()
    assert ok[ok.benchmark_type == "throughput"].tokens_per_second.notna().all()
    humans = ok[ok.variant == "human"]
    assert humans.improvement_over_baseline_pct.notna().all()
    failed = summary[summary.status != "ok"]
    assert failed.failure_reason.notna().all() and (failed.failure_reason.str.len() > 0).all()
    crash = failed[failed.failure_category == "server_crash"].failure_reason.iloc[0]
    assert "Error" in crash  # the server's own traceback line, not just "it failed"


def test_all_legs_of_a_commit_run_the_identical_benchmark(demo_run):
    legs = demo_run / DEMO.base / "legs"
    for commit_dir in legs.iterdir():
        shared = json.loads((commit_dir / "spec.json").read_text())["spec"]
        legs_of_commit = [leg for leg in commit_dir.iterdir() if leg.is_dir()]
        assert len(legs_of_commit) == LEGS_PER_COMMIT
        for leg in legs_of_commit:
            assert json.loads((leg / "metrics.json").read_text())["spec"] == shared, leg


def test_the_serving_spec_is_routed_by_tinyllms_own_tree(demo_run):
    # engine_package: tinyllm. The tree's server (EngineArgs included) takes --model, which its
    # server command already gives: once, not twice.
    records = [json.loads(path.read_text()) for path in (demo_run / DEMO.base / "legs").glob("*/spec.json")]
    [record] = [r for r in records if r["spec"] and r["spec"]["benchmark_type"] == "serving"]
    assert record["tree"]["package"] is True and record["tree"]["server"] is True
    assert record["routing"] == {"server": [["--model", "tinyllm/tiny-1b"]], "undecided": []}
    server = record["spec"]["server_argv"]
    assert server[:3] == ["python", "-m", "tinyllm.entrypoints.openai.api_server"] and server.count("--model") == 1


def test_provenance_names_the_patch_each_leg_ran(demo_run):
    ran = 0
    for metrics in (demo_run / DEMO.base / "legs").glob("*/*/metrics.json"):
        result = json.loads(metrics.read_text())
        if result["status"] == "skipped":  # known before anything ran: no patch, image or run
            assert result["provenance"]["patch_sha256"] is None
            assert not (metrics.parent / "image.tag").exists() and not (metrics.parent / "rounds").exists()
            continue
        patch = (metrics.parent / "patch.diff").read_bytes()
        assert result["provenance"]["patch_sha256"] == hashlib.sha256(patch).hexdigest(), metrics
        ran += 1
    assert ran == running_legs()


def test_every_leg_that_ran_kept_each_sample_and_its_rounds(demo_run):
    """Each leg that ran has one log per round and every measured pass as a sample, when each
    round ran and the seed of the rounds' order recorded; the summary compares them (the verdicts on constructed samples are
    tested in tests/results, never on the demo's timings)."""
    summary = pd.read_csv(demo_run / DEMO.summary, dtype={"agent": str}).fillna("")
    for row in summary[summary.status == "ok"].itertuples():
        leg_dir = demo_run / DEMO.leg_dir(row.commit, row.leg)
        result = json.loads((leg_dir / "metrics.json").read_text())
        assert [r["round"] for r in result["rounds"]] == list(range(1, ROUNDS + 1))
        assert len(result["samples"]) == REPEATS == row.primary_n
        assert all((leg_dir / "rounds" / str(n) / "run.log").exists() for n in range(1, ROUNDS + 1))
        assert result["order_seed"] == 0 and all(r["started"] for r in result["rounds"])
        if row.variant != "baseline":
            assert row.verdict_vs_baseline in ("beats", "similar", "worse", "inconclusive")
            assert row.ci_low_vs_baseline_pct <= row.improvement_over_baseline_pct <= row.ci_high_vs_baseline_pct


def test_serving_samples_keep_their_per_request_values(demo_run):
    """The serving commit's client saves per-request values (--save-result): each measured pass of
    every serving leg that ran keeps them, one per request of the demo's 24, its lengths as asked."""
    summary = pd.read_csv(demo_run / DEMO.summary, dtype={"agent": str}).fillna("")
    serving = summary[(summary.status == "ok") & (summary.benchmark_type == "serving")]
    assert len(serving) == 4  # baseline, human, beta, ident (alpha's server crashes)
    for row in serving.itertuples():
        leg_dir = demo_run / DEMO.leg_dir(row.commit, row.leg)
        result = json.loads((leg_dir / "metrics.json").read_text())
        assert "per-request-values" in result["spec"]["rules_fired"]
        for sample in result["samples"]:
            requests = sample["requests"]
            assert requests["requests"] == requests["completed"] == requests["kept"] == 24, requests
            assert requests["input_len"] == [64] * 24 and set(requests["output_len"]) == {16}
            assert all(0 < t < e for t, e in zip(requests["ttft_ms"], requests["e2el_ms"]))
            # The pass's own aggregate, from the same requests: the median of its TTFTs.
            assert statistics.median(requests["ttft_ms"]) == pytest.approx(sample["metrics"]["median_ttft_ms"], 1e-3)
        assert not (leg_dir / "rounds" / "1" / "client-results").exists()  # the scratch folder goes with the run


def test_agent_patches_never_touch_the_shared_clone(demo_run):
    repo = demo_run / DEMO.repo_git
    assert not (repo / "tinyllm").exists()  # a bare clone has no working tree to write into
    assert (demo_run / "demo" / "engine").exists()


def test_report_is_rendered_from_the_summary(demo_run):
    report = (demo_run / DEMO.report_md).read_text()
    for category in ("server_crash", "patch_syntax_error", "patch_apply_failed", "gpu_requirement"):
        assert category in report
    html = (demo_run / DEMO.report_html).read_text()
    assert html.startswith("<!DOCTYPE html>") and "</html>" in html


def test_rerun_after_success_does_nothing(demo_run):
    proc = snakemake(demo_run, "--cores", "1", "--resources", "gpu=1")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Nothing to be done" in proc.stderr + proc.stdout


def test_repairs_and_rules_are_recorded_and_reported(demo_run):
    summary = pd.read_csv(demo_run / DEMO.summary, dtype=str).fillna("")
    slugs = commit_slugs(demo_run)
    by_slug = {slugs[c]: group for c, group in summary.groupby("commit")}
    assert (by_slug["throughput"].parent_repaired == "True").all()  # NULL parent, resolved in the clone
    assert (by_slug["latency"].rules_fired == "flag-spelling").all()  # --num_iters in the table
    report = (demo_run / DEMO.report_md).read_text()
    assert "parent resolved as the commit's first parent" in report
    assert "`flag-spelling` (1)" in report
    assert "Missing patches of **beta** (2)" in report
