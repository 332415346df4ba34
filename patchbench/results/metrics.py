"""A leg's ``metrics.json``: its numbers, or its failure with the evidence, and provenance.

The runner's verdict (from run.log's annotations) and the parser's reading of
the same log are combined here. The parser's category wins when it names a
root cause the runner cannot see (an out-of-memory that crashed the server is
``oom``, not ``server_crash``).
"""

from __future__ import annotations

import importlib.metadata
import platform
import socket
import subprocess
from pathlib import Path
from typing import Any

from patchbench import __version__, artifacts, failures
from patchbench.parsing import parse_file
from patchbench.results.retry import attempts_before
from patchbench.runtime.runlog import read_annotations
from patchbench.layout import IMAGE_TAG, SPEC

ROOT_CAUSES = frozenset({failures.OOM, failures.ENV_ERROR, failures.BAD_ARGUMENTS, failures.DEPRECATED_SCRIPT})


def decide(outcome: str, runner_evidence: str, parsed: dict[str, Any]) -> tuple[str, dict[str, str] | None]:
    """``(status, failure)`` from the runner's outcome and the parsed log."""
    found = parsed.get("failure")
    if outcome == "ok":
        if parsed["status"] == "ok" and not found:
            return "ok", None
        if found:
            return "failed", found
        reason = "the result table is incomplete" if parsed["status"] == "incomplete" else "no result in the output"
        return "failed", {"category": failures.NO_METRICS, "evidence": reason}
    # A run we stopped at its deadline is a timeout whatever it printed last.
    if found and found["category"] in ROOT_CAUSES and outcome != failures.TIMEOUT:
        return "failed", found
    evidence = runner_evidence
    if found and found.get("evidence"):
        evidence = f"{runner_evidence}\n{found['evidence']}"
    return "failed", {"category": outcome, "evidence": evidence}


def build(params: dict[str, Any], *, spec: Path, image_tag: Path | None, run_log: Path | None) -> dict[str, Any]:
    """Everything the summary and report need about one leg.

    A leg the plan skipped (``params["skip"]``: known before anything runs) has
    no image.tag and no run.log: it never reaches a GPU node or a cluster queue.
    """
    commit_spec = artifacts.read_artifact(spec, SPEC)
    # The plan's findings (the command-only lint), then the tree checks' from the spec job.
    findings = params["findings"] + commit_spec.get("findings", [])
    result: dict[str, Any] = {**params, "spec": commit_spec["spec"], "findings": findings}
    parsed: dict[str, Any] = {"status": "failed", "metrics": {}, "runs": [], "failure": None}
    tag: dict[str, Any] = {}
    notes: dict[str, str] = {}
    attempt = 1
    if params.get("skip"):
        status, failure = "skipped", params["skip"]
    elif commit_spec["spec"] is None:  # the tree ruled the command out: nothing was benchmarked
        status, failure = "skipped", commit_spec["error"]
    elif image_tag is None or run_log is None:
        raise ValueError("a leg that is not skipped needs its image.tag and run.log")
    else:
        tag = artifacts.read_artifact(image_tag, IMAGE_TAG)
        notes = read_annotations(run_log)
        attempt = attempts_before(run_log.parent) + 1
        if tag["status"] != "ok":
            status, failure = tag["status"], tag["failure"]
        else:
            parsed = parse_file(run_log, params["benchmark_type"] or None)
            status, failure = decide(notes.get("outcome", failures.NO_METRICS), notes.get("evidence", ""), parsed)
    result.update(
        status=status,
        failure_category=failure["category"] if failure else "",
        failure_reason=failure["evidence"] if failure else "",
        metrics=parsed["metrics"] if status == "ok" else {},
        result_blocks=len(parsed["runs"]),
        provenance=_provenance(tag, notes, attempt=attempt),
    )
    return result


def _provenance(tag: dict[str, Any], notes: dict[str, str], attempt: int) -> dict[str, Any]:
    image = {k: tag.get(k) for k in ("runtime", "digest", "checkout", "commit", "parent", "parent_repaired")}
    # Only what the runtime really knew: the image's name; whether the leg pulled it and the GB the
    # suite's images took once it was ready, from image.tag when stable (apptainer's .sif) or from
    # run.log's notes when they change between attempts (docker).
    image.update({k: tag[k] for k in ("image", "image_pulled", "disk_gb") if tag.get(k) is not None})
    if notes.get("image pulled") in ("true", "false"):
        image["image_pulled"] = notes["image pulled"] == "true"
    try:
        image["disk_gb"] = float(notes["image disk gb"])
    except (KeyError, ValueError):
        pass
    return {
        "attempt": attempt,
        "patch_sha256": tag.get("patch_sha256"),
        "image": image,
        "command": notes.get("command"),
        "server_command": notes.get("server command"),
        "host": socket.gethostname(),
        "gpu_ids": [g for g in notes.get("gpu ids", "").split(",") if g.strip()],
        "started": notes.get("started"),
        "finished": notes.get("finished"),
        "tool_versions": {
            "patchbench": __version__,
            "python": platform.python_version(),
            "git": _git_version(),
            "snakemake": _version("snakemake"),
        },
    }


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return ""


def _git_version() -> str:
    out = subprocess.run(["git", "--version"], capture_output=True, text=True, check=False).stdout
    return out.strip().removeprefix("git version ")
