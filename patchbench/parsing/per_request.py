"""Per-request values of one serving pass, from the file its client saved (``--save-result``).

vLLM saves, per request, ``ttfts`` (seconds), ``itls`` (a list of seconds:
the gaps between streamed chunks), ``input_lens``, ``output_lens`` and
``errors`` ("" for a request that completed). Its own aggregates follow from
them: a request's end-to-end latency is its TTFT plus its ITLs (the client
takes both from the same timestamps), and its TPOT is its ITLs' sum over
``output_len - 1`` tokens. Those are kept for the requests that completed,
in milliseconds, at most ``keep`` of each, evenly spaced over the pass (not
its first ones: the first requests of a pass meet an engine warming up), with
how many there were.

The file comes from the measuring harness, but what it holds is checked like
any input: a file too large, not JSON, or without per-request arrays gives
the reason instead of values.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

# A result file with every generated text of a long run can be hundreds of MB; past this it is not read.
MAX_FILE_BYTES = 512 * 1024 * 1024
ARRAYS = ("ttft_ms", "tpot_ms", "e2el_ms", "input_len", "output_len")


def read(folder: Path, keep: int) -> dict[str, Any]:
    """The bounded per-request values of the one result file in ``folder``, or ``{"absent": why}``."""
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.is_symlink() and p.suffix == ".json")
    if len(files) != 1:
        found = "no result file" if not files else f"{len(files)} result files, not one"
        return {"absent": f"the client saved {found}"}
    try:
        size = files[0].stat().st_size
        if size > MAX_FILE_BYTES:
            return {"absent": f"the result file has {size} bytes, more than {MAX_FILE_BYTES} are not read"}
        text = files[0].read_bytes()
    except OSError as exc:  # a container's client wrote it as its own user, unreadable to ours
        return {"absent": f"the result file cannot be read: {exc.strerror}"}
    try:
        saved = json.loads(text)
    except ValueError as exc:  # UnicodeDecodeError included
        return {"absent": f"the result file is not JSON: {exc}"}
    return values(saved, keep)


def values(saved: Any, keep: int) -> dict[str, Any]:
    """The per-request values of a saved result (a JSON object), at most ``keep`` of each."""
    if not isinstance(saved, dict) or not isinstance(saved.get("ttfts"), list):
        return {"absent": "the result file has no per-request values (no ttfts)"}
    ttfts, count = saved["ttfts"], len(saved["ttfts"])
    columns = {key: saved.get(key) for key in ("itls", "input_lens", "output_lens", "errors")}
    for key, column in columns.items():
        if column is not None and (not isinstance(column, list) or len(column) != count):
            return {"absent": f"the result file's {key} does not have one entry per request ({count})"}
    rows = []
    for i in range(count):
        row = _request(ttfts[i], *(column[i] if column is not None else None for column in columns.values()))
        if row is not None:
            rows.append(row)
    kept = [rows[i] for i in _spaced(len(rows), keep)]
    return {
        "requests": count,
        "completed": len(rows),
        "kept": len(kept),
        **{name: [row[n] for row in kept] for n, name in enumerate(ARRAYS)},
    }


def _request(ttft: Any, itls: Any, input_len: Any, output_len: Any, error: Any) -> tuple[Any, ...] | None:
    """One completed request's values (ms, rounded to µs), or None (failed, or not numbers)."""
    if error or not _number(ttft) or ttft <= 0:
        return None
    gaps = itls if isinstance(itls, list) and all(_number(g) for g in itls) else None
    out = output_len if isinstance(output_len, int) and not isinstance(output_len, bool) else None
    decode = sum(gaps) if gaps is not None else None
    tpot = decode / (out - 1) if decode is not None and out is not None and out > 1 else None
    e2el = ttft + decode if decode is not None else None
    length = input_len if isinstance(input_len, int) and not isinstance(input_len, bool) else None
    return (_ms(ttft), _ms(tpot), _ms(e2el), length, out)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)


def _spaced(total: int, keep: int) -> list[int]:
    """``keep`` indices evenly spaced over ``range(total)``, first and last included; all when fewer."""
    if total <= keep:
        return list(range(total))
    if keep == 1:
        return [0]
    return [round(i * (total - 1) / (keep - 1)) for i in range(keep)]
