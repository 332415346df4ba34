"""The tree checks: a commit's planned command, finished and judged against the tree it runs in.

One function for the spec job and for ``patchbench lint --repo``, so a user
learns before renting GPUs exactly what the workflow will decide. Given the
command the plan normalized, the facts read statically from the parent's tree
(:mod:`patchbench.spec.tree`) and the suite's settings, :func:`check` applies
the rules that need the tree, finds the benchmark program, routes every option
of a serving command to the client or the server as *that* revision defines
them, and returns the finished :class:`BenchSpec` or the failure that skips
the commit's legs, with every finding on the way:

``missing_benchmark_script``  the tree has no such program (or no engine package, or no server)
``deprecated_script``         the script is a stub that points to ``vllm bench``, which the tree lacks
``unsupported_flag``          an option neither the benchmark nor the server accepts
``bad_arguments``             a required option missing, no usable dataset, a parallel size that is not a number
``undecided_flag`` (warning)  an option only a set that could not be fully read might accept: a serving
                              command's goes where ``serving.server_flags`` says, a standalone one's stays
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from patchbench import failures
from patchbench.failures import Failure
from patchbench.plan.lint import ERROR, WARNING, Finding, blocking
from patchbench.spec import datasets
from patchbench.spec.benchspec import BenchSpec, SpecError, build_spec
from patchbench.spec.command import flag_name, flatten, is_flag
from patchbench.spec.datasets import DatasetChoice
from patchbench.spec.normalize import TREE_ACTIONS, Command, TreeContext, apply_tree_rules
from patchbench.spec.tree import SERVER_MODULE, OptionSet, Route, TreeFacts, route_serving, route_standalone

UNDECIDED_FLAG = "undecided_flag"


@dataclass(frozen=True)
class SuiteSettings:
    """What the checks take from the suite's config."""

    rules: list[dict[str, Any]]  # the tree rules, in order
    server_command: str
    server_flags: tuple[str, ...]  # where the tree cannot say, these go to the server
    package: str
    dataset: DatasetChoice

    @classmethod
    def from_params(cls, params: dict[str, Any], *, base: Path, needs_file: bool) -> SuiteSettings:
        """From :func:`tree_params`; the ShareGPT file is looked up (downloaded) only when ``needs_file``."""
        dataset = datasets.choice(params["datasets"], base=base, needs_file=needs_file)
        flags = tuple(params["server_flags"])
        return cls(params["rules"], params["server_command"], flags, params["engine_package"], dataset)

    @property
    def provides_datasets(self) -> bool:
        return any(rule["action"] == "serving_dataset" for rule in self.rules)

    @property
    def server_module(self) -> str | None:
        """The server module the tree's options are read from, when the server command runs it."""
        module = SERVER_MODULE.format(package=self.package)
        return module if module in shlex.split(self.server_command) else None


def tree_params(config: dict[str, Any]) -> dict[str, Any]:
    """What the tree checks take from a suite's config: the spec job's params, and lint --repo's."""
    serving = config["serving"]
    # per_request: 0 keeps no per-request values: no client is asked to save them.
    off = {"save_result"} if config["per_request"] == 0 else set()
    return {
        "rules": [rule for rule in config["normalization"] if rule["action"] in set(TREE_ACTIONS) - off],
        "server_command": serving["server_command"],
        "server_flags": serving["server_flags"],
        "engine_package": config["engine_package"],
        "datasets": config["datasets"],
    }


@dataclass
class Checked:
    """``result``: the finished spec, or the failure that skips the commit's legs; either way the
    command as the rules left it, the findings, and ``routing``: which options of a serving
    command went to the server and which the tree could not decide."""

    result: BenchSpec | Failure
    command: Command
    findings: list[Finding] = field(default_factory=list)
    routing: dict[str, Any] = field(default_factory=dict)

    def as_record(self) -> dict[str, Any]:
        """What ``spec.json`` keeps beside the spec: the finished command, the findings, the routing."""
        return {
            "command": shlex.join(self.command.program + flatten(self.command.items)),
            "rules_fired": self.command.fired,
            "findings": [f.as_dict() for f in self.findings],
            "routing": self.routing,
        }


def check(
    commit: str, command: Command, tree: TreeFacts | None, suite: SuiteSettings, *, model: str | None, gpus: int
) -> Checked:
    """Judge ``command`` (the plan's) against ``tree`` (the parent's facts; None when the commit has
    no usable parent, which fails its legs anyway: the spec is then built by the config alone)."""
    findings: list[Finding] = []

    def add(code: str, message: str, severity: str = ERROR) -> None:
        findings.append(Finding(commit, code, message, severity))

    if tree is None:
        route = _static(command, suite)
    else:
        command = apply_tree_rules(command, suite.rules, TreeContext(tree, suite.dataset))
        route = _route(command, tree, suite, add)
    routing = {"server": route.server, "undecided": route.undecided} if command.kind == "serving" else {}
    if blocking(findings) is None:
        spec = _build(command, route, suite, model, gpus, add)  # None only with an error finding added
        if blocking(findings) is None and spec is not None:
            return Checked(spec, command, findings, routing)
    first = blocking(findings)
    assert first is not None, "no spec without an error finding"
    return Checked(Failure(first.code, first.message), command, findings, routing)


def _build(
    command: Command, route: Route, suite: SuiteSettings, model: str | None, gpus: int, add: Any
) -> BenchSpec | None:
    built = Command(command.env, command.program, command.kind, route.benchmark, command.fired)
    sharegpt = suite.dataset.sharegpt
    inputs = (sharegpt,) if sharegpt and sharegpt in flatten(route.benchmark) else ()
    try:
        spec = build_spec(
            built, model=model, server_command=suite.server_command, server_items=route.server, inputs=inputs
        )
    except SpecError as exc:
        add(exc.category, str(exc))
        return None
    if spec.gpus != gpus:  # the tree rules moved a parallel size: the plan held the wrong number of GPUs
        add(failures.BAD_ARGUMENTS, f"the tree changed what the plan scheduled: GPUs {gpus} -> {spec.gpus}")
    return spec


def _static(command: Command, suite: SuiteSettings) -> Route:
    """The config's list decides alone (no tree to read)."""
    if command.kind != "serving":
        return Route(benchmark=list(command.items))
    wanted = {flag_name(f) for f in suite.server_flags}
    return Route(
        benchmark=[i for i in command.items if flag_name(i[0]) not in wanted],
        server=[i for i in command.items if flag_name(i[0]) in wanted],
    )


def _route(command: Command, tree: TreeFacts, suite: SuiteSettings, add: Any) -> Route:
    """Where each option goes as this tree defines the programs, with the findings on the way."""
    kind, style = command.kind, command.style
    if kind is None:
        add(failures.UNSUPPORTED_BENCHMARK, f"not a benchmark the workflow can run: {shlex.join(command.program)}")
        return Route()
    where = shlex.join(command.program)
    program = tree.program(kind, style)
    if not tree.package:
        add(failures.MISSING_BENCHMARK_SCRIPT, f"the tree has no {suite.package} package: nothing of it can run")
    if program is None:
        if style == "script" and kind in tree.stubs:
            stub = f"{command.program[1]} is a stub that points to the CLI, and the tree has no `vllm bench`"
            add(failures.DEPRECATED_SCRIPT, stub)
        else:
            add(failures.MISSING_BENCHMARK_SCRIPT, f"the tree has no {where}")
        return Route()
    unknown = list(program.unknown)
    if kind == "serving":
        server = _server_options(tree, suite, add)
        unknown += server.unknown
        route = route_serving(command.items, program, server)
    else:
        route = route_standalone(command.items, program)
    if route.unsupported:
        who = (
            f"neither {where} nor the server of this revision accepts"
            if kind == "serving"
            else f"{where} of this revision does not accept"
        )
        add(failures.UNSUPPORTED_FLAG, f"{who}: {_words(route.unsupported)}")
    if route.undecided:
        route = _fall_back(route, kind == "serving", suite, "; ".join(dict.fromkeys(unknown)), add)
    if kind == "serving" and suite.provides_datasets and not datasets.usable(route.benchmark, suite.dataset):
        add(
            failures.BAD_ARGUMENTS,
            f"no usable dataset: {where} of this revision offers no random dataset, and datasets.sharegpt is not set",
        )
    missing = _missing_required(route.benchmark, program)
    if missing:
        add(
            failures.BAD_ARGUMENTS,
            f"{where} of this revision requires {', '.join(missing)}, which the command does not give",
        )
    return route


def _server_options(tree: TreeFacts, suite: SuiteSettings, add: Any) -> OptionSet:
    module = suite.server_module
    if module is None:
        return OptionSet(
            (), unknown=(f"the server command does not run {SERVER_MODULE.format(package=suite.package)}",)
        )
    options = tree.server_options()
    if options is None:
        add(failures.MISSING_BENCHMARK_SCRIPT, f"the tree has no server module {module}")
        return OptionSet(())
    return options


def _fall_back(route: Route, serving: bool, suite: SuiteSettings, reasons: str, add: Any) -> Route:
    """Options the tree could not decide: a serving command's go where the config's list says."""
    wanted = {flag_name(f) for f in suite.server_flags}
    to_server = [i for i in route.undecided if serving and flag_name(i[0]) in wanted]
    kept = [i for i in route.undecided if i not in to_server]
    went = [f"{_words(to_server)} to the server (serving.server_flags)"] if to_server else []
    went += [f"{_words(kept)} with the benchmark"] if kept else []
    add(UNDECIDED_FLAG, f"the tree does not say where these belong ({reasons}): {'; '.join(went)}", WARNING)
    return Route(route.benchmark + kept, route.server + to_server, route.unsupported, route.undecided)


def _missing_required(items: list[list[str]], program: OptionSet) -> list[str]:
    given = {id(option) for item in items if is_flag(item[0]) and (option := program.find(item[0])) is not None}
    return [o.flags[0] for o in program.options if o.required and id(o) not in given]


def _words(items: list[list[str]]) -> str:
    return ", ".join(shlex.join(item) for item in items)
