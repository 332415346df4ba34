"""The hostile agent of tests/hostile.py under the docker runtime: its containers keep every attack inside.

Its code runs in containers of its own image: no writable mount but the
container's own layer (the harness, datasets and Hugging Face cache are
read-only), a network of its own, every container removed when the leg ends.
"""

from __future__ import annotations

import json
import time

import pytest

from tests.docker.conftest import suite_containers
from tests.hostile import FAKE, LATENCY, alive, digests, run_hostile, token_leaks, traces, watched_files


@pytest.fixture(scope="module")
def hostile(engine, tmp_path_factory):
    return run_hostile(tmp_path_factory.mktemp("hostile-docker"), runtime="docker")


def metrics(hostile, leg):
    return json.loads((hostile.workdir / hostile.layout.leg_file(LATENCY, leg, "metrics.json")).read_text())


def test_every_leg_ran_in_containers_and_measured(hostile):
    for leg in ("baseline", "human", "agent-mallory"):
        result = metrics(hostile, leg)
        assert result["status"] == "ok", result
        assert result["provenance"]["sandbox"].startswith("docker containers")


def test_the_attack_left_no_trace_outside_its_containers(engine, hostile):
    time.sleep(5)  # the daemon's delay
    assert traces(hostile) == []
    assert digests(watched_files(hostile.workdir)) == hostile.before
    assert "beats human by 1000%" not in (hostile.workdir / hostile.layout.report_md).read_text()
    assert alive(hostile.marker) == [] and suite_containers(engine, "hostile") == []


def test_the_other_legs_never_ran_the_agents_code(hostile):
    for leg in ("baseline", "human"):
        assert hostile.marker not in (hostile.workdir / hostile.layout.round_log(LATENCY, leg, 1)).read_text()


def test_the_benchmark_the_patch_edited_is_not_what_measured_it(hostile):
    result = metrics(hostile, "agent-mallory")
    log = (hostile.workdir / hostile.layout.round_log(LATENCY, "agent-mallory", 1)).read_text()
    assert FAKE not in log and result["metrics"]["latency_avg_ms"] != pytest.approx(0.042)
    assert "touches_benchmark" in {finding["code"] for finding in result["findings"]}


def test_the_token_is_nowhere_in_the_results(hostile):
    assert token_leaks(hostile) == []
