"""Retrying failed legs: which ones a retry can help, and keeping the evidence of earlier attempts.

A retry moves a failed leg's ``run.log`` and ``metrics.json`` into
``attempts/<n>/`` beside them; Snakemake then sees the outputs missing and
reruns exactly those legs (and the summary and report). Nothing is deleted.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from patchbench import artifacts
from patchbench.failures import RETRYABLE
from patchbench.layout import ATTEMPTS, METRICS, RUN_LOG

MODES = ("failed", "all-failed")
RETRIED_FILES = (RUN_LOG, METRICS)


def wants_retry(result: dict, mode: str) -> bool:
    """``failed``: only failures a rerun can cure; ``all-failed``: every failed leg.

    Skipped legs (a missing patch, too few GPUs) never run, so retrying them
    changes nothing: only a change of input does.
    """
    if result.get("status") != "failed":
        return False
    return mode == "all-failed" or result.get("failure_category") in RETRYABLE


def attempts_before(leg_dir: Path) -> int:
    """How many earlier attempts of the leg were archived."""
    archive = leg_dir / ATTEMPTS
    return sum(1 for entry in archive.iterdir() if entry.is_dir()) if archive.is_dir() else 0


def archive(leg_dir: Path) -> Path:
    """Move the leg's run.log and metrics.json into ``attempts/<n>/``."""
    target = leg_dir / ATTEMPTS / str(attempts_before(leg_dir) + 1)
    target.mkdir(parents=True)
    for name in RETRIED_FILES:
        if (leg_dir / name).exists():
            os.replace(leg_dir / name, target / name)
    return target


def legs_to_retry(leg_dirs: Iterable[Path], mode: str) -> list[Path]:
    """Legs whose finished result asks for a retry under ``mode``."""
    if mode not in MODES:
        raise ValueError(f"retry must be one of {', '.join(MODES)}, not {mode!r}")
    chosen = []
    for leg_dir in leg_dirs:
        metrics = leg_dir / METRICS
        if metrics.exists() and wants_retry(artifacts.read_artifact(metrics, METRICS), mode):
            chosen.append(leg_dir)
    return chosen
