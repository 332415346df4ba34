"""Suite configs outside Snakemake (the CLI's tools), validated by the workflow's own schema.

The schema lives in ``config/schema.yaml`` of this repository (patchbench is
installed from its checkout); Snakemake's ``validate`` fills in its defaults,
so the CLI and the workflow read a config the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

SCHEMA = Path(__file__).resolve().parents[1] / "config" / "schema.yaml"


def validated(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` checked against the schema, with every default filled in."""
    from snakemake.utils import validate

    if not SCHEMA.exists():
        raise FileNotFoundError(f"config schema not found at {SCHEMA}; install patchbench from its repository")
    config = dict(config)
    validate(config, str(SCHEMA))
    return config


def load(path: str | Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        return validated(yaml.safe_load(handle) or {})


def defaults() -> dict[str, Any]:
    """The defaults alone (for tools given only a commit table)."""
    return validated({"suite": "adhoc", "repo": "", "commits": ""})
