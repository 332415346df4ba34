"""vLLM benchmark output written the way vLLM's own code writes it (see ../shared/docs/vllm-output-formats.md).

The tests build their inputs with these so a case reads as "the 2025-07 table
with a traceback after it" rather than as fifty lines of text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = REPO_ROOT / ".." / "shared" / "fixtures" / "vllm-outputs"

Row = tuple[str, object]


def row(label: str, value: object) -> str:
    """A table row: label left-justified to 40, a space, value padded to 10 (trailing spaces kept)."""
    return f"{label:<40} {value:<10}"


def title(text: str, fill: str) -> str:
    """A rule with centred text: the table title (``=``) or a section header (``-``)."""
    return "{s:{c}^{n}}".format(s=text, n=50, c=fill)


def table(*sections: tuple[str | None, Iterable[Row]], end: bool = True) -> list[str]:
    """The boxed "Serving Benchmark Result" table (2024-03+): (section title or None, rows)..."""
    lines = [title(" Serving Benchmark Result ", "=")]
    for header, rows in sections:
        if header is not None:
            lines.append(title(header, "-"))
        lines.extend(row(label, value) for label, value in rows)
    if end:
        lines.append("=" * 50)
    return lines


SUMMARY_2024_06: list[Row] = [
    ("Successful requests:", 1000),
    ("Benchmark duration (s):", "339.37"),
    ("Total input tokens:", 217393),
    ("Total generated tokens:", 81299),
    ("Request throughput (req/s):", "2.95"),
    ("Input token throughput (tok/s):", "640.58"),
    ("Output token throughput (tok/s):", "239.56"),
]


def stat_rows(name: str, mean: str, median: str, percentiles: dict[str, str]) -> list[Row]:
    """Mean/Median/P<p> rows of one metric (TTFT, TPOT, ITL, E2EL …)."""
    rows: list[Row] = [(f"Mean {name} (ms):", mean), (f"Median {name} (ms):", median)]
    rows += [(f"P{p} {name} (ms):", value) for p, value in percentiles.items()]
    return rows


TTFT = ("Time to First Token", stat_rows("TTFT", "26.56", "20.00", {"99": "132.56"}))
TPOT = ("Time per Output Token (excl. 1st token)", stat_rows("TPOT", "31.55", "28.21", {"99": "53.48"}))
ITL = ("Inter-token Latency", stat_rows("ITL", "28.19", "24.31", {"99": "127.23"}))
LATENCIES_2024_06 = {
    "mean_ttft_ms": 26.56,
    "median_ttft_ms": 20.0,
    "p99_ttft_ms": 132.56,
    "mean_tpot_ms": 31.55,
    "median_tpot_ms": 28.21,
    "p99_tpot_ms": 53.48,
    "mean_itl_ms": 28.19,
    "median_itl_ms": 24.31,
    "p99_itl_ms": 127.23,
}
SUMMARY_2024_06_METRICS = {
    "completed": 1000,
    "duration": 339.37,
    "total_input_tokens": 217393,
    "total_output_tokens": 81299,
    "request_throughput": 2.95,
    "input_throughput": 640.58,
    "output_throughput": 239.56,
}


def table_2024_06(end: bool = True) -> list[str]:
    """The v0.5.0 table (ITL section added, input token throughput still printed)."""
    return table((None, SUMMARY_2024_06), TTFT, TPOT, ITL, end=end)


def serving_s0(total_time: str = "166.88") -> list[str]:
    """2023 serving output: Namespace, then five "X: value s" lines."""
    return [
        "Namespace(backend='vllm', dataset='sharegpt.json', host='localhost', port=8001, request_rate=inf, seed=0)",
        f"Total time: {total_time} s",
        "Throughput: 5.99 requests/s",
        "Average latency: 67.59 s",
        "Average latency per token: 0.21 s",
        "Average latency per output token: 1.10 s",
    ]


def serving_s1(successful: int = 1000) -> list[str]:
    """2024-02 unboxed serving output (a4211a4dc)."""
    return [
        "Traffic request rate: inf",
        "100%|██████████| 1000/1000 [00:12<00:00, 81.00it/s]",
        f"Successful requests: {successful}",
        "Benchmark duration: 12.345678 s",
        "Total input tokens: 217393",
        "Total generated tokens: 81299",
        "Request throughput: 81.00 requests/s",
        "Input token throughput: 17609.80 tokens/s",
        "Output token throughput: 6585.43 tokens/s",
        "Mean TTFT: 26.56 ms",
        "Median TTFT: 20.00 ms",
        "P99 TTFT: 132.56 ms",
        "Mean TPOT: 31.55 ms",
        "Median TPOT: 28.21 ms",
        "P99 TPOT: 53.48 ms",
    ]


def latency_2024(avg: float = 1.5, percentiles: Iterable[int] = (10, 25, 50, 75, 90, 99)) -> list[str]:
    """Latency output since 2024-04 (unrounded floats, seconds)."""
    lines = ["Warmup iterations: 100%|██████████| 10/10 [00:15<00:00,  1.50s/it]"]
    lines.append("Profiling iterations: 100%|██████████| 30/30 [00:45<00:00,  1.50s/it]")
    lines.append(f"Avg latency: {avg} seconds")
    lines.extend(f"{p}% percentile latency: {avg + p / 1000} seconds" for p in percentiles)
    return lines


def server_log(count: int) -> list[str]:
    """Ordinary vLLM server lines (request logs, access logs, engine stats)."""
    lines = []
    for i in range(count):
        lines.append(
            f"(APIServer pid=7) INFO 05-30 20:38:{i % 60:02d} [logger.py:43] Received request cmpl-{i}: prompt: 'x'"
        )
        lines.append(f'(APIServer pid=7) INFO:     127.0.0.1:{50000 + i} - "POST /v1/completions HTTP/1.1" 200 OK')
        lines.append(
            "(APIServer pid=7) INFO 05-30 20:38:10 [loggers.py:123] Engine 000: Avg prompt throughput: 2997.0 tokens/s, "
            "Avg generation throughput: 224.9 tokens/s, Running: 20 reqs, Waiting: 0 reqs, GPU KV cache usage: 5.2%"
        )
    return lines


def traceback(
    exception: str, files: Iterable[str] = ("/app/benchmarks/benchmark_serving.py",), prefix: str = ""
) -> list[str]:
    """A Python traceback through ``files`` ending in ``exception``, each line after ``prefix``."""
    lines = ["Traceback (most recent call last):"]
    for path in files:
        lines += [f'  File "{path}", line 42, in main', "    run(args)"]
    lines.append(exception)
    return [prefix + line for line in lines]


def serving_json(**extra: object) -> str:
    """A one-line --save-result object (2024-10 keys) plus ``extra``."""
    result: dict[str, object] = {
        "date": "20241101-120000",
        "backend": "vllm",
        "model_id": "meta-llama/Llama-3.1-8B",
        "num_prompts": 100,
        "request_rate": "inf",
        "burstiness": 1.0,
        "max_concurrency": None,
        "duration": 12.5,
        "completed": 100,
        "total_input_tokens": 1000,
        "total_output_tokens": 2000,
        "request_throughput": 8.0,
        "request_goodput:": None,
        "output_throughput": 160.0,
        "total_token_throughput": 240.0,
        "input_lens": [10] * 100,
        "ttfts": [0.01] * 100,
        "itls": [[0.002, 0.003]] * 100,
        "generated_texts": ['a "quoted" {brace} [bracket] text'] * 100,
        "errors": [""] * 100,
        "mean_ttft_ms": 10.0,
        "median_ttft_ms": 9.5,
        "std_ttft_ms": 1.25,
        "p99_ttft_ms": 20.0,
    }
    result.update(extra)
    return json.dumps(result)
