"""One canonical benchmark per commit, derived from the commit's perf command.

The ISO-Bench runner benchmarked baseline, human and agent on different
workloads. Here a commit's perf command becomes exactly one :class:`BenchSpec`
and every leg of that commit runs that spec, byte for byte. Commands are split
with :mod:`shlex` and later executed without a shell.
"""

from __future__ import annotations

import shlex
from dataclasses import asdict, dataclass, field
from typing import Any

from patchbench import failures
from patchbench.spec.command import PYTHON, find_value, flag_name, flatten, option_value
from patchbench.spec.normalize import Command
from patchbench.spec.per_request import RESULT_DIR

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
    to fill. A leading ``python`` means "the leg's interpreter". ``inputs`` are
    host files the benchmark reads from outside its tree (a dataset): container
    runtimes mount them read-only at the same path.
    """

    benchmark_type: str
    argv: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    server_argv: tuple[str, ...] = ()
    gpus: int = 1
    model: str | None = None
    rules_fired: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("argv", "server_argv", "rules_fired", "inputs"):
            data[key] = list(data[key])
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
            rules_fired=tuple(data.get("rules_fired") or ()),
            inputs=tuple(data.get("inputs") or ()),
        )


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
            if sizes[axis] < 1:
                raise SpecError(failures.BAD_ARGUMENTS, f"{item[0]} {value!r} is not a size of at least 1")
    return sizes["tp"] * sizes["pp"] * sizes["dp"]


def build_spec(
    command: Command,
    *,
    model: str | None = None,
    server_command: str = "",
    server_items: list[list[str]] | None = None,
    inputs: tuple[str, ...] = (),
) -> BenchSpec:
    """Turn a commit's finished command into its one canonical benchmark.

    ``command.items`` are the benchmark's own options (the client's, for
    serving); ``server_items`` the options the tree routed to the server (see
    :mod:`patchbench.spec.check`). The server command's own flags (``--model
    {model}``) are given once; the client gets ``--host/--port`` of the server
    the runtime starts.
    """
    if command.kind is None:
        raise SpecError(
            failures.UNSUPPORTED_BENCHMARK, f"not a benchmark the workflow can run: {shlex.join(command.program)!r}"
        )
    items, server_items = command.items, server_items or []
    gpus = gpus_needed(items + server_items)
    model = find_value(items + server_items, "--model") or model
    fired = tuple(command.fired)
    if command.kind != "serving":
        return BenchSpec(
            command.kind, tuple(command.program + flatten(items)), command.env, (), gpus, model, fired, inputs
        )

    if not server_command:
        raise SpecError(failures.UNSUPPORTED_BENCHMARK, "serving benchmark but no server command configured")
    server = shlex.split(server_command.replace("{model}", shlex.quote(model or "")))
    own = {flag_name(token) for token in server if token.startswith("-")}
    extra = [i for i in server_items if flag_name(i[0]) not in own]
    client_items = [i for i in items if flag_name(i[0]) not in _CLIENT_ENDPOINT_FLAGS]
    client = command.program + flatten(client_items) + ["--host", "{host}", "--port", "{port}"]
    return BenchSpec(
        command.kind, tuple(client), command.env, tuple(server + flatten(extra)), gpus, model, fired, inputs
    )


def render(
    argv: tuple[str, ...] | list[str], *, python: str, host: str = "", port: int = 0, result_dir: str = ""
) -> list[str]:
    """Fill the runtime's values into a spec command: interpreter, host, port and the client's result folder."""
    values = {"{host}": host, "{port}": str(port), RESULT_DIR: result_dir}
    out = [_fill(token, values) for token in argv]
    if out and PYTHON.match(out[0]):
        out[0] = python
    return out


def _fill(token: str, values: dict[str, str]) -> str:
    for placeholder, value in values.items():
        token = token.replace(placeholder, value)
    return token
