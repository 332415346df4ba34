"""Suite configs outside Snakemake (the CLI's tools), validated by the workflow's own schema.

The schema ships inside the package (``schemas/config.schema.yaml``), and
Snakemake's ``validate`` fills in its defaults, so the CLI and the workflow
read a config the same way.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

SCHEMA = Path(__file__).resolve().parent / "schemas" / "config.schema.yaml"


class ConfigError(ValueError):
    """A suite config that cannot be used; the message names the file and what is wrong."""


def validated(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` checked against the schema, with every default filled in."""
    from snakemake.utils import validate

    if not SCHEMA.exists():
        raise FileNotFoundError(f"config schema not found at {SCHEMA}; install patchbench from its repository")
    config = dict(config)
    validate(config, str(SCHEMA))
    return config


def load(path: str | Path) -> dict[str, Any]:
    from snakemake.exceptions import WorkflowError

    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle) or {}
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: a suite config is a mapping of keys, not {type(data).__name__}")
        return validated(data)
    except (OSError, yaml.YAMLError, WorkflowError) as exc:
        raise ConfigError(f"{path}: {exc}") from None


@functools.cache
def schema_default(key: str) -> Any:
    """A top-level key's default, read from the schema alone (no validation, no Snakemake import):
    for tools that need one setting where no suite config is at hand."""
    with open(SCHEMA, encoding="utf-8") as handle:
        spec = yaml.safe_load(handle)["properties"][key]
    if spec.get("type") == "object":  # an object's default is its properties' defaults
        return {name: sub["default"] for name, sub in spec["properties"].items() if "default" in sub}
    return spec["default"]


def defaults() -> dict[str, Any]:
    """The defaults alone (for tools given only a commit table)."""
    return validated({"suite": "adhoc", "repo": "", "commits": ""})
