"""Agent patches are untrusted input: inspect them before git applies them.

Git itself says which files a patch writes and with which modes (``git apply
--numstat -z`` and ``--summary``: no regex of ours guesses at quoting, mode
spelling or where a header ends); the patch text is read only for what git
does not list, the sources of renames and copies, unquoted the way git does.
Every path must stay inside the worktree and out of git's metadata, no
symbolic link or submodule may be created or touched, then ``git apply
--check`` decides applicability against the real tree. A patch that does not
apply is a failure, never forced; an unsafe patch is rejected before anything
is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from patchbench import failures
from patchbench.failures import Failure
from patchbench.gitops import GitError, git

MAX_PATCH_BYTES = 5 * 1024 * 1024
# Sources an editable install does not pick up without a rebuild.
COMPILED_SUFFIXES = (".cu", ".cuh", ".cpp", ".cc", ".cxx", ".c", ".h", ".hpp", ".cmake")

_MOVE_SOURCE = re.compile(r"^(?:rename|copy) from (.+)$", re.MULTILINE)
_BINARY = re.compile(r"^(?:GIT binary patch|Binary files .* differ)", re.MULTILINE)
# A mode in ``git apply --summary``: " create mode 120000 x", " mode change 100644 => 160000 x".
_SUMMARY_MODE = re.compile(r"(?:(?:create|delete) mode|mode change|=>) ([0-7]+)")
_LINK_TYPES = {0o120000: "a symbolic link", 0o160000: "a submodule"}
# The C escapes git writes in a quoted path; any other escape makes git refuse the patch.
_GIT_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, "\\": 92, '"': 34}
_OCTAL = re.compile(r"[0-3][0-7]{2}")


@dataclass(frozen=True)
class PatchChanges:
    """What git would do with a patch: files written, files read (rename/copy sources), modes set."""

    targets: tuple[str, ...]
    sources: tuple[str, ...]
    modes: tuple[int, ...]

    def unsafe_reason(self, worktree: Path) -> str | None:
        """Why these changes must not be made in ``worktree``, or None."""
        if not self.targets:
            return "not a unified diff: git finds no files in it"
        for mode in self.modes:
            if mode & 0o170000 in _LINK_TYPES:
                return f"patch creates or changes {_LINK_TYPES[mode & 0o170000]} (mode {mode:o})"
        for path in self.sources + self.targets:
            reason = _path_reason(path)
            if reason:
                return reason
            linked = PurePosixPath(path)
            if any((worktree / part).is_symlink() for part in (linked, *linked.parents[:-1])):
                return f"patch touches a symbolic link: {path}"
        return None


def _path_reason(path: str) -> str | None:
    pure = PurePosixPath(path)
    if pure.is_absolute() or path.startswith("~"):
        return f"patch names an absolute path: {path}"
    if ".." in pure.parts:
        return f"patch reaches outside the repository: {path}"
    names = {part.lower() for part in pure.parts}
    if ".git" in names:
        return f"patch writes into git metadata: {path}"
    if ".gitattributes" in names:
        return f"patch changes git attributes (they can make git run filters): {path}"
    return None


def git_unquote(text: str) -> str | None:
    """A path as git reads it from a patch: C-quoted up to its closing quote, or verbatim.

    None when git would refuse it (an unknown escape, no closing quote).
    """
    if not text.startswith('"'):
        return text
    out = bytearray()
    i = 1
    while i < len(text):
        char = text[i]
        if char == '"':
            return out.decode("utf-8", "surrogateescape")
        if char != "\\":
            out += char.encode("utf-8", "surrogateescape")
            i += 1
        elif text[i + 1 : i + 2] in _GIT_ESCAPES:
            out.append(_GIT_ESCAPES[text[i + 1]])
            i += 2
        elif _OCTAL.fullmatch(text[i + 1 : i + 4]):
            out.append(int(text[i + 1 : i + 4], 8))
            i += 4
        else:
            return None
    return None


class PatchRejected(Exception):
    """The patch must not be applied; the message says why."""


def read_changes(patch_file: Path, cwd: Path) -> PatchChanges:
    """Ask git what ``patch_file`` changes (``cwd``: the worktree's top, or a folder outside any repository).

    Raises PatchRejected when git cannot read it as a patch.
    """
    try:
        numstat = git(["apply", "--numstat", "-z", str(patch_file)], cwd=cwd).decode("utf-8", "surrogateescape")
        summary = git(["apply", "--summary", str(patch_file)], cwd=cwd).decode("utf-8", "replace")
    except GitError as exc:
        raise PatchRejected(f"git cannot read it as a patch: {_evidence(exc.stderr)}") from None
    # "added<TAB>deleted<TAB>path<NUL>" per file; a rename or copy lists only its new name.
    targets = [path for path in (field.rsplit("\t", 1)[-1] for field in numstat.split("\0")) if path]
    modes = tuple(int(mode, 8) for mode in _SUMMARY_MODE.findall(summary))
    text = patch_file.read_bytes().decode("utf-8", "surrogateescape")
    sources = []
    for quoted in _MOVE_SOURCE.findall(text):
        source = git_unquote(quoted.rstrip("\r"))
        if source is None:
            raise PatchRejected(f"a rename or copy source git cannot read: {quoted.strip()}")
        sources.append(source)
    return PatchChanges(tuple(dict.fromkeys(targets)), tuple(dict.fromkeys(sources)), modes)


def unsafe_reason(patch_bytes: bytes, max_bytes: int = MAX_PATCH_BYTES) -> str | None:
    """Why a patch's bytes are not a text patch git may even read, or None."""
    if len(patch_bytes) > max_bytes:
        return f"patch is {len(patch_bytes)} bytes, above the limit of {max_bytes}"
    if b"\0" in patch_bytes:
        return "patch contains NUL bytes (binary data)"
    try:
        patch = patch_bytes.decode("utf-8")
    except UnicodeDecodeError:
        return "patch is not UTF-8 text"
    if match := _BINARY.search(patch):
        return f"binary hunks are not accepted: {match.group().strip()}"
    return None


@dataclass(frozen=True)
class Applied:
    """What applying an untrusted patch came to: what git says it changes (None when git
    could not read it) and why it was not applied, or broke the tree (None when all went well)."""

    changes: PatchChanges | None
    failure: Failure | None


def check_and_apply(worktree: Path, patch_path: Path) -> Applied:
    """Vet and apply an untrusted patch inside ``worktree``."""
    patch_file = patch_path.resolve()
    try:
        changes = vetted_changes(worktree, patch_file)
    except PatchRejected as exc:
        return Applied(None, Failure(failures.PATCH_REJECTED, str(exc)))
    try:
        git(["apply", "--check", str(patch_file)], cwd=worktree)
        git(["apply", str(patch_file)], cwd=worktree)
    except GitError as exc:
        return Applied(changes, Failure(failures.PATCH_APPLY_FAILED, _evidence(exc.stderr)))
    return Applied(changes, syntax_failure(worktree, [p for p in changes.targets if p.endswith(".py")]))


def vetted_changes(worktree: Path, patch_file: Path) -> PatchChanges:
    """What the patch changes, once it is known to be safe to apply in ``worktree``; else PatchRejected."""
    size = patch_file.stat().st_size
    if size > MAX_PATCH_BYTES:  # judged before the file is read
        raise PatchRejected(f"patch is {size} bytes, above the limit of {MAX_PATCH_BYTES}")
    reason = unsafe_reason(patch_file.read_bytes())
    if reason:
        raise PatchRejected(reason)
    changes = read_changes(patch_file, worktree)
    reason = changes.unsafe_reason(worktree)
    if reason:
        raise PatchRejected(reason)
    return changes


def syntax_failure(worktree: Path, python_files: list[str]) -> Failure | None:
    """A changed Python file that no longer compiles would crash the run: catch it first."""
    for name in python_files:
        path = worktree / name
        if path.is_symlink() or not path.is_file():  # deleted by the patch (links were refused)
            continue
        try:
            compile(path.read_bytes(), name, "exec")
        except SyntaxError as exc:
            where = f"{name}:{exc.lineno}" if exc.lineno else name
            text = (exc.text or "").rstrip()
            return Failure(failures.PATCH_SYNTAX_ERROR, f"{where}: {exc.msg}" + (f"\n    {text}" if text else ""))
        except (RecursionError, MemoryError, ValueError) as exc:
            # Python's compiler gives up on absurdly nested expressions; so would the run.
            return Failure(failures.PATCH_SYNTAX_ERROR, f"{name}: Python cannot compile it ({type(exc).__name__})")
    return None


def compiled_sources(changes: PatchChanges) -> list[str]:
    """Files the patch changes that only take effect after a rebuild (CUDA/C++/CMake)."""
    return [p for p in changes.targets if p.endswith(COMPILED_SUFFIXES) or PurePosixPath(p).name == "CMakeLists.txt"]


def _evidence(stderr: str, limit: int = 5) -> str:
    lines = [line for line in stderr.splitlines() if line.strip() and not line.startswith("Checking patch")]
    return "\n".join(lines[:limit]) or "git apply failed without a message"
