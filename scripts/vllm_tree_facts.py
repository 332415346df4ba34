#!/usr/bin/env python3
"""Read, statically, which benchmark programs and options every revision of a commit table has.

For every commit of a mapping file (ISO-Bench's benchmark_mode_mapping.json) and
its parent (the table's, or the commit's first parent when the table leaves it
out), run patchbench.spec.tree over a vLLM git directory and write the facts as
compact JSON (each distinct option and option set stored once). The test
fixture tests/fixtures/vllm/tree-facts.json is this script's output:

    python scripts/vllm_tree_facts.py /work/.mirror/jinhuang12+vllm/repo \\
        ../shared/fixtures/isobench/benchmark_mode_mapping.json \\
        --source github.com/jinhuang12/vllm --out tests/fixtures/vllm/tree-facts.json

``--analysis`` prints, per commit, what the parent tree makes of the commit's own
perf command: is the program there, which flags its client rejects, which of
those the server accepts instead, which neither accepts.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import shlex
import sys
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from patchbench import gitops
from patchbench.spec.command import ENV_ASSIGNMENT, is_flag, option_value, split_options
from patchbench.spec.normalize import read_program
from patchbench.spec.tree import TreeFacts, facts_to_json, git_reader, read_tree

_DATASET_PATH_FLAGS = ("--dataset-path", "--dataset")


def revisions(repo: Path, mapping: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per commit key: the full commit, its parent (repaired from the repository when
    the table has none) and whether it was repaired; None for what the repository lacks."""
    pairs = {}
    for key, entry in mapping.items():
        commit = gitops.resolve_commit(repo, entry["commit_full"])
        parent = entry.get("parent_commit")
        repaired = parent is None
        if repaired and commit is not None:
            parent = gitops.first_parent(repo, commit)
        pairs[key] = {
            "commit": commit,
            "parent": parent and gitops.resolve_commit(repo, parent),
            "parent_repaired": repaired,
        }
    return pairs


def read_all(repo: Path, shas: list[str]) -> tuple[dict[str, TreeFacts], list[dict[str, str]]]:
    facts: dict[str, TreeFacts] = {}
    for i, sha in enumerate(shas, 1):
        print(f"[{i}/{len(shas)}] {sha[:12]}", file=sys.stderr)
        facts[sha] = read_tree(git_reader(repo, sha))
    problems = [
        {"revision": sha, "program": program, "reason": reason}
        for sha, tree in facts.items()
        for program, parser in _parsers(tree)
        for reason in parser.unknown
    ]
    return facts, problems


def _parsers(tree: TreeFacts) -> list[tuple[str, Any]]:
    named = [(f"script:{k}", p) for k, p in tree.scripts.items()] + [(f"bench:{k}", p) for k, p in tree.bench.items()]
    named += [(f"engine:{k}", p) for k, p in tree.engine.items()]
    return named + ([("server", tree.server)] if tree.server is not None else [])


def write_facts(out: Path, header: dict[str, Any], facts: dict[str, TreeFacts], pairs: dict[str, Any]) -> None:
    """One entry per line, so a regenerated file diffs by revision and by option set."""
    data = {"header": header, "commits": dict(sorted(pairs.items())), **facts_to_json(facts)}
    lines = ["{"]
    for i, (section, value) in enumerate(data.items()):
        lines.append(f" {json.dumps(section)}: " + ("[" if isinstance(value, list) else "{"))
        entries = (
            [json.dumps(v) for v in value]
            if isinstance(value, list)
            else [f"{json.dumps(k)}: {json.dumps(v)}" for k, v in value.items()]
        )
        lines += [f"  {entry}," for entry in entries[:-1]] + [f"  {entry}" for entry in entries[-1:]]
        lines.append(" " + ("]" if isinstance(value, list) else "}") + ("," if i < len(data) - 1 else ""))
    lines.append("}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")


# ---------------------------------------------------------------- analysis


def analyse(key: str, entry: dict[str, Any], tree: TreeFacts | None, exists: Any) -> dict[str, Any]:
    """What one tree makes of the commit's own perf command, as written (``VAR=value`` words aside)."""
    row: dict[str, Any] = {"commit": key}
    if not entry.get("perf_command"):
        return {**row, "verdict": "no perf command"}
    if tree is None:
        return {**row, "verdict": "revision not in the repository"}
    tokens = shlex.split(entry["perf_command"])
    while tokens and ENV_ASSIGNMENT.match(tokens[0]):
        tokens.pop(0)
    program, kind, rest = read_program(tokens)
    style = "vllm-bench" if program[:2] == ["vllm", "bench"] else "script"
    row.update(kind=kind, program=shlex.join(program))
    if kind is None:
        there = len(program) > 1 and exists(program[1])
        return {
            **row,
            "verdict": f"not a serving/latency/throughput benchmark ({'present' if there else 'absent'} in the tree)",
        }
    if style == "script" and program[1] != f"benchmarks/benchmark_{kind}.py":
        row["literal_path"] = "present" if exists(program[1]) else "absent"
    client = tree.program(kind, style)
    if client is None:
        stub = style == "script" and kind in tree.stubs
        absent = "program absent" + ("" if tree.package else " (pre-vLLM tree: no vllm package)")
        return {**row, "verdict": "stub script" if stub else absent}
    items = split_options(rest)
    server = tree.server_options() if kind == "serving" else None
    found = {id(item): client.find(item[0]) for item in items if is_flag(item[0])}
    rejected = [item for item in items if found.get(id(item)) is None]
    row["client_rejects"] = rejected
    row["server_accepts"] = [i for i in rejected if server is not None and server.find(i[0]) is not None]
    row["neither"] = [i for i in rejected if i not in row["server_accepts"]]
    given = {id(o) for o in found.values() if o is not None}
    row["missing_required"] = [o.flags[0] for o in client.options if o.required and id(o) not in given]
    spelt = {id(i): _spelling(i[0], client.underscores) for i in items}
    row["abbreviated"] = [i[0] for i in items if (o := found.get(id(i))) and spelt[id(i)] not in o.flags]
    row["underscored"] = [i[0] for i in items if found.get(id(i)) and "_" in i[0].split("=", 1)[0]]
    row["arity"] = [
        f"{i[0]} takes no value" if not o.takes_value else f"{i[0]} needs a value"
        for i in items
        if (o := found.get(id(i)))
        and (not o.takes_value) == (option_value(i) is not None)
        and o.arity not in ("?", "*")
    ]
    if kind == "serving":
        names = {i[0].split("=", 1)[0]: option_value(i) for i in items}
        row["dataset_path"] = next((names[f] for f in _DATASET_PATH_FLAGS if f in names), None)
        # Every benchmark_serving.py of 2024-03..2025-08 defaults --dataset-name to sharegpt,
        # `vllm bench serve` to random; older scripts have no --dataset-name and require --dataset.
        default = "random" if style == "vllm-bench" else "sharegpt" if client.find("--dataset-name") else None
        row["dataset_name"] = names.get("--dataset-name") or (default and f"{default} (default)")
    if row["neither"] or row["missing_required"] or row["arity"] or row["abbreviated"]:
        row["verdict"] = "fails"
    elif row["server_accepts"]:
        row["verdict"] = "engine flags to server"
    else:
        row["verdict"] = "runs as written"
    return row


def _spelling(token: str, underscores: bool) -> str:
    name = token.split("=", 1)[0]
    return "--" + name[2:].replace("_", "-") if underscores and name.startswith("--") else name


def print_analysis(mapping: dict[str, Any], pairs: dict[str, Any], facts: dict[str, TreeFacts], repo: Path) -> None:
    rows, changed = [], {}
    for key, entry in mapping.items():
        parent, commit = pairs[key]["parent"], pairs[key]["commit"]
        row = analyse(
            key, entry, facts.get(parent), lambda p, rev=parent: rev is not None and gitops.path_exists(repo, rev, p)
        )
        at_commit = analyse(
            key, entry, facts.get(commit), lambda p, rev=commit: rev is not None and gitops.path_exists(repo, rev, p)
        )
        rows.append(row)
        if _verdict(at_commit) != _verdict(row):
            changed[key] = _verdict(at_commit)
    print(f"{'commit':9} {'type':10} {'at the parent':22} {'client rejects -> server':44} {'neither':28} notes")
    for row in rows:
        notes = []
        for label, field in (
            ("missing required", "missing_required"),
            ("abbreviated", "abbreviated"),
            ("split", "arity"),
            ("_ spelling accepted", "underscored"),
        ):
            if row.get(field):
                notes.append(f"{label}: {' '.join(row[field])}")
        if "literal_path" in row:
            notes.append(f"script as written {row['program'].split()[-1]} is {row['literal_path']}")
        if row["commit"] in changed:
            notes.append(f"at the commit: {changed[row['commit']]}")
        print(
            f"{row['commit']:9} {row.get('kind')!s:10} {row['verdict'][:22]:22} "
            f"{_flags(row.get('server_accepts')):44} {_flags(row.get('neither')):28} {'; '.join(notes)}"
        )
    counts = Counter(row["verdict"] for row in rows)
    kinds = Counter(row.get("kind") for row in rows if "kind" in row)
    print("\nsummary")
    print(f"  commits: {len(rows)}; verdicts: {dict(counts)}; benchmark types: {dict(kinds)}")
    for field in (
        "client_rejects",
        "server_accepts",
        "neither",
        "missing_required",
        "abbreviated",
        "arity",
        "underscored",
    ):
        hit = [r["commit"] for r in rows if r.get(field)]
        print(f"  {field}: {len(hit)} {' '.join(hit)}")
    serving = [r for r in rows if r.get("kind") == "serving" and "dataset_path" in r]
    no_path = [r for r in serving if r["dataset_path"] is None]
    by_name = Counter(r["dataset_name"] or "none: --dataset required" for r in no_path)
    sharegpt = [r["commit"] for r in no_path if (r["dataset_name"] or "").startswith("sharegpt")]
    print(f"  serving commands the parent can run: {len(serving)}; naming no dataset path: {len(no_path)}")
    print(f"    by dataset: {dict(by_name)}")
    print(f"  sharegpt without a path (the client fails to load it): {len(sharegpt)} {' '.join(sharegpt)}")
    print(f"  verdict differs at the commit: {len(changed)} {' '.join(changed)}")


def _verdict(row: dict[str, Any]) -> tuple[Any, ...]:
    return (row["verdict"], str(row.get("client_rejects")), str(row.get("neither")))


def _flags(items: list[list[str]] | None) -> str:
    return " ".join(item[0] for item in items) if items else "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("repo", type=Path, help="a vLLM git directory (bare or not) holding every commit and parent")
    parser.add_argument("mapping", type=Path, help="the commit table (benchmark_mode_mapping.json)")
    parser.add_argument("--source", default=None, help="where the repository comes from, for the header")
    parser.add_argument("--out", type=Path, help="write the facts here")
    parser.add_argument(
        "--analysis", action="store_true", help="print what each parent makes of its commit's perf command"
    )
    args = parser.parse_args(argv)
    mapping = json.loads(args.mapping.read_text())
    pairs = revisions(args.repo, mapping)
    shas = sorted({sha for pair in pairs.values() for sha in (pair["commit"], pair["parent"]) if sha})
    facts, problems = read_all(args.repo, shas)
    unreadable = [
        {"commit": key, "missing": [k for k in ("commit", "parent") if not pair[k]]}
        for key, pair in pairs.items()
        if not (pair["commit"] and pair["parent"])
    ]
    for item in unreadable:
        print(f"not in the repository: {item['commit']} {', '.join(item['missing'])}", file=sys.stderr)
    for problem in problems:
        print(f"could not read: {problem['revision'][:12]} {problem['program']}: {problem['reason']}", file=sys.stderr)
    if args.out:
        header = {
            "generator": "scripts/vllm_tree_facts.py",
            "source": args.source or str(args.repo),
            "mapping": args.mapping.name,
            "mapping_sha256": hashlib.sha256(args.mapping.read_bytes()).hexdigest(),
            "date": datetime.date.today().isoformat(),
            "unreadable": unreadable,
            "incomplete": problems,
        }
        write_facts(args.out, header, facts, pairs)
    if args.analysis:
        print_analysis(mapping, pairs, facts, args.repo)
    return 0


if __name__ == "__main__":
    sys.exit(main())
