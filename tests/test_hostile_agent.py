"""A hostile agent's patch under the local runtime, confined by bubblewrap: none of its attacks has an effect.

See tests/hostile.py for what the agent tries. CI installs bubblewrap, and the
suite asks for the sandbox (``sandbox.mode: required``, the default): a host
without one fails the agent's leg, and this test, rather than run it unconfined.
"""

from __future__ import annotations

import pytest

from tests.hostile import (
    check_no_trace,
    check_other_legs_clean,
    check_pinned_harness,
    metrics,
    run_hostile,
    token_leaks,
)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    return run_hostile(tmp_path_factory.mktemp("hostile-local"))


def test_every_leg_ran_confined_and_measured(hostile):
    for leg in ("baseline", "human", "agent-mallory"):
        result = metrics(hostile, leg)
        assert result["status"] == "ok", result
        assert result["provenance"]["sandbox"] == "bwrap"


def test_the_attack_left_no_trace_outside_its_own_leg(hostile):
    check_no_trace(hostile)


def test_the_other_legs_never_ran_the_agents_code(hostile):
    check_other_legs_clean(hostile)


def test_the_benchmark_the_patch_edited_is_not_what_measured_it(hostile):
    check_pinned_harness(hostile)


def test_the_token_is_nowhere_in_the_results(hostile):
    assert token_leaks(hostile) == []
