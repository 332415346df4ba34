"""Command-line tokens of vLLM benchmark commands: flags, values, programs.

Shared by the spec builder, the normalization rules and the lint, so that all
three read a command the same way.
"""

from __future__ import annotations

import re

BENCHMARK_TYPES = ("serving", "latency", "throughput")
PYTHON = re.compile(r"^python(?:3(?:\.\d+)?)?$")
ENV_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
# A value naming a file on its author's machine: absolute, home- or parent-relative.
LOCAL_PATH = re.compile(r"^(?:/|~|\.\.?/)")
SCRIPT = re.compile(r"(?:^|/)benchmark_(serving|latency|throughput)\.py$")


def script_path(kind: str) -> str:
    """Where a tree keeps the benchmark script of ``kind`` (vLLM's layout before ``vllm bench``)."""
    return f"benchmarks/benchmark_{kind}.py"


VLLM_BENCH = {"serve": "serving", "latency": "latency", "throughput": "throughput"}
BENCH_SUBCOMMAND = {kind: sub for sub, kind in VLLM_BENCH.items()}


def flag_name(token: str) -> str:
    """``--tensor_parallel_size=8`` -> ``--tensor-parallel-size`` (vLLM accepts both spellings)."""
    name = token.split("=", 1)[0]
    if name.startswith("--"):
        return "--" + name[2:].replace("_", "-")
    return name


def is_flag(token: str) -> bool:
    return token.startswith("-") and not re.match(r"^-\d", token)


def split_options(tokens: list[str]) -> list[list[str]]:
    """Group tokens into ``[flag, value?]`` items; positional tokens stand alone.

    A flag takes the next token as its value unless that token is itself a flag
    (vLLM's boolean switches such as ``--enable-prefix-caching`` take none).
    """
    items: list[list[str]] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if is_flag(token) and "=" not in token and i + 1 < len(tokens) and not is_flag(tokens[i + 1]):
            items.append([token, tokens[i + 1]])
            i += 2
        else:
            items.append([token])
            i += 1
    return items


def option_value(item: list[str]) -> str | None:
    if len(item) == 2:
        return item[1]
    if "=" in item[0]:
        return item[0].split("=", 1)[1]
    return None


def find_value(items: list[list[str]], flag: str) -> str | None:
    """The value of ``flag`` (either spelling), or None."""
    return next((option_value(i) for i in items if flag_name(i[0]) == flag), None)


def flatten(items: list[list[str]]) -> list[str]:
    return [token for item in items for token in item]
