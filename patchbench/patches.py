"""Agent patches are untrusted input: inspect them before git ever sees them.

Checks are made on the patch text itself (paths, modes, binary hunks, size),
then ``git apply --check`` decides applicability against the real tree. A patch
that does not apply is a failure, never forced; a patch that would write
outside its worktree is rejected before anything is written.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from patchbench import failures
from patchbench.failures import Failure
from patchbench.gitops import GitError, git

MAX_PATCH_BYTES = 5 * 1024 * 1024
# Sources an editable install does not pick up without a rebuild.
COMPILED_SUFFIXES = (".cu", ".cuh", ".cpp", ".cc", ".cxx", ".c", ".h", ".hpp", ".cmake")

_QUOTED_OR_PLAIN = r"(\"(?:[^\"\\]|\\.)*\"|\S+)"
_GIT_HEADER = re.compile(rf"^diff --git {_QUOTED_OR_PLAIN} {_QUOTED_OR_PLAIN}$")
_FILE_HEADER = re.compile(rf"^(?:---|\+\+\+) {_QUOTED_OR_PLAIN}")
_MOVE = re.compile(r"^(?:rename|copy) (?:from|to) (.+)$")
_SYMLINK_MODE = re.compile(r"^(?:new file mode|new mode|old mode|deleted file mode) 120000")
_BINARY = re.compile(r"^(?:GIT binary patch|Binary files .* differ)")


def _unquote(path: str) -> str:
    if path.startswith('"') and path.endswith('"'):
        return path[1:-1].encode("latin-1", "backslashreplace").decode("unicode_escape")
    return path


def _strip_prefix(path: str) -> str | None:
    """``a/x/y.py`` -> ``x/y.py``; ``/dev/null`` -> None."""
    path = _unquote(path.split("\t", 1)[0])
    if path == "/dev/null":
        return None
    if path.startswith(("a/", "b/")):
        return path[2:]
    return path


def patched_paths(patch: str) -> list[str]:
    """Every path the patch names (sources and targets), in order, without duplicates.

    ``---``/``+++`` count only as a header pair: a removed line that starts
    with ``-- `` inside a hunk is content, not a path.
    """
    lines = patch.splitlines()
    names: list[str | None] = []
    for i, line in enumerate(lines):
        if match := _GIT_HEADER.match(line):
            names += [_strip_prefix(match.group(1)), _strip_prefix(match.group(2))]
        elif match := _MOVE.match(line):
            names.append(_unquote(match.group(1)))
        elif line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ "):
            old, new = _FILE_HEADER.match(line), _FILE_HEADER.match(lines[i + 1])
            names += [_strip_prefix(m.group(1)) for m in (old, new) if m]
    return list(dict.fromkeys(n for n in names if n))


def unsafe_reason(patch_bytes: bytes, max_bytes: int = MAX_PATCH_BYTES) -> str | None:
    """Why a patch must not be applied at all, or None when it may go to ``git apply``."""
    if len(patch_bytes) > max_bytes:
        return f"patch is {len(patch_bytes)} bytes, above the limit of {max_bytes}"
    if b"\0" in patch_bytes:
        return "patch contains NUL bytes (binary data)"
    try:
        patch = patch_bytes.decode("utf-8")
    except UnicodeDecodeError:
        return "patch is not UTF-8 text"
    paths = patched_paths(patch)
    if not paths:
        return "not a unified diff: no file headers found"
    for line in patch.splitlines():
        if _BINARY.match(line):
            return f"binary hunks are not accepted: {line.strip()}"
        if _SYMLINK_MODE.match(line):
            return f"patch creates or changes a symbolic link: {line.strip()}"
    for path in paths:
        pure = PurePosixPath(path)
        if pure.is_absolute() or path.startswith("~"):
            return f"patch writes to an absolute path: {path}"
        if ".." in pure.parts:
            return f"patch writes outside the repository: {path}"
        if ".git" in pure.parts:
            return f"patch writes into git metadata: {path}"
    return None


def check_and_apply(worktree: Path, patch_path: Path) -> Failure | None:
    """Vet and apply an untrusted patch inside ``worktree``; a Failure says why not."""
    data = patch_path.read_bytes()
    reason = unsafe_reason(data)
    if reason:
        return Failure(failures.PATCH_REJECTED, reason)
    patch_file = str(patch_path.resolve())
    try:
        git(["apply", "--check", patch_file], cwd=worktree)
        git(["apply", patch_file], cwd=worktree)
    except GitError as exc:
        return Failure(failures.PATCH_APPLY_FAILED, _evidence(exc.stderr))
    return syntax_failure(worktree, [p for p in patched_paths(data.decode()) if p.endswith(".py")])


def syntax_failure(worktree: Path, python_files: list[str]) -> Failure | None:
    """A changed Python file that no longer compiles would crash the run: catch it first."""
    for name in python_files:
        path = worktree / name
        if not path.is_file():  # deleted by the patch
            continue
        try:
            compile(path.read_bytes(), name, "exec")
        except SyntaxError as exc:
            where = f"{name}:{exc.lineno}" if exc.lineno else name
            text = (exc.text or "").rstrip()
            return Failure(failures.PATCH_SYNTAX_ERROR, f"{where}: {exc.msg}" + (f"\n    {text}" if text else ""))
    return None


def compiled_sources(patch_path: Path) -> list[str]:
    """Files the patch changes that only take effect after a rebuild (CUDA/C++/CMake)."""
    text = patch_path.read_bytes().decode("utf-8", "replace")
    return [p for p in patched_paths(text) if p.endswith(COMPILED_SUFFIXES) or PurePosixPath(p).name == "CMakeLists.txt"]


def _evidence(stderr: str, limit: int = 5) -> str:
    lines = [line for line in stderr.splitlines() if line.strip() and not line.startswith("Checking patch")]
    return "\n".join(lines[:limit]) or "git apply failed without a message"
