"""Retrying failed legs: which ones a retry can help, and keeping the evidence of earlier attempts.

A retry moves what decided a failed leg into ``attempts/<n>/`` beside it: its
``metrics.json``, the logs of the rounds that failed (a failed round is redone
without redoing the others) and, when its image stage failed, ``image.tag``.
Snakemake then sees those outputs missing and reruns exactly those jobs (and
the summary and report). Nothing is deleted.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from patchbench import artifacts
from patchbench.failures import RETRYABLE
from patchbench.layout import ATTEMPTS, IMAGE_TAG, METRICS, ROUNDS, RUN_LOG

MODES = ("failed", "all-failed")


def wants_retry(category: str, mode: str) -> bool:
    """``failed``: only failures a rerun can cure; ``all-failed``: every failure."""
    return mode == "all-failed" or category in RETRYABLE


def attempts_before(leg_dir: Path) -> int:
    """How many earlier attempts of the leg were archived."""
    archive = leg_dir / ATTEMPTS
    return sum(1 for entry in archive.iterdir() if entry.is_dir()) if archive.is_dir() else 0


def to_retry(leg_dir: Path, mode: str) -> list[str]:
    """The files of a finished, failed leg whose jobs a retry under ``mode`` reruns (relative to the leg).

    Skipped legs (a missing patch, too few GPUs) never ran, so retrying them
    changes nothing: only a change of input does.
    """
    result = artifacts.read_artifact(leg_dir / METRICS, METRICS)
    if result.get("status") != "failed":
        return []
    tag = leg_dir / IMAGE_TAG
    if tag.exists():
        image = json.loads(tag.read_text())
        if image.get("status") == "failed":  # the image stage failed: redo it, and with it every round
            retry = wants_retry(image["failure"]["category"], mode)
            return [IMAGE_TAG, *_round_logs(result), METRICS] if retry else []
    rounds = [
        r for r in result.get("rounds", []) if r["status"] == "failed" and wants_retry(r["failure"]["category"], mode)
    ]
    return [f"{ROUNDS}/{r['round']}/{RUN_LOG}" for r in rounds] + [METRICS] if rounds else []


def _round_logs(result: dict[str, Any]) -> list[str]:
    return [f"{ROUNDS}/{r['round']}/{RUN_LOG}" for r in result.get("rounds", [])]


def archive(leg_dir: Path, files: list[str]) -> Path:
    """Move ``files`` (relative to the leg) into ``attempts/<n>/``, keeping their relative paths."""
    target = leg_dir / ATTEMPTS / str(attempts_before(leg_dir) + 1)
    target.mkdir(parents=True)
    for name in files:
        if (leg_dir / name).exists():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            os.replace(leg_dir / name, target / name)
    return target


def legs_to_retry(leg_dirs: Iterable[Path], mode: str) -> dict[Path, list[str]]:
    """Legs whose finished result asks for a retry under ``mode``, with the files to archive."""
    if mode not in MODES:
        raise ValueError(f"retry must be one of {', '.join(MODES)}, not {mode!r}")
    chosen = {}
    for leg_dir in leg_dirs:
        if (leg_dir / METRICS).exists() and (files := to_retry(leg_dir, mode)):
            chosen[leg_dir] = files
    return chosen
