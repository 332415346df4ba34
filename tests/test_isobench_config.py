"""The ready ISO-Bench config: plans all 96 commits, and the lint's errors become skipped legs."""

from collections import Counter

from patchbench import config
from patchbench.plan.suite import plan_suite
from tests.conftest import REPO_ROOT
from tests.workflow import copy_project, snakemake


def test_dry_run_plans_all_96_commits(tmp_path):
    workdir = copy_project(tmp_path / "p")
    proc = snakemake(workdir, "-n", "--configfile", "config/isobench-vllm.yaml", "--cores", "1", "--resources", "gpu=1")
    assert proc.returncode == 0, proc.stderr[-3000:]
    counts = dict(line.split() for line in proc.stdout.splitlines() if line.split()[:1] in (["spec"], ["metrics"]))
    assert counts["spec"] == "96"
    assert counts["metrics"] == str(96 * 4)  # baseline, human and two agents


def test_lint_errors_become_skipped_legs():
    suite = config.load(REPO_ROOT / "config" / "isobench-vllm.yaml")
    plan = plan_suite(suite, base_dir=REPO_ROOT, gpu_limit=1)
    skipped = {commit[:8]: p.skip.category for commit, p in plan.commits.items() if p.skip}
    assert skipped["526de822"] == "placeholder_in_command"
    assert skipped["fa63e710"] == "local_path_in_command"
    assert skipped["dae68969"] == "gpu_requirement"
    assert skipped["9323a315"] == "unsupported_benchmark"
    assert skipped["3127e975"] == "missing_perf_command"
    assert Counter(skipped.values()) == {
        "gpu_requirement": 7,
        "local_path_in_command": 1,  # fa63e710's --model
        "unsupported_benchmark": 3,
        "missing_perf_command": 3,
        "placeholder_in_command": 1,
    }
    # Repairs are not skips: NULL parents are resolved from the clone, misplaced scripts by a rule,
    # ShareGPT files from the authors' machines by the serving-dataset rule.
    assert "bfdb1ba5" not in skipped and "c45f3c3a" not in skipped and "ac45c44d" not in skipped
    for commit in ("4fb56914", "6d646d08", "8d75fe48", "9badee53"):
        assert commit not in skipped
        finding = next(f for f in plan.commits[_full(plan, commit)].findings if f.code == "local_path_in_command")
        assert finding.severity == "repairable" and "serving_dataset rule" in finding.message


def _full(plan, short):
    return next(commit for commit in plan.commits if commit.startswith(short))
