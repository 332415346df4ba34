"""Serving datasets: what a serving command without a usable dataset runs on, spelt as its client wants.

vLLM's serving client needs a dataset, and most ISO-Bench serving commands
name none: ``benchmark_serving.py`` then defaults to ``--dataset-name
sharegpt`` and fails without a file (``dataset_path must be provided``; the
2023 scripts require ``--dataset PATH`` outright). A path on the author's
machine is no better. The ``serving_dataset`` tree rule gives such a command,
once per commit so every leg runs the same workload, either the ShareGPT file
the suite configures (``datasets.sharegpt``) or vLLM's ``random`` dataset with
the fixed lengths of ``datasets.random``, spelt as that revision's client
accepts it: ``--dataset-name random --random-input-len N --random-output-len M``,
``--dataset-name sharegpt --dataset-path PATH``, or the old ``--dataset PATH``.
The random range ratio is left to each client: its default gives fixed lengths
in every version, and its meaning changed in 2025.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from patchbench.spec.command import LOCAL_PATH, find_value, flag_name
from patchbench.spec.tree import OptionSet

NAME = "--dataset-name"
PATH = "--dataset-path"
OLD_PATH = "--dataset"  # the 2023-2024 spelling, required by the first clients
PATH_FLAGS = frozenset({PATH, OLD_PATH})
RANDOM_OPTIONS = frozenset({"--random-input-len", "--random-output-len", "--random-range-ratio", "--random-prefix-len"})
RANDOM_LENGTHS = ("--random-input-len", "--random-output-len")
# A dataset value naming a data file: one the target repository does not ship.
DATA_FILE = re.compile(r"\.(?:json|jsonl|txt|csv|parquet|arrow)$")


class DatasetError(ValueError):
    """The configured dataset cannot be had (a missing file, the hub unreachable and no cached copy)."""


@dataclass(frozen=True)
class DatasetChoice:
    """What a serving command without a usable dataset gets: the ShareGPT file (a host path) when
    the suite configures one, else the random dataset with these lengths."""

    input_len: int
    output_len: int
    sharegpt: str | None = None


def author_file(value: str) -> bool:
    """A dataset value that names a file only its author had: a local path or a data file name."""
    return bool(LOCAL_PATH.match(value) or DATA_FILE.search(value))


def usable(items: list[list[str]], choice: DatasetChoice) -> bool:
    """Whether a serving command's dataset can be loaded as written: the random dataset, the suite's
    ShareGPT file, or a path that is not an author's file (a Hugging Face id for ``hf``, a path in the tree)."""
    if find_value(items, NAME) == "random":
        return True
    path = next((v for flag in (PATH, OLD_PATH) if (v := find_value(items, flag)) is not None), None)
    return path is not None and (path == choice.sharegpt or not author_file(path))


def provide(items: list[list[str]], client: OptionSet, choice: DatasetChoice) -> list[list[str]]:
    """``items`` with a usable dataset, spelt as ``client`` accepts it; unchanged when the client
    offers nothing that ``choice`` could fill (the caller then reports the command)."""
    if usable(items, choice):
        return _respelt(items, client)
    rest = [item for item in items if flag_name(item[0]) not in PATH_FLAGS | {NAME}]
    has_random = all(client.accepts(flag) is True for flag in (NAME, *RANDOM_LENGTHS))
    # Random-dataset options without a name: the author meant random (``vllm bench serve`` defaults to it).
    wants_random = any(flag_name(item[0]) in RANDOM_OPTIONS for item in items)
    if has_random and (wants_random or choice.sharegpt is None):
        given = {flag_name(item[0]) for item in rest}
        lengths = dict(zip(RANDOM_LENGTHS, (choice.input_len, choice.output_len)))
        return rest + [[NAME, "random"]] + [[flag, str(n)] for flag, n in lengths.items() if flag not in given]
    path_flag = next((flag for flag in (PATH, OLD_PATH) if client.has(flag)), None)
    if choice.sharegpt is None or path_flag is None:
        return items
    named = [[NAME, "sharegpt"]] if client.accepts(NAME) is True else []
    return rest + named + [[path_flag, choice.sharegpt]]


def _respelt(items: list[list[str]], client: OptionSet) -> list[list[str]]:
    """A usable path under the flag this client has, and named ``sharegpt`` where the client has
    names but none was given (what such a path meant to the clients that defaulted to it)."""
    spelling = next((flag for flag in (PATH, OLD_PATH) if client.has(flag)), None)
    out = []
    for item in items:
        if flag_name(item[0]) in PATH_FLAGS and spelling is not None and flag_name(item[0]) != spelling:
            item = [spelling, *item[1:]] if len(item) == 2 else [f"{spelling}={item[0].split('=', 1)[1]}"]
        out.append(item)
    has_path = any(flag_name(item[0]) in PATH_FLAGS for item in items)
    if has_path and find_value(items, NAME) is None and client.accepts(NAME) is True:
        out.append([NAME, "sharegpt"])
    return out


# ---------------------------------------------------------------- the suite's datasets


def choice(settings: dict[str, Any], *, base: Path, needs_file: bool) -> DatasetChoice:
    """The suite's ``datasets`` section as a :class:`DatasetChoice`; the ShareGPT file is looked up
    (and downloaded into the Hugging Face cache) only when ``needs_file``."""
    lengths = settings["random"]
    configured = settings.get("sharegpt")
    path = sharegpt_file(configured, base) if configured and needs_file else None
    return DatasetChoice(lengths["input_len"], lengths["output_len"], path)


def sharegpt_file(setting: str | dict[str, str], base: Path) -> str:
    """The host path of the configured ShareGPT file: a local path, or a file of a Hugging Face
    dataset (from the cache, else downloaded into it)."""
    if isinstance(setting, str):
        path = (base / Path(setting).expanduser()).resolve()
        if not path.is_file():
            raise DatasetError(f"datasets.sharegpt: {path} is not a file")
        return str(path)
    return _hub_file(setting["hf_dataset"], setting["file"], setting.get("revision"))


def _hub_file(dataset: str, filename: str, revision: str | None) -> str:
    import huggingface_hub  # deferred: only a hub dataset needs it

    def fetch(cached_only: bool) -> str:
        return huggingface_hub.hf_hub_download(
            dataset, filename, repo_type="dataset", revision=revision, local_files_only=cached_only
        )

    try:
        try:
            return fetch(cached_only=True)
        except huggingface_hub.errors.LocalEntryNotFoundError:
            return fetch(cached_only=False)  # not cached yet
    # The hub's failures (offline, not found, gated, bad id) are all OSError or ValueError kinds.
    except (OSError, ValueError) as exc:
        raise DatasetError(
            f"datasets.sharegpt: {filename} of the Hugging Face dataset {dataset!r} is not in the cache "
            f"and cannot be downloaded: {exc}\nDownload it once while online (it is then cached), "
            "or set datasets.sharegpt to a local path."
        ) from None
