from pathlib import Path

import pytest

from patchbench.plan.commits import CommitTableError, read_commit_table
from tests.conftest import ISOBENCH


def test_reads_isobench_mode_mapping_as_it_is():
    records = read_commit_table(ISOBENCH / "benchmark_mode_mapping.json")
    assert len(records) == 96
    by_short = {r.short: r for r in records}
    first = by_short["015069b0"]
    assert first.commit == "015069b01741e9ecb9e604c7fe87fbdfc306ebe5"
    assert first.parent == "fbefc8a78d22b20eac042c586805c7dcbfc66b1c"
    assert first.model == "Qwen/Qwen2.5-7B-Instruct"
    assert first.benchmark_hint == "serving"
    # NULL parent and NULL perf command stay missing: the planner decides what they mean.
    assert by_short["3127e975"].parent is None and by_short["3127e975"].perf_command is None
    assert by_short["9f1710f1"].perf_command is None


def test_reads_isobench_legacy_list_with_model_overrides():
    records = read_commit_table(ISOBENCH / "baseline_benchmark_mapping_complete.json")
    assert len(records) == 96
    by_short = {r.short: r for r in records}
    assert by_short["22d33bac"].model == "meta-llama/Meta-Llama-3-8B-Instruct"
    assert by_short["22d33bac"].original_model == "meta-llama/Llama-3.1-8B-Instruct"
    assert by_short["22d33bac"].extra["docker_throughput"] == 3025.62
    assert by_short["3127e975"].perf_command is None  # "" in the file


@pytest.mark.parametrize("suffix,sep", [(".csv", ","), (".tsv", "\t")])
def test_reads_plain_sheets(tmp_path: Path, suffix: str, sep: str):
    sheet = tmp_path / f"commits{suffix}"
    rows = [
        ["commit", "parent_commit", "perf_command", "model"],
        ["a" * 40, "b" * 40, "python benchmarks/benchmark_latency.py --model m", "m"],
        ["c" * 40, "", "", ""],
    ]
    sheet.write_text("\n".join(sep.join(r) for r in rows) + "\n")
    first, second = read_commit_table(sheet)
    assert (first.commit, first.parent, first.model) == ("a" * 40, "b" * 40, "m")
    assert (second.parent, second.perf_command, second.model) == (None, None, None)


@pytest.mark.parametrize(
    "name,text,message",
    [
        ("bad.json", "{not json", "invalid JSON at line 1"),
        ("list.json", '["abc"]', "item 0 is not an object"),
        ("scalar.json", "42", "expected a JSON object or list"),
        ("nohex.json", '{"xyz": {"perf_command": "x"}}', "is not a 7-40 digit hex SHA"),
        ("badparent.csv", "commit,parent_commit\n" + "a" * 40 + ",HEAD~1\n", "is not a 7-40 digit hex SHA"),
        ("twice.csv", "commit\n" + "a" * 8 + "\n" + "a" * 8 + "\n", "listed twice"),
        ("short-and-full.csv", "commit\n" + "a" * 8 + "\n" + "a" * 40 + "\n", "listed twice"),
        ("nocolumn.csv", "sha,parent\nabc,def\n", "needs a 'commit' column"),
        ("table.xlsx", "", "unknown commit table type"),
        ("empty.json", "[]", "lists no commits"),
        ("header-only.csv", "commit,parent_commit\n", "lists no commits"),
        ("own-parent.csv", "commit,parent_commit\n" + "a" * 40 + "," + "a" * 12 + "\n", "is its own parent_commit"),
        ("dupkey.json", '{"aaaaaaaa": {"perf_command": "x"}, "aaaaaaaa": {"perf_command": "y"}}', "appears twice"),
        ("number.json", '[{"commit": 1234567, "perf_command": "x"}]', "commit is int 1234567, expected text"),
        ("list-cmd.json", '[{"commit": "aaaaaaaa", "perf_command": ["python", "x.py"]}]', "perf_command is list"),
        ("disagree.json", '{"aaaaaaaa": {"commit_full": "' + "b" * 40 + '"}}', "the commit columns disagree"),
        ("comma.csv", "commit,perf_command\n" + "a" * 8 + ",python x.py --dtype a,b\n", "line 2: 3 cells under 2"),
        ("unclosed.csv", "commit,perf_command\n" + "a" * 8 + ',"python x.py\n' + "b" * 8 + ",y\n", "never closes"),
    ],
)
def test_malformed_tables_get_a_clear_error(tmp_path: Path, name: str, text: str, message: str):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(CommitTableError, match=message) as info:
        read_commit_table(path)
    assert name in str(info.value)


def test_binary_table_is_a_clear_error(tmp_path: Path):
    path = tmp_path / "commits.csv"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(CommitTableError, match="not UTF-8"):
        read_commit_table(path)


def test_sheet_cells_may_span_lines_and_errors_name_the_physical_line(tmp_path: Path):
    # A quoted command over two lines stays one cell; a bad SHA after it is reported at its own line.
    sheet = tmp_path / "commits.csv"
    sheet.write_text("\ufeffCommit,Perf_Command\n\n" + "a" * 8 + ',"python x.py\n--model m"\nnot-a-sha,y\n')
    with pytest.raises(CommitTableError, match="line 5: commit 'not-a-sha'"):
        read_commit_table(sheet)
    sheet.write_text("\ufeffCommit,Perf_Command\n\n" + "a" * 8 + ',"python x.py\n--model m"\n')
    (record,) = read_commit_table(sheet)
    assert (record.commit, record.perf_command) == ("a" * 8, "python x.py\n--model m")


def test_a_table_that_is_a_folder_is_a_clear_error(tmp_path: Path):
    path = tmp_path / "commits.csv"
    path.mkdir()
    with pytest.raises(CommitTableError, match="cannot read the commit table"):
        read_commit_table(path)
