"""The pure decisions of the container runtimes: image names, identities, params, which images may go."""

from __future__ import annotations

from patchbench import config
from patchbench.plan.legs import Leg
from patchbench.plan.suite import plan_suite
from patchbench.runtime import images
from patchbench.runtime.containers import command_env, token_env
from patchbench.runtime.docker.engine import container_config
from tests.conftest import REPO_ROOT

PARENT, COMMIT = "a" * 40, "b" * 40


def test_default_names_are_isobench_s():
    templates = config.defaults()["container"]["images"]
    human = images.start_image(templates, variant="human", suite="s", commit=COMMIT, parent=PARENT)
    baseline = images.start_image(templates, variant="baseline", suite="s", commit=COMMIT, parent=PARENT)
    agent = images.start_image(templates, variant="agent", suite="s", commit=COMMIT, parent=PARENT)
    assert human == f"anonymous/vllm-bench:{COMMIT}"
    assert baseline == agent == "anonymous/vllm-baseline:baseline-aaaaaaaaaaaa"  # agents start from the baseline
    derived = images.image_name(templates["agent"], suite="demo", commit=COMMIT, parent=PARENT, agent="alpha")
    assert derived == "patchbench/agent:demo-bbbbbbbbbbbb-alpha"


def test_dockerfile_templates_keep_shell_variables():
    filled = images.fill("FROM {base_image}\nRUN echo ${HOME} {source_dir}\n", base_image="b", source_dir="/src")
    assert filled == "FROM b\nRUN echo ${HOME} /src\n"


def test_recipe_digest_is_canonical():
    assert images.recipe_digest({"a": 1, "b": [2]}) == images.recipe_digest({"b": [2], "a": 1})
    assert images.recipe_digest({"a": 1}) != images.recipe_digest({"a": 2})


def test_pending_legs_keep_an_image_and_done_legs_are_not_waited_for():
    state: dict = {}
    images.record(state, "img", "sha256:1", when=1)
    images.claim(state, "img", ["c/baseline", "c/agent-a"], me="c/baseline", when=1)
    assert images.removable(state, {"img": 10}, budget_bytes=0) == []
    assert images.release(state, "c/baseline", when=2) is True
    assert images.removable(state, {"img": 10}, budget_bytes=0) == []  # agent-a still to run
    images.release(state, "c/agent-a", when=3)
    assert images.removable(state, {"img": 10}, budget_bytes=0) == ["img"]
    # A late claim by the image stage of another leg does not resurrect legs that already ran...
    images.claim(state, "img", ["c/baseline", "c/agent-a"], me="c/human", when=4)
    assert state["images"]["img"]["users"] == ["c/human"]
    # ...but a leg that runs again (a retry) is waited for again.
    images.claim(state, "img", [], me="c/agent-a", when=5)
    assert "c/agent-a" not in state["done"]


def test_an_image_stage_claims_for_the_run_jobs_only():
    state: dict = {}
    images.record(state, "img", "sha256:1", when=1)
    images.claim(state, "img", ["c/baseline/1", "c/baseline/2"], me=None, when=1)  # the image job itself runs nothing
    assert state["images"]["img"]["users"] == ["c/baseline/1", "c/baseline/2"]
    images.release(state, "c/baseline/1", when=2)
    assert images.removable(state, {"img": 10}, budget_bytes=0) == []  # round 2 still to run
    images.release(state, "c/baseline/2", when=3)
    assert images.removable(state, {"img": 10}, budget_bytes=0) == ["img"]


def test_images_not_owned_are_never_tracked():
    state: dict = {}
    images.claim(state, "someone-elses", ["c/baseline"], me="c/baseline", when=1)
    assert images.owned(state) == {}


def test_disk_budget_removes_least_recently_used_idle_images_first():
    state: dict = {}
    for name, used in (("old", 1), ("new", 3), ("busy", 0)):
        images.record(state, name, "id-" + name, when=used)
    images.claim(state, "busy", [], me="leg", when=0)
    sizes = {"old": 4, "new": 4, "busy": 4}
    assert images.removable(state, sizes, budget_bytes=12) == []
    assert images.removable(state, sizes, budget_bytes=8) == ["old"]
    assert images.removable(state, sizes, budget_bytes=1) == ["old", "new"]  # "busy" is in use: never
    assert images.removable(state, sizes, budget_bytes=0) == ["old", "new"]


def test_container_config_replaces_the_entrypoint_and_mounts_nothing_by_default():
    config_ = container_config(
        "img", ["python3", "-m", "x"], env={"A": "1"}, labels={"l": "v"}, workdir="/src", network_mode="bridge"
    )
    assert config_["entrypoint"] == ["python3"] and config_["command"] == ["-m", "x"]
    assert config_["init"] is True and config_["mounts"] == [] and "shm_size" not in config_


def test_command_env_carries_devices_and_a_read_only_cache_but_never_the_token():
    container = {"env": {"VLLM_USE_V1": "0"}, "hf_cache": "/cache"}
    env = command_env(container, ["2"], isolated=True)
    assert env["CUDA_VISIBLE_DEVICES"] == "0" and env["VLLM_USE_V1"] == "0" and env["HF_HOME"]
    assert env["HF_HUB_OFFLINE"] == "1"  # the cache is mounted read-only: the hub is not asked to write
    assert "HF_TOKEN" not in env and "HUGGING_FACE_HUB_TOKEN" not in env
    assert token_env("t") == {"HF_TOKEN": "t", "HUGGING_FACE_HUB_TOKEN": "t"} and token_env("") == {}


def test_docker_params_carry_the_image_users_and_no_secret(monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_secret_value")
    suite = config.load(REPO_ROOT / "config" / "config.yaml")
    suite["runtime"] = "docker"
    plan = plan_suite(suite, base_dir=REPO_ROOT, gpu_limit=1)
    commit = next(c for c, p in plan.commits.items() if p.skip is None)
    baseline = plan.image_params(Leg(commit, "baseline"))
    # Every round of every leg that starts from the baseline image is a run job waiting for it.
    legs = ("baseline", "agent-alpha", "agent-beta", "agent-ident")
    assert baseline["claimants"] == [f"{commit}/{leg}/{n}" for leg in legs for n in range(1, plan.rounds + 1)]
    assert plan.image_params(Leg(commit, "human"))["claimants"] == [
        f"{commit}/human/{n}" for n in range(1, plan.rounds + 1)
    ]
    run = plan.run_params(Leg(commit, "baseline"), 1)
    assert run["gpus"] == 1 and run["host_gpus"] == 1 and run["gpu_ids"] == [] and run["python"] == "python3"
    assert "hf_secret_value" not in repr(run) + repr(baseline)
    local = dict(suite, runtime="local")
    assert "docker" not in plan_suite(local, base_dir=REPO_ROOT, gpu_limit=1).run_params(Leg(commit, "baseline"), 1)


def test_images_prepared_ahead_are_those_only_unstarted_commits_wait_for():
    state: dict = {}
    sizes = {"running": 10, "next": 10, "after": 10, "derived": 10, "idle": 10}
    for name in sizes:
        images.record(state, name, "id-" + name, when=1, derived=name == "derived")
    images.claim(state, "running", ["c1/baseline/1", "c1/agent-a/1"], me=None, when=1)
    images.claim(state, "next", ["c2/baseline/1", "c1/human/2"], me=None, when=1)  # c1 runs: in use
    images.claim(state, "after", ["c3/human/1"], me=None, when=1)
    images.claim(state, "derived", ["c3/agent-a/1"], me=None, when=1)  # a layer on c3's baseline
    started = {"c1"}.__contains__
    assert images.ahead_bytes(state, sizes, started) == 10  # "after" alone
    # A pull ahead reserves room for the largest image the suite holds, and counts from then on.
    assert images.reserve_room(state, "c4-img", sizes, budget_bytes=20, started=started, pid=7)
    assert images.ahead_bytes(state, sizes, started) == 20
    assert not images.reserve_room(state, "c5-img", sizes, budget_bytes=20, started=started, pid=8)
    # Recording the image takes its reservation; a reservation of a process that is gone is dropped.
    images.record(state, "c4-img", "id-c4", when=2)
    assert images.reserved(state) == {}
    images.reserve_room(state, "c5-img", sizes, budget_bytes=40, started=started, pid=8)
    images.drop_reservations(state, lambda reservation: reservation["pid"] != 8)
    assert images.reserved(state) == {}


def test_the_first_image_ahead_always_fits_even_a_zero_budget():
    state: dict = {}
    assert images.reserve_room(state, "img", {}, budget_bytes=0, started=lambda commit: False, pid=1)
    assert not images.reserve_room(state, "other", {"img": 5}, budget_bytes=0, started=lambda commit: False, pid=1)


def test_building_and_deriving_containers_yield_the_cpu():
    shares = container_config(
        "img", ["git", "apply"], env={}, labels={}, workdir="/src", network_mode="none", cpu_shares=2
    )
    assert shares["cpu_shares"] == 2
    plain = container_config("img", ["python3"], env={}, labels={}, workdir="/src", network_mode="none")
    assert "cpu_shares" not in plain  # a benchmark's container keeps the engine's default weight
