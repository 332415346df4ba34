"""ArraySquasher: arrays emptied, everything else kept, wherever the text is cut into pieces."""

from __future__ import annotations

import json

from patchbench.parsing.squash import ArraySquasher, squash

SAMPLE = json.dumps(
    {
        "completed": 3,
        "itls": [[0.01, 0.02], [], [0.5]],
        "generated_texts": ['a "quoted" ] text', "back\\slash [", "é"],
        "note": 'kept [not an array] \\ "',
        "nested": {"percentiles": [1, 2], "x": 1},
        "mean_ttft_ms": 12.5,
    }
)
EXPECTED = (
    '{"completed": 3, "itls": [], "generated_texts": [], "note": "kept [not an array] \\\\ \\"", '
    '"nested": {"percentiles": [], "x": 1}, "mean_ttft_ms": 12.5}'
)


def test_squash_whole_line() -> None:
    assert squash(SAMPLE) == EXPECTED
    assert json.loads(EXPECTED)["note"] == 'kept [not an array] \\ "'


def test_squash_cut_anywhere_into_three_pieces() -> None:
    for first in range(len(SAMPLE) + 1):
        for second in range(first, len(SAMPLE) + 1, 7):
            squasher = ArraySquasher()
            pieces = (SAMPLE[:first], SAMPLE[first:second], SAMPLE[second:])
            assert "".join(squasher.feed(piece) for piece in pieces) == EXPECTED, (first, second)
