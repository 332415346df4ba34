"""Untrusted patches against real git repositories: what is applied, what is refused."""

from pathlib import Path

import pytest

from patchbench import failures, gitops
from patchbench.patches import check_and_apply, compiled_sources, patched_paths, unsafe_reason
from tests.conftest import git


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def leg(tmp_path, small_repo):
    """A leg's private copy at the first commit, plus a sentinel folder outside it."""
    repo, commits = small_repo
    bare = tmp_path / "target.git"
    gitops.mirror(str(repo), bare)
    worktree = tmp_path / "legs" / "agent"
    gitops.checkout_detached(bare, commits[0], worktree)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("untouched\n")
    return repo, commits, worktree, outside


def write_patch(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "agent.diff"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def test_real_diff_applies_in_the_worktree_only(tmp_path, leg):
    repo, commits, worktree, outside = leg
    patch = write_patch(tmp_path, git(repo, "diff", commits[0], commits[1]) + "\n")
    before = snapshot(outside)
    assert check_and_apply(worktree, patch) is None
    assert "x * (x - 1) // 2" in (worktree / "engine.py").read_text()
    assert snapshot(outside) == before
    assert git(repo, "status", "--porcelain") == ""


def test_patch_that_does_not_apply_fails_with_gits_words(tmp_path, leg):
    _, _, worktree, _ = leg
    patch = write_patch(
        tmp_path,
        "diff --git a/engine.py b/engine.py\n--- a/engine.py\n+++ b/engine.py\n"
        "@@ -1,2 +1,2 @@\n def step(x):\n-    return slow(x)\n+    return fast(x)\n",
    )
    failure = check_and_apply(worktree, patch)
    assert failure.category == failures.PATCH_APPLY_FAILED
    assert "patch does not apply" in failure.evidence
    assert "sum(range(x))" in (worktree / "engine.py").read_text()  # never forced, nothing half-applied


def test_syntax_error_is_caught_before_any_run(tmp_path, leg):
    _, _, worktree, _ = leg
    patch = write_patch(
        tmp_path,
        "diff --git a/engine.py b/engine.py\n--- a/engine.py\n+++ b/engine.py\n"
        "@@ -1,2 +1,2 @@\n def step(x):\n-    return sum(range(x))\n+    return x * (x - 1 // 2\n",
    )
    failure = check_and_apply(worktree, patch)
    assert failure.category == failures.PATCH_SYNTAX_ERROR
    assert failure.evidence.startswith("engine.py:2:")


ESCAPES = {
    "dotdot": "diff --git a/../outside/keep.txt b/../outside/keep.txt\n--- a/../outside/keep.txt\n"
    "+++ b/../outside/keep.txt\n@@ -1 +1 @@\n-untouched\n+owned\n",
    "absolute": "--- /dev/null\n+++ /tmp/evil.txt\n@@ -0,0 +1 @@\n+owned\n",
    "git-metadata": "diff --git a/.git/hooks/post-checkout b/.git/hooks/post-checkout\nnew file mode 100755\n"
    "--- /dev/null\n+++ b/.git/hooks/post-checkout\n@@ -0,0 +1 @@\n+rm -rf ~\n",
    "symlink": "diff --git a/link b/link\nnew file mode 120000\n--- /dev/null\n+++ b/link\n"
    "@@ -0,0 +1 @@\n+../outside\n\\ No newline at end of file\n",
    "binary": "diff --git a/blob.bin b/blob.bin\nnew file mode 100644\nindex 0000000..1111111\n"
    "GIT binary patch\nliteral 3\nKcmZ>A>i_@%00D;v\n\nliteral 0\nHcmV?d00001\n\n",
    "rename-out": "diff --git a/engine.py b/engine.py\nsimilarity index 100%\nrename from engine.py\n"
    "rename to ../outside/engine.py\n",
    "garbage": "this is not a diff at all\n",
}


@pytest.mark.parametrize("kind", sorted(ESCAPES))
def test_unsafe_patches_are_rejected_and_nothing_changes(tmp_path, leg, kind):
    _, _, worktree, outside = leg
    before_outside, before_tree = snapshot(outside), snapshot(worktree)
    failure = check_and_apply(worktree, write_patch(tmp_path, ESCAPES[kind]))
    assert failure.category == failures.PATCH_REJECTED
    assert snapshot(outside) == before_outside
    assert snapshot(worktree) == before_tree
    assert not Path("/tmp/evil.txt").exists()


def test_nul_bytes_non_utf8_and_oversize_are_rejected():
    assert "NUL" in unsafe_reason(b"diff --git a/x b/x\n\0\0")
    assert "UTF-8" in unsafe_reason(b"diff --git a/x b/x\n\xff\xfe")
    assert "above the limit" in unsafe_reason(b"x" * 101, max_bytes=100)


def test_removed_lines_starting_with_dashes_are_content_not_paths():
    patch = (
        "diff --git a/q.sql b/q.sql\n--- a/q.sql\n+++ b/q.sql\n@@ -1,2 +1 @@\n"
        "--- /etc/passwd comment\n select 1;\n"
    )
    assert patched_paths(patch) == ["q.sql"]
    assert unsafe_reason(patch.encode()) is None


def test_patch_touching_cuda_needs_a_rebuild(tmp_path):
    patch = write_patch(
        tmp_path,
        "diff --git a/csrc/attention.cu b/csrc/attention.cu\n--- a/csrc/attention.cu\n+++ b/csrc/attention.cu\n"
        "@@ -1 +1 @@\n-int x;\n+int y;\n"
        "diff --git a/vllm/x.py b/vllm/x.py\n--- a/vllm/x.py\n+++ b/vllm/x.py\n@@ -1 +1 @@\n-a = 1\n+a = 2\n",
    )
    assert compiled_sources(patch) == ["csrc/attention.cu"]
    assert compiled_sources(write_patch(tmp_path, ESCAPES["dotdot"])) == []
