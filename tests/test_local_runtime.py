"""The local runtime's image stage on real repositories: repairs, rebuild guard, setup failures."""

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from patchbench import gitops
from patchbench.runtime import local
from patchbench.target import revisions
from tests.conftest import commit_all, git


@pytest.fixture
def target(tmp_path, small_repo):
    repo, commits = small_repo
    (repo / "kernel.c").write_text("int kernel(void) { return 0; }\n")
    commits.append(commit_all(repo, "add a kernel"))
    bare = tmp_path / "target.git"
    gitops.mirror(str(repo), bare)
    return repo, commits, bare


def prepare(tmp_path, bare, variant, commit, parent, patch_text="", setup=""):
    """The revisions job, then the image stage, as the workflow runs them."""
    patch = tmp_path / f"{variant}.diff"
    patch.write_text(patch_text)
    known = tmp_path / "revisions.json"
    revisions.write({"commit": commit, "parent": parent}, repo=bare, out=known)
    out = tmp_path / f"{variant}-image.tag"
    params = {
        "runtime": "local", "variant": variant, "setup_command": setup, "setup_timeout_s": 30, "python": "",
        "sandbox": {"mode": "required", "setup_network": False}, "hidden": [str(tmp_path / "results")],
    }  # fmt: skip
    worktree = tmp_path / "wt" / variant
    local.prepare(
        params, repo=bare, revisions=known, patch=patch, worktree=worktree, out=out, log=tmp_path / "image.log"
    )
    return json.loads(out.read_text())


def test_missing_parent_is_repaired_from_the_repository(tmp_path, target):
    _, commits, bare = target
    tag = prepare(tmp_path, bare, "baseline", commits[1], None)
    assert tag["status"] == "ok" and tag["parent"] == commits[0] and tag["parent_repaired"] is True
    assert "sum(range(x))" in (tmp_path / "wt" / "baseline" / "engine.py").read_text()


def test_human_leg_is_the_commit_itself(tmp_path, target):
    _, commits, bare = target
    tag = prepare(tmp_path, bare, "human", commits[1], commits[0])
    assert tag["checkout"] == commits[1] and tag["parent_repaired"] is False
    assert "x * (x - 1) // 2" in (tmp_path / "wt" / "human" / "engine.py").read_text()


def test_unknown_commit_without_parent_fails_as_missing_parent(tmp_path, target):
    _, _, bare = target
    tag = prepare(tmp_path, bare, "baseline", "f" * 40, None)
    assert tag["status"] == "failed" and tag["failure"]["category"] == "missing_parent_commit"


def test_compiled_change_without_a_rebuild_is_not_benchmarked(tmp_path, target):
    repo, commits, bare = target
    (repo / "kernel.c").write_text("int kernel(void) { return 1; }\n")
    patch = git(repo, "diff") + "\n"
    tag = prepare(tmp_path, bare, "agent", commits[2], commits[2], patch)  # patch on the kernel commit
    assert tag["status"] == "failed" and tag["failure"]["category"] == "needs_rebuild"
    assert "kernel.c" in tag["failure"]["evidence"]
    rebuilt = prepare(tmp_path, bare, "agent", commits[2], commits[2], patch, setup="true")
    assert rebuilt["status"] == "ok" and rebuilt["needs_rebuild"] is True


def test_failing_setup_command_is_setup_failed(tmp_path, target):
    _, commits, bare = target
    tag = prepare(tmp_path, bare, "baseline", commits[1], commits[0], setup="false")
    assert tag["status"] == "failed" and tag["failure"]["category"] == "setup_failed"


def test_a_setup_program_that_does_not_exist_is_a_missing_program(tmp_path, target):
    _, commits, bare = target
    tag = prepare(tmp_path, bare, "baseline", commits[1], commits[0], setup="no-such-installer --editable .")
    assert tag["status"] == "failed" and tag["failure"]["category"] == "missing_program"
    assert tag["failure"]["evidence"].startswith(
        "the setup command 'no-such-installer --editable .': cannot start 'no-such-installer': No such file or directory"
    )


def test_rounds_of_a_leg_check_its_working_copy_in_turn(tmp_path, target):
    # Rounds of one leg may run at once (several GPUs, Slurm nodes); each takes the working
    # copy's digest through git's index, and two at once collide on index.lock.
    _, commits, bare = target
    tag = prepare(tmp_path, bare, "baseline", commits[1], commits[0])
    how = local.confining({"mode": "off", "setup_network": False}, "baseline")
    params = {"setup_command": "", "sandbox": {"mode": "off", "setup_network": False}, "python": "", "hidden": []}

    def check(_: int) -> object:
        return local.ensure_worktree(tag, repo=bare, log=tmp_path / "setup.log", how=how, params=params)

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(check, range(64)))
    assert outcomes == [None] * 64
