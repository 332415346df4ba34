r"""Benchmark online serving throughput.

tinyllm's port of vLLM's ``benchmarks/benchmark_serving.py``: same arguments
(for the random dataset) and the same output, with the standard library only
(threads and http.client instead of asyncio and aiohttp).

On the server side, run:
    python -m tinyllm.entrypoints.openai.api_server --model tinyllm/tiny-1b \
        --disable-log-requests

On the client side, run:
    python benchmarks/benchmark_serving.py --backend vllm --model tinyllm/tiny-1b \
        --dataset-name random --random-input-len 64 --random-output-len 16 \
        --num-prompts 24 --request-rate inf
"""

import argparse
import http.client
import json
import math
import os
import random
import sys
import threading
import time
import traceback
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterator, Optional
from urllib.parse import urlsplit

from tinyllm.transformers_utils.tokenizer import TinyTokenizer, get_tokenizer

MILLISECONDS_TO_SECONDS_CONVERSION = 1000


# ---- request functions (vLLM keeps these in backend_request_func.py) ----------------


@dataclass
class RequestFuncInput:
    prompt: str
    api_url: str
    prompt_len: int
    output_len: int
    model: str
    logprobs: Optional[int] = None
    ignore_eos: bool = False


@dataclass
class RequestFuncOutput:
    generated_text: str = ""
    success: bool = False
    latency: float = 0.0
    output_tokens: Optional[int] = None
    ttft: float = 0.0  # Time to first token
    itl: list[float] = field(default_factory=list)  # Inter-token latencies
    prompt_len: int = 0
    error: str = ""


def request_openai_completions(
    request_func_input: RequestFuncInput,
    pbar: Optional["ProgressBar"] = None,
) -> RequestFuncOutput:
    """Send one streaming completion request and time every token that comes back."""
    api_url = request_func_input.api_url
    assert api_url.endswith(("completions", "profile")), "OpenAI Completions API URL must end with 'completions' or 'profile'."
    url = urlsplit(api_url)
    payload = {
        "model": request_func_input.model,
        "prompt": request_func_input.prompt,
        "temperature": 0.0,
        "max_tokens": request_func_input.output_len,
        "logprobs": request_func_input.logprobs,
        "stream": True,
        "stream_options": {"include_usage": True},
        "ignore_eos": request_func_input.ignore_eos,
    }
    headers = {"Content-Type": "application/json"}

    output = RequestFuncOutput()
    output.prompt_len = request_func_input.prompt_len

    generated_text = ""
    st = time.perf_counter()
    most_recent_timestamp = st
    conn = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=6 * 60 * 60)
    try:
        conn.request("POST", url.path, body=json.dumps(payload), headers=headers)
        response = conn.getresponse()
        if response.status == 200:
            first_chunk_received = False
            for chunk in _sse_events(response):
                if chunk == "[DONE]":
                    continue
                data = json.loads(chunk)
                # The last event of a stream may carry usage only, with no choices.
                if choices := data.get("choices"):
                    text = choices[0].get("text")
                    timestamp = time.perf_counter()
                    if not first_chunk_received:
                        first_chunk_received = True
                        output.ttft = timestamp - st
                    else:
                        output.itl.append(timestamp - most_recent_timestamp)
                    most_recent_timestamp = timestamp
                    generated_text += text or ""
                elif usage := data.get("usage"):
                    output.output_tokens = usage.get("completion_tokens")
            if first_chunk_received:
                output.success = True
            else:
                output.success = False
                output.error = "Never received a valid chunk to calculate TTFT.This response will be marked as failed!"
            output.generated_text = generated_text
            output.latency = most_recent_timestamp - st
        else:
            output.error = response.reason or ""
            output.success = False
    except Exception:
        output.success = False
        exc_info = sys.exc_info()
        output.error = "".join(traceback.format_exception(*exc_info))
    finally:
        conn.close()

    if pbar:
        pbar.update(1)
    return output


def _sse_events(response: http.client.HTTPResponse) -> Iterator[str]:
    """The ``data:`` payloads of a Server-Sent Events stream, as they arrive."""
    while True:
        line = response.readline()
        if not line:
            return
        line = line.strip()
        if line.startswith(b"data:"):
            yield line[len(b"data:") :].strip().decode("utf-8")


ASYNC_REQUEST_FUNCS = {
    "vllm": request_openai_completions,
    "openai": request_openai_completions,
}


# ---- benchmark --------------------------------------------------------------------


@dataclass
class SampleRequest:
    prompt: str
    prompt_len: int
    expected_output_len: int


@dataclass
class BenchmarkMetrics:
    completed: int
    total_input: int
    total_output: int
    request_throughput: float
    output_throughput: float
    total_token_throughput: float
    mean_ttft_ms: float
    median_ttft_ms: float
    std_ttft_ms: float
    percentiles_ttft_ms: list[tuple[float, float]]
    mean_tpot_ms: float
    median_tpot_ms: float
    std_tpot_ms: float
    percentiles_tpot_ms: list[tuple[float, float]]
    mean_itl_ms: float
    median_itl_ms: float
    std_itl_ms: float
    percentiles_itl_ms: list[tuple[float, float]]
    # E2EL is the end-to-end latency of a request, as seen by the client.
    mean_e2el_ms: float
    median_e2el_ms: float
    std_e2el_ms: float
    percentiles_e2el_ms: list[tuple[float, float]]


class ProgressBar:
    """A minimal, thread-safe tqdm look-alike on stderr."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.n = 0
        self.start = time.perf_counter()
        self._lock = threading.Lock()

    def update(self, k: int = 1) -> None:
        with self._lock:
            self.n += k

    def close(self) -> None:
        elapsed = time.perf_counter() - self.start
        rate = self.n / elapsed if elapsed > 0 else 0.0
        bar = "\u2588" * 10 if self.n >= self.total else " " * 10
        sys.stderr.write(f"{100 * self.n // max(self.total, 1):3d}%|{bar}| {self.n}/{self.total} [{elapsed:05.2f}s, {rate:.2f}it/s]\n")
        sys.stderr.flush()


def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def std(values: list[float]) -> float:
    if not values:
        return 0.0
    m = mean(values)
    return math.sqrt(sum((v - m) ** 2 for v in values) / len(values))


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile with linear interpolation (numpy's default method)."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = (len(ordered) - 1) * q / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def sample_random_requests(
    prefix_len: int,
    input_len: int,
    output_len: int,
    num_prompts: int,
    range_ratio: float,
    tokenizer: TinyTokenizer,
) -> list[SampleRequest]:
    """Prompts made of random token ids, as vLLM's random dataset does."""
    vocab_size = tokenizer.vocab_size
    prefix_token_ids = [random.randint(0, vocab_size - 1) for _ in range(prefix_len)]
    input_lens = [random.randint(int(input_len * range_ratio), input_len) for _ in range(num_prompts)]
    output_lens = [random.randint(int(output_len * range_ratio), output_len) for _ in range(num_prompts)]
    offsets = [random.randint(0, vocab_size - 1) for _ in range(num_prompts)]
    input_requests = []
    for i in range(num_prompts):
        token_ids = prefix_token_ids + [(offsets[i] + i + j) % vocab_size for j in range(input_lens[i])]
        prompt = tokenizer.decode(token_ids)
        input_requests.append(SampleRequest(prompt, prefix_len + input_lens[i], output_lens[i]))
    return input_requests


def get_request(
    input_requests: list[SampleRequest],
    request_rate: float,
    burstiness: float = 1.0,
) -> Iterator[SampleRequest]:
    """Yield the requests at the given rate (Poisson arrivals when burstiness is 1)."""
    assert burstiness > 0, f"A positive burstiness factor is expected, but given {burstiness}."
    theta = 1.0 / (request_rate * burstiness)
    for request in input_requests:
        yield request
        if request_rate == float("inf"):
            # If the request rate is infinity, then we don't need to wait.
            continue
        # The gamma distribution with shape 1 is the exponential distribution.
        interval = random.gammavariate(burstiness, theta)
        time.sleep(interval)


def calculate_metrics(
    input_requests: list[SampleRequest],
    outputs: list[RequestFuncOutput],
    dur_s: float,
    tokenizer: TinyTokenizer,
    selected_percentiles: list[float],
) -> tuple[BenchmarkMetrics, list[int]]:
    actual_output_lens: list[int] = []
    total_input = 0
    completed = 0
    itls: list[float] = []
    tpots: list[float] = []
    ttfts: list[float] = []
    e2els: list[float] = []
    for i in range(len(outputs)):
        if outputs[i].success:
            output_len = outputs[i].output_tokens
            if output_len is None:
                # Count the output tokens with the tokenizer when the server reports no usage.
                output_len = len(tokenizer(outputs[i].generated_text, add_special_tokens=False).input_ids)
            actual_output_lens.append(output_len)
            total_input += input_requests[i].prompt_len
            if output_len > 1:
                tpots.append((outputs[i].latency - outputs[i].ttft) / (output_len - 1))
            itls += outputs[i].itl
            ttfts.append(outputs[i].ttft)
            e2els.append(outputs[i].latency)
            completed += 1
        else:
            actual_output_lens.append(0)

    if completed == 0:
        warnings.warn(
            "All requests failed. This is likely due to a misconfiguration on the benchmark arguments.",
            stacklevel=2,
        )
    total_output = sum(actual_output_lens)

    def stats(values: list[float]) -> dict[str, Any]:
        return {
            "mean": mean(values) * 1000,
            "median": percentile(values, 50) * 1000,
            "std": std(values) * 1000,
            "percentiles": [(p, percentile(values, p) * 1000) for p in selected_percentiles],
        }

    ttft, tpot, itl, e2el = stats(ttfts), stats(tpots), stats(itls), stats(e2els)
    metrics = BenchmarkMetrics(
        completed=completed,
        total_input=total_input,
        total_output=total_output,
        request_throughput=completed / dur_s,
        output_throughput=total_output / dur_s,
        total_token_throughput=(total_input + total_output) / dur_s,
        mean_ttft_ms=ttft["mean"],
        median_ttft_ms=ttft["median"],
        std_ttft_ms=ttft["std"],
        percentiles_ttft_ms=ttft["percentiles"],
        mean_tpot_ms=tpot["mean"],
        median_tpot_ms=tpot["median"],
        std_tpot_ms=tpot["std"],
        percentiles_tpot_ms=tpot["percentiles"],
        mean_itl_ms=itl["mean"],
        median_itl_ms=itl["median"],
        std_itl_ms=itl["std"],
        percentiles_itl_ms=itl["percentiles"],
        mean_e2el_ms=e2el["mean"],
        median_e2el_ms=e2el["median"],
        std_e2el_ms=e2el["std"],
        percentiles_e2el_ms=e2el["percentiles"],
    )
    return metrics, actual_output_lens


def benchmark(
    backend: str,
    api_url: str,
    model_id: str,
    tokenizer: TinyTokenizer,
    input_requests: list[SampleRequest],
    logprobs: Optional[int],
    request_rate: float,
    burstiness: float,
    disable_tqdm: bool,
    selected_percentile_metrics: list[str],
    selected_percentiles: list[float],
    ignore_eos: bool,
    max_concurrency: Optional[int],
) -> dict[str, Any]:
    if backend in ASYNC_REQUEST_FUNCS:
        request_func = ASYNC_REQUEST_FUNCS[backend]
    else:
        raise ValueError(f"Unknown backend: {backend}")

    print("Starting initial single prompt test run...")
    test_request = input_requests[0]
    test_input = RequestFuncInput(
        model=model_id,
        prompt=test_request.prompt,
        api_url=api_url,
        prompt_len=test_request.prompt_len,
        output_len=test_request.expected_output_len,
        logprobs=logprobs,
        ignore_eos=ignore_eos,
    )
    test_output = request_func(request_func_input=test_input)
    if not test_output.success:
        raise ValueError(
            "Initial test run failed - Please make sure benchmark arguments "
            f"are correctly specified. Error: {test_output.error}"
        )
    else:
        print("Initial test run completed. Starting main benchmark run...")

    if burstiness == 1.0:
        distribution = "Poisson process"
    else:
        distribution = "Gamma distribution"

    print(f"Traffic request rate: {request_rate}")
    print(f"Burstiness factor: {burstiness} ({distribution})")
    print(f"Maximum request concurrency: {max_concurrency}")

    pbar = None if disable_tqdm else ProgressBar(total=len(input_requests))
    semaphore = threading.BoundedSemaphore(max_concurrency) if max_concurrency else None
    outputs: list[Optional[RequestFuncOutput]] = [None] * len(input_requests)

    def limited_request_func(index: int, request_func_input: RequestFuncInput) -> None:
        if semaphore is None:
            outputs[index] = request_func(request_func_input=request_func_input, pbar=pbar)
            return
        with semaphore:
            outputs[index] = request_func(request_func_input=request_func_input, pbar=pbar)

    benchmark_start_time = time.perf_counter()
    threads: list[threading.Thread] = []
    for index, request in enumerate(get_request(input_requests, request_rate, burstiness)):
        request_func_input = RequestFuncInput(
            model=model_id,
            prompt=request.prompt,
            api_url=api_url,
            prompt_len=request.prompt_len,
            output_len=request.expected_output_len,
            logprobs=logprobs,
            ignore_eos=ignore_eos,
        )
        thread = threading.Thread(target=limited_request_func, args=(index, request_func_input), daemon=True)
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()

    if pbar is not None:
        pbar.close()

    benchmark_duration = time.perf_counter() - benchmark_start_time
    finished = [output if output is not None else RequestFuncOutput(error="request thread died") for output in outputs]

    metrics, actual_output_lens = calculate_metrics(
        input_requests=input_requests,
        outputs=finished,
        dur_s=benchmark_duration,
        tokenizer=tokenizer,
        selected_percentiles=selected_percentiles,
    )

    print("{s:{c}^{n}}".format(s=" Serving Benchmark Result ", n=50, c="="))
    print("{:<40} {:<10}".format("Successful requests:", metrics.completed))
    print("{:<40} {:<10.2f}".format("Benchmark duration (s):", benchmark_duration))
    print("{:<40} {:<10}".format("Total input tokens:", metrics.total_input))
    print("{:<40} {:<10}".format("Total generated tokens:", metrics.total_output))
    print("{:<40} {:<10.2f}".format("Request throughput (req/s):", metrics.request_throughput))
    print("{:<40} {:<10.2f}".format("Output token throughput (tok/s):", metrics.output_throughput))
    print("{:<40} {:<10.2f}".format("Total Token throughput (tok/s):", metrics.total_token_throughput))

    result: dict[str, Any] = {
        "duration": benchmark_duration,
        "completed": metrics.completed,
        "total_input_tokens": metrics.total_input,
        "total_output_tokens": metrics.total_output,
        "request_throughput": metrics.request_throughput,
        "output_throughput": metrics.output_throughput,
        "total_token_throughput": metrics.total_token_throughput,
        "input_lens": [output.prompt_len for output in finished],
        "output_lens": actual_output_lens,
        "ttfts": [output.ttft for output in finished],
        "itls": [output.itl for output in finished],
        "generated_texts": [output.generated_text for output in finished],
        "errors": [output.error for output in finished],
    }

    def process_one_metric(metric_attribute_name: str, metric_name: str, metric_header: str) -> None:
        # Print and record the statistics of one metric, if it was selected.
        if metric_attribute_name not in selected_percentile_metrics:
            return
        print("{s:{c}^{n}}".format(s=metric_header, n=50, c="-"))
        print(
            "{:<40} {:<10.2f}".format(
                f"Mean {metric_name} (ms):",
                getattr(metrics, f"mean_{metric_attribute_name}_ms"),
            )
        )
        print(
            "{:<40} {:<10.2f}".format(
                f"Median {metric_name} (ms):",
                getattr(metrics, f"median_{metric_attribute_name}_ms"),
            )
        )
        result[f"mean_{metric_attribute_name}_ms"] = getattr(metrics, f"mean_{metric_attribute_name}_ms")
        result[f"median_{metric_attribute_name}_ms"] = getattr(metrics, f"median_{metric_attribute_name}_ms")
        result[f"std_{metric_attribute_name}_ms"] = getattr(metrics, f"std_{metric_attribute_name}_ms")
        for p, value in getattr(metrics, f"percentiles_{metric_attribute_name}_ms"):
            p_word = str(int(p)) if int(p) == p else str(p)
            print("{:<40} {:<10.2f}".format(f"P{p_word} {metric_name} (ms):", value))
            result[f"p{p_word}_{metric_attribute_name}_ms"] = value

    process_one_metric("ttft", "TTFT", "Time to First Token")
    process_one_metric("tpot", "TPOT", "Time per Output Token (excl. 1st token)")
    process_one_metric("itl", "ITL", "Inter-token Latency")
    process_one_metric("e2el", "E2EL", "End-to-end Latency")

    print("=" * 50)

    return result


def main(args: argparse.Namespace) -> None:
    print(args)
    random.seed(args.seed)

    backend = args.backend
    model_id = args.model
    tokenizer_id = args.tokenizer if args.tokenizer is not None else args.model

    if args.base_url is not None:
        api_url = f"{args.base_url}{args.endpoint}"
    else:
        api_url = f"http://{args.host}:{args.port}{args.endpoint}"

    tokenizer = get_tokenizer(tokenizer_id)

    if args.dataset_name == "random":
        input_requests = sample_random_requests(
            prefix_len=args.random_prefix_len,
            input_len=args.random_input_len,
            output_len=args.random_output_len,
            num_prompts=args.num_prompts,
            range_ratio=args.random_range_ratio,
            tokenizer=tokenizer,
        )
    else:
        raise ValueError(f"Unknown dataset: {args.dataset_name}")

    benchmark_result = benchmark(
        backend=backend,
        api_url=api_url,
        model_id=model_id,
        tokenizer=tokenizer,
        input_requests=input_requests,
        logprobs=args.logprobs,
        request_rate=args.request_rate,
        burstiness=args.burstiness,
        disable_tqdm=args.disable_tqdm,
        selected_percentile_metrics=args.percentile_metrics.split(","),
        selected_percentiles=[float(p) for p in args.metric_percentiles.split(",")],
        ignore_eos=args.ignore_eos,
        max_concurrency=args.max_concurrency,
    )

    # Save config and results to json
    if args.save_result:
        result_json: dict[str, Any] = {}

        # Setup
        current_dt = datetime.now().strftime("%Y%m%d-%H%M%S")
        result_json["date"] = current_dt
        result_json["backend"] = backend
        result_json["model_id"] = model_id
        result_json["tokenizer_id"] = tokenizer_id
        result_json["num_prompts"] = args.num_prompts

        # Metadata
        if args.metadata:
            for item in args.metadata:
                if "=" in item:
                    key, value = item.split("=", 1)
                    result_json[key.strip()] = value.strip()
                else:
                    raise ValueError("Invalid metadata format. Please use KEY=VALUE format.")

        # Traffic
        result_json["request_rate"] = args.request_rate if args.request_rate < float("inf") else "inf"
        result_json["burstiness"] = args.burstiness
        result_json["max_concurrency"] = args.max_concurrency

        # Merge with benchmark result
        result_json = {**result_json, **benchmark_result}

        # Save to file
        base_model_id = model_id.split("/")[-1]
        max_concurrency_str = f"-concurrency{args.max_concurrency}" if args.max_concurrency is not None else ""
        file_name = f"{backend}-{args.request_rate}qps{max_concurrency_str}-{base_model_id}-{current_dt}.json"
        if args.result_filename:
            file_name = args.result_filename
        if args.result_dir:
            file_name = os.path.join(args.result_dir, file_name)
        with open(file_name, "w", encoding="utf-8") as outfile:
            json.dump(result_json, outfile)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Benchmark the online serving throughput.")
    parser.add_argument("--backend", type=str, default="vllm", choices=list(ASYNC_REQUEST_FUNCS.keys()))
    parser.add_argument(
        "--base-url",
        type=str,
        default=None,
        help="Server or API base url if not using http host and port.",
    )
    parser.add_argument("--host", type=str, default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--endpoint", type=str, default="/v1/completions", help="API endpoint.")
    parser.add_argument(
        "--dataset-name",
        type=str,
        default="random",
        choices=["random"],
        help="Name of the dataset to benchmark on (tinyllm supports random prompts only).",
    )
    parser.add_argument(
        "--max-concurrency",
        type=int,
        default=None,
        help="Maximum number of concurrent requests. While --request-rate controls the rate at which "
        "requests are initiated, this argument controls how many are actually allowed to execute at a time.",
    )
    parser.add_argument("--model", type=str, required=True, help="Name of the model.")
    parser.add_argument("--tokenizer", type=str, help="Name of the tokenizer, if not the model's.")
    parser.add_argument("--num-prompts", type=int, default=1000, help="Number of prompts to process.")
    parser.add_argument(
        "--logprobs",
        type=int,
        default=None,
        help="Number of logprobs-per-token to compute & return as part of the request.",
    )
    parser.add_argument(
        "--request-rate",
        type=float,
        default=float("inf"),
        help="Number of requests per second. If this is inf, then all the requests are sent at time 0. "
        "Otherwise, we use Poisson process or gamma distribution to synthesize the request arrival times.",
    )
    parser.add_argument(
        "--burstiness",
        type=float,
        default=1.0,
        help="Burstiness factor of the request generation. Only takes effect when request_rate is not inf.",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--disable-tqdm", action="store_true", help="Specify to disable tqdm progress bar.")
    parser.add_argument("--save-result", action="store_true", help="Specify to save benchmark results to a json file")
    parser.add_argument(
        "--metadata",
        metavar="KEY=VALUE",
        nargs="*",
        help="Key-value pairs (e.g, --metadata version=0.3.3 tp=1) for metadata of this run to be saved in the result JSON file.",
    )
    parser.add_argument(
        "--result-dir",
        type=str,
        default=None,
        help="Specify directory to save benchmark json results. If not specified, results are saved in the current directory.",
    )
    parser.add_argument(
        "--result-filename",
        type=str,
        default=None,
        help="Specify the filename to save benchmark json results. If not specified, results will be saved in "
        "{backend}-{args.request_rate}qps-{base_model_id}-{current_dt}.json format.",
    )
    parser.add_argument(
        "--ignore-eos",
        action="store_true",
        help="Set ignore_eos flag when sending the benchmark request.",
    )
    parser.add_argument(
        "--percentile-metrics",
        type=str,
        default="ttft,tpot,itl",
        help="Comma-separated list of selected metrics to report percentiles. "
        'Allowed metric names are "ttft", "tpot", "itl", "e2el". Default value is "ttft,tpot,itl".',
    )
    parser.add_argument(
        "--metric-percentiles",
        type=str,
        default="99",
        help="Comma-separated list of percentiles for selected metrics. "
        'To report 25-th, 50-th, and 75-th percentiles, use "25,50,75". Default value is "99".',
    )

    random_group = parser.add_argument_group("random dataset options")
    random_group.add_argument(
        "--random-input-len",
        type=int,
        default=1024,
        help="Number of input tokens per request, used only for random sampling.",
    )
    random_group.add_argument(
        "--random-output-len",
        type=int,
        default=128,
        help="Number of output tokens per request, used only for random sampling.",
    )
    random_group.add_argument(
        "--random-range-ratio",
        type=float,
        default=1.0,
        help="Range of sampled ratio of input/output length, used only for random sampling.",
    )
    random_group.add_argument(
        "--random-prefix-len",
        type=int,
        default=0,
        help="Number of fixed prefix tokens before random context.",
    )

    main(parser.parse_args())
