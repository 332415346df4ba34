"""Matching a command's flags as argparse does, routing them to client or server, and the facts' JSON form."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from patchbench.spec.tree import (
    Option,
    OptionSet,
    ParserFacts,
    TreeFacts,
    dir_reader,
    facts_from_json,
    facts_to_json,
    read_tree,
    route_serving,
    route_standalone,
)

CLIENT = OptionSet(
    (
        Option(("--model",)),
        Option(("--tokenizer",)),
        Option(("--seed",)),
        Option(("--host",)),
        Option(("--dataset-name",)),
        Option(("--dataset-path",)),
        Option(("--random-input-len",)),
        Option(("--ignore-eos",), "0"),
    ),
    underscores=True,
)
SERVER = OptionSet(
    (
        Option(("--model",)),
        Option(("--tokenizer",)),
        Option(("--seed",)),
        Option(("--host",)),
        Option(("--tensor-parallel-size", "-tp")),
        Option(("--enable-prefix-caching", "--no-enable-prefix-caching"), "0"),
    )
)


@pytest.mark.parametrize(
    ("token", "found"),
    [
        ("--dataset-name", "--dataset-name"),
        ("--dataset-name=sharegpt", "--dataset-name"),
        ("--dataset_name", "--dataset-name"),  # a FlexibleArgumentParser reads _ as -
        ("--random-input", "--random-input-len"),  # an unambiguous prefix, as argparse allows
        ("--dataset", None),  # ambiguous: --dataset-name or --dataset-path
        ("--input-len", None),
        ("-tp", None),
    ],
)
def test_find_matches_as_argparse_does(token: str, found: str | None) -> None:
    option = CLIENT.find(token)
    assert (option.flags[0] if option else None) == found


def test_a_plain_parser_reads_underscores_literally() -> None:
    assert SERVER.find("--tensor_parallel_size") is None
    assert SERVER.find("-tp").flags == ("--tensor-parallel-size", "-tp")
    assert SERVER.find("--no-enable-prefix-caching").arity == "0"


def test_serving_items_go_where_this_version_defines_them() -> None:
    items = [
        ["--model", "m"],
        ["--tokenizer", "t"],
        ["--seed", "0"],
        ["--ignore-eos"],
        ["-tp", "2"],
        ["--enable-prefix-caching"],
        ["--input-len", "1024"],
        ["stray"],
    ]
    route = route_serving(items, CLIENT, SERVER)
    assert route.benchmark == [["--model", "m"], ["--tokenizer", "t"], ["--seed", "0"], ["--ignore-eos"]]
    # The model and tokenizer name the served model on both sides; --seed seeds the
    # client's prompt sampling and is not the engine's seed.
    assert route.server == [["--model", "m"], ["--tokenizer", "t"], ["-tp", "2"], ["--enable-prefix-caching"]]
    assert route.unsupported == [["--input-len", "1024"], ["stray"]]
    assert route.undecided == []


def test_a_set_that_could_not_be_fully_read_leaves_items_undecided() -> None:
    unread_server = OptionSet(SERVER.options, unknown=("vllm/engine/arg_utils.py does not parse",))
    route = route_serving(
        [["--input-len", "1"], ["--model", "m"], ["--seed", "1"], ["-tp", "2"]], CLIENT, unread_server
    )
    assert route.undecided == [["--input-len", "1"]]
    assert route.benchmark == [["--model", "m"], ["--seed", "1"]]
    assert route.server == [["--model", "m"], ["-tp", "2"]]
    unread_client = OptionSet(CLIENT.options, unknown=("benchmarks/benchmark_serving.py does not parse",))
    route = route_serving([["-tp", "2"], ["--ignore-eos"]], unread_client, SERVER)
    assert (route.benchmark, route.server, route.undecided) == ([["--ignore-eos"]], [], [["-tp", "2"]])


def test_standalone_items_are_kept_or_not() -> None:
    latency = OptionSet((Option(("--input-len",)), Option(("--tensor-parallel-size", "-tp"))), underscores=True)
    route = route_standalone([["--input_len", "8"], ["-tp", "2"], ["--batch-size", "4"], ["x"]], latency)
    assert route.benchmark == [["--input_len", "8"], ["-tp", "2"]]
    assert route.unsupported == [["--batch-size", "4"], ["x"]]
    unread = OptionSet(latency.options, unknown=("EngineArgs options could not be read",))
    assert route_standalone([["--batch-size", "4"]], unread).undecided == [["--batch-size", "4"]]


def test_includes_resolve_through_the_engine_sets() -> None:
    engine = ParserFacts((Option(("--seed",)),))
    async_engine = ParserFacts((Option(("--disable-log-requests",), "0"),), includes=("EngineArgs",))
    facts = TreeFacts(
        package=True,
        scripts={"throughput": ParserFacts((Option(("--n",)),), includes=("AsyncEngineArgs",), underscores=True)},
        engine={"EngineArgs": engine, "AsyncEngineArgs": async_engine},
        server=ParserFacts((Option(("--port",)),), includes=("EngineArgs", "Unread")),
    )
    throughput = facts.program("throughput", "script")
    assert [o.flags[0] for o in throughput.options] == ["--n", "--disable-log-requests", "--seed"]
    assert throughput.underscores and throughput.complete
    assert facts.server_options().unknown == ("Unread options could not be read",)


def test_facts_survive_json_with_each_option_and_parser_stored_once() -> None:
    shared = ParserFacts(
        (Option(("--dataset",), "1", True), Option(("--tensor-parallel-size", "-tp"), "1")), underscores=True
    )
    other = ParserFacts((Option(("--dataset",), "1", True), Option(("--goodput",), "+")), unknown=("x.py:3: why",))
    facts = {
        "a" * 40: TreeFacts(package=True, scripts={"serving": shared}, stubs=frozenset({"latency"}), server=other),
        "b" * 40: TreeFacts(package=True, scripts={"serving": shared}, bench={"serving": other}),
        "c" * 40: TreeFacts(package=False),
    }
    data = json.loads(json.dumps(facts_to_json(facts)))
    assert data["options"] == ["--dataset 1 required", "--goodput +", "--tensor-parallel-size,-tp 1"]
    assert len(data["parsers"]) == 2
    assert facts_from_json(data) == facts


def test_a_checked_out_tree_reads_like_a_revision(tmp_path: Path) -> None:
    script = tmp_path / "benchmarks" / "benchmark_latency.py"
    script.parent.mkdir()
    script.write_text(
        "import argparse\n\nparser = argparse.ArgumentParser()\nparser.add_argument('-n', type=int)\nparser.parse_args()\n"
    )
    facts = read_tree(dir_reader(tmp_path))
    assert facts.package is False
    assert facts.scripts["latency"].options == (Option(("-n",)),)
