"""The hostile agent of tests/hostile.py under the docker runtime: its containers keep every attack inside.

Its code runs in containers of its own image: no writable mount but the
container's own layer (the harness, datasets and Hugging Face cache are
read-only), a network of its own, every container removed when the leg ends.
"""

from __future__ import annotations

import pytest

from tests.docker.conftest import suite_containers
from tests.hostile import (
    check_no_trace,
    check_other_legs_clean,
    check_pinned_harness,
    metrics,
    run_hostile,
    token_leaks,
)


@pytest.fixture(scope="module")
def hostile(engine, tmp_path_factory):
    return run_hostile(tmp_path_factory.mktemp("hostile-docker"), runtime="docker")


def test_every_leg_ran_in_containers_and_measured(hostile):
    for leg in ("baseline", "human", "agent-mallory"):
        result = metrics(hostile, leg)
        assert result["status"] == "ok", result
        assert result["provenance"]["sandbox"].startswith("docker containers")


def test_the_attack_left_no_trace_outside_its_containers(engine, hostile):
    check_no_trace(hostile)
    assert suite_containers(engine, "hostile") == []


def test_the_other_legs_never_ran_the_agents_code(hostile):
    check_other_legs_clean(hostile)


def test_the_benchmark_the_patch_edited_is_not_what_measured_it(hostile):
    check_pinned_harness(hostile)


def test_the_token_is_nowhere_in_the_results(hostile):
    assert token_leaks(hostile) == []
