"""A real git repository synthesized from the vLLM tree facts, for tests and for checks of the workflow.

``tests/fixtures/vllm/tree-facts.json`` (written by ``scripts/vllm_tree_facts.py``)
records, for every ISO-Bench commit and parent, which benchmark programs the
real vLLM tree has and which options each accepts. :func:`build_repo` turns it
into a repository with one commit per revision whose files define exactly those
options with plain argparse (our own code: no vLLM source), each ISO-Bench
commit a child of its parent, so the readers, the lint and the spec stage can
run against the real history's shapes without the vLLM clone.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from patchbench.spec.command import BENCH_SUBCOMMAND
from patchbench.spec.tree import ENGINE_CLASSES, Option, ParserFacts, TreeFacts, facts_from_json
from tests.conftest import GIT_ENV, git

FACTS = Path(__file__).resolve().parents[1] / "fixtures" / "vllm" / "tree-facts.json"


@dataclass(frozen=True)
class FixtureRepo:
    path: Path
    shas: dict[str, str]  # real full SHA -> the fixture commit that stands for it


def load_facts(path: Path = FACTS) -> dict[str, Any]:
    return json.loads(path.read_text())


def build_repo(dest: Path, data: dict[str, Any] | None = None) -> FixtureRepo:
    """One commit per recorded revision (ref ``refs/fixture/<real sha>``), each commit of
    ``data["commits"]`` a child of its parent; ``main`` is the newest."""
    data = data or load_facts()
    facts = facts_from_json(data)
    parent_of = {p["commit"]: p["parent"] for p in data["commits"].values() if p["commit"] and p["parent"]}
    dest.mkdir(parents=True)
    git(dest, "init", "-q", "-b", "main")
    stream, marks, order = [], {}, []

    def emit(sha: str) -> None:
        if sha in marks:
            return
        parent = parent_of.get(sha)
        if parent is not None:
            emit(parent)
        marks[sha] = len(marks) + 1
        order.append(sha)
        message = f"stands for vLLM {sha}\n".encode()
        stream.append(f"commit refs/fixture/{sha}\nmark :{marks[sha]}\n".encode())
        stream.append(f"committer test <test@example.invalid> {1_700_000_000 + marks[sha]} +0000\n".encode())
        stream.append(b"data %d\n%s" % (len(message), message))
        if parent is not None:
            stream.append(f"from :{marks[parent]}\n".encode())
        stream.append(b"deleteall\n")
        for path, text in sorted(tree_files(facts[sha], sha).items()):
            blob = text.encode()
            stream.append(f"M 100644 inline {path}\n".encode() + b"data %d\n%s\n" % (len(blob), blob))

    for sha in sorted(facts):
        emit(sha)
    subprocess.run(["git", "fast-import", "--quiet"], cwd=dest, env=GIT_ENV, input=b"".join(stream), check=True)
    git(dest, "update-ref", "refs/heads/main", f"refs/fixture/{order[-1]}")
    refs = git(dest, "for-each-ref", "--format=%(refname:lstrip=2) %(objectname)", "refs/fixture")
    return FixtureRepo(dest, dict(line.split(" ") for line in refs.splitlines()))


def tree_files(facts: TreeFacts, sha: str) -> dict[str, str]:
    """The files of one synthesized revision: every program defines exactly its recorded options."""
    parsers = [*facts.scripts.values(), *facts.bench.values(), *facts.engine.values()]
    parsers += [facts.server] if facts.server is not None else []
    if any(p.unknown for p in parsers):
        raise ValueError(f"{sha}: options that could not be read cannot be synthesized")
    files = {"README.md": f"Synthesized from tests/fixtures/vllm/tree-facts.json: stands for vLLM {sha}.\n"}
    if facts.package:
        files["vllm/__init__.py"] = '"""Synthesized fixture package."""\n'
    if any(p.underscores for p in parsers):
        files["vllm/utils.py"] = _FLEXIBLE_PARSER
    if facts.engine:
        classes = [
            _ENGINE.format(name=name, body=_body(facts.engine[name], "        ", "return parser"))
            for name in ENGINE_CLASSES
            if name in facts.engine
        ]
        files["vllm/engine/arg_utils.py"] = "import argparse\n\n\n" + "\n\n".join(classes)
    if facts.server is not None:
        files["vllm/entrypoints/openai/api_server.py"] = _program(facts.server)
    for kind, parser in facts.scripts.items():
        files[f"benchmarks/benchmark_{kind}.py"] = _program(parser)
    for kind in facts.stubs:
        files[f"benchmarks/benchmark_{kind}.py"] = _STUB.format(subcommand=BENCH_SUBCOMMAND[kind])
    if facts.bench:
        roots = {p.underscores for p in facts.bench.values()}
        if len(roots) > 1:
            raise ValueError(f"{sha}: the vllm command's parser reads '_' in flags for some subcommands only")
        root = ParserFacts(underscores=roots.pop())
        files["vllm/entrypoints/cli/main.py"] = _CLI_MAIN.format(imports=_imports(root), parser=_parser_class(root))
    for kind, parser in facts.bench.items():
        subcommand = BENCH_SUBCOMMAND[kind]
        body = _body(parser, "        ", "return parser")
        files[f"vllm/entrypoints/cli/benchmark/{subcommand}.py"] = _BENCH.format(
            imports=_imports(parser), subcommand=subcommand, body=body
        )
    return files


def _add_argument(option: Option) -> str:
    nargs = option.arity if option.arity.isdigit() else repr(option.arity)
    keywords = {"0": ['action="store_true"'], "1": []}.get(option.arity, [f"nargs={nargs}"])
    keywords += ["required=True"] if option.required else []
    return f"parser.add_argument({', '.join([*(repr(f) for f in option.flags), *keywords])})"


def _body(parser: ParserFacts, indent: str, last: str) -> str:
    """The parser's options, then the option sets it includes, then ``last``."""
    lines = [_add_argument(o) for o in parser.options] + [
        f"parser = {name}.add_cli_args(parser)" for name in parser.includes
    ]
    return "\n".join(indent + line for line in [*lines, last])


def _parser_class(parser: ParserFacts) -> str:
    return "FlexibleArgumentParser" if parser.underscores else "argparse.ArgumentParser"


def _imports(parser: ParserFacts) -> str:
    lines = ["import argparse", ""]
    if parser.includes:
        lines.append(f"from vllm.engine.arg_utils import {', '.join(sorted(parser.includes))}")
    if parser.underscores:
        lines.append("from vllm.utils import FlexibleArgumentParser")
    return "\n".join(lines)


def _program(parser: ParserFacts) -> str:
    """A program whose ``__main__`` block builds the parser and parses."""
    body = _body(parser, "    ", "parser.parse_args()")
    return f'{_imports(parser)}\n\nif __name__ == "__main__":\n    parser = {_parser_class(parser)}()\n{body}\n'


_FLEXIBLE_PARSER = '''import argparse


class FlexibleArgumentParser(argparse.ArgumentParser):
    """Reads --a_b as --a-b."""

    def parse_args(self, args=None, namespace=None):
        args = [a.replace("_", "-") if a.startswith("--") else a for a in args or []]
        return super().parse_args(args, namespace)
'''

_STUB = """import sys

if __name__ == "__main__":
    print("This script has been moved to the vLLM CLI: run vllm bench {subcommand}.")
    sys.exit(1)
"""

_ENGINE = """class {name}:
    @staticmethod
    def add_cli_args(parser):
{body}
"""

_CLI_MAIN = """{imports}


def main():
    parser = {parser}()
    parser.parse_args()
"""

_BENCH = """{imports}


class BenchmarkSubcommand:
    name = "{subcommand}"

    @staticmethod
    def add_cli_args(parser):
{body}
"""
