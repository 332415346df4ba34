"""The ``patchbench`` command line: what the workflow's rules call, and tools for people.

Each subcommand parses its arguments and calls one function; imports are
deferred so the many small jobs of a workflow start fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _json_arg(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not JSON: {exc}") from None


def cmd_parse_metrics(args: argparse.Namespace) -> int:
    from patchbench.parsing import parse_file

    print(json.dumps(parse_file(args.file, args.type), indent=2, allow_nan=False))
    return 0


def cmd_lint(args: argparse.Namespace) -> int:
    from patchbench import config
    from patchbench.plan.commits import read_commit_table
    from patchbench.plan.lint import ERROR, lint_table

    suite = config.load(args.configfile) if args.configfile else config.defaults()
    records = read_commit_table(args.mapping)
    if args.repo:
        from patchbench.plan.repolint import default_cache, lint_repo, open_repo

        repo = open_repo(args.repo, args.cache or default_cache(), [r.commit for r in records])
        findings = lint_repo(records, args.gpus, suite, repo)
    else:
        findings = lint_table(records, args.gpus, suite["normalization"])
    if args.json:
        print(json.dumps([f.as_dict() for f in findings], indent=2))
    else:
        for f in findings:
            print(f"{f.commit[:12]}  {f.code:<24} {f.severity:<10} {f.message}")
        errors = sum(f.severity == ERROR for f in findings)
        blocked = len({f.commit for f in findings if f.severity == ERROR})
        print(f"{len(records)} commits, {len(findings)} findings, {errors} errors; {blocked} commits would be skipped")
    return 0


def cmd_clone(args: argparse.Namespace) -> int:
    from patchbench.target.clone import materialize

    materialize(args.repo, args.dest, args.out)
    return 0


def cmd_revisions(args: argparse.Namespace) -> int:
    from patchbench.target import revisions

    revisions.write(args.params, repo=args.repo, out=args.out)
    return 0


def cmd_spec(args: argparse.Namespace) -> int:
    from patchbench.spec import resolve

    resolve.write(args.params, repo=args.repo, revisions=args.revisions, out=args.out)
    return 0


def cmd_leg_patch(args: argparse.Namespace) -> int:
    from patchbench import artifacts
    from patchbench.patches.leg import leg_patch
    from patchbench.target.revisions import read

    revisions = read(args.revisions)
    patch = leg_patch(args.params["variant"], revisions=revisions, repo=args.repo, agent_patch=args.agent_patch)
    artifacts.write_bytes(args.out, patch)
    return 0


def _runtime(name: str) -> Any:
    """The runtime module named in a stage's params (local, docker, apptainer): each has prepare() and run()."""
    from patchbench.runtime import module

    return module(name)


def cmd_leg_image(args: argparse.Namespace) -> int:
    from patchbench.runtime import image as image_stage

    image_stage.job(
        _runtime(args.params["runtime"]).prepare,
        args.params,
        repo=args.repo,
        revisions=args.revisions,
        spec=args.spec,
        patch=args.patch,
        worktree=args.worktree,
        out=args.out,
        log=args.log,
    )
    return 0


def cmd_leg_run(args: argparse.Namespace) -> int:
    runtime = _runtime(args.params["runtime"])
    runtime.run(args.params, spec=args.spec, image_tag=args.image, repo=args.repo, out=args.out)
    return 0


def cmd_leg_metrics(args: argparse.Namespace) -> int:
    from patchbench import artifacts
    from patchbench.layout import METRICS
    from patchbench.results import metrics

    image_tag, *run_logs = args.leg_files or [None]
    result = metrics.build(args.params, spec=args.spec, image_tag=image_tag, run_logs=run_logs)
    artifacts.write_artifact(args.out, METRICS, result)
    return 0


def cmd_summary(args: argparse.Namespace) -> int:
    from patchbench import artifacts
    from patchbench.results import summary

    df = summary.frame(summary.leg_rows(summary.load_results(args.metrics), args.primary or None, args.verdict or None))
    artifacts.write_text(args.out, df.to_csv(index=False))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from patchbench.reporting import report
    from patchbench.reporting.versus import read_labels
    from patchbench.results import summary

    labels = read_labels(args.labels) if args.labels else None
    md, html = report.render(summary.read_summary(args.summary), args.out, title=args.title, labels=labels)
    print(f"wrote {md} and {html}")
    return 0


def cmd_coverage(args: argparse.Namespace) -> int:
    import logging

    from patchbench import config as suite_config
    from patchbench.plan.commits import read_commit_table
    from patchbench.sources.choice import collect
    from patchbench.sources.coverage import coverage, format_coverage
    from patchbench.sources.kinds import SourceError, config_agents, parse_source_arg, source_label

    logging.basicConfig(format="warning: %(message)s", level=logging.WARNING)
    config = suite_config.load(args.configfile) if args.configfile else {}
    table = args.commits or config.get("commits")
    if not table:
        raise SourceError("give --commits TABLE or a --configfile with 'commits'")
    agents = config_agents(config)
    for text in args.agent:
        name, sep, source = text.partition("=")
        if not (name and sep):
            raise SourceError(f"--agent {text!r}: expected NAME=SOURCE")
        agents.setdefault(name, []).append(parse_source_arg(source))
    records = read_commit_table(table)
    rows = coverage({name: collect(found, records) for name, found in agents.items()})
    labels = {name: [source_label(s) for s in found] for name, found in agents.items()}
    print(json.dumps(rows, indent=2) if args.json else format_coverage(rows, labels).rstrip("\n"))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="patchbench", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def add(
        name: str, func: Callable[[argparse.Namespace], int], help: str, parent: Any = sub
    ) -> argparse.ArgumentParser:
        p = parent.add_parser(name, help=help, description=help)
        p.set_defaults(func=func)
        return p

    p = add(
        "parse-metrics",
        cmd_parse_metrics,
        "Parse a vLLM benchmark output (stdout log or JSON result) into canonical metrics.",
    )
    p.add_argument("file", type=Path)
    p.add_argument(
        "--type", choices=["serving", "latency", "throughput"], help="benchmark type (detected when left out)"
    )

    p = add("lint", cmd_lint, "Report every problem in a commit table, per commit, with a stable code.")
    p.add_argument("--mapping", required=True, type=Path, help="commit table (ISO-Bench JSON, CSV or TSV)")
    p.add_argument("--gpus", type=int, default=1, help="GPUs on the host (default 1)")
    p.add_argument("--json", action="store_true", help="print a JSON list of {commit, code, message, severity}")
    p.add_argument(
        "--configfile", type=Path, help="suite config whose rules and settings apply (default: the built-in defaults)"
    )
    p.add_argument(
        "--repo",
        help="the target repository (local path or git URL):"
        " also run the spec stage's checks against each parent's tree",
    )
    p.add_argument(
        "--cache", type=Path, help="where a --repo URL is mirrored once (default: ~/.cache/patchbench/repos)"
    )

    p = add("clone", cmd_clone, "Clone or refresh the suite's target repository (builtin:demo builds the demo engine).")
    p.add_argument("--repo", required=True, help="git URL or path, or builtin:demo")
    p.add_argument("--dest", required=True, type=Path, help="bare repository to create or refresh")
    p.add_argument("--out", required=True, type=Path, help="JSON record of the clone's refs")

    p = add("revisions", cmd_revisions, "Look a commit's revisions up in the clone once, into revisions.json.")
    p.add_argument("--params", required=True, type=_json_arg)
    p.add_argument("--repo", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)

    p = add("spec", cmd_spec, "Finish a commit's planned command against its tree into spec.json.")
    p.add_argument("--params", required=True, type=_json_arg)
    p.add_argument("--repo", required=True, type=Path)
    p.add_argument("--revisions", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)

    leg = sub.add_parser("leg", help="The stages of one leg, as the workflow runs them.")
    legs = leg.add_subparsers(dest="stage", required=True)

    def stage(name: str, func: Callable[[argparse.Namespace], int], help: str, *paths: str) -> argparse.ArgumentParser:
        """A leg stage: JSON params from the rule, the named file arguments, and --out."""
        p = add(name, func, help, legs)
        p.add_argument("--params", required=True, type=_json_arg)
        for path in paths:
            p.add_argument(f"--{path}", required=True, type=Path)
        p.add_argument("--out", required=True, type=Path)
        return p

    patch = stage("patch", cmd_leg_patch, "Write the leg's patch.diff.", "repo", "revisions")
    patch.add_argument("agent_patch", nargs="?", type=Path, help="the agent's patch file; none for baseline and human")
    stage(
        "image",
        cmd_leg_image,
        "Prepare the leg's image and write image.tag.",
        "repo",
        "revisions",
        "spec",
        "patch",
        "worktree",
        "log",
    )
    stage("run", cmd_leg_run, "Run the leg's benchmark and write run.log.", "spec", "image", "repo")
    metrics = stage("metrics", cmd_leg_metrics, "Build the leg's metrics.json.", "spec")
    metrics.add_argument(
        "leg_files",
        nargs="*",
        type=Path,
        help="the leg's image.tag and round logs; none for a leg skipped before it ran",
    )

    p = add("summary", cmd_summary, "Gather legs' metrics.json into summary.csv.")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument(
        "--primary", type=_json_arg, default={}, help='primary metric per type, JSON, e.g. {"serving": "mean_ttft_ms"}'
    )
    p.add_argument(
        "--verdict",
        type=_json_arg,
        default={},
        help='how samples are judged, JSON: {"band_pct": 5, "confidence": 0.95}',
    )
    p.add_argument("metrics", nargs="+", type=Path)

    p = add("report", cmd_report, "Render report.md and report.html from a summary.csv.")
    p.add_argument("--summary", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--title", default="patchbench report")
    p.add_argument("--labels", type=Path, help="soft-metric labels, CSV with commit, agent, bottleneck: adds quadrants")

    p = add("coverage", cmd_coverage, "Which commits each agent has a patch for, from which source, and conflicts.")
    p.add_argument("--commits", type=Path, help="commit table (default: the config's 'commits')")
    p.add_argument("--configfile", type=Path, help="suite config whose agents' sources are read")
    p.add_argument(
        "--agent",
        action="append",
        default=[],
        metavar="NAME=SOURCE",
        help="a source for agent NAME: diff_dir:PATH, trajectories:PATH[:REPO] or runs:PATH[:REPO[:AGENT[:MODEL]]]; "
        "repeat NAME to add sources in precedence order",
    )
    p.add_argument("--json", action="store_true", help="print the rows as JSON")
    return parser


def main(argv: list[str] | None = None) -> int:
    from patchbench.artifacts import FormatError
    from patchbench.config import ConfigError
    from patchbench.gitops import GitError
    from patchbench.plan.commits import CommitTableError
    from patchbench.results import SummaryError
    from patchbench.sources.kinds import SourceError
    from patchbench.spec.datasets import DatasetError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ConfigError, CommitTableError, SourceError, FormatError, SummaryError, DatasetError, GitError) as exc:
        # Bad input, not a bug: one line that names the file, no traceback.
        print(f"patchbench {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
