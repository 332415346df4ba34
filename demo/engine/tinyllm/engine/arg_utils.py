"""Engine arguments, shared by the LLM class and the API server's command line."""

import argparse
from dataclasses import dataclass, fields
from typing import Optional

from tinyllm.config import EngineConfig, ParallelConfig, SchedulerConfig, get_model_config


@dataclass
class EngineArgs:
    model: str = "tinyllm/tiny-1b"
    tokenizer: Optional[str] = None
    dtype: str = "auto"
    seed: int = 0
    max_model_len: Optional[int] = None
    tensor_parallel_size: int = 1
    pipeline_parallel_size: int = 1
    max_num_seqs: int = 256
    disable_log_stats: bool = False

    @staticmethod
    def add_cli_args(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
        parser.add_argument("--model", type=str, default=EngineArgs.model, help="Name of the model.")
        parser.add_argument("--tokenizer", type=str, default=None, help="Name of the tokenizer (default: the model's).")
        parser.add_argument(
            "--dtype",
            type=str,
            default=EngineArgs.dtype,
            choices=["auto", "half", "float16", "bfloat16", "float", "float32"],
            help="Data type of the weights (tinyllm always computes in Python floats).",
        )
        parser.add_argument("--seed", type=int, default=EngineArgs.seed, help="Random seed.")
        parser.add_argument("--max-model-len", type=int, default=None, help="Model context length.")
        parser.add_argument(
            "--tensor-parallel-size",
            "-tp",
            type=int,
            default=EngineArgs.tensor_parallel_size,
            help="Number of tensor parallel replicas (simulated).",
        )
        parser.add_argument(
            "--pipeline-parallel-size",
            "-pp",
            type=int,
            default=EngineArgs.pipeline_parallel_size,
            help="Number of pipeline stages (simulated).",
        )
        parser.add_argument(
            "--max-num-seqs",
            type=int,
            default=EngineArgs.max_num_seqs,
            help="Maximum number of sequences per iteration.",
        )
        parser.add_argument("--disable-log-stats", action="store_true", help="Disable logging statistics.")
        return parser

    @classmethod
    def from_cli_args(cls, args: argparse.Namespace) -> "EngineArgs":
        return cls(**{f.name: getattr(args, f.name) for f in fields(cls)})

    def create_engine_config(self) -> EngineConfig:
        model_config = get_model_config(
            self.model, dtype=self.dtype, max_model_len=self.max_model_len, seed=self.seed
        )
        if self.tensor_parallel_size < 1 or self.pipeline_parallel_size < 1:
            raise ValueError("tensor_parallel_size and pipeline_parallel_size must be at least 1.")
        if model_config.num_heads % self.tensor_parallel_size != 0:
            raise ValueError(
                f"Total number of attention heads ({model_config.num_heads}) must be divisible "
                f"by tensor parallel size ({self.tensor_parallel_size})."
            )
        return EngineConfig(
            model_config=model_config,
            scheduler_config=SchedulerConfig(
                max_num_seqs=self.max_num_seqs,
                max_model_len=model_config.max_model_len,
            ),
            parallel_config=ParallelConfig(
                tensor_parallel_size=self.tensor_parallel_size,
                pipeline_parallel_size=self.pipeline_parallel_size,
            ),
        )
