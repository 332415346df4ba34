"""How fast patchbench.parsing reads a realistic run.log, and how much memory it needs.

A realistic log is mostly vLLM server output (request logs, access logs, engine
stats) with the benchmark's progress bars and one result table at the end. The
script writes such a log at two sizes, parses each on one core, and prints the
throughput (target: >= 50 MB/s) and the peak Python heap (tracemalloc) and
process RSS; the heap must stay flat as the log grows, since the parser streams.

    python benchmarks/parse_speed.py [--sizes 64 256] [--dir /tmp]
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

# Measure the parser of this checkout, not whichever patchbench is installed (a script's
# own folder, not the working directory, comes first on sys.path).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from patchbench.parsing import parse_file  # noqa: E402

_TABLE = """\
============ Serving Benchmark Result ============
Successful requests:                     1000
Failed requests:                         0
Benchmark duration (s):                  120.50
Total input tokens:                      1024000
Total generated tokens:                  128000
Request throughput (req/s):              8.30
Output token throughput (tok/s):         1062.24
Peak output token throughput (tok/s):    2100.00
Peak concurrent requests:                256.00
Total token throughput (tok/s):          9560.17
---------------Time to First Token----------------
Mean TTFT (ms):                          120.50
Median TTFT (ms):                        110.25
P99 TTFT (ms):                           450.75
-----Time per Output Token (excl. 1st token)------
Mean TPOT (ms):                          25.10
Median TPOT (ms):                        24.80
P99 TPOT (ms):                           40.20
---------------Inter-token Latency----------------
Mean ITL (ms):                           25.00
Median ITL (ms):                         24.00
P99 ITL (ms):                            60.00
==================================================
"""


_STARTUP = """\
(APIServer pid=4242) INFO 05-30 20:00:01 [api_server.py:1090] vLLM API server version 0.10.2
(APIServer pid=4242) INFO 05-30 20:00:01 [utils.py:326] non-default args: {'model': 'meta-llama/Llama-3.1-8B-Instruct'}
(EngineCore_DP0 pid=4300) INFO 05-30 20:00:20 [gpu_model_runner.py:2007] Model loading took 14.9889 GiB and 5.12 seconds
(EngineCore_DP0 pid=4300) INFO 05-30 20:00:31 [gpu_worker.py:276] Available KV cache memory: 52.34 GiB
(EngineCore_DP0 pid=4300) INFO 05-30 20:00:31 [kv_cache_utils.py:849] GPU KV cache size: 428,768 tokens
(EngineCore_DP0 pid=4300) WARNING 05-30 20:00:32 [cudagraph.py:10] Failed to capture one graph size; falling back
(APIServer pid=4242) INFO 05-30 20:00:40 [launcher.py:29] Available routes are: /health, /v1/models, /v1/completions
(APIServer pid=4242) INFO:     Application startup complete.
"""


def _server_line(rng: random.Random, i: int) -> str:
    stamp = f"05-30 20:{i // 60 % 60:02d}:{i % 60:02d}"
    kind = rng.random()
    if kind < 0.35:
        words = " ".join(
            rng.choice(("lorem", "ipsum", "dolor", "sit", "amet", "vllm")) for _ in range(rng.randint(5, 40))
        )
        return (
            f"(APIServer pid=4242) INFO {stamp} [logger.py:43] Received request cmpl-{i:016x}-0: prompt: '{words}', "
            "params: SamplingParams(n=1, temperature=0.0, top_p=1.0, max_tokens=128, ignore_eos=True), "
            f"prompt_token_ids: [128000, {i % 32000}, 1234, 55], lora_request: None."
        )
    if kind < 0.6:
        return f'(APIServer pid=4242) INFO:     127.0.0.1:{40000 + i % 20000} - "POST /v1/completions HTTP/1.1" 200 OK'
    if kind < 0.8:
        return f"(APIServer pid=4242) INFO {stamp} [async_llm.py:261] Added request cmpl-{i:016x}-0."
    if kind < 0.97:
        return (
            f"(APIServer pid=4242) INFO {stamp} [loggers.py:123] Engine 000: "
            f"Avg prompt throughput: {rng.uniform(0, 9e4):.1f} tokens/s, "
            f"Avg generation throughput: {rng.uniform(0, 3e3):.1f} tokens/s, "
            f"Running: {rng.randint(0, 256)} reqs, Waiting: 0 reqs, "
            f"GPU KV cache usage: {rng.uniform(0, 90):.1f}%, Prefix cache hit rate: 0.0%"
        )
    return f" {rng.randint(0, 99)}%|{'█' * rng.randint(0, 50)}| {i % 1000}/1000 [00:{i % 60:02d}<00:30, 33.21it/s]"


def write_log(path: Path, megabytes: int, seed: int = 0) -> int:
    """Write a realistic run.log of about ``megabytes`` MB; returns its size in bytes."""
    rng = random.Random(seed)
    target = megabytes * 1_000_000
    written = 0
    with open(path, "w", encoding="utf-8") as out:
        out.write("[patchbench] --- server output ---\n")
        out.write(_STARTUP)
        i = 0
        while written < target:
            block = "\n".join(_server_line(rng, i + k) for k in range(1000)) + "\n"
            out.write(block)
            written += len(block.encode())
            i += 1000
        out.write("[patchbench] --- benchmark output ---\n")
        out.write(_TABLE)
    return path.stat().st_size


def seconds_to_parse(path: Path) -> float:
    """Wall time of one parse of ``path`` (best of two, page cache warm)."""
    best = float("inf")
    for _ in range(2):
        start = time.perf_counter()
        result = parse_file(path)
        best = min(best, time.perf_counter() - start)
        assert result["status"] == "ok", result["failure"]
    return best


def peak_heap(path: Path) -> int:
    """Peak bytes Python allocated during one parse of ``path`` (tracemalloc slows it, so timed apart)."""
    tracemalloc.start()
    parse_file(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 256], help="log sizes in MB")
    parser.add_argument("--dir", type=Path, default=None, help="where to write the synthetic logs")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        for megabytes in args.sizes:
            path = Path(tmp) / f"run-{megabytes}MB.log"
            size = write_log(path, megabytes)
            seconds = seconds_to_parse(path)
            peak = peak_heap(path)
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(
                f"{size / 1e6:8.1f} MB  {seconds:6.2f} s  {size / 1e6 / seconds:7.1f} MB/s  "
                f"peak heap {peak / 2**20:6.1f} MiB  max RSS so far {rss:6.1f} MiB"
            )
            path.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
