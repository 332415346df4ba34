"""Lint a commit table before any GPU time is spent: every problem, per commit, with a stable code.

The workflow runs the same checks on the same reading of the command: the
plan takes the command this lint normalized (once per commit), and a finding
of severity ``error`` turns the commit's legs into skipped legs with the code
as their ``failure_category``.
``repairable`` findings are fixed by the workflow itself (a missing parent is
resolved in the cloned repository, a misplaced script by the ``script_path``
rule, a serving dataset file from the author's machine by the
``serving_dataset`` rule) and ``warning`` findings are reported but do not stop the run: the
command, not the table's ``model`` field, is what every variant runs.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import asdict, dataclass
from typing import Any

from patchbench import failures
from patchbench.plan.commits import CommitRecord
from patchbench.spec import datasets
from patchbench.spec.benchspec import SpecError, gpus_needed
from patchbench.spec.command import LOCAL_PATH, PYTHON, find_value, flag_name, flatten, option_value
from patchbench.spec.normalize import Command, normalize, script_location_ok

PLACEHOLDER_IN_COMMAND = failures.PLACEHOLDER_IN_COMMAND
LOCAL_PATH_IN_COMMAND = failures.LOCAL_PATH_IN_COMMAND
MODEL_MISMATCH = "model_mismatch"
SCRIPT_PATH = "script_path"

ERROR, REPAIRABLE, WARNING = "error", "repairable", "warning"

_PLACEHOLDER = re.compile(r"^(?:[A-Z][A-Z0-9_]+|<[^>]+>|\{[^}]+\}|\$\{?[A-Za-z_]\w*\}?)$")
# Values that look like paths but are URL paths on the server, not files.
_URL_FLAGS = frozenset({"--endpoint", "--base-url", "--served-model-name"})
# Commands run without a shell: these would reach the benchmark as arguments.
_SHELL_OPERATORS = frozenset({"&&", "||", ";", "|", "&", ">", ">>", "<", "2>", "2>&1", "&>"})
_SHELL_EXPANSION = re.compile(r"\$\(|`")
_ASSIGNMENT = re.compile(r"^([A-Za-z_]\w*)=")
# Environment variables that change which code runs, not how the benchmark runs.
_CODE_VARIABLES = frozenset(
    {
        "LD_PRELOAD",
        "LD_LIBRARY_PATH",
        "LD_AUDIT",
        "PATH",
        "PYTHONPATH",
        "PYTHONHOME",
        "PYTHONSTARTUP",
        "PYTHONUSERBASE",
        "BASH_ENV",
    }
)


@dataclass(frozen=True)
class Finding:
    commit: str
    code: str
    message: str
    severity: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class Linted:
    """A commit's findings (errors first, in the order the workflow decides by), the command
    the rules made of its perf command (None when it could not be read) and the GPUs it needs."""

    findings: list[Finding]
    command: Command | None = None
    gpus: int = 1


def lint_record(record: CommitRecord, gpus: int, rules: list[dict[str, Any]]) -> Linted:
    """Every problem of one commit, and the normalized command they were found in."""
    found: list[Finding] = []

    def add(code: str, message: str, severity: str = ERROR) -> None:
        found.append(Finding(record.commit, code, message, severity))

    if record.parent is None:
        add(
            failures.MISSING_PARENT_COMMIT,
            "parent_commit is empty; resolved from the repository if the commit is there",
            REPAIRABLE,
        )
    if not record.perf_command or not record.perf_command.strip():
        add(failures.MISSING_PERF_COMMAND, "no perf_command: nothing to benchmark")
        return Linted(found)
    try:
        raw = shlex.split(record.perf_command)
    except ValueError as exc:
        add(failures.BAD_ARGUMENTS, f"perf_command cannot be split: {exc}")
        return Linted(found)
    _check_shell(raw, add)
    command = normalize(raw, rules)
    _check_script(raw, command, rules, add)
    if command.kind is None:
        add(failures.UNSUPPORTED_BENCHMARK, f"not a benchmark the workflow can run: {shlex.join(command.program)}")
    tokens = flatten(command.items)
    placeholders = [t for t in tokens if _PLACEHOLDER.match(t)]
    if placeholders:
        add(PLACEHOLDER_IN_COMMAND, f"placeholder value(s) never filled in: {', '.join(placeholders)}")
    local, dataset_files = _local_paths(command.items)
    if local:
        add(LOCAL_PATH_IN_COMMAND, f"path(s) that exist only on the author's machine: {', '.join(local)}")
    if dataset_files:
        repaired = command.kind == "serving" and any(r["action"] == "serving_dataset" for r in rules)
        how = "replaced by the serving_dataset rule" if repaired else "the benchmark cannot load it"
        add(
            LOCAL_PATH_IN_COMMAND,
            f"dataset file(s) that exist only on the author's machine: {', '.join(dataset_files)} ({how})",
            REPAIRABLE if repaired else ERROR,
        )
    try:
        needed = gpus_needed(command.items)
    except SpecError as exc:
        add(failures.BAD_ARGUMENTS, str(exc))
        needed = 1
    if needed > gpus:
        add(
            failures.GPU_REQUIREMENT, f"needs {needed} GPUs (tensor x pipeline x data parallel), the host offers {gpus}"
        )
    _check_model(record, find_value(command.items, "--model"), add)
    return Linted(sorted(found, key=lambda f: f.severity != ERROR), command, needed)


def _check_shell(raw: list[str], add: Any) -> None:
    """Shell syntax (never interpreted: commands run without a shell) and variables that swap the code that runs."""
    syntax = [t for t in raw if t in _SHELL_OPERATORS or t.endswith(";") or _SHELL_EXPANSION.search(t)]
    if syntax:
        add(failures.BAD_ARGUMENTS, f"shell syntax in perf_command ({' '.join(syntax)}): it runs without a shell")
    assignments = []
    for token in raw[1:] if raw[:1] == ["env"] else raw:  # "VAR=1 python ..." or "env VAR=1 python ..."
        if not (match := _ASSIGNMENT.match(token)):
            break
        assignments.append(match[1])
    swapped = [name for name in assignments if name in _CODE_VARIABLES]
    if swapped:
        add(failures.BAD_ARGUMENTS, f"perf_command sets {', '.join(swapped)}, which changes what code runs")


def _local_paths(items: list[list[str]]) -> tuple[list[str], list[str]]:
    """Option values naming files on the author's machine: absolute, home- or parent-relative
    paths; and, apart, dataset files (such paths, or data files the target repository does not ship)."""
    local, dataset_files = [], []
    for item in items:
        value = option_value(item)
        flag = flag_name(item[0])
        if value is None or flag in _URL_FLAGS:
            continue
        if flag in datasets.PATH_FLAGS and datasets.author_file(value):
            dataset_files.append(value)
        elif LOCAL_PATH.match(value):
            local.append(value)
    return local, dataset_files


def _check_script(raw: list[str], command: Any, rules: list[dict[str, Any]], add: Any) -> None:
    words = [w for w in raw if "=" not in w or w.startswith("-")]
    if len(words) < 2 or not PYTHON.match(words[0]) or script_location_ok(words[1]):
        return
    # An unrunnable script is already an unsupported_benchmark error; this says where it was.
    repaired = command.kind is not None and any(r["action"] == "script_path" for r in rules)
    where = "repaired by the script_path rule" if repaired else "not a script of the repository"
    add(
        SCRIPT_PATH, f"benchmark script {words[1]} is not in benchmarks/ ({where})", REPAIRABLE if repaired else WARNING
    )


def _check_model(record: CommitRecord, command_model: str | None, add: Any) -> None:
    override = f" (the table overrode {record.original_model})" if record.original_model else ""
    if command_model is None and record.model:
        add(MODEL_MISMATCH, f"model field is {record.model}{override} but the command has no --model", WARNING)
    elif record.model and command_model and record.model != command_model:
        add(MODEL_MISMATCH, f"model field is {record.model}{override} but the command runs {command_model}", WARNING)
    elif record.original_model and record.original_model != command_model:
        add(MODEL_MISMATCH, f"the table overrode the model {record.original_model} with {record.model}", WARNING)


def lint_table(records: list[CommitRecord], gpus: int, rules: list[dict[str, Any]]) -> list[Finding]:
    return [finding for record in records for finding in lint_record(record, gpus, rules).findings]


def blocking(findings: list[Finding]) -> Finding | None:
    """The finding that skips the commit's legs, if any."""
    return next((f for f in findings if f.severity == ERROR), None)
