"""One canonical benchmark per commit, derived from the commit's perf command.

The ISO-Bench runner benchmarked baseline, human and agent on different
workloads. Here a commit's perf command becomes exactly one :class:`BenchSpec`
and every leg of that commit runs that spec, byte for byte. Commands are split
with :mod:`shlex` and later executed without a shell.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import asdict, dataclass, field
from typing import Any

from patchbench import failures

BENCHMARK_TYPES = ("serving", "latency", "throughput")

_ENV_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_SCRIPT = re.compile(r"(?:^|/)benchmark_(serving|latency|throughput)\.py$")
_VLLM_BENCH = {"serve": "serving", "latency": "latency", "throughput": "throughput"}
_PYTHON = re.compile(r"^python(?:3(?:\.\d+)?)?$")
# Flags whose product is the number of GPUs a run needs.
_PARALLEL_FLAGS = {
    "--tensor-parallel-size": "tp",
    "-tp": "tp",
    "--pipeline-parallel-size": "pp",
    "-pp": "pp",
    "--data-parallel-size": "dp",
    "-dp": "dp",
}
# Where the serving client must reach the server the runtime starts.
_CLIENT_ENDPOINT_FLAGS = ("--host", "--port", "--base-url")


class SpecError(ValueError):
    """A perf command that cannot become a benchmark; carries the failure category."""

    def __init__(self, category: str, message: str) -> None:
        super().__init__(message)
        self.category = category


@dataclass(frozen=True)
class BenchSpec:
    """What every leg of one commit runs.

    ``argv`` is the benchmark (the client, for serving); ``server_argv`` the
    server to start first, with ``{host}`` and ``{port}`` left for the runtime
    to fill. A leading ``python`` means "the leg's interpreter".
    """

    benchmark_type: str
    argv: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    server_argv: tuple[str, ...] = ()
    gpus: int = 1
    model: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["argv"] = list(self.argv)
        data["server_argv"] = list(self.server_argv)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BenchSpec:
        return cls(
            benchmark_type=data["benchmark_type"],
            argv=tuple(data["argv"]),
            env=dict(data.get("env") or {}),
            server_argv=tuple(data.get("server_argv") or ()),
            gpus=int(data.get("gpus", 1)),
            model=data.get("model"),
        )


def flag_name(token: str) -> str:
    """``--tensor_parallel_size=8`` -> ``--tensor-parallel-size`` (vLLM accepts both spellings)."""
    name = token.split("=", 1)[0]
    if name.startswith("--"):
        return "--" + name[2:].replace("_", "-")
    return name


def split_options(tokens: list[str]) -> list[list[str]]:
    """Group tokens into ``[flag, value?]`` items; positional tokens stand alone.

    A flag takes the next token as its value unless that token is itself a flag
    (vLLM's boolean switches such as ``--enable-prefix-caching`` take none).
    """
    items: list[list[str]] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.startswith("-") and "=" not in token and i + 1 < len(tokens) and not _is_flag(tokens[i + 1]):
            items.append([token, tokens[i + 1]])
            i += 2
        else:
            items.append([token])
            i += 1
    return items


def _is_flag(token: str) -> bool:
    return token.startswith("-") and not re.match(r"^-\d", token)


def option_value(item: list[str]) -> str | None:
    if len(item) == 2:
        return item[1]
    if "=" in item[0]:
        return item[0].split("=", 1)[1]
    return None


def detect_type(tokens: list[str]) -> tuple[str, int]:
    """The benchmark type and where its own options start, from the command's program part."""
    if len(tokens) >= 3 and tokens[0] == "vllm" and tokens[1] == "bench":
        kind = _VLLM_BENCH.get(tokens[2])
        if kind is None:
            raise SpecError(failures.UNSUPPORTED_BENCHMARK, f"unsupported benchmark 'vllm bench {tokens[2]}'")
        return kind, 3
    if len(tokens) >= 2 and _PYTHON.match(tokens[0]):
        match = _SCRIPT.search(tokens[1])
        if match:
            return match.group(1), 2
        raise SpecError(failures.UNSUPPORTED_BENCHMARK, f"unsupported benchmark script {tokens[1]!r}")
    raise SpecError(failures.UNSUPPORTED_BENCHMARK, f"not a vLLM benchmark command: {shlex.join(tokens[:3])!r}")


def gpus_needed(items: list[list[str]]) -> int:
    """Tensor x pipeline x data parallel size: what the run needs, never capped."""
    sizes = {"tp": 1, "pp": 1, "dp": 1}
    for item in items:
        axis = _PARALLEL_FLAGS.get(flag_name(item[0]))
        value = option_value(item)
        if axis and value is not None:
            try:
                sizes[axis] = int(value)
            except ValueError:
                raise SpecError(failures.BAD_ARGUMENTS, f"{item[0]} {value!r} is not a number") from None
    return max(1, sizes["tp"] * sizes["pp"] * sizes["dp"])


def build_spec(
    perf_command: str | None,
    *,
    model: str | None = None,
    server_command: str = "",
    server_flags: tuple[str, ...] = (),
) -> BenchSpec:
    """Turn a commit's perf command into its one canonical benchmark.

    For serving, flags in ``server_flags`` (engine options such as
    ``--tensor-parallel-size`` that ISO-Bench commands mix into the client
    call) move to the server command; the client gets ``--host/--port`` of the
    server the runtime starts.
    """
    if not perf_command or not perf_command.strip():
        raise SpecError(failures.MISSING_PERF_COMMAND, "the commit table gives no perf command")
    try:
        tokens = shlex.split(perf_command)
    except ValueError as exc:
        raise SpecError(failures.BAD_ARGUMENTS, f"perf command cannot be split: {exc}") from None
    env: dict[str, str] = {}
    while tokens and _ENV_ASSIGNMENT.match(tokens[0]):
        name, value = tokens.pop(0).split("=", 1)
        env[name] = value
    kind, start = detect_type(tokens)
    program, items = tokens[:start], split_options(tokens[start:])
    gpus = gpus_needed(items)
    command_model = next((option_value(i) for i in items if flag_name(i[0]) == "--model"), None)
    model = command_model or model
    if kind != "serving":
        return BenchSpec(kind, tuple(program + _flatten(items)), env, (), gpus, model)

    if not server_command:
        raise SpecError(failures.UNSUPPORTED_BENCHMARK, "serving benchmark but no server command configured")
    wanted = {flag_name(f) for f in server_flags}
    server_items = [i for i in items if flag_name(i[0]) in wanted]
    client_items = [
        i for i in items if flag_name(i[0]) not in wanted and flag_name(i[0]) not in _CLIENT_ENDPOINT_FLAGS
    ]
    server = shlex.split(server_command.replace("{model}", shlex.quote(model or "")))
    client = program + _flatten(client_items) + ["--host", "{host}", "--port", "{port}"]
    return BenchSpec(kind, tuple(client), env, tuple(server + _flatten(server_items)), gpus, model)


def _flatten(items: list[list[str]]) -> list[str]:
    return [token for item in items for token in item]


def render(argv: tuple[str, ...] | list[str], *, python: str, host: str = "", port: int = 0) -> list[str]:
    """Fill the runtime's values into a spec command: interpreter, host and port."""
    out = [token.replace("{host}", host).replace("{port}", str(port)) for token in argv]
    if out and _PYTHON.match(out[0]):
        out[0] = python
    return out
