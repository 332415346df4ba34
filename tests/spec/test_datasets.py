"""The serving dataset rule on the option sets of each era of vLLM's serving client, and the ShareGPT file."""

from __future__ import annotations

from pathlib import Path

import huggingface_hub.constants
import pytest

from patchbench.spec.datasets import DatasetChoice, DatasetError, author_file, provide, sharegpt_file, usable
from patchbench.spec.tree import Option, OptionSet

RANDOM = DatasetChoice(1024, 128)
SHAREGPT = DatasetChoice(1024, 128, "/data/sharegpt.json")


def client(*flags: str, required: tuple[str, ...] = ()) -> OptionSet:
    return OptionSet(tuple(Option((f,), "1", f in required) for f in ("--model", *flags)))


# The serving client's dataset options as vLLM's history has them (checked in the vLLM clone):
CLIENT_2023 = client("--dataset", "--tokenizer", required=("--dataset", "--tokenizer"))  # 2023-10: ec3b5ce9's parent
CLIENT_2024_03 = client("--dataset", required=("--dataset",))  # 2024-03: cf2f084d's parent
CLIENT_2024_05 = client("--dataset", "--dataset-name", "--dataset-path")  # 2024-05: sharegpt and sonnet only
CLIENT_2024_07 = client("--dataset", "--dataset-name", "--dataset-path", "--random-input-len", "--random-output-len")
CLIENT_2025 = client("--dataset-name", "--dataset-path", "--random-input-len", "--random-output-len")


def test_a_command_without_a_dataset_gets_the_random_one_where_the_client_has_it():
    items = provide([["--model", "m"]], CLIENT_2025, RANDOM)
    assert items == [
        ["--model", "m"],
        ["--dataset-name", "random"],
        ["--random-input-len", "1024"],
        ["--random-output-len", "128"],
    ]


def test_sharegpt_without_a_file_and_an_authors_file_are_replaced():
    for given in (
        [["--dataset-name", "sharegpt"]],
        [["--dataset-name", "sharegpt"], ["--dataset-path", "ShareGPT_V3_unfiltered_cleaned_split.json"]],
        [["--dataset-path", "./ShareGPT.json"]],
    ):
        items = provide([["--model", "m"], *given], CLIENT_2024_07, RANDOM)
        assert items[1:] == [
            ["--dataset-name", "random"],
            ["--random-input-len", "1024"],
            ["--random-output-len", "128"],
        ]


def test_the_configured_sharegpt_file_is_spelt_as_each_client_wants():
    assert provide([["--model", "m"]], CLIENT_2025, SHAREGPT)[1:] == [
        ["--dataset-name", "sharegpt"],
        ["--dataset-path", "/data/sharegpt.json"],
    ]
    assert provide([["--model", "m"]], CLIENT_2024_03, SHAREGPT)[1:] == [["--dataset", "/data/sharegpt.json"]]
    assert provide([["--model", "m"]], CLIENT_2024_05, SHAREGPT)[1:] == [
        ["--dataset-name", "sharegpt"],
        ["--dataset-path", "/data/sharegpt.json"],
    ]


def test_random_options_without_a_name_mean_random_even_with_a_sharegpt_file():
    # `vllm bench serve` of 2025-04 (299ebb62) accepts only "random" as a dataset name.
    items = provide([["--random-input-len", "1000"]], CLIENT_2025, SHAREGPT)
    assert items == [["--random-input-len", "1000"], ["--dataset-name", "random"], ["--random-output-len", "128"]]


def test_nothing_to_give_leaves_the_command_as_it_was():
    for old in (CLIENT_2023, CLIENT_2024_03, CLIENT_2024_05):  # no random dataset, no file configured
        assert provide([["--model", "m"]], old, RANDOM) == [["--model", "m"]]


def test_usable_datasets_are_kept_and_respelt():
    assert provide([["--dataset-name", "random"]], CLIENT_2025, SHAREGPT) == [["--dataset-name", "random"]]
    hub = [["--dataset-name", "hf"], ["--dataset-path", "lmarena-ai/VisionArena-Chat"]]
    assert provide(hub, CLIENT_2025, RANDOM) == hub
    # A path the tree ships, under the old flag: the 2025 client has only --dataset-path (and a name).
    assert provide([["--dataset", "benchmarks/data"]], CLIENT_2025, RANDOM) == [
        ["--dataset-path", "benchmarks/data"],
        ["--dataset-name", "sharegpt"],
    ]


def test_what_counts_as_usable():
    assert usable([["--dataset-name", "random"]], RANDOM)
    assert usable([["--dataset-path", "/data/sharegpt.json"]], SHAREGPT)  # the suite's own file
    assert not usable([["--dataset-path", "/data/sharegpt.json"]], RANDOM)
    assert not usable([["--dataset-name", "sharegpt"]], SHAREGPT)
    assert not usable([], RANDOM)
    assert [author_file(v) for v in ("ShareGPT.json", "../data/x", "~/d", "org/dataset")] == [True, True, True, False]


def test_a_local_sharegpt_file_is_an_absolute_path(tmp_path: Path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "sharegpt.json").write_text("[]")
    assert sharegpt_file("data/sharegpt.json", tmp_path) == str(tmp_path / "data" / "sharegpt.json")
    with pytest.raises(DatasetError, match="is not a file"):
        sharegpt_file("data/missing.json", tmp_path)


def test_a_hub_file_is_read_from_the_cache_when_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # huggingface_hub reads its settings when imported: set them where it looks them up.
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    setting = {"hf_dataset": "org/sharegpt", "file": "ShareGPT_V3.json"}
    with pytest.raises(DatasetError, match="Download it once while online"):
        sharegpt_file(setting, tmp_path)
    # The Hugging Face cache layout: refs/main names the snapshot that holds the file.
    repo = tmp_path / "datasets--org--sharegpt"
    snapshot = repo / "snapshots" / ("a" * 40)
    snapshot.mkdir(parents=True)
    (snapshot / "ShareGPT_V3.json").write_text("[]")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("a" * 40)
    assert sharegpt_file(setting, tmp_path) == str(snapshot / "ShareGPT_V3.json")
