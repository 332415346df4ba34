"""Every label and JSON key vLLM's benchmarks ever printed, and its canonical name.

One table instead of a regex per label: a new vLLM row is one new entry, and
docs/metrics.md can list exactly what is here. Text labels are looked up
lower-cased with whitespace collapsed (so "Total Token throughput" of 2024 and
"Total token throughput" of 2025-12 are one entry), and a leading percentile
("P99.9 TTFT (ms)", "90% percentile latency") is matched through a ``{p}``
placeholder so that any percentile vLLM prints maps without a new entry.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

SERVING = "serving"
LATENCY = "latency"
THROUGHPUT = "throughput"

# Families say which kind of result block a text row belongs to.
SERVING_ROW = "serving"  # S1 lines and S2+ table rows
SERVING_SETUP = "setup"  # pre-run lines: belong to the next serving result
SERVING_2023 = "serving-s0"
LATENCY_ROW = "latency"
THROUGHPUT_ROW = "throughput"
THROUGHPUT_LINE = "throughput-line"  # "Throughput: <n> <unit>, ...": its units decide

MS_PER_S = 1000.0


@dataclass(frozen=True)
class Label:
    """What a printed row means: its canonical key, block family and unit factor."""

    key: str
    family: str
    scale: float = 1.0  # printed value × scale = value in the canonical unit
    in_table: bool = True  # a setup line that is also a table row (2025-07+)


# Statistic rows: "<stat> <metric> (ms)" (2024-03+) and "<stat> <metric>" (S1, 2024-02).
_STATS = ("mean", "median", "p{p}")
_METRICS = {
    "ttft": "ttft",
    "tpot": "tpot",
    "itl": "itl",
    "e2el": "e2el",
    "client queue time": "client_queue_time",
    "e2el incl. client queue": "e2el_including_client_queue",
}

_SERVING_ROWS = {
    "successful requests": "completed",
    "failed requests": "failed",
    "request rate configured (rps)": "request_rate",
    "benchmark duration (s)": "duration",
    "benchmark duration": "duration",  # S1: "Benchmark duration: 12.345678 s"
    "total input tokens": "total_input_tokens",
    "total generated tokens": "total_output_tokens",
    "request throughput (req/s)": "request_throughput",
    "request throughput": "request_throughput",  # S1: "X requests/s"
    "request goodput (req/s)": "request_goodput",
    "input token throughput (tok/s)": "input_throughput",
    "input token throughput": "input_throughput",  # S1: "X tokens/s"
    "output token throughput (tok/s)": "output_throughput",
    "output token throughput": "output_throughput",
    "total token throughput (tok/s)": "total_token_throughput",
    "peak output token throughput (tok/s)": "max_output_tokens_per_s",
    "peak concurrent requests": "max_concurrent_requests",
    "input throughput (inputs/s)": "input_sequence_throughput",
    "rtfx (inverse real-time factor)": "rtfx",
    "probe requests completed": "probe_completed",
    "probe requests failed": "probe_failed",
    "median probe e2el (ms)": "probe_median_e2el_ms",
    "p{p} probe e2el (ms)": "probe_p{p}_e2el_ms",
    "max probe e2el (ms)": "probe_max_e2el_ms",
    "acceptance rate (%)": "spec_decode_acceptance_rate",
    "acceptance length": "spec_decode_acceptance_length",
    "drafts": "spec_decode_num_drafts",
    "draft tokens": "spec_decode_draft_tokens",
    "accepted tokens": "spec_decode_accepted_tokens",
    "committed throughput (tok/s)": "diffusion_committed_throughput",
    "denoising steps per canvas": "diffusion_steps_per_canvas",
    "committed per denoising step": "diffusion_committed_per_step",
    "committed tokens": "diffusion_committed_tokens",
    "denoising steps": "diffusion_denoising_steps",
    "canvas positions evaluated": "diffusion_canvas_positions",
}
# Printed before a result starts; (key, also a row of the 2025-07+ table).
_SETUP_ROWS = {
    "traffic request rate": ("request_rate", False),
    "maximum request concurrency": ("max_concurrency", True),
}
# S0 (2023): seconds everywhere; the latencies become milliseconds here.
_SERVING_2023_ROWS = {
    "total time": ("duration", 1.0),
    "average latency": ("mean_e2el_ms", MS_PER_S),
    "average latency per token": ("mean_latency_per_token_ms", MS_PER_S),
    "average latency per output token": ("mean_latency_per_output_token_ms", MS_PER_S),
}
_LATENCY_ROWS = {
    "avg latency": ("latency_avg_ms", MS_PER_S),
    "std latency": ("latency_std_ms", MS_PER_S),  # 2026 (vllm/benchmarks/latency.py at 00cae0753)
    "{p}% percentile latency": ("latency_p{p}_ms", MS_PER_S),
}
_THROUGHPUT_ROWS = {
    "total num prompt tokens": "total_num_prompt_tokens",
    "total num output tokens": "total_num_output_tokens",
}


def _text_labels() -> dict[str, Label]:
    table = {label: Label(key, SERVING_ROW) for label, key in _SERVING_ROWS.items()}
    for stat in _STATS:
        for metric_label, metric_key in _METRICS.items():
            label = Label(f"{stat}_{metric_key}_ms", SERVING_ROW)
            table[f"{stat} {metric_label} (ms)"] = label
            table[f"{stat} {metric_label}"] = label
    table.update(
        {label: Label(key, SERVING_SETUP, in_table=in_table) for label, (key, in_table) in _SETUP_ROWS.items()}
    )
    table.update({label: Label(key, SERVING_2023, scale) for label, (key, scale) in _SERVING_2023_ROWS.items()})
    table.update({label: Label(key, LATENCY_ROW, scale) for label, (key, scale) in _LATENCY_ROWS.items()})
    table.update({label: Label(key, THROUGHPUT_ROW) for label, key in _THROUGHPUT_ROWS.items()})
    table["throughput"] = Label("tokens_per_second", THROUGHPUT_LINE)
    return table


TEXT_LABELS: dict[str, Label] = _text_labels()

# "Throughput: ..." is printed by S0 serving (requests/s only) and by every
# throughput benchmark (requests/s and/or tokens/s); the units tell them apart.
THROUGHPUT_UNITS = {
    "requests/s": "requests_per_second",
    "tokens/s": "tokens_per_second",  # 2023-2024: total (prompt + output) tokens
    "total tokens/s": "tokens_per_second",
    "output tokens/s": "output_tokens_per_second",
}
_THROUGHPUT_VALUE = re.compile(r"(\S+)\s+((?:total |output )?(?:requests|tokens)/s)")

# The first four characters (lower-cased) a label line can start with: the
# scanner's cheap pre-filter. Labels that start with a percentile ("P99 …",
# "90% …") are let through by their first character instead.
TEXT_HEADS: frozenset[str] = frozenset(label[:4] for label in TEXT_LABELS if "{" not in label[:4])

_LEADING_PERCENTILE = re.compile(r"(p?)(\d+(?:\.\d+)?)(?=%| )")

# Keys whose values are counts: reported as int when the printed value is whole.
COUNT_KEYS = frozenset(
    {
        "completed",
        "failed",
        "total_input_tokens",
        "total_output_tokens",
        "total_input_sequences",
        "max_concurrency",
        "max_concurrent_requests",
        "total_num_prompt_tokens",
        "total_num_output_tokens",
        "num_requests",
        "total_num_tokens",
        "probe_completed",
        "probe_failed",
        "spec_decode_num_drafts",
        "spec_decode_draft_tokens",
        "spec_decode_accepted_tokens",
        "diffusion_committed_tokens",
        "diffusion_denoising_steps",
        "diffusion_canvas_positions",
    }
)


def percentile_word(text: str) -> str:
    """A percentile as vLLM writes it in keys: "99", "99.9" (never "99.0")."""
    value = float(text)
    return str(int(value)) if value.is_integer() else str(value)


def lookup_label(label: str) -> tuple[str, Label] | None:
    """``(canonical key, label)`` for a printed label (text before the colon), or None."""
    norm = " ".join(label.lower().split())
    found = TEXT_LABELS.get(norm)
    if found is not None:
        return found.key, found
    match = _LEADING_PERCENTILE.match(norm)
    if match is None:
        return None
    found = TEXT_LABELS.get(f"{match[1]}{{p}}{norm[match.end() :]}")
    if found is None:
        return None
    return found.key.format(p=percentile_word(match[2])), found


def parse_number(text: str) -> float | None:
    """The number in ``text`` (first word only), or None if there is none.

    Non-finite values (``inf`` request rate, ``nan`` of an empty sample) come
    back as float inf/nan; callers drop them because JSON cannot carry them.
    """
    words = text.split(None, 1)
    if not words:
        return None
    try:
        return float(words[0])
    except ValueError:
        return None


def canonical_value(key: str, value: float) -> float | int:
    """``value`` as it belongs in metrics: counts as int, everything else float."""
    if key in COUNT_KEYS and value.is_integer():
        return int(value)
    return float(value)


def is_reportable(value: float | None) -> bool:
    """Whether a parsed value can go into metrics (a finite number)."""
    return value is not None and math.isfinite(value)


def parse_throughput_line(value: str) -> dict[str, float]:
    """``{key: value}`` of a "Throughput:" line's "<number> <unit>" pairs."""
    found: dict[str, float] = {}
    for number, unit in _THROUGHPUT_VALUE.findall(value):
        parsed = parse_number(number)
        if parsed is not None:
            found[THROUGHPUT_UNITS[unit]] = parsed
    return found


# --- JSON result files -------------------------------------------------------

# Serving --save-result keys kept as they are (vLLM's own names are canonical).
SERVING_JSON_KEYS = frozenset(
    {
        "completed",
        "failed",
        "duration",
        "total_input_tokens",
        "total_output_tokens",
        "total_input_sequences",
        "request_throughput",
        "request_goodput",
        "input_throughput",
        "output_throughput",
        "total_token_throughput",
        "input_sequence_throughput",
        "max_output_tokens_per_s",
        "max_concurrent_requests",
        "max_concurrency",
        "request_rate",
        "rtfx",
        "probe_completed",
        "probe_failed",
        "probe_median_e2el_ms",
        "probe_max_e2el_ms",
        "spec_decode_acceptance_rate",
        "spec_decode_acceptance_length",
        "spec_decode_num_drafts",
        "spec_decode_draft_tokens",
        "spec_decode_accepted_tokens",
        "diffusion_committed_throughput",
        "diffusion_steps_per_canvas",
        "diffusion_committed_per_step",
        "diffusion_committed_tokens",
        "diffusion_denoising_steps",
        "diffusion_canvas_positions",
    }
)
# Historical spellings: a typo of Feb-Mar 2024 and a stray colon of 2024-10 .. 2025-07.
SERVING_JSON_ALIASES = {"request_inthroughput": "request_throughput", "request_goodput:": "request_goodput"}
# mean_/median_/std_/pNN_ × any metric × _ms, and the probe percentiles.
_SERVING_JSON_STAT = re.compile(r"(?:mean|median|std|p(\d+(?:\.\d+)?))_[a-z0-9_]+_ms|probe_p(\d+(?:\.\d+)?)_e2el_ms")
# The request latency statistics every serving result has had since 2024-02 (TTFT, TPOT,
# ITL, E2EL): enough to tell a result file trimmed to them (vllm-ascend's nightly files).
_REQUEST_LATENCY_STAT = re.compile(r"(?:mean|median|std|p\d+(?:\.\d+)?)_(?:ttft|tpot|itl|e2el)_ms")

LATENCY_JSON_KEYS = {"avg_latency": "latency_avg_ms", "std_latency": "latency_std_ms"}
LATENCY_JSON_PERCENTILE = re.compile(r"percentiles\.(\d+(?:\.\d+)?)")
THROUGHPUT_JSON_KEYS = frozenset(
    {
        "requests_per_second",
        "tokens_per_second",
        "output_tokens_per_second",
        "total_num_prompt_tokens",
        "total_num_output_tokens",
        "elapsed_time",
        "num_requests",
        "total_num_tokens",
    }
)


def serving_json_key(key: str) -> tuple[str, float] | None:
    """``(canonical key, scale)`` of a serving JSON key, or None if it is not a metric."""
    key = SERVING_JSON_ALIASES.get(key, key)
    if key in SERVING_JSON_KEYS:
        return key, 1.0
    match = _SERVING_JSON_STAT.fullmatch(key)
    if match is None:
        return None
    percentile = match[1] or match[2]
    if percentile:
        key = key.replace(f"p{percentile}_", f"p{percentile_word(percentile)}_", 1)
    return key, 1.0


def is_request_latency_stat(key: str) -> bool:
    """Whether ``key`` is a serving result's TTFT/TPOT/ITL/E2EL statistic (``p99_itl_ms``)."""
    return _REQUEST_LATENCY_STAT.fullmatch(key) is not None


def latency_json_key(key: str) -> tuple[str, float] | None:
    """``(canonical key, scale)`` of a latency --output-json key: seconds become ms."""
    if key in LATENCY_JSON_KEYS:
        return LATENCY_JSON_KEYS[key], MS_PER_S
    match = LATENCY_JSON_PERCENTILE.fullmatch(key)
    return (f"latency_p{percentile_word(match[1])}_ms", MS_PER_S) if match else None


def throughput_json_key(key: str) -> tuple[str, float] | None:
    """``(canonical key, scale)`` of a throughput --output-json key."""
    return (key, 1.0) if key in THROUGHPUT_JSON_KEYS else None
