"""The static readers on small trees written in each shape the real vLLM history has (2023-2025)."""

from __future__ import annotations

from patchbench.spec.tree import ParserFacts
from tests.spec.builders import FLEXIBLE_UTILS, flags, tree

# benchmarks/benchmark_serving.py as in 2023: the parser is built in the __main__ block.
SERVING_2023 = """
    import argparse

    def main(args):
        print(args)

    if __name__ == "__main__":
        parser = argparse.ArgumentParser(description="Benchmark the online serving throughput.")
        parser.add_argument("--backend", type=str, default="vllm", choices=["vllm", "tgi"])
        parser.add_argument("--dataset", type=str, required=True, help="Path to the dataset.")
        parser.add_argument("--tokenizer", type=str, required=True)
        parser.add_argument("--use-beam-search", action="store_true")
        parser.add_argument("--request-rate", type=float, default=float("inf"))
        args = parser.parse_args()
        main(args)
"""

# benchmarks/benchmark_serving.py as in 2025: a parser factory, groups, a helper in the
# same file, one in a sibling module, and vLLM's FlexibleArgumentParser when importable.
SERVING_2025 = """
    import argparse

    from benchmark_dataset import add_dataset_options

    try:
        from vllm.utils import FlexibleArgumentParser
    except ImportError:
        from argparse import ArgumentParser as FlexibleArgumentParser


    def add_sampling_options(group):
        group.add_argument("--top-p", type=float, default=None)
        group.add_argument("--top-k", type=int, default=None)


    def create_argument_parser():
        parser = FlexibleArgumentParser(description="Benchmark the online serving throughput.")
        parser.add_argument("--model", type=str, required=True)
        parser.add_argument("--percentile-metrics", type=str, nargs="*")
        parser.add_argument("--goodput", nargs="+")
        choice = parser.add_mutually_exclusive_group()
        choice.add_argument("--save-result", action="store_true")
        choice.add_argument("--no-save", action="store_false", dest="save")
        sampling_group = parser.add_argument_group("sampling parameters")
        add_sampling_options(sampling_group)
        add_dataset_options(parser)
        return parser


    if __name__ == "__main__":
        parser = create_argument_parser()
        args = parser.parse_args()
"""

DATASET_HELPERS = """
    def add_dataset_options(parser):
        random_group = parser.add_argument_group("random dataset options")
        random_group.add_argument("--random-input-len", type=int, default=1024)
"""

# benchmarks/benchmark_latency.py: its own options plus every engine flag.
LATENCY = """
    from vllm.engine.arg_utils import EngineArgs
    from vllm.utils import FlexibleArgumentParser

    if __name__ == "__main__":
        parser = FlexibleArgumentParser(description="Benchmark the latency.")
        parser.add_argument("--input-len", type=int, default=32)
        parser.add_argument("--batch-size", type=int, default=8)
        parser = EngineArgs.add_cli_args(parser)
        args = parser.parse_args()
"""

# vllm/engine/arg_utils.py before 2025-04: every option spelt out.
ENGINE_EXPLICIT = """
    import argparse

    from vllm.utils import StoreBoolean


    class EngineArgs:
        @staticmethod
        def add_cli_args(parser):
            parser.add_argument("--model", type=str, default="facebook/opt-125m")
            parser.add_argument("--tensor-parallel-size", "-tp", type=int, default=1)
            parser.add_argument("--enable-chunked-prefill", action=StoreBoolean, nargs="?", const="True")
            parser.add_argument("--enable-prefix-caching", action=argparse.BooleanOptionalAction)
            parser.add_argument("--use-v2-block-manager", action="store_true")
            parser.add_argument("--seed", type=int, default=0)
            return parser


    class AsyncEngineArgs(EngineArgs):
        @staticmethod
        def add_cli_args(parser, async_args_only=False):
            if not async_args_only:
                parser = EngineArgs.add_cli_args(parser)
            parser.add_argument("--disable-log-requests", action="store_true")
            return parser
"""

STORE_BOOLEAN = """
    import argparse


    class StoreBoolean(argparse.Action):
        def __call__(self, parser, namespace, values, option_string=None):
            setattr(namespace, self.dest, values.lower() == "true")
"""

# vllm/config.py from 2025-05 on: options derive from config dataclass fields.
CONFIG_DATACLASSES = """
    from dataclasses import dataclass, field
    from typing import Literal, Optional, Union

    from pydantic import SkipValidation

    from vllm.config_types import TokenizerMode

    BlockSize = Literal[8, 16, 32]


    @dataclass
    class ModelConfig:
        model: str = "facebook/opt-125m"
        tokenizer_mode: TokenizerMode = "auto"
        trust_remote_code: bool = False
        served_model_name: Optional[Union[str, list[str]]] = None
        max_model_len: int = None


    @dataclass
    class CacheConfig:
        block_size: SkipValidation[BlockSize] = None
        enable_prefix_caching: Optional[bool] = None
        kv_window: tuple[int, int] = (0, 0)


    @dataclass
    class SchedulerConfig:
        enable_chunked_prefill: SkipValidation[bool] = None
        cuda_graph_sizes: list[int] = field(default_factory=list)
        long_prefill: "bool | None" = None


    @dataclass
    class ParallelConfig:
        tensor_parallel_size: int = 1
"""

ENGINE_DATACLASSES = """
    import argparse
    from dataclasses import fields

    from vllm.config import CacheConfig, ModelConfig, ParallelConfig, SchedulerConfig


    def _compute_kwargs(cls):
        kwargs = {}
        for field in fields(cls):
            kwargs[field.name] = {"default": field.default}
            if contains_type(field.type, bool):
                kwargs[field.name]["action"] = argparse.BooleanOptionalAction
            elif contains_type(field.type, list):
                kwargs[field.name]["nargs"] = "+"
        return kwargs


    def get_kwargs(cls):
        return dict(_compute_kwargs(cls))


    class EngineArgs:
        @staticmethod
        def add_cli_args(parser):
            model_kwargs = get_kwargs(ModelConfig)
            model_group = parser.add_argument_group(title="ModelConfig")
            model_group.add_argument("--model", **model_kwargs["model"])
            model_group.add_argument("--tokenizer-mode", **model_kwargs["tokenizer_mode"])
            model_group.add_argument("--trust-remote-code", **model_kwargs["trust_remote_code"])
            model_group.add_argument("--served-model-name", **model_kwargs["served_model_name"])
            model_group.add_argument("--max-model-len", **model_kwargs["max_model_len"])
            model_group.add_argument("--disable-async-output-proc", action="store_true")
            cache_kwargs = get_kwargs(CacheConfig)
            cache_group = parser.add_argument_group(title="CacheConfig")
            cache_group.add_argument("--block-size", **cache_kwargs["block_size"])
            cache_group.add_argument("--enable-prefix-caching", **cache_kwargs["enable_prefix_caching"])
            cache_group.add_argument("--kv-window", **cache_kwargs["kv_window"])
            scheduler_kwargs = get_kwargs(SchedulerConfig)
            scheduler_group = parser.add_argument_group(title="SchedulerConfig")
            scheduler_group.add_argument("--enable-chunked-prefill", **scheduler_kwargs["enable_chunked_prefill"])
            scheduler_group.add_argument("--cuda-graph-sizes", **scheduler_kwargs["cuda_graph_sizes"])
            scheduler_group.add_argument("--long-prefill", **scheduler_kwargs["long_prefill"])
            parallel_kwargs = get_kwargs(ParallelConfig)
            parallel_group = parser.add_argument_group(title="ParallelConfig")
            parallel_group.add_argument("--tensor-parallel-size", "-tp", **parallel_kwargs["tensor_parallel_size"])
            return parser


    class AsyncEngineArgs(EngineArgs):
        @staticmethod
        def add_cli_args(parser):
            parser = EngineArgs.add_cli_args(parser)
            parser.add_argument("--enable-log-requests", action=argparse.BooleanOptionalAction)
            return parser
"""

# vllm/engine/arg_utils.py in 2025-04: a nested get_kwargs that leaves bool fields to the caller.
ENGINE_EARLY_KWARGS = """
    from dataclasses import fields

    from vllm.config import SchedulerConfig


    class EngineArgs:
        @staticmethod
        def add_cli_args(parser):
            def get_kwargs(cls):
                kwargs = {}
                for field in fields(cls):
                    kwargs[field.name] = {"default": field.default}
                    if field.type is bool:
                        continue
                    kwargs[field.name]["type"] = field.type
                return kwargs

            scheduler_kwargs = get_kwargs(SchedulerConfig)
            parser.add_argument("--enable-chunked-prefill", action="store_true", **scheduler_kwargs["enable_chunked_prefill"])
            parser.add_argument("--long-prefill", **scheduler_kwargs["long_prefill"])
            parser.add_argument("--cuda-graph-sizes", **scheduler_kwargs["cuda_graph_sizes"])
            return parser
"""

# vllm/entrypoints/openai/cli_args.py from 2025-06: one option per FrontendArgs field.
CLI_ARGS_FRONTEND = """
    import argparse
    import json
    from dataclasses import dataclass
    from typing import ClassVar, Optional

    from vllm.engine.arg_utils import AsyncEngineArgs


    class LoRAParserAction(argparse.Action):
        def __call__(self, parser, namespace, values, option_string=None):
            setattr(namespace, self.dest, values)


    @dataclass
    class FrontendArgs:
        host: Optional[str] = None
        allow_credentials: bool = False
        allowed_origins: list[str] = None
        lora_modules: Optional[list[str]] = None
        middleware: list[str] = None
        registry: ClassVar[dict] = {}

        @staticmethod
        def add_cli_args(parser):
            from vllm.engine.arg_utils import get_kwargs

            frontend_kwargs = get_kwargs(FrontendArgs)
            frontend_kwargs["allowed_origins"]["type"] = json.loads
            del frontend_kwargs["allowed_origins"]["nargs"]
            frontend_kwargs["lora_modules"]["action"] = LoRAParserAction
            frontend_kwargs["middleware"]["action"] = "append"
            if "nargs" in frontend_kwargs["middleware"]:
                del frontend_kwargs["middleware"]["nargs"]
            frontend_group = parser.add_argument_group(title="Frontend")
            for key, value in frontend_kwargs.items():
                frontend_group.add_argument(f"--{key.replace('_', '-')}", **value)
            return parser


    def make_arg_parser(parser):
        parser.add_argument("model_tag", type=str, nargs="?")
        parser.add_argument("--api-server-count", "-asc", type=int, default=1)
        parser = FrontendArgs.add_cli_args(parser)
        parser = AsyncEngineArgs.add_cli_args(parser)
        return parser
"""

API_SERVER_2025 = """
    import uvloop

    from vllm.entrypoints.openai.cli_args import make_arg_parser
    from vllm.utils import FlexibleArgumentParser


    async def run_server(args):
        pass


    if __name__ == "__main__":
        parser = FlexibleArgumentParser(description="vLLM OpenAI-Compatible RESTful API server.")
        parser = make_arg_parser(parser)
        args = parser.parse_args()
        uvloop.run(run_server(args))
"""

# vllm/entrypoints/openai/api_server.py in 2023: a parse_args() helper in the module itself.
API_SERVER_2023 = """
    import argparse

    from vllm.engine.arg_utils import AsyncEngineArgs


    def parse_args():
        parser = argparse.ArgumentParser(description="vLLM OpenAI-Compatible RESTful API server.")
        parser.add_argument("--host", type=str, default=None)
        parser.add_argument("--port", type=int, default=8000)
        parser = AsyncEngineArgs.add_cli_args(parser)
        return parser.parse_args()


    if __name__ == "__main__":
        args = parse_args()
"""

# `vllm bench serve` (2025-05 on): the subcommand class delegates to vllm/benchmarks/serve.py.
BENCH_SERVE = """
    import argparse

    from vllm.benchmarks.serve import add_cli_args, main
    from vllm.entrypoints.cli.benchmark.base import BenchmarkSubcommandBase


    class BenchmarkServingSubcommand(BenchmarkSubcommandBase):
        name = "serve"
        help = "Benchmark the online serving throughput."

        @classmethod
        def add_cli_args(cls, parser):
            add_cli_args(parser)

        @staticmethod
        def cmd(args):
            main(args)
"""

# `vllm bench latency` in 2025-04: the name is set in __init__, add_cli_args is a plain method.
BENCH_LATENCY_EARLY = """
    from vllm.benchmarks.latency import add_cli_args


    class BenchmarkLatencySubcommand:
        def __init__(self):
            self.name = "latency"

        def add_cli_args(self, parser):
            add_cli_args(parser)
"""

BENCHMARKS_SERVE = """
    from vllm.benchmarks.datasets import add_dataset_parser


    def add_cli_args(parser):
        add_dataset_parser(parser)
        parser.add_argument("--endpoint", type=str, default="/v1/completions")
        parser.add_argument("--ignore-eos", action="store_true")
"""

BENCHMARKS_DATASETS = """
    def add_dataset_parser(parser):
        parser.add_argument("--dataset-name", type=str, default="random")
        parser.add_argument("--dataset-path", type=str, default=None)
"""

BENCHMARKS_LATENCY = """
    from vllm.engine.arg_utils import EngineArgs


    def add_cli_args(parser):
        parser.add_argument("--num-iters", type=int, default=30)
        parser = EngineArgs.add_cli_args(parser)
"""

CLI_MAIN = """
    def main():
        from vllm.utils import FlexibleArgumentParser

        parser = FlexibleArgumentParser(description="vLLM CLI")
        parser.add_argument("-v", "--version", action="version")
        subparsers = parser.add_subparsers(required=False, dest="subparser")
        for cmd_module in CMD_MODULES:
            cmd_module.cmd_init(subparsers)
        args = parser.parse_args()
"""

STUB = """
    import sys

    if __name__ == "__main__":
        print("DEPRECATED: This script has been moved to the vLLM CLI.")
        sys.exit(1)
"""


def test_a_2023_script_spells_out_its_options_in_the_main_block() -> None:
    facts = tree({"benchmarks/benchmark_serving.py": SERVING_2023})
    serving = facts.scripts["serving"]
    assert flags(serving.options) == {
        "--backend": "1",
        "--dataset": "1",
        "--tokenizer": "1",
        "--use-beam-search": "0",
        "--request-rate": "1",
    }
    assert [o.flags[0] for o in serving.options if o.required] == ["--dataset", "--tokenizer"]
    assert (serving.includes, serving.underscores, serving.unknown) == ((), False, ())


def test_groups_helpers_and_a_sibling_module_all_add_to_the_one_parser() -> None:
    facts = tree(
        {
            "benchmarks/benchmark_serving.py": SERVING_2025,
            "benchmarks/benchmark_dataset.py": DATASET_HELPERS,
            "vllm/__init__.py": "",
            "vllm/utils.py": FLEXIBLE_UTILS,
        }
    )
    serving = facts.scripts["serving"]
    assert flags(serving.options) == {
        "--model": "1",
        "--percentile-metrics": "*",
        "--goodput": "+",
        "--save-result": "0",
        "--no-save": "0",
        "--top-p": "1",
        "--top-k": "1",
        "--random-input-len": "1",
    }
    # vLLM's FlexibleArgumentParser is imported first, so that is the parser.
    assert serving.underscores is True


def test_a_plain_argparse_parser_reads_no_underscore_spellings() -> None:
    facts = tree(
        {
            "benchmarks/benchmark_serving.py": SERVING_2025.replace(
                "FlexibleArgumentParser(", "argparse.ArgumentParser("
            ),
            "benchmarks/benchmark_dataset.py": DATASET_HELPERS,
        }
    )
    options = facts.program("serving", "script")
    assert options.underscores is False
    assert options.accepts("--random-input-len") is True
    assert options.accepts("--random_input_len") is False


def test_engine_delegation_is_named_and_resolved_against_the_engine_options() -> None:
    facts = tree(
        {
            "benchmarks/benchmark_latency.py": LATENCY,
            "vllm/utils.py": FLEXIBLE_UTILS + STORE_BOOLEAN,
            "vllm/engine/arg_utils.py": ENGINE_EXPLICIT,
        }
    )
    latency = facts.scripts["latency"]
    assert flags(latency.options) == {"--input-len": "1", "--batch-size": "1"}
    assert latency.includes == ("EngineArgs",)
    assert flags(facts.engine["EngineArgs"].options) == {
        "--model": "1",
        "--tensor-parallel-size": "1",
        "-tp": "1",
        "--enable-chunked-prefill": "?",
        "--enable-prefix-caching": "0",
        "--no-enable-prefix-caching": "0",
        "--use-v2-block-manager": "0",
        "--seed": "1",
    }
    assert facts.engine["AsyncEngineArgs"] == ParserFacts(
        options=facts.engine["AsyncEngineArgs"].options, includes=("EngineArgs",)
    )
    assert flags(facts.engine["AsyncEngineArgs"].options) == {"--disable-log-requests": "0"}
    whole = facts.program("latency", "script")
    assert whole.find("-tp").flags == ("--tensor-parallel-size", "-tp")
    assert whole.accepts("--use_v2_block_manager") is True  # the script's parser is vLLM's flexible one


def test_engine_options_derived_from_config_dataclasses() -> None:
    facts = tree(
        {
            "vllm/config.py": CONFIG_DATACLASSES,
            "vllm/config_types.py": 'from typing import Literal\n\nTokenizerMode = Literal["auto", "slow"]\n',
            "vllm/engine/arg_utils.py": ENGINE_DATACLASSES,
        }
    )
    assert flags(facts.engine["EngineArgs"].options) == {
        "--model": "1",
        "--tokenizer-mode": "1",  # a Literal alias imported from another module: one value
        "--trust-remote-code": "0",
        "--no-trust-remote-code": "0",
        "--served-model-name": "+",  # str or list[str]: several values
        "--max-model-len": "1",
        "--disable-async-output-proc": "0",
        "--block-size": "1",
        "--enable-prefix-caching": "0",  # Optional[bool]: a --x/--no-x switch
        "--no-enable-prefix-caching": "0",
        "--kv-window": "2",
        "--enable-chunked-prefill": "0",  # pydantic's SkipValidation[bool] is still a bool
        "--no-enable-chunked-prefill": "0",
        "--cuda-graph-sizes": "+",
        "--long-prefill": "0",  # a string annotation "bool | None"
        "--no-long-prefill": "0",
        "--tensor-parallel-size": "1",
        "-tp": "1",
    }
    assert facts.engine["EngineArgs"].unknown == ()


def test_an_early_get_kwargs_leaves_bool_fields_to_the_call() -> None:
    facts = tree({"vllm/config.py": CONFIG_DATACLASSES, "vllm/engine/arg_utils.py": ENGINE_EARLY_KWARGS})
    # No BooleanOptionalAction and no nargs in this get_kwargs: the call's own action decides.
    assert flags(facts.engine["EngineArgs"].options) == {
        "--enable-chunked-prefill": "0",
        "--long-prefill": "1",
        "--cuda-graph-sizes": "1",
    }


def test_the_2025_server_reads_one_option_per_frontend_field_with_its_edits() -> None:
    facts = tree(
        {
            "vllm/entrypoints/openai/api_server.py": API_SERVER_2025,
            "vllm/entrypoints/openai/cli_args.py": CLI_ARGS_FRONTEND,
            "vllm/engine/arg_utils.py": ENGINE_DATACLASSES,
            "vllm/utils.py": FLEXIBLE_UTILS,
        }
    )
    server = facts.server
    assert flags(server.options) == {
        "--api-server-count": "1",
        "-asc": "1",
        "--host": "1",
        "--allow-credentials": "0",
        "--no-allow-credentials": "0",
        "--allowed-origins": "1",  # its nargs was deleted
        "--lora-modules": "+",  # a custom action keeps the list's nargs
        "--middleware": "1",  # append, nargs deleted
    }
    assert (server.includes, server.underscores, server.unknown) == (("AsyncEngineArgs",), True, ())


def test_the_2023_server_builds_its_parser_in_a_module_helper() -> None:
    facts = tree(
        {
            "vllm/entrypoints/openai/api_server.py": API_SERVER_2023,
            "vllm/engine/arg_utils.py": ENGINE_EXPLICIT,
            "vllm/utils.py": STORE_BOOLEAN,
        }
    )
    assert flags(facts.server.options) == {"--host": "1", "--port": "1"}
    assert facts.server.includes == ("AsyncEngineArgs",)
    server = facts.server_options()
    assert server.accepts("--use-v2-block-manager") is True
    assert server.accepts("--disable-log-requests") is True
    assert server.accepts("--host_name") is False


def test_vllm_bench_subcommands_follow_their_classes_into_vllm_benchmarks() -> None:
    facts = tree(
        {
            "vllm/entrypoints/cli/main.py": CLI_MAIN,
            "vllm/entrypoints/cli/benchmark/serve.py": BENCH_SERVE,
            "vllm/entrypoints/cli/benchmark/latency.py": BENCH_LATENCY_EARLY,
            "vllm/entrypoints/cli/benchmark/base.py": "class BenchmarkSubcommandBase:\n    pass\n",
            "vllm/benchmarks/serve.py": BENCHMARKS_SERVE,
            "vllm/benchmarks/datasets.py": BENCHMARKS_DATASETS,
            "vllm/benchmarks/latency.py": BENCHMARKS_LATENCY,
            "vllm/engine/arg_utils.py": ENGINE_EXPLICIT,
            "vllm/utils.py": FLEXIBLE_UTILS + STORE_BOOLEAN,
        }
    )
    assert set(facts.bench) == {"serving", "latency"}
    assert flags(facts.bench["serving"].options) == {
        "--dataset-name": "1",
        "--dataset-path": "1",
        "--endpoint": "1",
        "--ignore-eos": "0",
    }
    assert facts.bench["serving"].underscores is True  # the `vllm` command's own parser decides
    assert flags(facts.bench["latency"].options) == {"--num-iters": "1"}
    assert facts.bench["latency"].includes == ("EngineArgs",)


def test_a_stub_script_is_not_a_runnable_script() -> None:
    facts = tree({"benchmarks/benchmark_serving.py": STUB, "benchmarks/benchmark_latency.py": LATENCY})
    assert facts.stubs == frozenset({"serving"})
    assert set(facts.scripts) == {"latency"}
    assert facts.program("serving", "script") is None


def test_a_tree_before_vllm_has_nothing_to_run() -> None:
    facts = tree({"cacheflow/__init__.py": "", "setup.py": "from setuptools import setup\n"})
    assert facts.package is False
    assert (facts.scripts, facts.stubs, facts.bench, facts.server, facts.engine) == ({}, frozenset(), {}, None, {})
    assert facts.program("latency", "script") is None
    assert facts.server_options() is None


def test_a_file_that_does_not_parse_makes_the_set_unknown_not_empty() -> None:
    facts = tree(
        {
            "benchmarks/benchmark_serving.py": "if __name__ == '__main__':\n    parser = (\n",
            "benchmarks/benchmark_latency.py": LATENCY,
            "vllm/utils.py": FLEXIBLE_UTILS,
            "vllm/engine/arg_utils.py": "class EngineArgs:\n    def add_cli_args(parser)\n",
        }
    )
    (reason,) = facts.scripts["serving"].unknown
    assert reason.startswith("benchmarks/benchmark_serving.py does not parse (SyntaxError line 2")
    assert facts.program("serving", "script").accepts("--model") is None
    latency = facts.program("latency", "script")
    assert any(r.startswith("vllm/engine/arg_utils.py does not parse") for r in latency.unknown)
    assert latency.accepts("--input-len") is True
    assert latency.accepts("--tensor-parallel-size") is None


def test_what_cannot_be_followed_is_reported() -> None:
    script = """
        import argparse

        from somewhere_else import add_more_options

        NAMES = ["--a", "--b"]

        if __name__ == "__main__":
            parser = argparse.ArgumentParser()
            parser.add_argument("--known", type=int)
            for name in NAMES:
                parser.add_argument(name, action="store_true")
            add_more_options(parser)
            parser.parse_args()
    """
    latency = tree({"benchmarks/benchmark_latency.py": script}).scripts["latency"]
    assert flags(latency.options) == {"--known": "1"}
    assert [r.split(": ", 1)[1] for r in latency.unknown] == [
        "an option whose name is computed at run time",
        "the parser is handed to add_more_options, which was not read",
    ]


def test_a_script_that_never_parses_is_unknown() -> None:
    script = "import argparse\n\nparser = argparse.ArgumentParser()\nparser.add_argument('--x')\n"
    latency = tree({"benchmarks/benchmark_latency.py": script}).scripts["latency"]
    assert latency.options == ()
    assert latency.unknown == ("benchmarks/benchmark_latency.py: no parse_args() call was reached",)


def test_a_class_based_on_code_outside_the_tree_is_still_read() -> None:
    script = """
        import argparse

        from somewhere_else import Base


        class Defaults(Base):
            pass


        if __name__ == "__main__":
            parser = argparse.ArgumentParser(description=Defaults.description)
            parser.add_argument("--n", type=int)
            parser.parse_args()
    """
    latency = tree({"benchmarks/benchmark_latency.py": script}).scripts["latency"]
    assert (flags(latency.options), latency.unknown) == ({"--n": "1"}, ())
