"""Agent patch sources: every layout built for real on disk, merged with the stated precedence.

The layouts follow the ISO-Bench files: run items named by task
(``vllm_core-0091``) whose commit is only in ``run_summary.json`` (``commits.human``)
or, for claude_code, ``journal.json``; trajectory datasets with ``<repo>/<commit>/``
folders and a root ``metadata.json`` (``created``, ``data.<repo>[].run_date``).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from patchbench.plan.commits import read_commit_table
from patchbench.sources.choice import collect
from patchbench.sources.coverage import coverage, format_coverage
from patchbench.sources.kinds import SourceError, agent_sources, config_agents, parse_source_arg
from patchbench.sources.scan import PatchCandidate

# Four commits of a made-up table (the first two as ISO-Bench's RERUN_REPORT names them).
A = "fa63e710c7fa5c5e2a2f3f4b9c1d0e8a7b6c5d4e"
B = "99abb8b650e4b2c7d1f0a3e5b7c9d2f4a6b8c0e1"
C = "015069b01741e9ecb9e604c7fe87fbdfc306ebe5"
D = "2deb029d115dadd012ce5ea70487a207cb025493"
PARENT = "3c0007b168b545d1f795d759dc7a2ca512292222"
NOT_IN_TABLE = "abcdef0123456789abcdef0123456789abcdef01"
DIFF = "diff --git a/x.py b/x.py\n--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a = 1\n+a = 2\n"
PATCHBENCH = str(Path(sys.executable).parent / "patchbench")


def write(path: Path, text: str, mtime: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if mtime:  # a local time, like run directory names
        stamp = datetime.fromisoformat(mtime).timestamp()
        os.utime(path, (stamp, stamp))
    return path


def write_json(path: Path, data: object) -> Path:
    return write(path, json.dumps(data))


def commit_table(tmp_path: Path, commits=(A, B, C, D)) -> Path:
    rows = "".join(f"{commit},{PARENT}\n" for commit in commits)
    return write(tmp_path / "commits.csv", "commit,parent_commit\n" + rows)


def run_item(runs: Path, agent: str, model: str, stamp: str, item: str, human: str | None, patch: str = DIFF) -> Path:
    """A run item as ISO-Bench writes it, with run_summary.json's real fields."""
    item_dir = runs / "vllm" / agent / model / stamp / item
    write(item_dir / "model_patch.diff", patch)
    if human is not None:
        write_json(
            item_dir / "run_summary.json",
            {
                "schema_version": "1.0",
                "meta": {"repo": "vllm", "agent": agent, "model": model, "timestamp": stamp, "item_id": item},
                "commits": {"human": human, "pre": PARENT},
                "agent": {"status": "success", "patch_generated": True},
            },
        )
    return item_dir


@pytest.fixture
def records(tmp_path):
    return read_commit_table(commit_table(tmp_path))


# --- diff_dir --------------------------------------------------------------------


def test_diff_dir_matches_full_sha_and_prefixes_and_empty_counts_as_missing(tmp_path, records):
    patches = tmp_path / "alpha"
    write(patches / f"{A}.diff", DIFF)
    write(patches / "99abb8b6.diff", DIFF)  # first 8 digits, as ISO-Bench names them
    write(patches / "015069b.diff", "  \n\n")  # 7 digits, whitespace only
    write(patches / f"{NOT_IN_TABLE}.diff", DIFF)
    write(patches / "README.txt", "notes")

    choices = collect([{"kind": "diff_dir", "path": "alpha"}], records, tmp_path)

    assert list(choices) == [A, B, C, D]  # every commit of the table, in table order
    assert choices[A].chosen.path == patches / f"{A}.diff"
    assert choices[A].chosen.source == "diff_dir:alpha"
    assert choices[B].chosen.path == patches / "99abb8b6.diff"
    assert (choices[C].chosen, choices[C].status) == (None, "empty")
    assert choices[C].others[0].empty
    assert (choices[D].chosen, choices[D].status, choices[D].others) == (None, "missing", ())


def test_diff_dir_has_only_file_times(tmp_path, records):
    write(tmp_path / "alpha" / f"{A}.diff", DIFF, mtime="2024-03-01T08:00:00")
    choice = collect([{"kind": "diff_dir", "path": "alpha"}], records, tmp_path)[A]
    assert (choice.chosen.timestamp, choice.chosen.timestamp_origin) == ("2024-03-01T08:00:00", "file mtime")
    assert choice.reason == "the only patch"


def test_an_ambiguous_prefix_is_skipped_with_a_warning(tmp_path, caplog):
    twins = ("3476ed0809ec91a3457da0cb90543133a4f4b519", "3476ed0f1e2d3c4b5a69788796a5b4c3d2e1f001")
    records = read_commit_table(commit_table(tmp_path, twins))
    write(tmp_path / "alpha" / "3476ed0.diff", DIFF)
    with caplog.at_level(logging.WARNING):
        choices = collect([{"kind": "diff_dir", "path": "alpha"}], records, tmp_path)
    assert [c.status for c in choices.values()] == ["missing", "missing"]
    assert "3476ed0 matches several commits" in caplog.text


def test_a_short_table_commit_matches_a_full_sha_patch(tmp_path):
    records = read_commit_table(write(tmp_path / "short.csv", f"commit\n{A[:8]}\n"))
    write(tmp_path / "alpha" / f"{A}.diff", DIFF)
    choices = collect([{"kind": "diff_dir", "path": "alpha"}], records, tmp_path)
    assert choices[A[:8]].chosen.path == tmp_path / "alpha" / f"{A}.diff"


def test_patch_files_named_otherwise_are_a_warning(tmp_path, records, caplog):
    # A browser's "(1)", a .patch export, an upper-case suffix: none names its commit the way
    # diff_dir reads it, and each would otherwise be a silent missing_patch.
    for name in (f"{A} (1).diff", f"{B}.patch", f"{C}.DIFF"):
        write(tmp_path / "alpha" / name, DIFF)
    with caplog.at_level(logging.WARNING):
        choices = collect([{"kind": "diff_dir", "path": "alpha"}], records, tmp_path)
    assert {c.status for c in choices.values()} == {"missing"}
    for name in (f"{A} (1).diff", f"{B}.patch", f"{C}.DIFF"):
        assert f"ignored {name}: patch files are named <commit>.diff" in caplog.text


def test_a_missing_directory_is_a_warning_not_an_error(tmp_path, records, caplog):
    with caplog.at_level(logging.WARNING):
        choices = collect([{"kind": "diff_dir", "path": "nowhere"}], records, tmp_path)
    assert {c.status for c in choices.values()} == {"missing"}
    assert "nowhere does not exist" in caplog.text


# --- trajectories ----------------------------------------------------------------


def trajectory_dataset(root: Path) -> Path:
    """An ISO-Bench trajectory dataset: commit folders under vllm/ and sglang/, metadata.json at the root."""
    write_json(
        root / "metadata.json",
        {
            "dataset_name": "trae-gpt5-trajectories",
            "created": "2025-12-20T17:45:12.123456",
            "agent": "TRAE",
            "data": {"vllm": [{"commit": B[:8], "status": "success", "run_date": "2025-12-03_09-15-00", "files": {}}]},
        },
    )
    # Named by short commit, with a run summary: its meta.timestamp is the time.
    write(root / "vllm" / A[:8] / "model_patch.diff", DIFF)
    write_json(
        root / "vllm" / A[:8] / "run_summary.json",
        {"meta": {"timestamp": "2025-12-01_10-00-00"}, "commits": {"human": A, "pre": PARENT}},
    )
    write(root / "vllm" / A[:8] / "trajectory.json", "{}")
    # No run summary: metadata.json's run_date for this folder.
    write(root / "vllm" / B[:8] / "model_patch.diff", DIFF)
    # Neither: metadata.json's creation time.
    write(root / "vllm" / C / "model_patch.diff", DIFF)
    # A task-named folder: the commit comes from its run summary.
    write(root / "vllm" / "vllm_core-0007" / "model_patch.diff", DIFF)
    write_json(root / "vllm" / "vllm_core-0007" / "run_summary.json", {"commits": {"human": D, "pre": PARENT}})
    # Another repository's folder with a commit of ours: not read when repo is vllm.
    write(root / "sglang" / D / "model_patch.diff", DIFF)
    return root


def test_trajectory_dataset_from_a_local_directory(tmp_path, records):
    root = trajectory_dataset(tmp_path / "trae-gpt5")
    choices = collect([{"kind": "trajectories", "path": "trae-gpt5", "repo": "vllm"}], records, tmp_path)

    got = {commit: (c.chosen.path, c.chosen.timestamp, c.chosen.timestamp_origin) for commit, c in choices.items()}
    assert got == {
        A: (root / "vllm" / A[:8] / "model_patch.diff", "2025-12-01T10:00:00", "run_summary.json meta.timestamp"),
        B: (root / "vllm" / B[:8] / "model_patch.diff", "2025-12-03T09:15:00", "metadata.json run_date"),
        C: (root / "vllm" / C / "model_patch.diff", "2025-12-20T17:45:12", "metadata.json created"),
        D: (root / "vllm" / "vllm_core-0007" / "model_patch.diff", "2025-12-20T17:45:12", "metadata.json created"),
    }
    assert {c.chosen.source for c in choices.values()} == {"trajectories:trae-gpt5"}


def test_without_repo_every_repository_folder_is_read(tmp_path, records):
    root = trajectory_dataset(tmp_path / "trae-gpt5")
    choices = collect([{"kind": "trajectories", "path": "trae-gpt5"}], records, tmp_path)
    paths = {c.chosen.path for c in [choices[D]]} | {o.path for o in choices[D].others}
    assert paths == {root / "vllm" / "vllm_core-0007" / "model_patch.diff", root / "sglang" / D / "model_patch.diff"}


def test_a_local_copy_of_a_hub_dataset_needs_no_hub(tmp_path, records, monkeypatch):
    trajectory_dataset(tmp_path / "trae-gpt5")
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)  # any import of it would fail
    source = {
        "kind": "trajectories",
        "path": "trae-gpt5",
        "hf_dataset": "ISO-Bench/trae-gpt5-trajectories",
        "repo": "vllm",
    }
    choices = collect([source], records, tmp_path)
    assert choices[A].chosen.source == "trajectories:ISO-Bench/trae-gpt5-trajectories"


def test_downloading_without_huggingface_hub_names_the_dataset(tmp_path, records, monkeypatch):
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    source = {"kind": "trajectories", "hf_dataset": "ISO-Bench/trae-gpt5-trajectories", "repo": "vllm"}
    with pytest.raises(SourceError, match="'ISO-Bench/trae-gpt5-trajectories' needs huggingface_hub"):
        collect([source], records, tmp_path)


# --- runs ------------------------------------------------------------------------


def test_run_items_are_mapped_to_commits_through_their_json_only(tmp_path, records, caplog):
    runs = tmp_path / "state" / "runs"
    trae = run_item(runs, "trae", "gpt-5", "2025-01-10_12-00-00", "vllm_core-0091", A)
    # claude_code runs: no run_summary.json, the commits are in journal.json.
    claude = runs / "vllm" / "claude_code" / "sonnet" / "2025-01-11_08-00-00" / "vllm_core-0051"
    write(claude / "model_patch.diff", DIFF)
    write_json(
        claude / "journal.json",
        {"task_id": "vllm_core", "status": "success", "commits": {"human": B[:8], "pre": PARENT}},
    )
    # Broken items: skipped with a warning that says why.
    broken = run_item(runs, "trae", "gpt-5", "2025-01-10_12-00-00", "vllm_core-0001", None)
    write(broken / "run_summary.json", "{not json")
    no_commits = run_item(runs, "trae", "gpt-5", "2025-01-10_12-00-00", "vllm_core-0002", None)
    write_json(no_commits / "run_summary.json", {"schema_version": "1.0", "meta": {"item_id": "vllm_core-0002"}})
    # An item whose folder name is a table commit but whose JSON names another one: the JSON decides.
    run_item(runs, "trae", "gpt-5", "2025-01-10_12-00-00", C, NOT_IN_TABLE)
    # An item that produced no patch at all.
    write_json(
        runs / "vllm" / "trae" / "gpt-5" / "2025-01-10_12-00-00" / "vllm_core-0003" / "run_summary.json",
        {"commits": {"human": D}},
    )

    with caplog.at_level(logging.WARNING):
        choices = collect([{"kind": "runs", "path": "state/runs"}], records, tmp_path)

    assert choices[A].chosen.path == trae / "model_patch.diff"
    assert (choices[A].chosen.timestamp, choices[A].chosen.timestamp_origin) == (
        "2025-01-10T12:00:00",
        "run directory name",
    )
    assert choices[B].chosen.path == claude / "model_patch.diff"
    assert choices[C].status == "missing"
    assert choices[D].status == "missing"
    assert (
        "skipped" in caplog.text
        and "vllm_core-0001" in caplog.text
        and "run_summary.json is not valid JSON" in caplog.text
    )
    assert "vllm_core-0002" in caplog.text and "run_summary.json has no commits.human" in caplog.text


def test_agent_and_model_pick_subfolders(tmp_path, records):
    runs = tmp_path / "runs"
    gpt5 = run_item(runs, "trae", "gpt-5", "2025-01-10_12-00-00", "vllm_core-0091", A)
    run_item(runs, "trae", "sonnet45", "2025-03-01_00-00-00", "vllm_core-0091", A)
    run_item(runs, "codex", "gpt-5", "2025-03-01_00-00-00", "vllm_core-0091", A)
    source = {"kind": "runs", "path": "runs", "repo": "vllm", "agent": "trae", "model": "gpt-5"}
    choice = collect([source], records, tmp_path)[A]
    assert (choice.chosen.path, choice.others) == (gpt5 / "model_patch.diff", ())
    assert choice.chosen.source == "runs:runs (repo=vllm agent=trae model=gpt-5)"


def test_the_newest_run_wins_and_the_others_are_listed(tmp_path, records):
    runs = tmp_path / "runs"
    old = run_item(runs, "trae", "gpt-5", "2025-01-10_12-00-00", "vllm_core-0091", A)
    new = run_item(runs, "trae", "gpt-5", "2025-02-01_09-30-00", "vllm_sonnet45_rerun_fa63e710", A[:8])
    choice = collect([{"kind": "runs", "path": "runs"}], records, tmp_path)[A]
    assert choice.chosen.path == new / "model_patch.diff"
    assert [o.path for o in choice.others] == [old / "model_patch.diff"]
    assert choice.reason == "newest run: 2025-02-01T09:30:00 from the run directory name"


# --- precedence across sources ---------------------------------------------------


def test_newest_across_sources_then_source_order_then_path(tmp_path, records):
    # A: a rerun (2025-02) beats an older diff (file time 2024-06).
    write(tmp_path / "diffs" / f"{A}.diff", DIFF, mtime="2024-06-01T00:00:00")
    rerun = run_item(tmp_path / "runs", "trae", "gpt-5", "2025-02-01_09-30-00", "vllm_core-0091", A)
    # B: same time in two sources: the source listed first wins.
    first = write(tmp_path / "diffs" / f"{B}.diff", DIFF, mtime="2025-01-10T12:00:00")
    write(tmp_path / "more-diffs" / f"{B}.diff", DIFF, mtime="2025-01-10T12:00:00")
    # C: same time, same source: the first path in sorting order wins.
    write(tmp_path / "diffs" / f"{C}.diff", DIFF, mtime="2025-01-05T00:00:00")
    by_path = write(tmp_path / "diffs" / f"{C[:8]}.diff", DIFF, mtime="2025-01-05T00:00:00")
    # D: a newer empty patch counts as missing, so the older real one is used.
    real = write(tmp_path / "diffs" / f"{D}.diff", DIFF, mtime="2024-01-01T00:00:00")
    run_item(tmp_path / "runs", "trae", "gpt-5", "2025-03-01_00-00-00", "vllm_core-0007", D, patch="")

    sources = [
        {"kind": "diff_dir", "path": "diffs"},
        {"kind": "runs", "path": "runs"},
        {"kind": "diff_dir", "path": "more-diffs"},
    ]
    choices = collect(sources, records, tmp_path)

    assert choices[A].chosen.path == rerun / "model_patch.diff"
    assert choices[A].others[0].source == "diff_dir:diffs"
    assert choices[B].chosen.path == first
    assert choices[B].reason == "same time (2025-01-10T12:00:00) as another; its source comes first in the config"
    assert choices[C].chosen.path == by_path  # "015069b0.diff" sorts before "015069b01741...diff" ("." < "1")
    assert choices[C].reason == "same time (2025-01-05T00:00:00) and source as another; first by path"
    assert choices[D].chosen.path == real
    assert choices[D].reason == "the only non-empty patch"
    assert [(o.timestamp, o.empty) for o in choices[D].others] == [("2025-03-01T00:00:00", True)]

    # The order of sources in the config is the tie-break, so swapping it flips B only.
    swapped = collect(sources[::-1], records, tmp_path)
    assert swapped[B].chosen.source == "diff_dir:more-diffs"
    assert swapped[A].chosen.path == rerun / "model_patch.diff"


def test_a_recorded_run_time_beats_a_newer_file_time(tmp_path, records):
    # A git checkout gives every patch file the checkout time: it says nothing about the run.
    write(tmp_path / "diffs" / f"{A}.diff", DIFF, mtime="2026-11-01T00:00:00")
    run = run_item(tmp_path / "runs", "trae", "gpt-5", "2025-02-01_09-30-00", "vllm_core-0091", A)
    choices = collect([{"kind": "diff_dir", "path": "diffs"}, {"kind": "runs", "path": "runs"}], records, tmp_path)
    assert choices[A].chosen.path == run / "model_patch.diff"
    assert choices[A].reason == (
        "recorded run time 2025-02-01T09:30:00 (run directory name) beats a file modification time"
    )
    assert [(o.source, o.timestamp_origin) for o in choices[A].others] == [("diff_dir:diffs", "file mtime")]


# --- coverage --------------------------------------------------------------------


def test_coverage_rows_and_text(tmp_path, records):
    write(tmp_path / "diffs" / f"{A}.diff", DIFF, mtime="2024-06-01T00:00:00")
    write(tmp_path / "diffs" / f"{B}.diff", "", mtime="2024-06-01T00:00:00")
    run_item(tmp_path / "runs", "trae", "gpt-5", "2025-02-01_09-30-00", "vllm_core-0091", A)
    run_item(tmp_path / "runs", "trae", "gpt-5", "2025-02-01_09-30-00", "vllm_core-0099", C)
    agents = {
        "trae": collect([{"kind": "diff_dir", "path": "diffs"}, {"kind": "runs", "path": "runs"}], records, tmp_path),
        "idle": collect([{"kind": "diff_dir", "path": "empty-dir"}], records, tmp_path),
    }
    rows = coverage(agents)

    assert [(r["agent"], r["commit"], r["status"], r["source"]) for r in rows] == [
        ("trae", A, "patch", "runs:runs"),
        ("trae", B, "empty", ""),
        ("trae", C, "patch", "runs:runs"),
        ("trae", D, "missing", ""),
        ("idle", A, "missing", ""),
        ("idle", B, "missing", ""),
        ("idle", C, "missing", ""),
        ("idle", D, "missing", ""),
    ]
    assert rows[0]["others"] == [
        {
            "source": "diff_dir:diffs",
            "path": str(tmp_path / "diffs" / f"{A}.diff"),
            "timestamp": "2024-06-01T00:00:00",
            "empty": False,
        }
    ]

    text = format_coverage(rows, {"trae": ["diff_dir:diffs", "runs:runs"], "idle": ["diff_dir:empty-dir"]})
    assert "agent trae: 2 of 4 commits have a patch (50%)" in text
    assert "  diff_dir:diffs: 2 found, 0 chosen" in text
    assert "  runs:runs: 2 found, 2 chosen" in text
    assert "  missing (1): 2deb029d" in text
    assert "  empty (1): 99abb8b6" in text
    assert "  conflicts (1):" in text and "fa63e710: chose runs:runs" in text
    assert "agent idle: 0 of 4 commits have a patch (0%)" in text
    assert "  diff_dir:empty-dir: 0 found, 0 chosen" in text
    assert "  missing (4): fa63e710 99abb8b6 015069b0 2deb029d" in text


# --- config ----------------------------------------------------------------------


def test_source_config_is_checked(tmp_path, records):
    with pytest.raises(SourceError, match="kind must be one of diff_dir, trajectories, runs"):
        collect([{"kind": "s3", "path": "x"}], records, tmp_path)
    with pytest.raises(SourceError, match="needs path"):
        collect([{"kind": "runs", "agent": "trae"}], records, tmp_path)
    with pytest.raises(SourceError, match="unknown keys modle"):
        collect([{"kind": "runs", "path": "runs", "modle": "gpt-5"}], records, tmp_path)


def test_short_source_forms_and_the_older_patches_key():
    assert parse_source_arg("diff_dir:demo/agents/alpha") == {"kind": "diff_dir", "path": "demo/agents/alpha"}
    assert parse_source_arg("trajectories:data/traj:vllm") == {
        "kind": "trajectories",
        "path": "data/traj",
        "repo": "vllm",
    }
    assert parse_source_arg("runs:state/runs::trae") == {"kind": "runs", "path": "state/runs", "agent": "trae"}
    with pytest.raises(SourceError):
        parse_source_arg("patches:dir")
    assert agent_sources({"name": "a", "patches": "p", "sources": [{"kind": "runs", "path": "r"}]}) == [
        {"kind": "diff_dir", "path": "p"},
        {"kind": "runs", "path": "r"},
    ]


def test_candidate_is_hashable_and_frozen():
    candidate = PatchCandidate(A, Path("x.diff"), "diff_dir:x", None, False)
    with pytest.raises(AttributeError):
        candidate.commit = B  # type: ignore[misc]
    assert {candidate} == {PatchCandidate(A, Path("x.diff"), "diff_dir:x", None, False)}


# --- the command line --------------------------------------------------------------


def patchbench(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([PATCHBENCH, *args], cwd=cwd, capture_output=True, text=True, env=env)


def test_cli_coverage_from_agent_arguments(tmp_path):
    commit_table(tmp_path)
    write(tmp_path / "diffs" / f"{A}.diff", DIFF, mtime="2024-06-01T00:00:00")
    write(tmp_path / "diffs" / f"{B[:8]}.diff", DIFF)
    run_item(tmp_path / "runs", "trae", "gpt-5", "2025-02-01_09-30-00", "vllm_core-0091", A)
    run_item(tmp_path / "runs", "codex", "gpt-5", "2025-03-01_09-30-00", "vllm_core-0099", C)
    agent = ["--agent", "trae=diff_dir:diffs", "--agent", "trae=runs:runs:vllm:trae"]

    proc = patchbench(tmp_path, "coverage", "--commits", "commits.csv", *agent, "--json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert [(r["commit"], r["status"], r["source"]) for r in rows] == [
        (A, "patch", "runs:runs (repo=vllm agent=trae)"),
        (B, "patch", "diff_dir:diffs"),
        (C, "missing", ""),
        (D, "missing", ""),
    ]
    assert rows[0]["path"] == "runs/vllm/trae/gpt-5/2025-02-01_09-30-00/vllm_core-0091/model_patch.diff"

    text = patchbench(tmp_path, "coverage", "--commits", "commits.csv", *agent).stdout
    assert text.splitlines()[0] == "agent trae: 2 of 4 commits have a patch (50%)"
    assert "  missing (2): 015069b0 2deb029d" in text


def test_cli_coverage_from_a_suite_config(tmp_path):
    commit_table(tmp_path)
    trajectory_dataset(tmp_path / "traj")
    write(tmp_path / "legacy" / f"{D}.diff", DIFF)
    write(
        tmp_path / "suite.yaml",
        "suite: s\nrepo: builtin:demo\ncommits: commits.csv\nagents:\n"
        "  - name: trae-gpt5\n    sources:\n      - {kind: trajectories, path: traj, repo: vllm}\n"
        "  - name: old\n    patches: legacy\n",
    )
    proc = patchbench(tmp_path, "coverage", "--configfile", "suite.yaml", "--json")
    assert proc.returncode == 0, proc.stderr
    status = {(r["agent"], r["commit"][:8]): r["status"] for r in json.loads(proc.stdout)}
    assert status == {
        **{("trae-gpt5", c[:8]): "patch" for c in (A, B, C, D)},
        ("old", A[:8]): "missing",
        ("old", B[:8]): "missing",
        ("old", C[:8]): "missing",
        ("old", D[:8]): "patch",
    }


def test_cli_warns_about_a_broken_run_and_goes_on(tmp_path):
    commit_table(tmp_path)
    broken = run_item(tmp_path / "runs", "trae", "gpt-5", "2025-01-10_12-00-00", "vllm_core-0001", None)
    write(broken / "run_summary.json", "[1, 2]")
    proc = patchbench(tmp_path, "coverage", "--commits", "commits.csv", "--agent", "trae=runs:runs")
    assert proc.returncode == 0, proc.stderr
    assert "vllm_core-0001" in proc.stderr and "run_summary.json is not a JSON object" in proc.stderr
    assert "agent trae: 0 of 4 commits have a patch (0%)" in proc.stdout


def test_cli_offline_download_fails_with_the_dataset_named(tmp_path):
    commit_table(tmp_path)
    write(
        tmp_path / "suite.yaml",
        "suite: s\nrepo: builtin:demo\ncommits: commits.csv\nagents:\n  - name: trae\n    sources:\n"
        "      - {kind: trajectories, hf_dataset: patchbench-tests/no-such-dataset, repo: vllm}\n",
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf-home")}
    proc = patchbench(tmp_path, "coverage", "--configfile", "suite.yaml", env=env)
    assert proc.returncode == 2
    assert "patchbench-tests/no-such-dataset" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_cli_rejects_a_malformed_agent_argument(tmp_path):
    commit_table(tmp_path)
    proc = patchbench(tmp_path, "coverage", "--commits", "commits.csv", "--agent", "diff_dir:x")
    assert proc.returncode == 2
    assert "expected NAME=SOURCE" in proc.stderr


def test_cli_uses_a_cached_hub_dataset_without_the_network(tmp_path):
    commit_table(tmp_path)
    # Hugging Face's cache layout: refs/main names the snapshot folder that holds the files.
    cached = tmp_path / "hf-home" / "hub" / "datasets--ISO-Bench--trae-gpt5-trajectories"
    revision = "0123456789abcdef0123456789abcdef01234567"
    write(cached / "refs" / "main", revision)
    patch = write(cached / "snapshots" / revision / "vllm" / A[:8] / "model_patch.diff", DIFF)
    write(
        tmp_path / "suite.yaml",
        "suite: s\nrepo: builtin:demo\ncommits: commits.csv\nagents:\n  - name: trae\n    sources:\n"
        "      - {kind: trajectories, hf_dataset: ISO-Bench/trae-gpt5-trajectories, repo: vllm}\n",
    )
    # A dead endpoint: any network call would fail the run.
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf-home"), "HF_ENDPOINT": "http://127.0.0.1:9"}
    env.pop("HF_HUB_OFFLINE", None)
    proc = patchbench(tmp_path, "coverage", "--configfile", "suite.yaml", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert [(r["commit"], r["status"], r["path"]) for r in rows] == [
        (A, "patch", str(patch)),
        (B, "missing", ""),
        (C, "missing", ""),
        (D, "missing", ""),
    ]


def test_two_agents_of_one_name_are_a_config_error():
    # One would silently replace the other, and its patches would be lost.
    config = {"agents": [{"name": "alpha", "patches": "a"}, {"name": "alpha", "patches": "b"}]}
    with pytest.raises(ValueError, match="agent 'alpha' is configured twice"):
        config_agents(config)
