"""Perf-command normalization: named rewrite rules that are data, not code paths.

Real commit tables carry commands that cannot run as written (the ``sonnet``
dataset, throughput runs without lengths, ``vllm bench`` on a tree that only
has the scripts, ``_`` spellings, ``VAR=value`` prefixes). The suite config
lists rules; each is a condition (``when``) and an action from a small
vocabulary. Every leg records which rules fired, and since rules are applied
once per commit, every variant of the commit runs the same rewritten command.

Actions:

``env_assignments``  leading ``VAR=value`` words become the run's environment
``script_path``      ``…/benchmark_X.py`` anywhere becomes ``benchmarks/benchmark_X.py``
``canonical_flags``  ``--input_len`` becomes ``--input-len``
``set``              set options (replacing any value they had)
``set_default``      set options that are absent
``drop``             remove options
``rename``           rename options, keeping their values
``target_cli``       ``vllm bench X`` <-> ``python benchmarks/benchmark_X.py``, whichever the
                     target tree really has (a *tree rule*: see below)
``serving_dataset``  a serving command without a usable dataset gets the suite's (ShareGPT file
                     or random with fixed lengths), spelt as the tree's client accepts it
                     (a tree rule; see :mod:`patchbench.spec.datasets`)
``save_result``      a serving client saves its per-request values where the run stage collects
                     them, where the tree's client can (a tree rule; see :mod:`patchbench.spec.per_request`)

Rules are applied once per commit, in two steps. :func:`normalize` applies
every rule that needs only the command, when the suite is planned (lint and
the plan read the same result). :func:`apply_tree_rules` applies the rules that
need facts about the commit's tree, in the spec job, after the others.

Conditions (all must hold): ``type`` (a type or list), ``program``
(``script`` or ``vllm-bench``), ``option`` ({flag: value}), ``present`` and
``absent`` (lists of flags).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from patchbench.spec import datasets, per_request
from patchbench.spec.command import (
    BENCH_SUBCOMMAND,
    ENV_ASSIGNMENT,
    PYTHON,
    SCRIPT,
    VLLM_BENCH,
    find_value,
    flag_name,
    script_path,
    split_options,
)
from patchbench.spec.datasets import DatasetChoice
from patchbench.spec.tree import TreeFacts

# Act on the raw words, before the benchmark type can be read from them.
PRE_PARSE_ACTIONS = ("env_assignments", "script_path")
# Need facts about the commit's tree: applied by the spec job, not when the suite is planned.
TREE_ACTIONS = ("target_cli", "serving_dataset", "save_result")
# Tree rules that spell a serving command's options as the tree's client accepts them.
_CLIENT_ACTIONS = ("serving_dataset", "save_result")
ACTIONS = PRE_PARSE_ACTIONS + ("canonical_flags", "set", "set_default", "drop", "rename") + TREE_ACTIONS


@dataclass
class Command:
    """A perf command as the rules left it: environment, program, benchmark type, options."""

    env: dict[str, str]
    program: list[str]
    kind: str | None
    items: list[list[str]]
    fired: list[str] = field(default_factory=list)

    @property
    def style(self) -> str:
        return "vllm-bench" if self.program[:2] == ["vllm", "bench"] else "script"

    def as_dict(self) -> dict[str, Any]:
        return {"env": self.env, "program": self.program, "kind": self.kind, "items": self.items, "fired": self.fired}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Command:
        return cls(
            dict(data["env"]),
            list(data["program"]),
            data["kind"],
            [list(i) for i in data["items"]],
            list(data["fired"]),
        )


def read_program(tokens: list[str]) -> tuple[list[str], str | None, list[str]]:
    """Split words into program, benchmark type (None if unknown) and options."""
    if len(tokens) >= 3 and tokens[:2] == ["vllm", "bench"]:
        return tokens[:3], VLLM_BENCH.get(tokens[2]), tokens[3:]
    if len(tokens) >= 2 and PYTHON.match(tokens[0]):
        match = SCRIPT.search(tokens[1])
        return tokens[:2], (match.group(1) if match else None), tokens[2:]
    return tokens[:1], None, tokens[1:]


def normalize(tokens: list[str], rules: list[dict[str, Any]]) -> Command:
    """Apply the command-only ``rules``, in order, to a split perf command; the result says which fired."""
    tokens = list(tokens)
    env: dict[str, str] = {}
    fired: list[str] = []
    for rule in rules:
        if rule["action"] == "env_assignments" and tokens and ENV_ASSIGNMENT.match(tokens[0]):
            while tokens and ENV_ASSIGNMENT.match(tokens[0]):
                name, value = tokens.pop(0).split("=", 1)
                env[name] = value
            fired.append(rule["name"])
        elif rule["action"] == "script_path" and len(tokens) >= 2 and PYTHON.match(tokens[0]):
            match = SCRIPT.search(tokens[1])
            canonical = script_path(match.group(1)) if match else None
            if canonical and tokens[1] != canonical:
                tokens[1] = canonical
                fired.append(rule["name"])
    program, kind, rest = read_program(tokens)
    command = Command(env, program, kind, split_options(rest), fired)
    for rule in rules:
        skip = rule["action"] in PRE_PARSE_ACTIONS or rule["action"] in TREE_ACTIONS
        if not skip and _holds(rule.get("when", {}), command) and _apply(rule, command, None):
            command.fired.append(rule["name"])
    return command


@dataclass(frozen=True)
class TreeContext:
    """What the tree rules act on: the facts of the commit's tree and the suite's dataset."""

    tree: TreeFacts
    dataset: DatasetChoice


def apply_tree_rules(command: Command, rules: list[dict[str, Any]], context: TreeContext) -> Command:
    """A copy of ``command`` with the rules that need facts about its tree applied, in order."""
    command = Command.from_dict(command.as_dict())
    for rule in rules:
        if rule["action"] in TREE_ACTIONS and _holds(rule.get("when", {}), command) and _apply(rule, command, context):
            command.fired.append(rule["name"])
    return command


def _holds(when: dict[str, Any], command: Command) -> bool:
    kinds = when.get("type")
    if kinds is not None and command.kind not in ([kinds] if isinstance(kinds, str) else kinds):
        return False
    if "program" in when and command.style != when["program"]:
        return False
    present = {flag_name(item[0]) for item in command.items}
    if any(flag_name(f) not in present for f in when.get("present", [])):
        return False
    if any(flag_name(f) in present for f in when.get("absent", [])):
        return False
    return all(find_value(command.items, flag_name(f)) == str(v) for f, v in when.get("option", {}).items())


def _apply(rule: dict[str, Any], command: Command, context: TreeContext | None) -> bool:
    """Apply one rule's action; True when it changed the command."""
    action = rule["action"]
    before = (list(command.program), [list(i) for i in command.items])
    if action == "canonical_flags":
        for item in command.items:
            if item[0].startswith("--"):
                name, sep, value = item[0].partition("=")
                item[0] = flag_name(name) + sep + value
    elif action in ("set", "set_default"):
        for flag, value in rule["options"].items():
            exists = any(flag_name(i[0]) == flag_name(flag) for i in command.items)
            if action == "set_default" and exists:
                continue
            command.items = [i for i in command.items if flag_name(i[0]) != flag_name(flag)]
            command.items.append([flag] if value is True else [flag, str(value)])
    elif action == "drop":
        dropped = {flag_name(f) for f in rule["options"]}
        command.items = [i for i in command.items if flag_name(i[0]) not in dropped]
    elif action == "rename":
        renames = {flag_name(old): new for old, new in rule["options"].items()}
        for item in command.items:
            new = renames.get(flag_name(item[0]))
            if new:
                item[0] = new + ("=" + item[0].split("=", 1)[1] if "=" in item[0] else "")
    elif action == "target_cli" and context is not None and command.kind:
        _match_target_cli(command, context.tree)
    elif action in _CLIENT_ACTIONS and context is not None and command.kind == "serving":
        client = context.tree.program(command.kind, command.style)
        if client is not None and action == "serving_dataset":
            command.items = datasets.provide(command.items, client, context.dataset)
        elif client is not None:
            command.items = per_request.ask(command.items, client)
    return before != (command.program, command.items)


def _match_target_cli(command: Command, tree: TreeFacts) -> None:
    kind = command.kind
    if command.style == "vllm-bench" and kind not in tree.bench and kind in tree.scripts:
        command.program = ["python", script_path(kind)]
    elif command.style == "script" and kind not in tree.scripts and kind in tree.bench:
        command.program = ["vllm", "bench", BENCH_SUBCOMMAND[kind]]


def script_location_ok(script: str) -> bool:
    """True for a benchmark script run from the repository's own ``benchmarks/`` folder."""
    path = PurePosixPath(script)
    return not path.is_absolute() and path.parent == PurePosixPath("benchmarks")
