"""Benchmark the latency of processing a single batch of requests.

tinyllm's port of vLLM's ``benchmarks/benchmark_latency.py``: same arguments
and the same output, with the standard library only.

    python benchmarks/benchmark_latency.py --model tinyllm/tiny-1b \\
        --input-len 16 --output-len 10 --batch-size 2
"""

import argparse
import json
import random
import sys
import time
from typing import Iterable, Iterator, Optional, TypeVar

from tinyllm import LLM, SamplingParams

T = TypeVar("T")


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile with linear interpolation (numpy's default method)."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = (len(ordered) - 1) * q / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def progress(iterable: Iterable[T], desc: str, total: Optional[int] = None) -> Iterator[T]:
    """A minimal tqdm look-alike on stderr."""
    items = list(iterable)
    total = len(items) if total is None else total
    start = time.perf_counter()
    for i, item in enumerate(items, 1):
        yield item
        elapsed = time.perf_counter() - start
        bar = "\u2588" * int(10 * i / total) + " " * (10 - int(10 * i / total))
        rate = i / elapsed if elapsed > 0 else 0.0
        end = "\n" if i == total else "\r"
        sys.stderr.write(f"{desc}: {100 * i // total:3d}%|{bar}| {i}/{total} [{elapsed:05.2f}s, {rate:.2f}it/s]{end}")
        sys.stderr.flush()


def main(args: argparse.Namespace) -> None:
    print(args)

    llm = LLM(
        model=args.model,
        tokenizer=args.tokenizer,
        tensor_parallel_size=args.tensor_parallel_size,
        seed=args.seed,
        dtype=args.dtype,
        max_model_len=args.max_model_len,
    )

    sampling_params = SamplingParams(
        n=args.n,
        temperature=1.0,
        top_p=1.0,
        ignore_eos=True,
        max_tokens=args.output_len,
    )
    print(sampling_params)
    rng = random.Random(args.seed)
    vocab_size = llm.get_tokenizer().vocab_size
    dummy_prompts = [
        {"prompt_token_ids": [rng.randrange(vocab_size) for _ in range(args.input_len)]}
        for _ in range(args.batch_size)
    ]

    def run_to_completion() -> float:
        start_time = time.perf_counter()
        llm.generate(dummy_prompts, sampling_params=sampling_params, use_tqdm=False)
        return time.perf_counter() - start_time

    print("Warming up...")
    for _ in progress(range(args.num_iters_warmup), desc="Warmup iterations"):
        run_to_completion()

    # Benchmark.
    latencies = []
    for _ in progress(range(args.num_iters), desc="Profiling iterations"):
        latencies.append(run_to_completion())
    percentages = [10, 25, 50, 75, 90, 99]
    percentiles = [percentile(latencies, p) for p in percentages]
    avg_latency = sum(latencies) / len(latencies)
    print(f"Avg latency: {avg_latency} seconds")
    for percentage, value in zip(percentages, percentiles):
        print(f"{percentage}% percentile latency: {value} seconds")

    # Output JSON results if specified
    if args.output_json:
        results = {
            "avg_latency": avg_latency,
            "latencies": latencies,
            "percentiles": {str(p): v for p, v in zip(percentages, percentiles)},
        }
        with open(args.output_json, "w") as f:
            json.dump(results, f, indent=4)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description="Benchmark the latency of processing a single batch of requests till completion."
    )
    parser.add_argument("--model", type=str, default="tinyllm/tiny-1b")
    parser.add_argument("--tokenizer", type=str, default=None)
    parser.add_argument("--tensor-parallel-size", "-tp", type=int, default=1)
    parser.add_argument("--input-len", type=int, default=32)
    parser.add_argument("--output-len", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--n", type=int, default=1, help="Number of generated sequences per prompt.")
    parser.add_argument("--num-iters-warmup", type=int, default=10, help="Number of iterations to run for warmup.")
    parser.add_argument("--num-iters", type=int, default=30, help="Number of iterations to run.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-model-len", type=int, default=None)
    parser.add_argument(
        "--dtype",
        type=str,
        default="auto",
        choices=["auto", "half", "float16", "bfloat16", "float", "float32"],
    )
    parser.add_argument(
        "--output-json",
        type=str,
        default=None,
        help="Path to save the latency results in JSON format.",
    )
    main(parser.parse_args())
