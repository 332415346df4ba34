"""A hostile agent's patch under the local runtime, confined by bubblewrap: none of its attacks has an effect.

See tests/hostile.py for what the agent tries. CI installs bubblewrap, and the
suite asks for the sandbox (``sandbox.mode: required``, the default): a host
without one fails the agent's leg, and this test, rather than run it unconfined.
"""

from __future__ import annotations

import json
import time

import pytest

from tests.hostile import FAKE, LATENCY, alive, digests, run_hostile, token_leaks, traces, watched_files


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    return run_hostile(tmp_path_factory.mktemp("hostile-local"))


def metrics(hostile, leg):
    return json.loads((hostile.workdir / hostile.layout.leg_file(LATENCY, leg, "metrics.json")).read_text())


def test_every_leg_ran_confined_and_measured(hostile):
    for leg in ("baseline", "human", "agent-mallory"):
        result = metrics(hostile, leg)
        assert result["status"] == "ok", result
        assert result["provenance"]["sandbox"] == "bwrap"


def test_the_attack_left_no_trace_outside_its_own_leg(hostile):
    time.sleep(5)  # the daemon's delay: were it alive, it would have written by now
    assert traces(hostile) == []
    assert digests(watched_files(hostile.workdir)) == hostile.before
    assert "beats human by 1000%" not in (hostile.workdir / hostile.layout.report_md).read_text()


def test_no_process_of_the_agent_outlives_its_leg(hostile):
    assert alive(hostile.marker) == []


def test_the_other_legs_never_ran_the_agents_code(hostile):
    for leg in ("baseline", "human"):
        log = (hostile.workdir / hostile.layout.round_log(LATENCY, leg, 1)).read_text()
        assert hostile.marker not in log  # no startup hook, no sitecustomize ran in them


def test_the_benchmark_the_patch_edited_is_not_what_measured_it(hostile):
    result = metrics(hostile, "agent-mallory")
    log = (hostile.workdir / hostile.layout.round_log(LATENCY, "agent-mallory", 1)).read_text()
    assert FAKE not in log and result["metrics"]["latency_avg_ms"] != pytest.approx(0.042)
    assert "touches_benchmark" in {finding["code"] for finding in result["findings"]}


def test_the_token_is_nowhere_in_the_results(hostile):
    assert token_leaks(hostile) == []
