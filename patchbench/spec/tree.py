"""What one vLLM revision offers a perf command, read from its source without importing it.

For each program a leg may run (``benchmarks/benchmark_<type>.py``, ``vllm bench
<type>``, the OpenAI server ``python -m vllm.entrypoints.openai.api_server``)
the reader starts at the program's entry point and follows, with :mod:`ast`,
the code that builds its :mod:`argparse` parser: ``add_argument`` calls on the
parser and its groups, helper functions in the same or other modules of the
tree, and the option sets vLLM generates from config dataclasses
(``get_kwargs(ModelConfig)``: a ``bool`` field becomes ``--x/--no-x``, a
``list`` field takes several values). The engine's options
(``EngineArgs.add_cli_args`` and ``AsyncEngineArgs.add_cli_args``) are read once
per tree and named by the programs that include them, not copied.

What cannot be read statically (an option name computed at run time, a parser
handed to code outside the tree, a file that does not parse) is recorded as an
``unknown`` reason: such a set says "may accept" (None), never a wrong "rejects".
"""

from __future__ import annotations

import ast
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from patchbench import gitops
from patchbench.spec.command import BENCH_SUBCOMMAND, BENCHMARK_TYPES, is_flag, script_path

Read = Callable[[str], "bytes | None"]

# A 2025+ script that only says "use the CLI" is not a runnable script.
STUB_MARKER = b"This script has been moved to the vLLM CLI"
ENGINE_CLASSES = ("EngineArgs", "AsyncEngineArgs")
# Where vLLM keeps each program, inside the engine's package (``vllm``; a suite may name another).
ENGINE_MODULE = "{package}.engine.arg_utils"
SERVER_MODULE = "{package}.entrypoints.openai.api_server"
CLI_MAIN_MODULE = "{package}.entrypoints.cli.main"
BENCH_MODULE = "{package}.entrypoints.cli.benchmark.{subcommand}"
DEFAULT_PACKAGE = "vllm"

# Options both a serving client and the server accept that name the model being
# served: the client needs them to address and tokenize for the server, the
# server to load that model. Every other option both accept (--seed, --host,
# --port, --lora-modules ...) means something else on each side and stays with
# the client the command was written for.
MODEL_IDENTITY = frozenset({"--model", "--tokenizer", "--tokenizer-mode", "--trust-remote-code", "--served-model-name"})

_SWITCH_ACTIONS = frozenset({"store_true", "store_false", "store_const", "append_const", "count", "help", "version"})
_VALUE_ACTIONS = frozenset({"store", "append", "extend"})
_BOOLEAN_OPTIONAL = "argparse.BooleanOptionalAction"
_ARGPARSE_PARSER = "argparse.ArgumentParser"
# Platform hooks get the parser too; no in-tree platform overrides the no-op Platform.pre_register_and_update.
_NO_OPTION_HOOKS = frozenset({"pre_register_and_update"})
_MAX_DEPTH = 12


@dataclass(frozen=True)
class Option:
    """One option: every spelling argparse matches exactly, and how many values it takes.

    ``arity`` is argparse's ``nargs``: ``"0"`` for a switch (``store_true``,
    ``BooleanOptionalAction`` ...), ``"1"``, ``"?"``, ``"*"``, ``"+"`` or a count.
    """

    flags: tuple[str, ...]
    arity: str = "1"
    required: bool = False

    @property
    def takes_value(self) -> bool:
        return self.arity != "0"


@dataclass(frozen=True)
class ParserFacts:
    """What one program's parser-building code adds: its own options, the engine option
    sets it includes by delegation (``EngineArgs``/``AsyncEngineArgs``), whether long
    flags may be spelt with ``_`` (vLLM's ``FlexibleArgumentParser``), and why the
    set may be incomplete."""

    options: tuple[Option, ...] = ()
    includes: tuple[str, ...] = ()
    underscores: bool = False
    unknown: tuple[str, ...] = ()


@dataclass(frozen=True)
class OptionSet:
    """Every option one program accepts, as argparse matches them."""

    options: tuple[Option, ...]
    underscores: bool = False
    unknown: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return not self.unknown

    def find(self, token: str) -> Option | None:
        """The option argparse matches ``token`` (``--x``, ``--x=v``, ``-tp``) to, or None.

        An unambiguous prefix of a long option matches too: argparse's default
        ``allow_abbrev``, which no vLLM parser turns off.
        """
        name = token.split("=", 1)[0]
        if self.underscores and name.startswith("--"):
            name = "--" + name[2:].replace("_", "-")
        exact = next((o for o in self.options if name in o.flags), None)
        if exact is not None or not name.startswith("--"):
            return exact
        prefixed = {o for o in self.options if any(f.startswith(name) for f in o.flags if f.startswith("--"))}
        return prefixed.pop() if len(prefixed) == 1 else None

    def has(self, flag: str) -> bool:
        """Whether the program has ``flag`` itself, not an option that ``flag`` abbreviates
        (``--dataset`` of ``--dataset-path``)."""
        option = self.find(flag)
        return option is not None and flag in option.flags

    def accepts(self, token: str) -> bool | None:
        """True or False; None when the option is not found but the set is incomplete."""
        if self.find(token) is not None:
            return True
        return False if self.complete else None


@dataclass(frozen=True)
class TreeFacts:
    """The benchmark programs of one revision and the options of each; ``package``: whether
    the tree has the engine's package at all (2023 "cacheflow" trees have no ``vllm``)."""

    package: bool
    scripts: dict[str, ParserFacts] = field(default_factory=dict)
    stubs: frozenset[str] = frozenset()
    bench: dict[str, ParserFacts] = field(default_factory=dict)
    server: ParserFacts | None = None
    engine: dict[str, ParserFacts] = field(default_factory=dict)

    def options(self, parser: ParserFacts) -> OptionSet:
        """The parser's own options with the engine sets it includes."""
        options, unknown = list(parser.options), list(parser.unknown)
        for name in parser.includes:
            included = self.engine.get(name)
            if included is None:
                unknown.append(f"{name} options could not be read")
                continue
            flat = self.options(included)
            options += flat.options
            unknown += flat.unknown
        return OptionSet(tuple(options), parser.underscores, tuple(dict.fromkeys(unknown)))

    def program(self, kind: str, style: str) -> OptionSet | None:
        """Options of the benchmark program (``style`` as :attr:`Command.style`), None if absent."""
        parser = (self.bench if style == "vllm-bench" else self.scripts).get(kind)
        return None if parser is None else self.options(parser)

    def server_options(self) -> OptionSet | None:
        return None if self.server is None else self.options(self.server)


@dataclass(frozen=True)
class Route:
    """Where each ``[flag, value?]`` item of a perf command goes.

    ``benchmark``: the program the command runs (the client, for serving);
    ``server``: the server of a serving benchmark; ``unsupported``: options
    neither accepts and stray words; ``undecided``: options only a set that
    could not be fully read might accept.
    """

    benchmark: list[list[str]] = field(default_factory=list)
    server: list[list[str]] = field(default_factory=list)
    unsupported: list[list[str]] = field(default_factory=list)
    undecided: list[list[str]] = field(default_factory=list)


def route_serving(items: list[list[str]], client: OptionSet, server: OptionSet) -> Route:
    """Route a serving command's items as this version's client and server define them.

    An option the client accepts stays with the client; one of
    :data:`MODEL_IDENTITY` the server accepts too goes to both; one only the
    server accepts goes to the server; one neither accepts is unsupported.
    """
    route = Route()
    for item in items:
        if not is_flag(item[0]):
            route.unsupported.append(item)
            continue
        mine, theirs = client.find(item[0]), server.find(item[0])
        identity = mine is not None and not MODEL_IDENTITY.isdisjoint(mine.flags)
        if mine is not None and (not identity or theirs is not None or server.complete):
            route.benchmark.append(item)
            if identity and theirs is not None:
                route.server.append(item)
        elif mine is None and client.complete and theirs is not None:
            route.server.append(item)
        elif mine is None and client.complete and server.complete:
            route.unsupported.append(item)
        else:
            route.undecided.append(item)
    return route


def route_standalone(items: list[list[str]], options: OptionSet) -> Route:
    """Latency and throughput: items the benchmark accepts are kept, the others are not."""
    route = Route()
    for item in items:
        accepted = options.accepts(item[0]) if is_flag(item[0]) else False
        if accepted:
            route.benchmark.append(item)
        elif accepted is None:
            route.undecided.append(item)
        else:
            route.unsupported.append(item)
    return route


def git_reader(repo: str | Path, rev: str) -> Read:
    """Files of ``rev`` in ``repo`` (bare or not); None for a path the revision lacks."""
    commit = gitops.resolve_commit(repo, rev)
    if commit is None:
        raise ValueError(f"{rev} is not a commit of {repo}")
    # One listing answers every "is it there?" without a git call per probe.
    listing = gitops.git(["ls-tree", "-r", "-z", "--full-tree", commit], cwd=repo).decode("utf-8", "replace")
    blobs = {
        path: meta.split()[2]
        for meta, _, path in (e.partition("\t") for e in listing.split("\0") if e)
        if meta.split()[1] == "blob"
    }

    def read(path: str) -> bytes | None:
        blob = blobs.get(path)
        return None if blob is None else gitops.git(["cat-file", "blob", blob], cwd=repo)

    return read


def dir_reader(root: str | Path) -> Read:
    """Files under a checked-out tree."""

    def read(path: str) -> bytes | None:
        target = Path(root) / path
        return target.read_bytes() if target.is_file() else None

    return read


def read_tree(read: Read, package: str = DEFAULT_PACKAGE) -> TreeFacts:
    """Everything this module knows about one revision, from its files alone; ``package`` is the
    engine's Python package (vLLM's programs under another name, as the demo's ``tinyllm``)."""
    tree = _Tree(read, package)
    scripts, stubs = {}, set()
    for kind in BENCHMARK_TYPES:
        source = tree.source(script_path(kind))
        if source is not None and STUB_MARKER in source:
            stubs.add(kind)
        elif source is not None:
            scripts[kind] = tree.run_module(f"benchmark_{kind}", ("benchmarks", ""))
    bench = {kind: facts for kind in BENCHMARK_TYPES if (facts := tree.bench(BENCH_SUBCOMMAND[kind])) is not None}
    engine = {name: facts for name in ENGINE_CLASSES if (facts := tree.engine(name)) is not None}
    server_module = SERVER_MODULE.format(package=package)
    server = tree.run_module(server_module, ("",)) if tree.source(_module_path(server_module)) is not None else None
    return TreeFacts(
        tree.source(f"{package}/__init__.py") is not None, scripts, frozenset(stubs), bench, server, engine
    )


# ---------------------------------------------------------------- facts as JSON


def facts_to_json(facts: dict[str, TreeFacts]) -> dict[str, Any]:
    """Facts of many revisions, compactly: every distinct option once (``options``), every
    distinct parser once under a hash of its content (``parsers``, options by index), and
    per revision (``revisions``) which parser each program has."""
    parsers: dict[str, dict[str, Any]] = {}

    def ref(parser: ParserFacts) -> str:
        data = {
            "options": [_encode_option(o) for o in parser.options],
            "includes": list(parser.includes),
            "underscores": parser.underscores,
            "unknown": list(parser.unknown),
        }
        key = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:12]
        parsers[key] = data
        return key

    revisions = {
        rev: {
            "package": tree.package,
            "scripts": {kind: ref(p) for kind, p in sorted(tree.scripts.items())},
            "stubs": sorted(tree.stubs),
            "bench": {kind: ref(p) for kind, p in sorted(tree.bench.items())},
            "server": None if tree.server is None else ref(tree.server),
            "engine": {name: ref(p) for name, p in sorted(tree.engine.items())},
        }
        for rev, tree in sorted(facts.items())
    }
    table = sorted({text for data in parsers.values() for text in data["options"]})
    index = {text: i for i, text in enumerate(table)}
    for data in parsers.values():
        data["options"] = [index[text] for text in data["options"]]
    return {"options": table, "parsers": dict(sorted(parsers.items())), "revisions": revisions}


def facts_from_json(data: dict[str, Any]) -> dict[str, TreeFacts]:
    table = [_decode_option(text) for text in data["options"]]

    def parser(key: str) -> ParserFacts:
        raw = data["parsers"][key]
        return ParserFacts(
            tuple(table[i] for i in raw["options"]), tuple(raw["includes"]), raw["underscores"], tuple(raw["unknown"])
        )

    return {
        rev: TreeFacts(
            package=record["package"],
            scripts={kind: parser(key) for kind, key in record["scripts"].items()},
            stubs=frozenset(record["stubs"]),
            bench={kind: parser(key) for kind, key in record["bench"].items()},
            server=None if record["server"] is None else parser(record["server"]),
            engine={name: parser(key) for name, key in record["engine"].items()},
        )
        for rev, record in data["revisions"].items()
    }


def _encode_option(option: Option) -> str:
    """``--tensor-parallel-size,-tp 1`` / ``--dataset 1 required``."""
    return " ".join([",".join(option.flags), option.arity] + (["required"] if option.required else []))


def _decode_option(text: str) -> Option:
    flags, arity, *rest = text.split(" ")
    return Option(tuple(flags.split(",")), arity, rest == ["required"])


# ---------------------------------------------------------------- the static reader
#
# A tiny abstract interpreter: it runs a program's entry code over values it can
# know statically (constants, parsers, functions, classes, modules, the kwargs
# dictionaries of config dataclasses) and treats everything else as unknown. Both
# branches of every ``if`` run (a help-only condition must not hide an option);
# loops run once, except over a config dataclass's fields.


class _Unknown:
    def __repr__(self) -> str:
        return "<unknown>"


_UNKNOWN: Any = _Unknown()
_DELETED: Any = object()


@dataclass(frozen=True)
class _Import:
    module: str
    name: str | None  # None: ``import module`` binds the module itself


@dataclass(eq=False)
class _Module:
    name: str
    path: str
    body: list[ast.stmt]
    package: str
    search: tuple[str, ...]  # folders its imports are found in ("" is the tree's root)
    scope: dict[str, Any]


@dataclass(frozen=True, eq=False)
class _Func:
    module: _Module
    node: ast.FunctionDef | ast.AsyncFunctionDef
    owner: _Class | None = None


@dataclass(frozen=True, eq=False)
class _Class:
    module: _Module
    node: ast.ClassDef


@dataclass(frozen=True)
class _ModRef:
    name: str
    search: tuple[str, ...]


@dataclass(frozen=True)
class _External:
    """A name from outside the tree (``argparse.ArgumentParser``) or one that did not resolve."""

    name: str


@dataclass(eq=False)
class _Parser:
    underscores: bool
    options: list[Option] = field(default_factory=list)
    includes: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    def facts(self, reasons: Iterable[str] = ()) -> ParserFacts:
        unknown = tuple(dict.fromkeys([*self.unknown, *reasons]))
        return ParserFacts(tuple(self.options), tuple(self.includes), self.underscores, unknown)


@dataclass(frozen=True, eq=False)
class _ParserMethod:
    parser: _Parser
    name: str


@dataclass(eq=False)
class _Kwargs:
    """``get_kwargs(SomeConfig)``: argparse keywords per field of a config dataclass."""

    cls: _Class | None
    boolean_switch: bool  # this revision's get_kwargs turns bool fields into --x/--no-x
    many_values: bool  # ... and list/tuple fields into nargs
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class _KwEntry:
    kwargs: _Kwargs
    name: str


@dataclass(frozen=True, eq=False)
class _KwItems:
    kwargs: _Kwargs
    called: bool = False


@dataclass(frozen=True)
class _StrReplace:
    """``"--" + key.replace("_", "-")``: option names built from field names."""

    value: str


class _Parsed(Exception):
    """The entry code reached ``parse_args``: its parser is complete."""

    def __init__(self, parser: _Parser) -> None:
        super().__init__()
        self.parser = parser


@dataclass
class _Env:
    module: _Module
    local: dict[str, Any]
    top: bool = False  # module level: imports and definitions are already in the module's scope


def _module_path(name: str) -> str:
    return name.replace(".", "/") + ".py"


class _Tree:
    """One revision: its parsed modules (cached) and the readings of its programs."""

    def __init__(self, read: Read, package: str) -> None:
        self.sources: dict[str, bytes | None] = {}
        self.read = read
        self.loaded: dict[str, _Module | str | None] = {}
        self.package = package
        self.engine_module = ENGINE_MODULE.format(package=package)

    def source(self, path: str) -> bytes | None:
        if path not in self.sources:
            self.sources[path] = self.read(path)
        return self.sources[path]

    def load(self, name: str, search: tuple[str, ...]) -> _Module | str | None:
        """The module, an error message when its file does not parse, or None when absent."""
        for folder in search:
            base = f"{folder}/{name.replace('.', '/')}" if folder else name.replace(".", "/")
            for path, package in ((f"{base}.py", name.rpartition(".")[0]), (f"{base}/__init__.py", name)):
                if path not in self.loaded:
                    self.loaded[path] = self._parse(name, path, package, search)
                if self.loaded[path] is not None:
                    return self.loaded[path]
        return None

    def _parse(self, name: str, path: str, package: str, search: tuple[str, ...]) -> _Module | str | None:
        source = self.source(path)
        if source is None:
            return None
        try:
            body = ast.parse(source, filename=path).body
        except SyntaxError as exc:
            return f"{path} does not parse (SyntaxError line {exc.lineno}: {exc.msg})"
        except ValueError as exc:  # a null byte in the source
            return f"{path} does not parse ({exc})"
        return _Module(name, path, body, package, search, _scope(body, package))

    def run_module(self, name: str, search: tuple[str, ...]) -> ParserFacts:
        """Run a program's module-level code (its ``__main__`` block) up to ``parse_args``."""
        run = _Run(self)
        module = run.module(name, search)
        if module is None:
            return ParserFacts(unknown=tuple(run.reasons) or (f"module {name} could not be read",))
        try:
            run.exec_body(module.body, _Env(module, {}, top=True))
        except _Parsed as parsed:
            return parsed.parser.facts(run.reasons)
        return ParserFacts(unknown=(*run.reasons, f"{module.path}: no parse_args() call was reached"))

    def engine(self, name: str) -> ParserFacts | None:
        """What ``<name>.add_cli_args`` adds to a parser."""
        run = _Run(self)
        module = run.module(self.engine_module, ("",))
        if module is None:
            return ParserFacts(unknown=tuple(run.reasons)) if run.reasons else None
        cls = module.scope.get(name)
        if not isinstance(cls, ast.ClassDef):
            return None
        return run.method_facts(_Class(module, cls), "add_cli_args", _Parser(underscores=False))

    def bench(self, subcommand: str) -> ParserFacts | None:
        """Options of ``vllm bench <subcommand>``: its subcommand class's ``add_cli_args``."""
        run = _Run(self)
        module = run.module(BENCH_MODULE.format(package=self.package, subcommand=subcommand), ("",))
        if module is None:
            return ParserFacts(unknown=tuple(run.reasons)) if run.reasons else None
        cls = next((c for c in _classes(module) if _subcommand_name(c.node) == subcommand), None)
        if cls is None:
            return ParserFacts(unknown=(f"{module.path}: no subcommand class named {subcommand!r}",))
        root = self._cli_root()
        parser = _Parser(underscores=root.underscores)
        return run.method_facts(cls, "add_cli_args", parser, extra=root.unknown)

    def _cli_root(self) -> ParserFacts:
        """The ``vllm`` command's own parser: its class decides how ``_`` in flags is read."""
        run = _Run(self)
        module = run.module(CLI_MAIN_MODULE.format(package=self.package), ("",))
        main = module.scope.get("main") if module is not None else None
        if not isinstance(main, ast.FunctionDef):
            return ParserFacts(unknown=(*run.reasons, "the vllm command's main() could not be read"))
        try:
            run.invoke(_Func(module, main), [], {})
        except _Parsed as parsed:
            return ParserFacts(underscores=parsed.parser.underscores)
        return ParserFacts(unknown=(*run.reasons, "the vllm command's main() reaches no parse_args()"))


def _classes(module: _Module) -> Iterator[_Class]:
    for node in module.body:
        if isinstance(node, ast.ClassDef):
            yield _Class(module, node)


def _subcommand_name(node: ast.ClassDef) -> str | None:
    """``name = "serve"`` in the class body, or ``self.name = "serve"`` in a method."""
    for stmt in ast.walk(node):
        if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str):
            for target in stmt.targets:
                if (isinstance(target, ast.Name) and target.id == "name") or (
                    isinstance(target, ast.Attribute) and target.attr == "name"
                ):
                    return stmt.value.value
    return None


def _absolute(node: ast.ImportFrom, package: str) -> str:
    if not node.level:
        return node.module or ""
    parts = package.split(".") if package else []
    base = parts[: len(parts) - (node.level - 1)] if node.level > 1 else parts
    return ".".join([*base, *([node.module] if node.module else [])])


def _import_bindings(node: ast.Import | ast.ImportFrom, package: str) -> Iterator[tuple[str, _Import]]:
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.asname:
                yield alias.asname, _Import(alias.name, None)
            else:
                top = alias.name.split(".")[0]
                yield top, _Import(top, None)
    else:
        module = _absolute(node, package)
        for alias in node.names:
            if alias.name != "*":
                yield alias.asname or alias.name, _Import(module, alias.name)


def _scope(body: list[ast.stmt], package: str) -> dict[str, Any]:
    """Module-level names; the first binding wins (``try: from vllm.utils import X`` /
    ``except ImportError: from argparse import …`` means vLLM's when vLLM is there)."""
    scope: dict[str, Any] = {}
    for stmt in _module_level(body):
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            scope.setdefault(stmt.name, stmt)
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            for name, target in _import_bindings(stmt, package):
                scope.setdefault(name, target)
        elif isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                if isinstance(target, ast.Name):
                    scope.setdefault(target.id, stmt.value)
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None:
            scope.setdefault(stmt.target.id, stmt.value)
    return scope


def _module_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    for stmt in body:
        yield stmt
        if isinstance(stmt, ast.If):
            yield from _module_level(stmt.body + stmt.orelse)
        elif isinstance(stmt, ast.Try):
            yield from _module_level(
                stmt.body + [s for h in stmt.handlers for s in h.body] + stmt.orelse + stmt.finalbody
            )


def _decorators(node: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    return {
        d.id if isinstance(d, ast.Name) else d.attr
        for d in node.decorator_list
        if isinstance(d, (ast.Name, ast.Attribute))
    }


def _is_boolean_optional(action: Any) -> bool:
    return isinstance(action, _External) and action.name == _BOOLEAN_OPTIONAL


class _Run:
    """One reading from one entry point; ``reasons`` collects what could not be followed."""

    def __init__(self, tree: _Tree) -> None:
        self.tree = tree
        self.reasons: list[str] = []
        self.stack: list[ast.AST] = []
        self.resolving: set[tuple[str, str]] = set()

    def note(self, reason: str) -> None:
        if reason not in self.reasons:
            self.reasons.append(reason)

    def module(self, name: str, search: tuple[str, ...]) -> _Module | None:
        loaded = self.tree.load(name, search)
        if isinstance(loaded, str):
            self.note(loaded)
            return None
        return loaded

    def method_facts(self, cls: _Class, name: str, parser: _Parser, extra: Iterable[str] = ()) -> ParserFacts:
        """Call ``cls.<name>`` with ``parser`` the way vLLM does and read what it added."""
        method = self.class_attribute(cls, name)
        if not isinstance(method, _Func):
            return ParserFacts(unknown=(f"{cls.module.path}: {cls.node.name}.{name} not found",))
        plain = not {"staticmethod", "classmethod"} & _decorators(method.node)
        self.invoke(method, [_UNKNOWN, parser] if plain else [parser], {})
        return parser.facts([*self.reasons, *extra])

    # -- names

    def lookup(self, module: _Module, name: str) -> Any:
        entry = module.scope.get(name)
        if entry is None:
            return _UNKNOWN
        if isinstance(entry, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return _Func(module, entry)
        if isinstance(entry, ast.ClassDef):
            return _Class(module, entry)
        key = (module.path, name)
        if key in self.resolving:
            return _UNKNOWN
        self.resolving.add(key)
        try:
            if isinstance(entry, _Import):
                return self.resolve(entry, module.search)
            return self.eval(entry, _Env(module, {}))
        finally:
            self.resolving.discard(key)

    def resolve(self, target: _Import, search: tuple[str, ...]) -> Any:
        if target.name is None:
            return _ModRef(target.module, search)
        return self.attribute(_ModRef(target.module, search), target.name)

    def attribute(self, base: Any, name: str) -> Any:
        if isinstance(base, _ModRef):
            module = self.module(base.name, base.search)
            if module is not None and name in module.scope:
                return self.lookup(module, name)
            dotted = f"{base.name}.{name}"
            return _ModRef(dotted, base.search) if self.module(dotted, base.search) else _External(dotted)
        if isinstance(base, _External):
            return _External(f"{base.name}.{name}")
        if isinstance(base, _Class):
            return self.class_attribute(base, name)
        if isinstance(base, _Parser):
            return _ParserMethod(base, name)
        if isinstance(base, _Kwargs) and name == "items":
            return _KwItems(base)
        if isinstance(base, str) and name == "replace":
            return _StrReplace(base)
        return _UNKNOWN

    def class_attribute(self, cls: _Class, name: str) -> Any:
        for stmt in cls.node.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name == name:
                return _Func(cls.module, stmt, cls)
        for base in self.bases(cls):
            found = self.class_attribute(base, name) if isinstance(base, _Class) else _UNKNOWN
            if found is not _UNKNOWN:
                return found
        return _UNKNOWN

    def bases(self, cls: _Class) -> list[Any]:
        return [b for b in (self.eval(e, _Env(cls.module, {})) for e in cls.node.bases) if b is not cls]

    # -- expressions

    def eval(self, node: ast.expr, env: _Env) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            if node.id in env.local:
                return env.local[node.id]
            return self.lookup(env.module, node.id)
        if isinstance(node, ast.Attribute):
            return self.attribute(self.eval(node.value, env), node.attr)
        if isinstance(node, ast.Call):
            return self.call(node, env)
        if isinstance(node, ast.Subscript):
            base, key = self.eval(node.value, env), self.eval(node.slice, env)
            if isinstance(base, _Kwargs) and isinstance(key, str):
                return _KwEntry(base, key)
            return _UNKNOWN
        if isinstance(node, ast.JoinedStr):
            parts = [
                self.eval(v.value, env) if isinstance(v, ast.FormattedValue) else self.eval(v, env) for v in node.values
            ]
            return "".join(parts) if all(isinstance(p, str) for p in parts) else _UNKNOWN
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = self.eval(node.left, env), self.eval(node.right, env)
            return left + right if isinstance(left, str) and isinstance(right, str) else _UNKNOWN
        if isinstance(node, ast.Tuple):
            return tuple(self.eval(e, env) for e in node.elts)
        return _UNKNOWN

    def call(self, node: ast.Call, env: _Env) -> Any:
        func = self.eval(node.func, env)
        if isinstance(func, _ParserMethod):
            return self.parser_method(func, node, env)
        args = [_UNKNOWN if isinstance(a, ast.Starred) else self.eval(a, env) for a in node.args]
        keywords = {k.arg: self.eval(k.value, env) for k in node.keywords if k.arg is not None}
        if isinstance(func, _StrReplace):
            return func.value.replace(*args) if len(args) == 2 and all(isinstance(a, str) for a in args) else _UNKNOWN
        if isinstance(func, _KwItems):
            return _KwItems(func.kwargs, called=True)
        if isinstance(func, (_External, _Class)) and self.is_parser_class(func):
            return _Parser(underscores=isinstance(func, _Class) and self.normalizes_underscores(func))
        if isinstance(func, _Func):
            if func.node.name == "get_kwargs":
                return self.config_kwargs(func, args)
            owner = func.owner
            if owner is not None and owner.module.name == self.tree.engine_module and owner.node.name in ENGINE_CLASSES:
                parser = next((a for a in args if isinstance(a, _Parser)), None)
                if parser is not None and func.node.name == "add_cli_args":
                    parser.includes.append(owner.node.name)
                    return parser
            return self.invoke(func, args, keywords, node)
        parsers = [a for a in [*args, *keywords.values()] if isinstance(a, _Parser)]
        hook = node.func.attr if isinstance(node.func, ast.Attribute) else None
        if parsers and hook not in _NO_OPTION_HOOKS:
            self.note(
                f"{env.module.path}:{node.lineno}: the parser is handed to {ast.unparse(node.func)}, which was not read"
            )
        return _UNKNOWN

    def invoke(self, func: _Func, args: list[Any], keywords: dict[str, Any], site: ast.Call | None = None) -> Any:
        node = func.node
        if node in self.stack or len(self.stack) >= _MAX_DEPTH or isinstance(node, ast.AsyncFunctionDef):
            if site is not None and any(isinstance(a, _Parser) for a in [*args, *keywords.values()]):
                self.note(f"{func.module.path}:{node.lineno}: {node.name} was not followed (recursive or too deep)")
            return _UNKNOWN
        params = [a.arg for a in node.args.posonlyargs + node.args.args]
        local: dict[str, Any] = {}
        if func.owner is not None and "classmethod" in _decorators(node):
            local[params.pop(0)] = func.owner
        local.update(zip(params, args))
        local.update({k: v for k, v in keywords.items() if k in params or k in [a.arg for a in node.args.kwonlyargs]})
        self.stack.append(node)
        try:
            return self.exec_body(node.body, _Env(func.module, local))
        finally:
            self.stack.pop()

    def is_parser_class(self, value: Any, depth: int = 0) -> bool:
        if isinstance(value, _External):
            return value.name == _ARGPARSE_PARSER
        return (
            isinstance(value, _Class)
            and depth < _MAX_DEPTH
            and any(self.is_parser_class(b, depth + 1) for b in self.bases(value))
        )

    def normalizes_underscores(self, cls: _Class) -> bool:
        """vLLM's FlexibleArgumentParser (2024-06-20, #5718) rewrites ``--a_b`` to ``--a-b``."""
        for node in ast.walk(cls.node):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "replace"
                and [a.value for a in node.args if isinstance(a, ast.Constant)] == ["_", "-"]
            ):
                return True
        return any(self.normalizes_underscores(b) for b in self.bases(cls) if isinstance(b, _Class))

    def config_kwargs(self, func: _Func, args: list[Any]) -> _Kwargs:
        """``get_kwargs(Config)``: which field types this revision's get_kwargs turns into
        switches or multi-value options, read from its code (and the helpers it calls)."""
        nodes = [func.node]
        for call in ast.walk(func.node):
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Name):
                helper = func.module.scope.get(call.func.id)
                if isinstance(helper, ast.FunctionDef):
                    nodes.append(helper)
        walked = [n for root in nodes for n in ast.walk(root)]
        switch = any(
            (isinstance(n, ast.Attribute) and n.attr == "BooleanOptionalAction")
            or (isinstance(n, ast.Name) and n.id == "BooleanOptionalAction")
            for n in walked
        )
        many = any(
            isinstance(n, ast.Assign)
            and any(
                isinstance(t, ast.Subscript) and isinstance(t.slice, ast.Constant) and t.slice.value == "nargs"
                for t in n.targets
            )
            for n in walked
        )
        cls = args[0] if args and isinstance(args[0], _Class) else None
        return _Kwargs(cls, switch, many)

    # -- add_argument

    def parser_method(self, method: _ParserMethod, node: ast.Call, env: _Env) -> Any:
        if method.name == "add_argument":
            self.add_argument(method.parser, node, env)
        elif method.name in ("add_argument_group", "add_mutually_exclusive_group"):
            return method.parser
        elif method.name in ("parse_args", "parse_known_args"):
            raise _Parsed(method.parser)
        return _UNKNOWN

    def add_argument(self, parser: _Parser, node: ast.Call, env: _Env) -> None:
        where = f"{env.module.path}:{node.lineno}"
        names = [self.eval(a, env) for a in node.args]
        if not names or not all(isinstance(n, str) for n in names):
            parser.unknown.append(f"{where}: an option whose name is computed at run time")
            return
        if not names[0].startswith("-"):
            return  # a positional argument, not an option
        kwargs: dict[str, Any] = {}
        for keyword in node.keywords:
            if keyword.arg is None:
                entry = self.eval(keyword.value, env)
                if isinstance(entry, _KwEntry):
                    kwargs.update(self.field_kwargs(entry, parser, where))
                else:
                    parser.unknown.append(f"{where}: the keywords of {names[0]} could not be read")
            elif keyword.arg in ("action", "nargs", "required"):
                kwargs[keyword.arg] = self.eval(keyword.value, env)
        action = kwargs.get("action")
        flags = list(names)
        if _is_boolean_optional(action):
            flags += ["--no-" + n[2:] for n in names if n.startswith("--")]
        arity = self.arity(action, kwargs.get("nargs"))
        if arity is None:
            parser.unknown.append(f"{where}: how many values {names[0]} takes could not be read")
            arity = "1"
        parser.options.append(Option(tuple(flags), arity, kwargs.get("required") is True))

    @staticmethod
    def arity(action: Any, nargs: Any) -> str | None:
        if (isinstance(action, str) and action in _SWITCH_ACTIONS) or _is_boolean_optional(action):
            return "0"
        known_action = (
            action is None or (isinstance(action, str) and action in _VALUE_ACTIONS) or isinstance(action, _Class)
        )
        if not known_action:
            return None
        if nargs is None:
            return "1"
        if isinstance(nargs, int) or nargs in ("?", "*", "+"):
            return str(nargs)
        return None

    def field_kwargs(self, entry: _KwEntry, parser: _Parser, where: str) -> dict[str, Any]:
        """``action``/``nargs`` that ``**get_kwargs(Config)[field]`` carries, as the revision's
        get_kwargs derives them from the field's type, then the caller's own edits."""
        kwargs = entry.kwargs
        kinds = self.field_kinds(kwargs.cls, entry.name) if kwargs.cls is not None else None
        derived: dict[str, Any] = {}
        if kinds is None:
            parser.unknown.append(f"{where}: the type of config field {entry.name!r} could not be read")
        elif "bool" in kinds:
            if kwargs.boolean_switch:
                derived["action"] = _External(_BOOLEAN_OPTIONAL)
        elif "Literal" in kinds:
            pass
        elif kwargs.many_values and any(k.startswith("tuple") for k in kinds):
            counts = sorted(k.removeprefix("tuple") for k in kinds if k.startswith("tuple"))
            derived["nargs"] = "+" if counts[0] == "+" else int(counts[0])
        elif kwargs.many_values and "list" in kinds:
            derived["nargs"] = "+"
        for key, value in kwargs.overrides.get(entry.name, {}).items():
            if value is _DELETED:
                derived.pop(key, None)
            else:
                derived[key] = value
        return derived

    def field_kinds(self, cls: _Class, name: str, depth: int = 0) -> set[str] | None:
        for stmt in cls.node.body:
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.target.id == name:
                return self.type_kinds(stmt.annotation, cls.module, 0)
        for base in self.bases(cls):
            if isinstance(base, _Class) and depth < _MAX_DEPTH:
                kinds = self.field_kinds(base, name, depth + 1)
                if kinds is not None:
                    return kinds
        return None

    def type_kinds(self, node: ast.expr, module: _Module, depth: int) -> set[str]:
        """The members of a type hint that decide argparse keywords: bool, Literal, list, tupleN/tuple+."""
        simple = {"bool": "bool", "list": "list", "List": "list", "tuple": "tuple+", "Tuple": "tuple+"}
        if depth > _MAX_DEPTH:
            return {"other"}
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            try:
                return self.type_kinds(ast.parse(node.value, mode="eval").body, module, depth + 1)
            except SyntaxError:
                return {"other"}
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            return self.type_kinds(node.left, module, depth + 1) | self.type_kinds(node.right, module, depth + 1)
        if isinstance(node, (ast.Name, ast.Attribute)):
            name = node.id if isinstance(node, ast.Name) else node.attr
            if name in simple:
                return {simple[name]}
            alias = self.alias(module, name) if isinstance(node, ast.Name) else None
            return self.type_kinds(alias[0], alias[1], depth + 1) if alias else {"other"}
        if isinstance(node, ast.Subscript):
            base = node.value.id if isinstance(node.value, ast.Name) else getattr(node.value, "attr", "")
            args = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            if base in ("Optional", "Annotated", "SkipValidation"):  # pydantic's SkipValidation[X] is Annotated[X, …]
                return self.type_kinds(args[0], module, depth + 1)
            if base == "Union":
                return set().union(*(self.type_kinds(a, module, depth + 1) for a in args))
            if base == "Literal":
                return {"Literal"}
            if base in ("list", "List"):
                return {"list"}
            if base in ("tuple", "Tuple"):
                ellipsis = any(isinstance(a, ast.Constant) and a.value is Ellipsis for a in args)
                return {"tuple+" if ellipsis else f"tuple{len(args)}"}
            alias = self.alias(module, base)
            return self.type_kinds(alias[0], alias[1], depth + 1) if alias and base else {"other"}
        return {"other"}

    def alias(self, module: _Module, name: str, depth: int = 0) -> tuple[ast.expr, _Module] | None:
        """The expression a type alias stands for, following imports within the tree."""
        entry = module.scope.get(name)
        if isinstance(entry, _Import) and entry.name is not None and depth < _MAX_DEPTH:
            target = self.module(entry.module, module.search)
            return self.alias(target, entry.name, depth + 1) if target is not None else None
        return (entry, module) if isinstance(entry, ast.expr) else None

    # -- statements

    def exec_body(self, body: list[ast.stmt], env: _Env) -> Any:
        """Run statements; the value of the first ``return`` whose value is known."""
        result = _UNKNOWN
        for stmt in body:
            value = self.exec(stmt, env)
            if result is _UNKNOWN:
                result = value
        return result

    def exec(self, stmt: ast.stmt, env: _Env) -> Any:
        if isinstance(stmt, ast.Expr):
            self.eval(stmt.value, env)
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is not None:
            value = self.eval(stmt.value, env)
            for target in stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]:
                self.assign(target, value, env)
        elif isinstance(stmt, ast.Delete):
            for target in stmt.targets:
                if isinstance(target, ast.Subscript):
                    self.assign(target, _DELETED, env)
        elif isinstance(stmt, ast.Return):
            return self.eval(stmt.value, env) if stmt.value is not None else None
        elif isinstance(stmt, (ast.If, ast.While)):
            return self.exec_blocks([stmt.body, stmt.orelse], env)
        elif isinstance(stmt, ast.For):
            return self.exec_for(stmt, env)
        elif isinstance(stmt, (ast.With, ast.AsyncWith)):
            return self.exec_body(stmt.body, env)
        elif isinstance(stmt, ast.Try):
            return self.exec_blocks([stmt.body, *(h.body for h in stmt.handlers), stmt.orelse, stmt.finalbody], env)
        elif env.top:
            pass  # module-level definitions and imports are in the module's scope already
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            env.local[stmt.name] = _Func(env.module, stmt)
        elif isinstance(stmt, ast.ClassDef):
            env.local[stmt.name] = _Class(env.module, stmt)
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            for name, target in _import_bindings(stmt, env.module.package):
                env.local[name] = self.resolve(target, env.module.search)
        return _UNKNOWN

    def exec_blocks(self, blocks: list[list[ast.stmt]], env: _Env) -> Any:
        results = [self.exec_body(block, env) for block in blocks]
        return next((r for r in results if r is not _UNKNOWN), _UNKNOWN)

    def exec_for(self, stmt: ast.For, env: _Env) -> Any:
        source = self.eval(stmt.iter, env)
        if isinstance(source, _KwItems) and source.called and source.kwargs.cls is not None:
            # for key, value in get_kwargs(Config).items(): one option per field
            for name in self.field_names(source.kwargs.cls):
                self.assign(stmt.target, (name, _KwEntry(source.kwargs, name)), env)
                self.exec_body(stmt.body, env)
            return _UNKNOWN
        self.assign(stmt.target, _UNKNOWN, env)
        return self.exec_blocks([stmt.body, stmt.orelse], env)

    def field_names(self, cls: _Class) -> list[str]:
        inherited = [n for b in self.bases(cls) if isinstance(b, _Class) for n in self.field_names(b)]
        own = [
            s.target.id
            for s in cls.node.body
            if isinstance(s, ast.AnnAssign)
            and isinstance(s.target, ast.Name)
            and "ClassVar" not in ast.unparse(s.annotation)
        ]
        return list(dict.fromkeys(inherited + own))

    def assign(self, target: ast.expr, value: Any, env: _Env) -> None:
        if isinstance(target, ast.Name):
            # A value we cannot evaluate does not forget one we know (parser = helper(parser)).
            if value is not _UNKNOWN or target.id not in env.local:
                env.local[target.id] = value
        elif isinstance(target, ast.Tuple):
            values = (
                value if isinstance(value, tuple) and len(value) == len(target.elts) else [_UNKNOWN] * len(target.elts)
            )
            for element, element_value in zip(target.elts, values):
                self.assign(element, element_value, env)
        elif isinstance(target, ast.Subscript):
            # get_kwargs(Config)["field"]["action"] = … edits what that option gets
            entry, key = self.eval(target.value, env), self.eval(target.slice, env)
            if isinstance(entry, _KwEntry) and key in ("action", "nargs"):
                entry.kwargs.overrides.setdefault(entry.name, {})[key] = value
