"""The report on summaries of every shape: one agent or none, optional columns missing or extra, labels, CLI."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from patchbench import cli
from patchbench.reporting import plots, report
from patchbench.reporting.versus import LabelError, read_labels
from patchbench.results import summary
from tests.conftest import REPO_ROOT
from tests.test_report_seed import AGENT_B, AGENT_C, TRAE, commit_id, seed_labels, seed_summary

OPTIONAL = [
    "parent_repaired",
    "patch_source",
    "rules_fired",
    "findings",
    "patch_sha256",
    "attempt",
    "started",
    "finished",
    "gpu_busy_s",
]


def one_agent() -> pd.DataFrame:
    df = seed_summary()
    return df[~df["agent"].isin([AGENT_B, AGENT_C])].reset_index(drop=True)


def test_context_is_a_pure_function_of_the_summary():
    df = seed_summary()
    before = df.copy()
    assert report.context(df) == report.context(df)
    pd.testing.assert_frame_equal(df, before)


def test_rendering_twice_gives_the_same_bytes(tmp_path: Path):
    for out in (tmp_path / "a", tmp_path / "b"):
        report.render(one_agent(), out)
    for name in ["report.md", "report.html"] + [f"plots/{n}" for n in plots.NAMES]:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_one_agent(tmp_path: Path):
    md, _ = report.render(one_agent(), tmp_path)
    text = md.read_text()
    assert "| trae-gpt5 | 96 | 67 | 69.8% | 16 | 23.9% | 49 | 73.1% | 2 | 3.0% |" in text
    assert "agent-b" not in text


def test_no_agents_at_all(tmp_path: Path):
    df = seed_summary()
    md, html = report.render(df[df["variant"] != "agent"].reset_index(drop=True), tmp_path)
    text = md.read_text()
    assert "| baseline | 96 | 96 | 100.0% | 80 | 83.3% | 14 | 14.6% | 2 | 2.1% |" in text
    assert "No agent leg produced numbers." in text
    assert html.read_text().count("data:image/svg+xml;base64,") == 3


def test_summary_without_optional_columns(tmp_path: Path):
    """Only the spine's columns: coverage falls back to missing_patch, infrastructure says not recorded."""
    df = one_agent().drop(columns=OPTIONAL)
    md, _ = report.render(df, tmp_path)
    text = md.read_text()
    assert "| trae-gpt5 | 96 | 67 | 69.8% |  |" in text
    assert "Missing patches of **trae-gpt5** (29)" in text
    assert "| wall time (first leg started to last leg finished) | not recorded |" in text
    assert "| GPU-busy time (sum of the run jobs of the 0 legs that ran) | not recorded |" in text
    assert "| wall time / GPU-busy time (1.00: the GPU never waited) | not recorded |" in text
    assert "No normalization rule fired." in text


def test_images_and_disk_when_recorded(tmp_path: Path):
    df = one_agent()
    df["image"] = [f"vllm-bench:{c[:8]}" for c in df["commit"]]
    df["image_pulled"] = [i % 10 == 0 for i in range(len(df))]  # every tenth leg pulled its image
    df["disk_peak_gb"] = 12.5
    df.loc[3, "disk_peak_gb"] = 81.25
    df["attempt"] = 1
    df.loc[[0, 1], "attempt"] = 2
    text = report.render(df, tmp_path)[0].read_text()
    pulled = df.loc[df["image_pulled"], "image"].nunique()
    assert f"| images pulled | {pulled} |" in text
    assert "| peak disk | 81.2 GB |" in text
    assert "2 leg(s) were retried; the times are those of their last attempt." in text


def leg_result(commit: str, leg: str, image: dict) -> dict:
    variant, _, agent = leg.partition("-")
    return {
        "commit": commit, "leg": leg, "variant": variant, "agent": agent, "benchmark_type": "latency", "model": "m",
        "status": "ok", "metrics": {"latency_avg_ms": 100.0}, "provenance": {"image": {"runtime": "docker", **image}},
    }  # fmt: skip


def test_image_facts_of_the_legs_reach_the_report_through_summary_csv(tmp_path: Path):
    """From provenance to summary.csv and back to the report: real numbers, not "not recorded"."""
    a, b = "a" * 40, "b" * 40
    images = {
        (a, "baseline"): {"image": "reg/base:a", "image_pulled": True, "disk_gb": 14.25},
        (a, "human"): {"image": "reg/bench:a", "image_pulled": True, "disk_gb": 29.5},
        (a, "agent-x"): {"image": "reg/agent:a", "image_pulled": False, "disk_gb": 30.75},
        (b, "baseline"): {"image": "reg/base:b", "image_pulled": False, "disk_gb": 3.0},
        (b, "human"): {"image": "reg/bench:b"},  # a run stage that recorded nothing about pulls or disk
    }
    results = [leg_result(commit, leg, image) for (commit, leg), image in images.items()]
    path = tmp_path / "summary.csv"
    path.write_text(summary.frame(summary.leg_rows(results)).to_csv(index=False))
    text = report.render(summary.read_summary(path), tmp_path / "out")[0].read_text()
    pulled = {i["image"] for i in images.values() if i.get("image_pulled")}
    peak = max(i["disk_gb"] for i in images.values() if "disk_gb" in i)
    assert f"| images pulled | {len(pulled)} |" in text
    assert f"| peak disk | {peak:,.1f} GB |" in text

    spine = [leg_result(commit, leg, {}) for commit, leg in images]  # the local runtime records none of them
    path.write_text(summary.frame(summary.leg_rows(spine)).to_csv(index=False))
    text = report.render(summary.read_summary(path), tmp_path / "spine")[0].read_text()
    assert "| images pulled | not recorded |" in text and "| peak disk | not recorded |" in text


def test_unknown_failure_category_renders_with_an_empty_meaning(tmp_path: Path):
    df = one_agent()
    df.loc[df["failure_category"] == "no_metrics", "failure_category"] = "brand_new_category"
    text = report.render(df, tmp_path)[0].read_text()
    assert "| `brand_new_category` | 0 (0.0%) | 0 (0.0%) | 15 (30.6%) |  |" in text  # 15 of 49 failed


def test_agent_patches_that_do_not_apply_are_recommended_about(tmp_path: Path):
    df = one_agent()
    crashed = df.index[df["failure_category"] == "server_crash"][:3]
    df.loc[crashed, ["status", "failure_category", "failure_reason"]] = [
        "failed",
        "patch_apply_failed",
        "error: patch failed: vllm/engine.py:10",
    ]
    text = report.render(df, tmp_path)[0].read_text()
    assert "**3 agent patches do not apply**" in text
    assert f"`trae-gpt5/{df.loc[crashed[0], 'commit'][:8]}` (error: patch failed: vllm/engine.py:10)" in text


def test_commits_the_tree_rules_out_are_skipped_and_recommended_about(tmp_path: Path):
    df = one_agent()
    ruled_out = df["commit"] == df.loc[df["failure_category"] == "missing_image", "commit"].iloc[0]
    evidence = (
        "neither python benchmarks/benchmark_serving.py nor the server of this revision accepts: --input-len 1024"
    )
    df.loc[ruled_out, ["status", "failure_category", "failure_reason"]] = ["skipped", "unsupported_flag", evidence]
    text = report.render(df, tmp_path)[0].read_text()
    # The commit's baseline leg moves from failed (missing_image) to skipped: 14 - 1 failed, 2 + 1 skipped.
    assert "| baseline | 96 | 96 | 100.0% | 80 | 83.3% | 13 | 13.5% | 3 | 3.1% |" in text
    assert "### `unsupported_flag`: 3 leg(s) on 1 commit(s), skipped before running" in text
    commit = df.loc[ruled_out, "commit"].iloc[0][:8]
    assert f"**1 commit passes options its tree's benchmark and server do not accept**: `{commit}` ({evidence})" in text


def test_labels_are_validated(tmp_path: Path):
    good = tmp_path / "labels.csv"
    pd.DataFrame({"commit": ["abc"], "agent": ["x"], "label": ["related_target"]}).to_csv(good, index=False)
    assert read_labels(good).to_dict("records") == [{"commit": "abc", "agent": "x", "bottleneck": "related_target"}]
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"commit": ["abc"], "agent": ["x"], "bottleneck": ["on_target"]}).to_csv(bad, index=False)
    with pytest.raises(LabelError, match="on_target"):
        read_labels(bad)
    with pytest.raises(LabelError, match="bottleneck"):
        pd.DataFrame({"commit": ["abc"], "agent": ["x"]}).to_csv(bad, index=False)
        read_labels(bad)


def test_labels_for_unknown_commits_are_counted():
    labels = pd.concat(
        [seed_labels(), pd.DataFrame([{"commit": "ffffffff", "agent": TRAE, "bottleneck": "same_target"}])]
    )
    quadrants = report.context(seed_summary(), labels=labels)["comparison"]["quadrants"]
    assert quadrants["unmatched"] == 1
    assert [r["agent"] for r in quadrants["rows"]] == [TRAE]


def test_cli_renders_the_summarys_verdicts_with_labels(tmp_path: Path):
    summary_csv, labels_csv = tmp_path / "summary.csv", tmp_path / "labels.csv"
    seed_summary(band_pct=15).to_csv(summary_csv, index=False)  # the summary decides, with its band
    seed_labels().to_csv(labels_csv, index=False)
    out = tmp_path / "out"
    argv = ["report", "--summary", str(summary_csv), "--out", str(out), "--labels", str(labels_csv)]
    assert cli.main(argv) == 0
    text = (out / "report.md").read_text()
    assert "| trae-gpt5 | 96 | 16 | 0 (0.0%) | 16 (100.0%) | 0 (0.0%) | 0 (0.0%) | 80 |" in text
    # With every agent leg similar, hard pass = all 16 with numbers; soft pass as labelled.
    assert "### Hard and soft success (ISO-Bench quadrants)" in text
    assert all((out / "plots" / name).stat().st_size > 1000 for name in plots.NAMES)


def test_cli_names_a_missing_column_in_one_line(tmp_path: Path, capsys):
    path = tmp_path / "summary.csv"
    seed_summary().drop(columns=["status"]).to_csv(path, index=False)
    assert cli.main(["report", "--summary", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no 'status' column" in err and str(path) in err


def test_read_back_summary_renders_like_the_frame(tmp_path: Path):
    path = tmp_path / "summary.csv"
    seed_summary().to_csv(path, index=False)
    assert report.context(summary.read_summary(path)) == report.context(summary.read_summary(path))
    assert report.context(summary.read_summary(path))["groups"] == report.context(seed_summary())["groups"]


def test_html_is_self_contained(tmp_path: Path):
    _, html = report.render(seed_summary(), tmp_path, labels=seed_labels())
    text = html.read_text()
    references = re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', text)
    assert references and all(ref.startswith(("data:", "#")) for ref in references), references
    assert "<link" not in text and "@import" not in text and "url(" not in text


def test_the_rule_lists_every_plot_with_a_caption():
    rule = (REPO_ROOT / "rules" / "report.smk").read_text()
    for name in plots.NAMES:
        assert f'PATHS.plot("{name}")' in rule
        caption = f"../report/{Path(name).stem}.rst"
        assert caption in rule and (REPO_ROOT / "rules" / caption).resolve().is_file()


def test_short_commits_in_labels_match_full_ones():
    ctx = report.context(seed_summary(), labels=seed_labels())
    row = ctx["comparison"]["quadrants"]["rows"][0]
    assert row["labelled"] == 26
    assert seed_labels()["commit"].str.len().eq(8).all() and len(commit_id(0)) == 40


def test_agent_code_run_unsandboxed_is_said_first_and_benchmark_edits_are_listed(tmp_path: Path):
    table = seed_summary()
    agents = table.index[table["variant"] == "agent"]
    table.loc[agents, "sandbox"] = "bwrap"
    table.loc[agents[:3], "sandbox"] = "none: bwrap is not installed (Debian/Ubuntu package: bubblewrap)"
    edited = agents[5]
    table.loc[edited, "findings"] = "touches_benchmark:warning"
    md, html = report.render(table, tmp_path)
    text = md.read_text()
    first_screen = text.split("## Key results")[0]
    assert "Agent code ran unsandboxed." in first_screen and "3 agent leg(s)" in first_screen
    assert "bwrap is not installed" in first_screen
    assert "Agent code ran unsandboxed." in html.read_text().split("<h2")[0]
    leg = f"{table.loc[edited, 'commit'][:12]}/{table.loc[edited, 'leg']}"
    assert (
        f"Patches that edit the benchmark (`touches_benchmark`; measured with the commit's pinned harness all the same): `{leg}`."
        in text
    )
    confined = seed_summary().assign(sandbox="bwrap")
    md, _ = report.render(confined, tmp_path / "confined")
    assert "unsandboxed" not in md.read_text()
