"""Image resolution against the real engine: present, pulled, built, derived for agents, missing; and cleanup."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import docker.errors
import pytest

from patchbench.results import metrics, summary
from tests.docker.conftest import BASE_IMAGE, TEST_REPOSITORY

PRINT_APP = {"benchmark_type": "latency", "argv": ["python", "benchmarks/run_app.py"]}


def exists(engine, name: str) -> bool:
    try:
        engine.images.get(name)
        return True
    except docker.errors.ImageNotFound:
        return False


def owned(suite) -> dict:
    path = Path("results") / suite.name / ".docker" / "images.json"
    return json.loads(path.read_text()).get("images", {}) if path.exists() else {}


def legresult_of(suite, leg) -> dict:
    """The leg's metrics.json as its metrics stage builds it."""
    where = suite.leg_dir(leg)
    params = suite.plan().metrics_params(leg)
    return metrics.build(
        params, spec=where.parent / "spec.json", image_tag=where / "image.tag", run_logs=[where / "run.log"]
    )


def recorded(suite, leg) -> tuple[dict, dict]:
    """The leg's provenance["image"] and its summary row."""
    result = legresult_of(suite, leg)
    (row,) = summary.leg_rows([result])
    return result["provenance"]["image"], row


def gb(size_bytes: int) -> float:
    return size_bytes / 1e9


def test_present_image_is_used_as_it_is_and_never_removed(engine, suite):
    suite.overrides = {"container": {"images": {"human": BASE_IMAGE}}, "docker": {"build": False}}
    human = suite.leg("human")
    tag = suite.prepare(human)
    assert tag["status"] == "ok" and tag["image"] == BASE_IMAGE
    assert tag["digest"] == engine.images.get(BASE_IMAGE).id
    assert owned(suite) == {}  # it was on the host before: not the suite's to remove
    run = suite.run(human, {"benchmark_type": "latency", "argv": ["python", "-c", "print('ran')"]})
    assert run.outcome == "ok" and "ran" in run.text
    assert exists(engine, BASE_IMAGE)
    image, row = recorded(suite, human)
    assert image["image"] == row["image"] == BASE_IMAGE
    assert image["image_pulled"] is False and row["image_pulled"] is False
    assert image["disk_gb"] == row["disk_peak_gb"] == 0.0  # the suite brought nothing onto the host


def test_missing_image_names_what_was_tried_and_does_not_wait_for_an_offline_registry(suite):
    unreachable = f"127.0.0.1:9/{TEST_REPOSITORY}/nothing:{{commit12}}"
    suite.overrides = {"container": {"images": {"human": unreachable}}, "docker": {"build": False, "pull": True}}
    began = time.monotonic()
    tag = suite.prepare(suite.leg("human"))
    assert time.monotonic() - began < 10
    assert tag["status"] == "failed" and tag["failure"]["category"] == "missing_image"
    evidence = tag["failure"]["evidence"]
    assert f"127.0.0.1:9/{TEST_REPOSITORY}/nothing:{suite.target.commit[:12]}: not on this host" in evidence
    assert "not pullable" in evidence and "building is off" in evidence
    run = suite.run(suite.leg("human"), PRINT_APP)
    assert run.outcome == "missing_image" and run.notes["not run"] == "image status is failed"


def test_built_image_holds_the_commit_and_goes_once_its_legs_ran(engine, suite):
    human = suite.leg("human")
    tag = suite.prepare(human)
    assert tag["status"] == "ok" and tag["checkout"] == suite.target.commit
    name = tag["image"]
    assert engine.images.get(name).labels["patchbench.recipe"] == tag["digest"]
    assert "Successfully built" in suite.image_log(human)
    assert list(owned(suite)) == [name]
    size = engine.images.get(name).attrs["Size"]
    run = suite.run(human, PRINT_APP)
    assert run.outcome == "ok" and "app v2" in run.text
    assert not exists(engine, name) and owned(suite) == {}
    assert exists(engine, BASE_IMAGE)
    image, row = recorded(suite, human)
    assert image["image"] == name and image["image_pulled"] is False and row["image_pulled"] is False
    assert image["disk_gb"] == pytest.approx(gb(size), abs=1e-6) and row["disk_peak_gb"] > 0


def test_disk_counts_every_image_the_suite_holds(engine, suite):
    baseline, human = suite.leg("baseline"), suite.leg("human")
    held = [suite.prepare(leg)["image"] for leg in (baseline, human)]
    sizes = [engine.images.get(name).attrs["Size"] for name in held]
    for leg in (human, baseline):
        assert suite.run(leg, PRINT_APP).outcome == "ok"
    human_image, _ = recorded(suite, human)
    baseline_image, _ = recorded(suite, baseline)
    # Sizes as docker.disk_budget_gb counts them: each image whole, layers shared or not.
    assert human_image["disk_gb"] == pytest.approx(gb(sum(sizes)), abs=1e-6)  # both were held once its image was ready
    # The baseline's image stage ran first and by its run the human image was gone: it only ever saw its own.
    assert baseline_image["disk_gb"] == pytest.approx(gb(sizes[0]), abs=1e-6)
    frame = summary.frame(summary.leg_rows([legresult_of(suite, leg) for leg in (baseline, human)]))
    assert frame["disk_peak_gb"].max() == pytest.approx(gb(sum(sizes)), abs=1e-6)


def test_rebuilding_a_removed_image_keeps_image_tag_byte_for_byte(engine, suite):
    baseline = suite.leg("baseline")
    tag = suite.prepare(baseline)
    path = suite.leg_dir(baseline) / "image.tag"
    first = path.read_bytes()
    engine.images.remove(tag["image"])
    suite.prepare(baseline)
    assert path.read_bytes() == first  # Snakemake sees no change: nothing downstream reruns


def test_run_stage_brings_back_a_removed_image(engine, suite):
    baseline = suite.leg("baseline")
    tag = suite.prepare(baseline)
    engine.images.remove(tag["image"])
    run = suite.run(baseline, PRINT_APP)
    assert run.outcome == "ok" and "app v1" in run.text


def test_pulled_image_logs_progress_and_goes_once_its_legs_ran(engine, suite, registry):
    remote = f"{registry}/{TEST_REPOSITORY}/hello:1"
    suite.overrides = {"container": {"images": {"human": remote}}, "docker": {"build": False, "pull": True}}
    human = suite.leg("human")
    tag = suite.prepare(human)
    assert tag["status"] == "ok" and tag["digest"] == engine.images.get(remote).id
    log = suite.image_log(human)
    assert f"pulling {remote}" in log and "Pull complete" in log
    assert list(owned(suite)) == [remote]
    size = engine.images.get(remote).attrs["Size"]
    # Preparing again finds the image present: image.tag must not change (Snakemake would rerun the leg),
    # and the pull of the first attempt is not forgotten.
    path = suite.leg_dir(human) / "image.tag"
    first = path.read_bytes()
    suite.prepare(human)
    assert path.read_bytes() == first and "image_pulled" not in tag and "disk_gb" not in tag
    run = suite.run(human, {"benchmark_type": "latency", "argv": ["/hello", "--version"]})
    assert run.outcome == "ok" and "tini version" in run.text
    assert not exists(engine, remote)
    image, row = recorded(suite, human)
    assert image["image"] == row["image"] == remote
    assert image["image_pulled"] is True and row["image_pulled"] is True
    assert size > 0 and image["disk_gb"] == pytest.approx(gb(size), abs=1e-6) and row["disk_peak_gb"] > 0


def test_an_image_pulled_before_the_run_stays(engine, suite, registry):
    remote = f"{registry}/{TEST_REPOSITORY}/hello:1"
    engine.images.pull(remote)
    suite.overrides = {"container": {"images": {"human": remote}}, "docker": {"build": False, "pull": True}}
    human = suite.leg("human")
    assert suite.prepare(human)["status"] == "ok"
    assert suite.run(human, {"benchmark_type": "latency", "argv": ["/hello", "--version"]}).outcome == "ok"
    assert exists(engine, remote)
    engine.images.remove(remote)
    image, row = recorded(suite, human)
    assert image["image_pulled"] is False and row["image_pulled"] is False and image["disk_gb"] == 0.0


def test_agent_image_is_the_baseline_with_the_patch_applied(engine, suite):
    suite.agent_patch(suite.target.good_patch)
    agent = suite.leg("agent")
    tag = suite.prepare(agent)
    assert tag["status"] == "ok" and tag["needs_rebuild"] is False
    assert tag["image"] == f"{TEST_REPOSITORY}/{suite.name}:agent-a"
    run = suite.run(agent, PRINT_APP)
    assert run.outcome == "ok" and "app agent" in run.text
    assert not exists(engine, tag["image"])
    baseline_image = tag["recipe"]["derive"]["base"]["name"]
    assert owned(suite)[baseline_image]["users"] == [
        f"{suite.target.commit}/baseline/1"
    ]  # its one round: still pending


def test_patch_that_does_not_apply_in_the_image_fails_with_gits_words(suite):
    # The host's copy of the parent takes the patch; the image's tree (changed by its Dockerfile) does not.
    dockerfile = "FROM {base_image}\nCOPY src/ {source_dir}/\nRUN echo 'print(1)' > {source_dir}/app.py\n"
    suite.overrides = {"docker": {"dockerfile": dockerfile}}
    suite.agent_patch(suite.target.good_patch)
    tag = suite.prepare(suite.leg("agent"))
    assert tag["status"] == "failed" and tag["failure"]["category"] == "patch_apply_failed"
    assert "patch does not apply" in tag["failure"]["evidence"]


@pytest.mark.parametrize("rebuild", ["", "touch rebuilt-by-patchbench"])
def test_compiled_changes_need_a_rebuild_command(suite, rebuild):
    suite.overrides = {"container": {"rebuild_command": rebuild}}
    suite.agent_patch(suite.target.compiled_patch)
    agent = suite.leg("agent")
    tag = suite.prepare(agent)
    assert tag["needs_rebuild"] is True
    if not rebuild:
        assert tag["status"] == "failed" and tag["failure"]["category"] == "needs_rebuild"
        assert "kernel.c" in tag["failure"]["evidence"]
        return
    assert tag["status"] == "ok"
    # The image's source tree (a benchmark runs in the pinned harness): rebuilt, with the patch.
    run = suite.run(
        agent,
        {"benchmark_type": "latency", "argv": ["sh", "-c", "cd /opt/src && ls rebuilt-by-patchbench && cat kernel.c"]},
    )
    assert run.outcome == "ok" and "return 1" in run.text


def test_an_image_ahead_of_the_gpu_waits_for_room_within_the_disk_budget(engine, suite, monkeypatch):
    """With the workflow's schedule: a build for a commit the GPU has not started waits while the
    images prepared ahead, with it, would exceed docker.disk_budget_gb, and goes once there is room."""
    from patchbench.runtime import lookahead
    from patchbench.runtime.images import ImageStore

    human = suite.leg("human")
    earlier = "e" * 40  # the commit before this one in the schedule; its image waits for its runs
    waiting = f"{TEST_REPOSITORY}/{suite.name}:earlier"
    engine.images.get(BASE_IMAGE).tag(waiting)
    store = ImageStore(Path(suite.layout.runtime_state("docker")))
    store.record(waiting, engine.images.get(waiting).id, [f"{earlier}/baseline/1"], me=None)
    size = engine.images.get(waiting).attrs["Size"]
    # Its turn has come (lookahead 2); room for one image ahead, not two: "earlier"'s image must first come into use.
    dirs = (suite.layout.commit_dir(earlier), suite.layout.commit_dir(suite.target.commit))
    schedule = lookahead.Schedule(2, dirs, suite.layout.gpu_locks, disk_budget_gb=1.5 * size / 1e9, idle_s=600)
    lookahead.write(suite.layout.schedule, schedule)
    monkeypatch.setenv(lookahead.ENV, suite.layout.schedule)
    its_round = Path(suite.layout.round_log(earlier, "baseline", 1)).with_name("run.log.partial")

    def earlier_starts() -> None:
        its_round.parent.mkdir(parents=True)
        its_round.write_text("")

    began = time.monotonic()
    timer = threading.Timer(3, earlier_starts)
    timer.start()
    try:
        tag = suite.prepare(human)
    finally:
        timer.cancel()
    assert tag["status"] == "ok" and time.monotonic() - began >= 3
    log = suite.image_log(human)
    assert "for room within docker.disk_budget_gb before preparing" in log
    assert log.index("prepare: began") < log.index("waited")  # its turn came at once, its room later
    assert json.loads(Path(suite.layout.runtime_state("docker"), "images.json").read_text())["reserved"] == {}
    suite.run(human, PRINT_APP)
