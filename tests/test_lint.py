"""The lint on the real ISO-Bench mapping: every case of every kind, found by reading the file."""

import json
import subprocess
import sys
from pathlib import Path

from patchbench import config
from patchbench.plan.commits import CommitRecord, read_commit_table
from patchbench.plan.lint import ERROR, REPAIRABLE, WARNING, blocking, lint_record, lint_table
from tests.conftest import ISOBENCH

MAPPING = ISOBENCH / "benchmark_mode_mapping.json"
RULES = config.defaults()["normalization"]

# Written from reading benchmark_mode_mapping.json line by line (short commits).
EXPECTED = {
    "missing_parent_commit": {"3127e975", "4fb56914", "526de822", "ac45c44d", "baeded25"},
    "missing_perf_command": {"3127e975", "9f1710f1", "19d98e0c"},
    "placeholder_in_command": {"526de822"},
    "local_path_in_command": {"fa63e710", "9474e89b", "4fb56914", "6d646d08", "8d75fe48", "9badee53"},
    "gpu_requirement": {"21d93c14", "310aca88", "379da6dc", "bd6028d6", "dae68969", "f26c4aee", "fb0acb6c"},
    "unsupported_benchmark": {"2deb029d", "9323a315", "9474e89b"},
    "script_path": {"9323a315", "9474e89b", "bfdb1ba5", "c45f3c3a"},
    "model_mismatch": {
        "21d93c14", "2a052011", "61b8cea3", "6d646d08", "9323a315", "98f47f2a", "aea94362", "d55e446d", "fa63e710",
    },
}  # fmt: skip


def by_code(findings):
    found = {}
    for f in findings:
        found.setdefault(f.code, set()).add(f.commit[:8])
    return found


def test_finds_every_case_in_the_isobench_mapping():
    assert by_code(lint_table(read_commit_table(MAPPING), 1, RULES)) == EXPECTED


def test_gpu_findings_follow_the_host():
    findings = by_code(lint_table(read_commit_table(MAPPING), 4, RULES))
    assert findings["gpu_requirement"] == {"21d93c14", "dae68969", "fb0acb6c"}  # the 8-GPU commands


def test_severity_decides_what_blocks():
    record = CommitRecord(
        commit="a" * 40, parent=None, model="org/m",
        perf_command="python /home/u/vllm/benchmarks/benchmark_latency.py --model org/other",
    )  # fmt: skip
    findings = lint_record(record, 1, RULES).findings
    assert {(f.code, f.severity) for f in findings} == {
        ("missing_parent_commit", REPAIRABLE),
        ("script_path", REPAIRABLE),
        ("model_mismatch", WARNING),
    }
    assert blocking(findings) is None
    placeholder = CommitRecord(commit="b" * 40, perf_command="vllm bench latency --model MODEL -tp 8")
    first = blocking(lint_record(placeholder, 1, RULES).findings)
    assert first.severity == ERROR and first.code == "placeholder_in_command"


def test_overrides_are_shown_as_such():
    record = read_commit_table(ISOBENCH / "baseline_benchmark_mapping_complete.json")
    overridden = [r for r in record if r.short == "22d33bac"][0]
    [finding] = [f for f in lint_record(overridden, 1, RULES).findings if f.code == "model_mismatch"]
    assert "overrode the model meta-llama/Llama-3.1-8B-Instruct" in finding.message


def test_cli_json_lists_commit_code_message(tmp_path):
    patchbench = str(Path(sys.executable).parent / "patchbench")
    out = subprocess.run(
        [patchbench, "lint", "--mapping", str(MAPPING), "--gpus", "1", "--json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = json.loads(out)
    assert {"commit", "code", "message"} <= set(rows[0])
    assert sum(r["code"] == "gpu_requirement" for r in rows) == 7


def test_cli_malformed_mapping_is_a_clear_error(tmp_path):
    bad = tmp_path / "mapping.json"
    bad.write_text('{"015069b0": "not an object"}')
    patchbench = str(Path(sys.executable).parent / "patchbench")
    proc = subprocess.run([patchbench, "lint", "--mapping", str(bad)], capture_output=True, text=True)
    assert proc.returncode == 2 and "entry '015069b0' is not an object" in proc.stderr


def test_cli_invalid_config_is_one_clear_line(tmp_path):
    config = tmp_path / "suite.yaml"
    config.write_text("suite: s\nrepo: 1\ncommits: c.csv\n")
    patchbench = str(Path(sys.executable).parent / "patchbench")
    mapping = str(ISOBENCH / "benchmark_mode_mapping.json")
    proc = subprocess.run(
        [patchbench, "lint", "--mapping", mapping, "--configfile", str(config)], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"patchbench lint: {config}: ") and "1 is not of type 'string'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_shell_syntax_and_code_swapping_variables_are_errors():
    # Commands run without a shell: "&&", "$(...)" and "> file" would reach the benchmark as
    # arguments; PYTHONPATH or LD_PRELOAD would change what code runs on the host.
    cases = {
        "python benchmarks/benchmark_latency.py --model m && rm -rf ~": "shell syntax in perf_command (&&)",
        "python benchmarks/benchmark_latency.py --model $(cat m.txt)": "shell syntax in perf_command ($(cat",
        "python benchmarks/benchmark_latency.py --model m > out.txt": "shell syntax in perf_command (>)",
        "PYTHONPATH=/tmp/x python benchmarks/benchmark_latency.py --model m": "sets PYTHONPATH",
        "env LD_PRELOAD=/tmp/x.so python benchmarks/benchmark_latency.py --model m": "sets LD_PRELOAD",
    }
    for command, message in cases.items():
        first = blocking(
            lint_record(CommitRecord(commit="c" * 40, parent="d" * 40, perf_command=command), 1, RULES).findings
        )
        assert (first.code, first.severity) == ("bad_arguments", ERROR), command
        assert message in first.message, (command, first.message)
    # ISO-Bench's own assignments are benchmark settings, not code swaps.
    fine = CommitRecord(
        commit="e" * 40, parent="f" * 40,
        perf_command="VLLM_USE_V1=1 python benchmarks/benchmark_latency.py --model m --hf-overrides PATH=x",
    )  # fmt: skip
    assert blocking(lint_record(fine, 1, RULES).findings) is None
