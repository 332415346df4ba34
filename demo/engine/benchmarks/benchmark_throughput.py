"""Benchmark offline inference throughput.

tinyllm's port of vLLM's ``benchmarks/benchmark_throughput.py``: same arguments
and the same output, with the standard library only.

    python benchmarks/benchmark_throughput.py --model tinyllm/tiny-1b \\
        --input-len 96 --output-len 8 --num-prompts 32
"""

import argparse
import json
import random
import time
from dataclasses import dataclass

from tinyllm import LLM, SamplingParams
from tinyllm.transformers_utils.tokenizer import TinyTokenizer, get_tokenizer


@dataclass
class SampleRequest:
    prompt: str
    prompt_len: int
    expected_output_len: int


def sample_random_requests(
    tokenizer: TinyTokenizer,
    num_requests: int,
    input_len: int,
    output_len: int,
) -> list[SampleRequest]:
    """Prompts made of random token ids, as vLLM's random dataset does."""
    offsets = [random.randint(0, tokenizer.vocab_size - 1) for _ in range(num_requests)]
    requests = []
    for i in range(num_requests):
        token_ids = [(offsets[i] + i + j) % tokenizer.vocab_size for j in range(input_len)]
        requests.append(SampleRequest(tokenizer.decode(token_ids), input_len, output_len))
    return requests


def run_vllm(requests: list[SampleRequest], n: int, args: argparse.Namespace) -> float:
    llm = LLM(
        model=args.model,
        tokenizer=args.tokenizer,
        tensor_parallel_size=args.tensor_parallel_size,
        seed=args.seed,
        dtype=args.dtype,
        max_model_len=args.max_model_len,
    )
    prompts = [request.prompt for request in requests]
    sampling_params = [
        SamplingParams(
            n=n,
            temperature=1.0,
            top_p=1.0,
            ignore_eos=True,
            max_tokens=request.expected_output_len,
        )
        for request in requests
    ]
    start = time.perf_counter()
    llm.generate(prompts, sampling_params, use_tqdm=True)
    end = time.perf_counter()
    return end - start


def main(args: argparse.Namespace) -> None:
    print(args)
    random.seed(args.seed)

    tokenizer = get_tokenizer(args.tokenizer or args.model)
    requests = sample_random_requests(tokenizer, args.num_prompts, args.input_len, args.output_len)

    if args.backend != "vllm":
        raise ValueError(f"Unknown backend: {args.backend}")
    elapsed_time = run_vllm(requests, args.n, args)

    total_prompt_tokens = sum(request.prompt_len for request in requests)
    total_output_tokens = sum(request.expected_output_len for request in requests)
    total_num_tokens = total_prompt_tokens + total_output_tokens
    print(
        f"Throughput: {len(requests) / elapsed_time:.2f} requests/s, "
        f"{total_num_tokens / elapsed_time:.2f} total tokens/s, "
        f"{total_output_tokens / elapsed_time:.2f} output tokens/s"
    )
    print(f"Total num prompt tokens:  {total_prompt_tokens}")
    print(f"Total num output tokens:  {total_output_tokens}")

    # Output JSON results if specified
    if args.output_json:
        results = {
            "elapsed_time": elapsed_time,
            "num_requests": len(requests),
            "total_num_tokens": total_num_tokens,
            "requests_per_second": len(requests) / elapsed_time,
            "tokens_per_second": total_num_tokens / elapsed_time,
        }
        with open(args.output_json, "w") as f:
            json.dump(results, f, indent=4)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Benchmark the throughput.")
    parser.add_argument("--backend", type=str, choices=["vllm"], default="vllm")
    parser.add_argument(
        "--dataset-name",
        type=str,
        choices=["random"],
        default="random",
        help="Name of the dataset to benchmark on (tinyllm supports random prompts only).",
    )
    parser.add_argument("--input-len", type=int, default=None, help="Input prompt length for each request")
    parser.add_argument("--output-len", type=int, default=None, help="Output length for each request.")
    parser.add_argument("--n", type=int, default=1, help="Number of generated sequences per prompt.")
    parser.add_argument("--num-prompts", type=int, default=1000, help="Number of prompts to process.")
    parser.add_argument("--model", type=str, default="tinyllm/tiny-1b")
    parser.add_argument("--tokenizer", type=str, default=None)
    parser.add_argument("--tensor-parallel-size", "-tp", type=int, default=1)
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
        help="Path to save the throughput results in JSON format.",
    )
    cli_args = parser.parse_args()
    if cli_args.input_len is None or cli_args.output_len is None:
        parser.error("--input-len and --output-len are required for the random dataset")
    main(cli_args)
