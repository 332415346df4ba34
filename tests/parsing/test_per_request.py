"""Per-request values from a serving client's saved result: derived as vLLM derives them, bounded, checked."""

from __future__ import annotations

import json

import pytest

from patchbench.parsing import per_request
from patchbench.parsing.per_request import values


def saved(n: int, **overrides):
    """A --save-result object of ``n`` requests: request i has TTFT (i+1) ms, 4 output tokens whose
    3 gaps are 10 ms each, and 100+i input tokens."""
    result = {
        "completed": n,
        "ttfts": [(i + 1) / 1000 for i in range(n)],
        "itls": [[0.01, 0.01, 0.01] for _ in range(n)],
        "input_lens": [100 + i for i in range(n)],
        "output_lens": [4] * n,
        "errors": [""] * n,
        "generated_texts": ["abcd"] * n,
    }
    return {**result, **overrides}


def test_each_request_has_vllms_own_definitions():
    got = values(saved(3), keep=10)
    assert got["requests"] == got["completed"] == got["kept"] == 3
    assert got["ttft_ms"] == [1.0, 2.0, 3.0]
    assert got["tpot_ms"] == [10.0, 10.0, 10.0]  # 30 ms of decoding over 3 tokens after the first
    assert got["e2el_ms"] == [31.0, 32.0, 33.0]  # first token, then the three gaps
    assert got["input_len"] == [100, 101, 102] and got["output_len"] == [4, 4, 4]
    assert "generated_texts" not in json.dumps(got)


def test_failed_requests_are_counted_not_kept():
    data = saved(3, errors=["", "Bad Gateway", ""], ttfts=[0.001, 0.0, 0.003], output_lens=[4, 0, 4])
    got = values(data, keep=10)
    assert (got["requests"], got["completed"], got["kept"]) == (3, 2, 2)
    assert got["ttft_ms"] == [1.0, 3.0]


def test_at_most_keep_values_evenly_spaced_first_and_last_included():
    got = values(saved(1001), keep=11)
    assert got["kept"] == 11 and got["requests"] == 1001
    assert got["ttft_ms"] == [float(1 + 100 * k) for k in range(11)]
    assert all(len(got[name]) == 11 for name in per_request.ARRAYS)


def test_one_token_outputs_have_no_tpot():
    got = values(saved(2, itls=[[], []], output_lens=[1, 1]), keep=5)
    assert got["tpot_ms"] == [None, None] and got["e2el_ms"] == [1.0, 2.0]


@pytest.mark.parametrize(
    "data, why",
    [
        ({"completed": 3}, "no per-request values"),  # saved without --save-detailed
        ([1, 2], "no per-request values"),
        (saved(3, itls=[[0.01]]), "itls does not have one entry per request (3)"),
    ],
)
def test_a_result_without_usable_arrays_says_why(data, why):
    assert why in values(data, keep=5)["absent"]


def test_values_that_are_not_numbers_are_not_kept():
    data = saved(3, ttfts=[0.001, "fast", float("nan")], itls=[[0.01, 0.01, 0.01], None, [0.01]])
    got = values(data, keep=5)
    assert got["kept"] == 1 and got["ttft_ms"] == [1.0]


def test_read_takes_the_one_json_file_of_the_folder(tmp_path):
    assert values(saved(2), 5) == per_request.read(_write(tmp_path, "result.json", json.dumps(saved(2))), 5)


def test_read_says_why_there_are_no_values(tmp_path):
    assert per_request.read(tmp_path, 5) == {"absent": "the client saved no result file"}
    _write(tmp_path, "a.json", "{}")
    _write(tmp_path, "b.json", "{}")
    assert per_request.read(tmp_path, 5) == {"absent": "the client saved 2 result files, not one"}


def test_a_truncated_or_binary_file_is_not_json(tmp_path):
    _write(tmp_path, "result.json", json.dumps(saved(2))[:40])
    assert per_request.read(tmp_path, 5)["absent"].startswith("the result file is not JSON")
    (tmp_path / "result.json").write_bytes(b"\x00\xff\xfe garbage")
    assert per_request.read(tmp_path, 5)["absent"].startswith("the result file is not JSON")


def test_a_file_too_large_is_not_read(tmp_path, monkeypatch):
    monkeypatch.setattr(per_request, "MAX_FILE_BYTES", 10)
    _write(tmp_path, "result.json", json.dumps(saved(2)))
    assert "more than 10 are not read" in per_request.read(tmp_path, 5)["absent"]


def test_a_link_is_not_followed(tmp_path):
    secret = tmp_path.parent / "elsewhere.json"
    secret.write_text(json.dumps(saved(2)))
    (tmp_path / "result.json").symlink_to(secret)
    assert per_request.read(tmp_path, 5) == {"absent": "the client saved no result file"}


def _write(folder, name, text):
    (folder / name).write_text(text)
    return folder
