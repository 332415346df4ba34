"""The readers over a repository synthesized from the facts of every ISO-Bench commit and parent.

The first tests check that the synthesized history is faithful (each commit a
child of its parent, each revision read back as recorded). The rest pin what
the real vLLM trees say about the commits whose perf commands are known to
trouble a naive run; each expected value was checked by reading the real
source (``git show <rev>:<path>`` in the vLLM clone), not taken from the readers.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from patchbench.spec.command import split_options
from patchbench.spec.tree import (
    OptionSet,
    ParserFacts,
    TreeFacts,
    facts_from_json,
    git_reader,
    read_tree,
    route_serving,
)
from tests.conftest import git
from tests.spec.vllm_fixture import FixtureRepo, build_repo, load_facts, tree_files

DATA = load_facts()
COMMITS = DATA["commits"]
RECORDED = facts_from_json(DATA)


@pytest.fixture(scope="module")
def fixture_repo(tmp_path_factory: pytest.TempPathFactory) -> FixtureRepo:
    return build_repo(tmp_path_factory.mktemp("vllm") / "repo", DATA)


def read(repo: FixtureRepo, key: str, side: str = "parent") -> TreeFacts:
    return read_tree(git_reader(repo.path, repo.shas[COMMITS[key][side]]))


@pytest.mark.parametrize("key", sorted(COMMITS))
def test_each_commit_and_parent_read_back_as_recorded(fixture_repo: FixtureRepo, key: str) -> None:
    commit, parent = COMMITS[key]["commit"], COMMITS[key]["parent"]
    first_parent = git(fixture_repo.path, "rev-parse", f"{fixture_repo.shas[commit]}^1")
    assert first_parent == fixture_repo.shas[parent]
    for side, sha in (("parent", parent), ("commit", commit)):
        assert read(fixture_repo, key, side) == RECORDED[sha], side


def test_the_table_has_96_commits_all_found_with_their_parents() -> None:
    assert len(COMMITS) == 96
    assert DATA["header"]["unreadable"] == []
    repaired = sorted(k for k, p in COMMITS.items() if p["parent_repaired"])
    assert repaired == ["3127e975", "4fb56914", "526de822", "ac45c44d", "baeded25"]


def test_no_script_in_the_range_is_a_stub() -> None:
    # The "moved to the vLLM CLI" stubs came in 2025-09, after the last ISO-Bench commit.
    assert all(not record["stubs"] for record in DATA["revisions"].values())


@pytest.mark.parametrize("key", ["d4bc1a4d", "c45f3c3a"])
@pytest.mark.parametrize("side", ["parent", "commit"])
def test_pre_vllm_trees_have_no_benchmark_to_run(fixture_repo: FixtureRepo, key: str, side: str) -> None:
    # 2023-02..04 "cacheflow" trees: no vllm package; c45f3c3a adds benchmark/ (not benchmarks/).
    facts = read(fixture_repo, key, side)
    assert (facts.package, facts.scripts, facts.bench, facts.server, facts.engine) == (False, {}, {}, None, {})


def serving_route(repo: FixtureRepo, key: str, command: str):
    facts = read(repo, key)
    return route_serving(
        split_options(shlex.split(command)), facts.program("serving", "script"), facts.server_options()
    )


def test_engine_flags_given_to_the_serving_client_belong_to_the_server(fixture_repo: FixtureRepo) -> None:
    # 660470e5's parent (2024-08-06): benchmark_serving.py has none of these; arg_utils.py has all.
    route = serving_route(
        fixture_repo, "660470e5", "--model m --tensor-parallel-size 1 --enable-prefix-caching --use-v2-block-manager"
    )
    assert route.server == [
        ["--model", "m"],
        ["--tensor-parallel-size", "1"],
        ["--enable-prefix-caching"],
        ["--use-v2-block-manager"],
    ]
    assert (route.benchmark, route.unsupported) == ([["--model", "m"]], [])
    # e206b543's parent (2025-02-26): --guided-decoding-backend is an engine option only.
    route = serving_route(fixture_repo, "e206b543", "--backend vllm --guided-decoding-backend xgrammar")
    assert (route.benchmark, route.server) == ([["--backend", "vllm"]], [["--guided-decoding-backend", "xgrammar"]])


@pytest.mark.parametrize(
    ("key", "flags"),
    [
        ("89a84b0b", ["--input-len"]),  # 2024-07: only --sonnet-/--random-input-len
        ("379da6dc", ["--input-len", "--output-len"]),  # 2024-05
        ("d55e446d", ["--batch-size"]),  # 2025-05: no --batch-size anywhere
    ],
)
def test_client_flags_the_version_lacks_are_unsupported(fixture_repo: FixtureRepo, key: str, flags: list[str]) -> None:
    route = serving_route(fixture_repo, key, " ".join(f"{flag} 1" for flag in flags))
    assert [item[0] for item in route.unsupported] == flags


@pytest.mark.parametrize("key", ["ec3b5ce9", "21d93c14"])
def test_2023_serving_clients_want_a_tokenizer_and_dataset_not_a_model(fixture_repo: FixtureRepo, key: str) -> None:
    client = read(fixture_repo, key).program("serving", "script")
    assert client.accepts("--model") is False
    assert sorted(o.flags[0] for o in client.options if o.required) == ["--dataset", "--tokenizer"]


def test_the_ngram_speculative_command_parses_but_cannot_name_its_lookup_size(fixture_repo: FixtureRepo) -> None:
    # 83450458's parent (2024-10-16): benchmark_latency.py spells out its own options and
    # includes no engine options, so --speculative-model '[ngram]' parses, yet nothing can set
    # ngram_prompt_lookup_max, which vLLM's SpeculativeConfig then refuses to be None.
    facts = read(fixture_repo, "83450458")
    latency = facts.program("latency", "script")
    assert facts.scripts["latency"].includes == ()
    for flag in ("--speculative-model", "--num-speculative-tokens", "--input-len", "--output-len"):
        assert latency.accepts(flag) is True
    assert latency.accepts("--ngram-prompt-lookup-max") is False
    assert OptionSet(facts.engine["EngineArgs"].options).accepts("--ngram-prompt-lookup-max") is True


def test_underscore_spellings_depend_on_the_parser_class(fixture_repo: FixtureRepo) -> None:
    # FlexibleArgumentParser arrived on 2024-06-20 (vLLM #5718).
    assert read(fixture_repo, "80aa7e91").scripts["serving"].underscores is False  # parent of 2024-06-13
    assert read(fixture_repo, "7c01f706").scripts["serving"].underscores is True  # parent of 2024-06-29
    assert read(fixture_repo, "379da6dc").program("latency", "script").accepts("--input_len") is False
    latency = read(fixture_repo, "fa63e710").program("latency", "script")  # 2025-01
    assert latency.accepts("--input_len") is latency.accepts("--batch_size") is True


def test_vllm_bench_subcommands(fixture_repo: FixtureRepo) -> None:
    serve = read(fixture_repo, "299ebb62").program("serving", "vllm-bench")  # 2025-04-21
    for flag in ("--random-input-len", "--ignore-eos", "--tokenizer", "--request-rate"):
        assert serve.accepts(flag) is True
    throughput = read(fixture_repo, "0ec82edd")  # 2025-07-21
    assert throughput.bench["throughput"].includes == ("AsyncEngineArgs",)
    options = throughput.program("throughput", "vllm-bench")
    assert options.accepts("--input-len") is options.accepts("--load-format") is True


def test_dataclass_driven_engine_and_frontend_options(fixture_repo: FixtureRepo) -> None:
    facts = read(fixture_repo, "b690e348")  # parent of 2025-08-02
    engine = OptionSet(facts.engine["EngineArgs"].options)
    assert engine.find("--no-enable-prefix-caching").flags == ("--enable-prefix-caching", "--no-enable-prefix-caching")
    assert engine.find("--enable-prefix-caching").arity == "0"  # CacheConfig: Optional[bool]
    assert engine.find("--served-model-name").arity == "+"  # ModelConfig: Optional[Union[str, list[str]]]
    assert engine.find("--no-enable-chunked-prefill").arity == "0"  # SchedulerConfig: SkipValidation[bool]
    assert engine.find("-tp").flags == ("--tensor-parallel-size", "-tp")
    server = OptionSet(facts.server.options)
    assert [server.find(f).arity for f in ("--allowed-origins", "--middleware", "--lora-modules")] == ["1", "1", "+"]


def test_enable_chunked_prefill_false_is_a_value_in_early_2025(fixture_repo: FixtureRepo) -> None:
    # 526de822's parent (2025-01-08): StoreBoolean with nargs="?", so "--enable-chunked-prefill False" parses.
    latency = read(fixture_repo, "526de822").program("latency", "script")
    assert latency.find("--enable-chunked-prefill").arity == "?"


def test_facts_that_could_not_be_read_are_not_synthesized() -> None:
    with pytest.raises(ValueError, match="cannot be synthesized"):
        tree_files(TreeFacts(package=True, server=ParserFacts(unknown=("cli_args.py:3: why",))), "0" * 40)


def test_the_fixture_repository_is_small(fixture_repo: FixtureRepo) -> None:
    # 96 commits and 96 parents, two of which (8c1e77fb, cf2f084d) are ISO-Bench commits themselves.
    assert len(fixture_repo.shas) == len(DATA["revisions"]) == 190
    assert Path(__file__).parents[1].joinpath("fixtures", "vllm", "tree-facts.json").stat().st_size < 200_000
