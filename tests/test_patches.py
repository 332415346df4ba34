"""Untrusted patches against real git repositories: what is applied, what is refused."""

from pathlib import Path

import pytest

from patchbench import failures, gitops
from patchbench.patches.vet import check_and_apply, compiled_sources, git_unquote, read_changes, unsafe_reason
from tests.conftest import commit_all, git


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def leg(tmp_path, small_repo):
    """A leg's private copy at the first commit, plus a sentinel folder outside it.

    The first commit also holds the repository's own symbolic link,
    ``docs.md -> engine.py``, which no patch may change, copy or write through.
    """
    repo, commits = small_repo
    git(repo, "checkout", "-q", "-b", "linked", commits[0])
    (repo / "docs.md").symlink_to("engine.py")
    linked = commit_all(repo, "a link of the project's own")
    (repo / "engine.py").write_text(git(repo, "show", f"{commits[1]}:engine.py") + "\n")
    commits = [linked, commit_all(repo, "closed form, after the link")]
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
    assert check_and_apply(worktree, patch).failure is None
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
    failure = check_and_apply(worktree, patch).failure
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
    failure = check_and_apply(worktree, patch).failure
    assert failure.category == failures.PATCH_SYNTAX_ERROR
    assert failure.evidence.startswith("engine.py:2:")


ESCAPES = {
    "dotdot": "diff --git a/../outside/keep.txt b/../outside/keep.txt\n--- a/../outside/keep.txt\n"
    "+++ b/../outside/keep.txt\n@@ -1 +1 @@\n-untouched\n+owned\n",
    "absolute": "diff --git a//tmp/evil.txt b//tmp/evil.txt\nnew file mode 100644\n--- /dev/null\n"
    "+++ b//tmp/evil.txt\n@@ -0,0 +1 @@\n+owned\n",
    "git-metadata": "diff --git a/.git/hooks/post-checkout b/.git/hooks/post-checkout\nnew file mode 100755\n"
    "--- /dev/null\n+++ b/.git/hooks/post-checkout\n@@ -0,0 +1 @@\n+rm -rf ~\n",
    "symlink": "diff --git a/link b/link\nnew file mode 120000\n--- /dev/null\n+++ b/link\n"
    "@@ -0,0 +1 @@\n+../outside\n\\ No newline at end of file\n",
    "binary": "diff --git a/blob.bin b/blob.bin\nnew file mode 100644\nindex 0000000..1111111\n"
    "GIT binary patch\nliteral 3\nKcmZ>A>i_@%00D;v\n\nliteral 0\nHcmV?d00001\n\n",
    "rename-out": "diff --git a/engine.py b/engine.py\nsimilarity index 100%\nrename from engine.py\n"
    "rename to ../outside/engine.py\n",
    "garbage": "this is not a diff at all\n",
    # git reads a mode as a number: spacing, leading zeros and permission bits do not hide a link.
    "symlink-0mode": "diff --git a/link b/link\nnew file mode 0120000\n--- /dev/null\n+++ b/link\n"
    "@@ -0,0 +1 @@\n+../outside\n\\ No newline at end of file\n",
    "symlink-2space": "diff --git a/link b/link\nnew file mode  120000\n--- /dev/null\n+++ b/link\n"
    "@@ -0,0 +1 @@\n+../outside\n\\ No newline at end of file\n",
    "symlink-120777": "diff --git a/link b/link\nnew file mode 120777\n--- /dev/null\n+++ b/link\n"
    "@@ -0,0 +1 @@\n+../outside\n\\ No newline at end of file\n",
    "symlink-retarget": "diff --git a/docs.md b/docs.md\nindex 1111111..2222222 120000\n--- a/docs.md\n+++ b/docs.md\n"
    "@@ -1 +1 @@\n-engine.py\n\\ No newline at end of file\n+../outside/keep.txt\n\\ No newline at end of file\n",
    "copy-symlink": "diff --git a/docs.md b/docs2.md\nsimilarity index 100%\ncopy from docs.md\ncopy to docs2.md\n",
    # git reads a quoted name up to its closing quote and ignores what follows it.
    "copy-absolute": 'diff --git a/x b/leak.py\nsimilarity index 100%\ncopy from "/etc/hostname"x\ncopy to leak.py\n',
    "copy-git-config": 'diff --git a/x b/leak.txt\nsimilarity index 100%\ncopy from ".git/config"x\ncopy to leak.txt\n',
    "rename-bad-escape": 'diff --git a/x b/y.py\nsimilarity index 100%\nrename from "\\N"\nrename to y.py\n',
    "submodule": "diff --git a/sub b/sub\nnew file mode 160000\nindex 0000000..1234567\n--- /dev/null\n+++ b/sub\n"
    "@@ -0,0 +1 @@\n+Subproject commit 1234567890123456789012345678901234567890\n",
    "git-upper": "diff --git a/.GIT/hooks/pre-commit b/.GIT/hooks/pre-commit\nnew file mode 100755\n"
    "--- /dev/null\n+++ b/.GIT/hooks/pre-commit\n@@ -0,0 +1 @@\n+rm -rf ~\n",
    "gitattributes": "diff --git a/.gitattributes b/.gitattributes\nnew file mode 100644\n--- /dev/null\n"
    "+++ b/.gitattributes\n@@ -0,0 +1 @@\n+*.py filter=lfs diff=lfs merge=lfs\n",
}


@pytest.mark.parametrize("kind", sorted(ESCAPES))
def test_unsafe_patches_are_rejected_and_nothing_changes(tmp_path, leg, kind):
    _, _, worktree, outside = leg
    before_outside, before_tree = snapshot(outside), snapshot(worktree)
    failure = check_and_apply(worktree, write_patch(tmp_path, ESCAPES[kind])).failure
    assert failure.category == failures.PATCH_REJECTED
    assert snapshot(outside) == before_outside
    assert snapshot(worktree) == before_tree
    assert not Path("/tmp/evil.txt").exists()


def test_a_traditional_absolute_header_lands_inside_the_worktree(tmp_path, leg):
    # git strips the first component of "+++ /tmp/evil.txt" like any other: tmp/evil.txt in the copy.
    _, _, worktree, _ = leg
    assert (
        check_and_apply(
            worktree, write_patch(tmp_path, "--- /dev/null\n+++ /tmp/evil.txt\n@@ -0,0 +1 @@\n+owned\n")
        ).failure
        is None
    )
    assert (worktree / "tmp" / "evil.txt").read_text() == "owned\n"
    assert not Path("/tmp/evil.txt").exists()


def test_nul_bytes_non_utf8_and_oversize_are_rejected():
    assert "NUL" in unsafe_reason(b"diff --git a/x b/x\n\0\0")
    assert "UTF-8" in unsafe_reason(b"diff --git a/x b/x\n\xff\xfe")
    assert "above the limit" in unsafe_reason(b"x" * 101, max_bytes=100)


def test_hunk_lines_that_look_like_file_headers_are_content(tmp_path, leg):
    # A removed "-- x" and an added "++ /usr/bin/env" line in one hunk are not a header pair.
    _, _, worktree, _ = leg
    (worktree / "notes.md").write_text("-- hello\nkeep\n")
    git(worktree, "add", "notes.md")
    git(worktree, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "notes")
    patch = write_patch(
        tmp_path,
        "diff --git a/notes.md b/notes.md\n--- a/notes.md\n+++ b/notes.md\n@@ -1,2 +1,2 @@\n"
        "--- hello\n+++ /usr/bin/env\n keep\n",
    )
    assert check_and_apply(worktree, patch).failure is None
    assert (worktree / "notes.md").read_text() == "++ /usr/bin/env\nkeep\n"


@pytest.mark.parametrize(
    "header",
    [
        'diff --git "a/caf\\303\\251.py" "b/caf\\303\\251.py"\nnew file mode 100644\n--- /dev/null\n+++ "b/caf\\303\\251.py"\n',
        "diff --git a/my file.py b/my file.py\nnew file mode 100644\n--- /dev/null\n+++ b/my file.py\n",
    ],
)
def test_python_files_with_unusual_names_are_still_compiled(tmp_path, leg, header):
    # git quotes a UTF-8 name in octal escapes; a name with a space stays bare.
    _, _, worktree, _ = leg
    failure = check_and_apply(worktree, write_patch(tmp_path, header + "@@ -0,0 +1 @@\n+x = (\n")).failure
    assert failure.category == failures.PATCH_SYNTAX_ERROR
    assert "was never closed" in failure.evidence


def test_a_file_too_deeply_nested_to_compile_is_a_syntax_failure(tmp_path, leg):
    _, _, worktree, _ = leg
    deep = "x = " + "+".join(["1"] * 200_000)
    patch = write_patch(
        tmp_path,
        f"diff --git a/deep.py b/deep.py\nnew file mode 100644\n--- /dev/null\n+++ b/deep.py\n@@ -0,0 +1 @@\n+{deep}\n",
    )
    failure = check_and_apply(worktree, patch).failure
    assert failure.category == failures.PATCH_SYNTAX_ERROR
    assert failure.evidence.startswith("deep.py: Python cannot compile it")


def test_git_unquote_reads_names_as_git_does():
    assert git_unquote("plain name.py") == "plain name.py"
    assert git_unquote('"a/\\056\\056/x"') == "a/../x"
    assert git_unquote('"/etc/hostname"trailing') == "/etc/hostname"
    assert git_unquote('"caf\\303\\251.py"') == "café.py"
    assert git_unquote('"\\N"') is None
    assert git_unquote('"unterminated') is None


def test_patch_touching_cuda_needs_a_rebuild(tmp_path):
    patch = write_patch(
        tmp_path,
        "diff --git a/csrc/attention.cu b/csrc/attention.cu\n--- a/csrc/attention.cu\n+++ b/csrc/attention.cu\n"
        "@@ -1 +1 @@\n-int x;\n+int y;\n"
        "diff --git a/vllm/x.py b/vllm/x.py\n--- a/vllm/x.py\n+++ b/vllm/x.py\n@@ -1 +1 @@\n-a = 1\n+a = 2\n",
    )
    assert compiled_sources(read_changes(patch, tmp_path)) == ["csrc/attention.cu"]
    python_only = "diff --git a/vllm/x.py b/vllm/x.py\n--- a/vllm/x.py\n+++ b/vllm/x.py\n@@ -1 +1 @@\n-a = 1\n+a = 2\n"
    assert compiled_sources(read_changes(write_patch(tmp_path, python_only), tmp_path)) == []


def test_a_git_dir_in_the_environment_does_not_redirect_the_leg(tmp_path, leg, monkeypatch):
    # Snakemake started from a git hook (or a shell that exported GIT_DIR) must still work on the leg's copy.
    repo, commits, _, _ = leg
    head_before = git(repo, "rev-parse", "HEAD")
    monkeypatch.setenv("GIT_DIR", str(repo / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(repo))
    copy = tmp_path / "legs" / "human"
    gitops.checkout_detached(repo, commits[1], copy)
    assert "x * (x - 1) // 2" in (copy / "engine.py").read_text()
    assert gitops.tree_id(copy) == gitops.git_text(["rev-parse", f"{commits[1]}^{{tree}}"], cwd=copy)
    monkeypatch.delenv("GIT_DIR")
    monkeypatch.delenv("GIT_WORK_TREE")
    assert git(repo, "rev-parse", "HEAD") == head_before
    assert git(repo, "status", "--porcelain") == ""
