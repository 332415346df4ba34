"""A leg's ``metrics.json``: its samples, or its failure with the evidence, and provenance.

A leg is measured in rounds (one run job, one ``run.log`` each) of measured
passes. Per round, the runner's verdict (from run.log's annotations) and the
parser's reading of the same log are combined. The parser's category wins when
it names a root cause the runner cannot see (an out-of-memory that crashed the
server is ``oom``, not ``server_crash``). Numbers come only from the measured
passes' own sections: one sample per pass, every one kept. The leg is ``ok``
when every round is; its ``metrics`` are then the medians of its samples.
"""

from __future__ import annotations

import importlib.metadata
import json
import platform
import socket
import statistics
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from patchbench import __version__, artifacts, failures
from patchbench.layout import IMAGE_TAG, SPEC
from patchbench.parsing import parse_file, parse_passes
from patchbench.results.retry import attempts_before
from patchbench.runtime.runlog import REQUESTS_NOTE, annotations

ROOT_CAUSES = frozenset({failures.OOM, failures.ENV_ERROR, failures.BAD_ARGUMENTS, failures.DEPRECATED_SCRIPT})
Parsed = dict[str, Any]


def decide(
    outcome: str, runner_evidence: str, whole: Parsed, passes: list[Parsed], expected: int
) -> tuple[str, dict[str, str] | None]:
    """``(status, failure)`` of one round from the runner's outcome, the parse of its whole
    log (for a root cause) and the parses of its ``expected`` measured passes."""
    if outcome == "ok":
        return _judge_passes(passes, expected)
    found = whole.get("failure")
    # A run we stopped at its deadline is a timeout whatever it printed last.
    if found and found["category"] in ROOT_CAUSES and outcome != failures.TIMEOUT:
        return "failed", found
    evidence = runner_evidence
    if found and found.get("evidence"):
        evidence = f"{runner_evidence}\n{found['evidence']}"
    return "failed", {"category": outcome, "evidence": evidence}


def _judge_passes(passes: list[Parsed], expected: int) -> tuple[str, dict[str, str] | None]:
    """A clean run is ok only when every measured pass printed a complete result."""
    if len(passes) < expected:
        return "failed", {"category": failures.NO_METRICS, "evidence": f"{len(passes)} of {expected} measured passes"}
    for number, parsed in enumerate(passes, 1):
        where = f"pass {number} of {len(passes)}: " if len(passes) > 1 else ""
        found = parsed.get("failure")
        if found:
            return "failed", {**found, "evidence": where + found["evidence"]}
        if parsed["status"] != "ok":
            reason = "the result table is incomplete" if parsed["status"] == "incomplete" else "no result in the output"
            return "failed", {"category": failures.NO_METRICS, "evidence": where + reason}
    return "ok", None


@dataclass(frozen=True)
class Round:
    """One round of a leg: its verdict, its samples (one per measured pass), the per-request values
    of each measured pass whose client saved them, and the runner's notes."""

    number: int
    status: str
    failure: dict[str, str] | None
    samples: list[dict[str, float]]
    notes: dict[str, str]
    blocks: int
    requests: list[dict[str, Any]]

    def record(self) -> dict[str, Any]:
        keep = ("started", "finished", "gpu ids", "passes", "server readiness")
        return {
            "round": self.number,
            "status": self.status,
            "failure": self.failure,
            **{key.replace(" ", "_"): self.notes[key] for key in keep if key in self.notes},
        }


def judge_round(number: int, run_log: Path, benchmark_type: str | None, expected: int) -> Round:
    notes: dict[str, str] = {}
    requests: list[dict[str, Any]] = []
    for key, value in annotations(run_log):
        if key == REQUESTS_NOTE:  # one per measured pass, after its output
            requests.append(_requests(value))
        else:
            notes[key] = value
    whole = parse_file(run_log, benchmark_type)
    passes = parse_passes(run_log, benchmark_type)
    status, failure = decide(
        notes.get("outcome", failures.NO_METRICS), notes.get("evidence", ""), whole, passes, expected
    )
    samples = [parsed["metrics"] for parsed in passes] if status == "ok" else []
    return Round(number, status, failure, samples, notes, len(whole["runs"]), requests)


def _requests(value: str) -> dict[str, Any]:
    try:
        found = json.loads(value)
    except ValueError:
        found = None
    return found if isinstance(found, dict) else {"absent": "the run.log's per-request values are not readable"}


def build(params: dict[str, Any], *, spec: Path, image_tag: Path | None, run_logs: list[Path]) -> dict[str, Any]:
    """Everything the summary and report need about one leg.

    A leg the plan skipped (``params["skip"]``: known before anything runs) has
    no image.tag and no run logs: it never reaches a GPU node or a cluster queue.
    """
    commit_spec = artifacts.read_artifact(spec, SPEC)
    # The plan's findings (the command-only lint), then the tree checks' from the spec job.
    findings = params["findings"] + commit_spec.get("findings", [])
    result: dict[str, Any] = {**params, "spec": commit_spec["spec"], "findings": findings}
    tag: dict[str, Any] = {}
    rounds: list[Round] = []
    failure: dict[str, str] | None
    attempt = 1
    if params.get("skip"):
        status, failure = "skipped", params["skip"]
    elif commit_spec["spec"] is None:  # the tree ruled the command out: nothing was benchmarked
        status, failure = "skipped", commit_spec["error"]
    elif image_tag is None or not run_logs:
        raise ValueError("a leg that is not skipped needs its image.tag and run logs")
    else:
        tag = artifacts.read_artifact(image_tag, IMAGE_TAG)
        result["findings"] = findings + tag.get("findings", [])  # the patch's own (touches_benchmark)
        attempt = attempts_before(image_tag.parent) + 1
        if tag["status"] != "ok":
            status, failure = tag["status"], tag["failure"]
        else:
            kind = params["benchmark_type"] or None
            rounds = [judge_round(n, log, kind, params["passes"]) for n, log in enumerate(run_logs, 1)]
            status, failure = _leg_verdict(rounds)
    samples = [
        {"round": r.number, "pass": k, "metrics": metrics, **_saved(r, k)}
        for r in rounds
        for k, metrics in enumerate(r.samples, 1)
    ]
    result.update(
        status=status,
        failure_category=failure["category"] if failure else "",
        failure_reason=failure["evidence"] if failure else "",
        metrics=medians([s["metrics"] for s in samples]) if status == "ok" else {},
        samples=samples,
        rounds=[r.record() for r in rounds],
        result_blocks=sum(r.blocks for r in rounds),
        provenance=_provenance(tag, [r.notes for r in rounds], attempt=attempt),
    )
    return result


def _saved(r: Round, number: int) -> dict[str, Any]:
    """A measured pass's per-request values, when its round's client saved them."""
    return {"requests": r.requests[number - 1]} if len(r.requests) == len(r.samples) else {}


def _leg_verdict(rounds: list[Round]) -> tuple[str, dict[str, str] | None]:
    """Ok when every round is; else the first failed round's failure, naming the round."""
    for r in rounds:
        if r.failure is not None:
            where = f"round {r.number} of {len(rounds)}: " if len(rounds) > 1 else ""
            return "failed", {**r.failure, "evidence": where + r.failure["evidence"]}
    return "ok", None


def medians(samples: list[dict[str, float]]) -> dict[str, float]:
    """Each metric's median over the samples that have it (a leg's summary numbers)."""
    keys = dict.fromkeys(key for sample in samples for key in sample)
    return {key: statistics.median(s[key] for s in samples if key in s) for key in keys}


def _provenance(tag: dict[str, Any], notes: list[dict[str, str]], attempt: int) -> dict[str, Any]:
    """What ran, where and when: the image, the commands (one spec: the same in every round), the rounds' times."""
    first, last = (notes[0], notes[-1]) if notes else ({}, {})
    image = {k: tag.get(k) for k in ("runtime", "digest", "checkout", "commit", "parent", "parent_repaired")}
    # Only what the runtime really knew: the image's name; whether the leg pulled it and the GB the
    # suite's images took once it was ready, from image.tag when stable (apptainer's .sif) or from
    # run.log's notes when they change between attempts (docker).
    image.update({k: tag[k] for k in ("image", "image_pulled", "disk_gb") if tag.get(k) is not None})
    pulled = [n["image pulled"] == "true" for n in notes if n.get("image pulled") in ("true", "false")]
    if pulled:
        image["image_pulled"] = any(pulled)
    disk = [float(n["image disk gb"]) for n in notes if _is_number(n.get("image disk gb"))]
    if disk:
        image["disk_gb"] = max(disk)
    return {
        "attempt": attempt,
        "patch_sha256": tag.get("patch_sha256"),
        "image": image,
        "sandbox": first.get("sandbox") or tag.get("sandbox"),
        "command": first.get("command"),
        "server_command": first.get("server command"),
        "host": socket.gethostname(),
        "gpu_ids": sorted({g for n in notes for g in n.get("gpu ids", "").split(",") if g.strip()}),
        "started": first.get("started"),
        "finished": last.get("finished"),
        "tool_versions": {
            "patchbench": __version__,
            "python": platform.python_version(),
            "git": _git_version(),
            "snakemake": _version("snakemake"),
        },
    }


def _is_number(text: str | None) -> bool:
    try:
        float(text or "")
    except ValueError:
        return False
    return True


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return ""


def _git_version() -> str:
    out = subprocess.run(["git", "--version"], capture_output=True, text=True, check=False).stdout
    return out.strip().removeprefix("git version ")
