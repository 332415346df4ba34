"""The docker runtime: every command of a leg runs in a container of the leg's image (Docker SDK).

Image stage (``prepare``). The leg's image is named from config templates. It
is used when present on the host, pulled when its registry has it (asked
without downloading; an offline host answers "no" quickly), built from the
Dockerfile template when ``docker.build`` allows it, and otherwise the leg is
``missing_image`` with every name and reason tried. Agents start from the
baseline image: their patch, vetted on the host first, is mounted read-only
into a container of that image and applied there with ``git apply`` (never
forced), ``rebuild_command`` runs after it when the patch changes compiled
sources, and the container is committed as the agent's image. ``image.tag``
holds the image's name and identity (see ``images``); whether this leg pulled
an image and the GB the suite's images took once it was ready are recorded
apart (``ImageStore.note_leg``), as they differ between attempts.

Run stage (``run``). Each command (server, client, offline benchmark) is a
container labelled with the suite and the leg; the client joins the server's
network namespace and reaches it on loopback. Containers get exactly the
leg's GPUs (``device_requests`` with their ids). Every container of the leg
is removed when the run ends, however it ends (a failed start leaves one in
"Created"; Ctrl-C raises through us), and leftovers of an attempt killed
outright are removed before the next one starts. The image facts go into
``run.log`` as ``image pulled`` and ``image disk gb`` (the larger of the image
stage's and the run stage's measure). Then the images the suite pulled or
built that no pending leg needs are removed.

Only Docker Engine API 1.41 calls are used (Debian 12's docker.io 20.10).
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable, Iterator, Sequence

import docker
import docker.errors
import requests.exceptions
from docker.models.containers import Container
from docker.models.images import Image
from docker.types import DeviceRequest, Mount
from docker.utils import parse_repository_tag

from patchbench import failures, gitops, processes
from patchbench.failures import Failure
from patchbench.runlog import RunLogWriter
from patchbench.runtime import containers, images, serving
from patchbench.runtime import prepare as stage
from patchbench.runtime.images import RECIPE_LABEL, ImageStore

API_VERSION = "1.41"
CLIENT_TIMEOUT_S = 300
LABEL_SUITE, LABEL_LEG, LABEL_ROLE = "patchbench.suite", "patchbench.leg", "patchbench.role"
PROGRESS_EVERY_S = 10.0
EVIDENCE_LINES = 8

Say = Callable[[str], None]


def connect(timeout_s: float = CLIENT_TIMEOUT_S) -> docker.DockerClient:
    """A client of the engine named by the environment (``DOCKER_HOST``, else the local socket)."""
    return docker.from_env(version=API_VERSION, timeout=int(timeout_s))


def identity(image: Image) -> str:
    """What ``image.tag`` records: the recipe digest of an image patchbench made, else the image ID."""
    return image.labels.get(RECIPE_LABEL) or image.id


# ---------------------------------------------------------------- prepare


def prepare(params: dict[str, Any], *, repo: Path, patch: Path, worktree: Path, out: Path, log: Path) -> None:
    """Resolve (pull, build, derive) the leg's image and write ``image.tag``; failures are recorded, not raised.

    ``worktree`` is scratch space for vetting an agent patch on the host.
    """

    def build(tag: dict[str, Any]) -> Failure | None:
        recipe = _start_recipe(params, tag)
        if params["variant"] == "agent":
            failure = stage.vet_patch(repo, tag["checkout"], patch, worktree) or stage.rebuild_check(
                tag, patch, can_rebuild=bool(params["rebuild_command"]), why_not="no container.rebuild_command rebuilds them"
            )
            if failure:
                return failure
            recipe = _derived_recipe(params, tag, recipe, patch, rebuild=tag["needs_rebuild"])
        tag["image"] = recipe["name"]
        tag["recipe"] = recipe
        with open(log, "a", encoding="utf-8") as handle, processes.interruptible():
            obtainer = Obtainer.for_leg(
                params, repo=repo, say=_say_to(handle), claimants=params["claimants"], build_timeout_s=params["setup_timeout_s"]
            )
            sweep(obtainer.client, obtainer.labels)  # a derive container of an attempt killed outright
            try:
                tag["digest"] = obtainer.obtain(recipe).digest
            except serving.LegFailure as exc:
                return exc.failure
            obtainer.note_facts(recipe["name"], tag["digest"])
        return None

    stage.prepare_leg(params, runtime="docker", repo=repo, patch=patch, out=out, build=build)


def _start_recipe(params: dict[str, Any], tag: dict[str, Any]) -> dict[str, Any]:
    """How to obtain the image a leg starts from: by name, pulled, or built from the Dockerfile template."""
    docker_params = params["docker"]
    name = images.start_image(
        params["images"], variant=params["variant"], suite=params["suite"], commit=tag["commit"], parent=tag["parent"]
    )
    build = None
    if docker_params["build"]:
        build = {
            "base": {"name": docker_params["base_image"], "pull": docker_params["pull"], "build": None},
            "dockerfile": docker_params["dockerfile"],
            "source_dir": params["source_dir"],
            "checkout": tag["checkout"],
        }
    return {"name": name, "pull": docker_params["pull"], "build": build}


def _derived_recipe(
    params: dict[str, Any], tag: dict[str, Any], base: dict[str, Any], patch: Path, *, rebuild: bool
) -> dict[str, Any]:
    """The agent's image: the start image with the patch applied (and rebuilt when it must be)."""
    name = images.image_name(
        params["images"]["agent"], suite=params["suite"], commit=tag["commit"], parent=tag["parent"], agent=params["agent"]
    )
    return {
        "name": name,
        "derive": {
            "base": base,
            "patch": str(patch),
            "patch_sha256": tag["patch_sha256"],
            "source_dir": params["source_dir"],
            "rebuild_command": params["rebuild_command"] if rebuild else "",
        },
    }


def _say_to(handle: IO[str]) -> Say:
    def say(line: str) -> None:
        handle.write(line.rstrip("\n") + "\n")
        handle.flush()

    return say


@dataclass(frozen=True)
class Obtained:
    image: Image
    digest: str


@dataclass
class Obtainer:
    """Brings images onto the host in the resolution order and records what the suite now owns.

    ``claimants`` are the legs that will run from what is obtained (so it is
    kept for them); ``me`` is the leg asking.
    """

    client: docker.DockerClient
    store: ImageStore
    repo: Path
    say: Say
    me: str
    claimants: list[str]
    registry_timeout_s: float
    build_timeout_s: float
    labels: dict[str, str]  # the leg's: on the containers that derive images
    pulled: list[str] = field(default_factory=list)  # what this Obtainer pulled from a registry

    @classmethod
    def for_leg(
        cls, params: dict[str, Any], *, repo: Path, say: Say, claimants: list[str], build_timeout_s: float
    ) -> Obtainer:
        return cls(
            client=connect(),
            store=ImageStore(Path(params["state_dir"])),
            repo=repo,
            say=say,
            me=params["leg"],
            claimants=claimants,
            registry_timeout_s=params["docker"]["registry_timeout_s"],
            build_timeout_s=build_timeout_s,
            labels={LABEL_SUITE: params["suite"], LABEL_LEG: params["leg"]},
        )

    def note_facts(self, name: str, digest: str, *, saw_whole_stage: bool = True) -> dict[str, Any]:
        """Record what obtaining ``name`` took: a pull (of it or of the image it derives from) and the GB held now.

        Without ``saw_whole_stage`` (the run stage, which only checks the image
        is still there) not having pulled says nothing: ``image_pulled`` then
        comes from the image stage's record, or is left out.
        """
        facts: dict[str, Any] = {"image": name, "digest": digest}
        with contextlib.suppress(docker.errors.APIError, requests.exceptions.RequestException):
            facts["disk_gb"] = held(self.client, self.store)  # a figure for the report: never worth failing the leg
        if self.pulled or saw_whole_stage:
            facts["image_pulled"] = bool(self.pulled)
        return self.store.note_leg(self.me, facts)

    def ensure(self, recipe: dict[str, Any], digest: str) -> Image:
        """The image ``image.tag`` recorded, obtained again if it was removed; it must be the same image."""
        present = self._present(recipe["name"])
        if present is not None and identity(present) == digest:
            self.store.claim(recipe["name"], [], self.me)
            return present
        obtained = self.obtain(recipe)
        if obtained.digest != digest:
            raise _missing(
                f"{recipe['name']}: image.tag records {digest}, but the host now has {obtained.digest}; "
                "rerun the leg's image stage (snakemake --forcerun image)"
            )
        return obtained.image

    def obtain(self, recipe: dict[str, Any]) -> Obtained:
        if "derive" in recipe:
            return self._derive(recipe["name"], recipe["derive"])
        name, build = recipe["name"], recipe["build"]
        with self.store.resolving(name):
            tried: list[str] = []
            present = self._present(name)
            if present is not None:
                made_here = present.labels.get(RECIPE_LABEL)
                if made_here is None or build is None:
                    self.store.claim(name, self.claimants, self.me)
                    return Obtained(present, identity(present))
                base = self.obtain(build["base"])
                if made_here == _build_digest(base.digest, build):
                    self.store.claim(name, self.claimants, self.me)
                    return Obtained(present, made_here)
                tried.append(f"{name}: present but built from another recipe")
                self._remove_stale(name)
            else:
                tried.append(f"{name}: not on this host")
            if recipe["pull"]:
                refusal = self._pull_refusal(name)
                if refusal is None:
                    image = self._pull(name)
                    self.store.record(name, image.id, self.claimants, self.me)
                    return Obtained(image, identity(image))
                tried.append(f"not pullable: {refusal}")
            else:
                tried.append("pulling is off (docker.pull: false)")
            if build is None:
                raise _missing("; ".join(tried + ["building is off (docker.build: false)"]))
            if not build["base"]["name"]:
                raise _missing("; ".join(tried + ["building needs docker.base_image, which is empty"]))
            return self._build(name, build, self.obtain(build["base"]))

    # -- the three ways an image arrives

    def _pull_refusal(self, name: str) -> str | None:
        """None when the registry has ``name`` (asked for its manifest only), else why not."""
        quick = connect(self.registry_timeout_s)
        try:
            quick.api.inspect_distribution(name)
            return None
        except docker.errors.APIError as exc:
            return str(exc.explanation or exc)
        except requests.exceptions.RequestException:
            return f"the registry did not answer within {self.registry_timeout_s:g}s"
        finally:
            quick.close()

    def _pull(self, name: str) -> Image:
        repository, tag = parse_repository_tag(name)
        self.say(f"pulling {name}")
        progress = PullProgress(self.say)
        for event in self.client.api.pull(repository, tag=tag or "latest", stream=True, decode=True):
            if "error" in event:
                raise _missing(f"{name}: pull failed: {event['error']}")
            progress.show(event)
        self.pulled.append(name)
        return self.client.images.get(name)

    def _build(self, name: str, build: dict[str, Any], base: Obtained) -> Obtained:
        digest = _build_digest(base.digest, build)
        dockerfile = images.fill(
            build["dockerfile"], base_image=base.image.id, source_dir=build["source_dir"], commit=build["checkout"]
        )
        self.say(f"building {name} from {build['checkout']} on {base.image.id}")
        with tempfile.TemporaryFile() as context:
            _write_context(context, self.repo, build["checkout"], dockerfile)
            context.seek(0)
            stream = self.client.api.build(
                fileobj=context,
                custom_context=True,
                tag=name,
                rm=True,
                forcerm=True,
                pull=False,
                labels={RECIPE_LABEL: digest},
                decode=True,
                timeout=int(self.build_timeout_s),
            )
            lines: list[str] = []
            for chunk in stream:
                if "error" in chunk:
                    evidence = "\n".join(lines[-EVIDENCE_LINES:] + [chunk["error"].strip()])
                    raise serving.LegFailure(Failure(failures.SETUP_FAILED, f"building {name} failed:\n{evidence}"))
                if text := chunk.get("stream", "").rstrip():
                    lines.append(text)
                    self.say(text)
        image = self.client.images.get(name)
        self.store.record(name, image.id, self.claimants, self.me)
        return Obtained(image, digest)

    def _derive(self, name: str, derive: dict[str, Any]) -> Obtained:
        base = self.obtain(derive["base"])
        digest = images.recipe_digest(
            {k: derive[k] for k in ("patch_sha256", "source_dir", "rebuild_command")} | {"base": base.digest}
        )
        with self.store.resolving(name):
            present = self._present(name)
            if present is not None and present.labels.get(RECIPE_LABEL) == digest:
                self.store.claim(name, [], self.me)
                return Obtained(present, digest)
            if present is not None:
                self._remove_stale(name)
            patch = [Mount(containers.PATCH_MOUNT, str(Path(derive["patch"]).resolve()), type="bind", read_only=True)]
            # Applying needs no network; a rebuild may (pip), like `docker build` it gets the default one.
            steps = [(["git", "apply", containers.PATCH_MOUNT], patch, "none", failures.PATCH_APPLY_FAILED)]
            if derive["rebuild_command"]:
                steps.append((["sh", "-c", derive["rebuild_command"]], [], "bridge", failures.SETUP_FAILED))
            image_id, intermediate = base.image.id, None
            try:
                for number, (argv, mounts, network, category) in enumerate(steps, 1):
                    final = number == len(steps)
                    image_id = self._commit_step(
                        image_id, argv, mounts, network, category, derive["source_dir"], name if final else None, digest
                    )
                    intermediate = None if final else image_id
            finally:
                if intermediate is not None:  # a later step failed: its untagged parent is debris
                    with contextlib.suppress(docker.errors.APIError):
                        self.client.images.remove(intermediate)
            self.say(f"derived {name} from {derive['base']['name']}")
            self.store.record(name, image_id, [], self.me)
            return Obtained(self.client.images.get(name), digest)

    def _commit_step(
        self,
        image_id: str,
        argv: list[str],
        mounts: list[Mount],
        network: str,
        category: str,
        workdir: str,
        name: str | None,
        digest: str,
    ) -> str:
        """Run one step in a container of ``image_id`` and commit the result (tagged ``name`` when given)."""
        labels = {**self.labels, LABEL_ROLE: "derive"}
        config = container_config(image_id, argv, env={}, labels=labels, workdir=workdir, network_mode=network, mounts=mounts)
        container = launch(self.client, config)
        try:
            try:
                code = container.wait(timeout=int(self.build_timeout_s))["StatusCode"]
            except requests.exceptions.RequestException:
                code = None
            output = container.logs(stdout=True, stderr=True).decode("utf-8", "replace")
            for line in output.splitlines():
                self.say(line)
            if code != 0:
                what = "timed out" if code is None else f"exited with {code}"
                evidence = "\n".join([line for line in output.splitlines() if line.strip()][-EVIDENCE_LINES:])
                raise serving.LegFailure(Failure(category, f"{' '.join(argv)} {what} in the image:\n{evidence}"))
            repository, tag = parse_repository_tag(name) if name else (None, None)
            # A commit keeps the container's labels: blank the ones that mark containers as a leg's.
            image_labels = {LABEL_SUITE: "", LABEL_LEG: "", LABEL_ROLE: "", RECIPE_LABEL: digest}
            committed = container.commit(repository=repository, tag=tag, conf={"Labels": image_labels})
        finally:
            with contextlib.suppress(docker.errors.NotFound):
                container.remove(force=True)
        return committed.id

    # -- helpers

    def _present(self, name: str) -> Image | None:
        try:
            return self.client.images.get(name)
        except docker.errors.ImageNotFound:
            return None

    def _remove_stale(self, name: str) -> None:
        """Drop our own out-of-date build of ``name`` before making the current one."""
        self.say(f"removing {name}: built from another recipe")
        with contextlib.suppress(docker.errors.APIError):
            self.client.images.remove(name)
        with self.store.state() as state:
            images.owned(state).pop(name, None)


def _build_digest(base_digest: str, build: dict[str, Any]) -> str:
    return images.recipe_digest({k: build[k] for k in ("dockerfile", "source_dir", "checkout")} | {"base": base_digest})


def _write_context(handle: IO[bytes], repo: Path, revision: str, dockerfile: str) -> None:
    """The build context: the target tree at ``revision`` under ``src/`` (``git archive``) plus the Dockerfile."""
    handle.write(gitops.git(["archive", "--format=tar", "--prefix=src/", revision], cwd=repo))
    handle.flush()
    handle.seek(0)
    with tarfile.open(fileobj=handle, mode="a") as tar:
        data = dockerfile.encode()
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(data)
        info.mtime = 0
        tar.addfile(info, fileobj=io.BytesIO(data))


def _missing(evidence: str) -> serving.LegFailure:
    return serving.LegFailure(Failure(failures.MISSING_IMAGE, evidence))


class PullProgress:
    """Pull events as log lines: every change of a layer's status, running progress at most every 10 s."""

    def __init__(self, say: Say) -> None:
        self.say = say
        self._last: dict[str, tuple[str, float]] = {}

    def show(self, event: dict[str, Any]) -> None:
        layer, status = event.get("id", ""), event.get("status", "")
        before, shown_at = self._last.get(layer, ("", 0.0))
        now = time.monotonic()
        if status == before and now - shown_at < PROGRESS_EVERY_S:
            return
        self._last[layer] = (status, now)
        self.say(" ".join(part for part in (layer, status, event.get("progress", "")) if part))


# ---------------------------------------------------------------- run


def run(params: dict[str, Any], *, spec: Path, image_tag: Path, repo: Path, out: Path) -> None:
    """Run the leg's benchmark in containers of its image; write ``run.log``; then let go of images."""
    store = ImageStore(Path(params["state_dir"]))
    opener = functools.partial(_container_executor, params=params, repo=repo)
    try:
        serving.run_leg(params, spec=spec, image_tag=image_tag, out=out, open_executor=opener)
    finally:
        if store.release(params["leg"]):
            collect(connect(), store, params["docker"]["disk_budget_gb"], say=_say_to(sys.stderr))


@contextlib.contextmanager
def _container_executor(
    tag: dict[str, Any], gpu_ids: list[str], writer: RunLogWriter, *, params: dict[str, Any], repo: Path
) -> Iterator[serving.Executor]:
    labels = {LABEL_SUITE: params["suite"], LABEL_LEG: params["leg"]}
    client = connect()
    sweep(client, labels)  # an earlier attempt killed outright (SIGKILL) could not clean up
    obtainer = Obtainer.for_leg(
        params, repo=repo, say=_say_to(sys.stderr), claimants=[params["leg"]], build_timeout_s=params["timeouts"]["setup_s"]
    )
    image = obtainer.ensure(tag["recipe"], tag["digest"])
    writer.note("image", f"{tag['image']} {tag['digest']}")
    facts = obtainer.note_facts(tag["image"], tag["digest"], saw_whole_stage=False)
    if "image_pulled" in facts:
        writer.note("image pulled", "true" if facts["image_pulled"] else "false")
    if "disk_gb" in facts:
        writer.note("image disk gb", facts["disk_gb"])
    token = containers.hf_token(params["container"])
    try:
        yield ContainerExecutor(client, image.id, params=params, labels=labels, gpu_ids=gpu_ids, token=token)
    finally:
        sweep(connect(), labels)  # a fresh client: an interrupt may have broken the old one's connection


def sweep(client: docker.DockerClient, labels: dict[str, str]) -> int:
    """Remove every container carrying ``labels`` (running or not); how many there were."""
    filters = {"label": [f"{key}={value}" for key, value in labels.items()]}
    found = client.containers.list(all=True, filters=filters)
    for container in found:
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True)
    return len(found)


def _owned_sizes(client: docker.DockerClient, state: dict[str, Any]) -> dict[str, int]:
    """Bytes of each image the suite owns; names that are gone or now name another image are dropped."""
    sizes = {}
    for name, entry in list(images.owned(state).items()):
        try:
            image = client.images.get(name)
        except docker.errors.ImageNotFound:
            image = None
        if image is None or image.id != entry["id"]:  # gone, or the name was given to another image
            del images.owned(state)[name]
            continue
        sizes[name] = int(image.attrs.get("Size", 0))
    return sizes


def held(client: docker.DockerClient, store: ImageStore) -> float:
    """GB the images this suite brought onto the host take now (images present before are not counted)."""
    with store.state() as state:
        return images.held_gb(_owned_sizes(client, state))


def collect(client: docker.DockerClient, store: ImageStore, budget_gb: float, *, say: Say) -> list[str]:
    """Remove the suite's idle images beyond the budget (by name: other names of an image keep it)."""
    removed = []
    with store.state() as state:
        sizes = _owned_sizes(client, state)
        for name in images.removable(state, sizes, int(budget_gb * images.GB)):
            try:
                client.images.remove(name)
            except docker.errors.APIError as exc:
                say(f"keeping image {name}: {exc.explanation or exc}")
                continue
            del images.owned(state)[name]
            removed.append(name)
            say(f"removed image {name}: no pending leg needs it")
    return removed


def container_config(
    image: str,
    argv: list[str],
    *,
    env: dict[str, str],
    labels: dict[str, str],
    workdir: str,
    network_mode: str,
    gpu_ids: Sequence[str] = (),
    request_gpus: bool = False,
    shm_size: str = "",
    mem_limit: str = "",
    hf_cache: str = "",
    mounts: Sequence[Mount] = (),
) -> dict[str, Any]:
    """``containers.create`` arguments for one command; pure, so the flags are testable without an engine.

    The command replaces the image's entrypoint (vLLM images start their
    server by default). GPUs are requested by id, only when there are any to
    give and the host can give them.
    """
    config: dict[str, Any] = {
        "image": image,
        "entrypoint": argv[:1],
        "command": argv[1:],
        "environment": env,
        "labels": labels,
        "working_dir": workdir,
        "network_mode": network_mode,
        "init": True,  # a real PID 1 forwards SIGTERM: graceful stops take milliseconds, not the grace period
        "mounts": list(mounts),  # binds only: the SDK's `volumes` would also declare image volumes a commit keeps
    }
    if shm_size:
        config["shm_size"] = shm_size
    if mem_limit:
        config["mem_limit"] = mem_limit
    if hf_cache:
        config["mounts"].append(Mount(containers.HF_CACHE_MOUNT, str(Path(hf_cache).expanduser().resolve()), type="bind"))
    if request_gpus and gpu_ids:
        config["device_requests"] = [DeviceRequest(device_ids=list(gpu_ids), capabilities=[["gpu"]])]
    return config


def launch(client: docker.DockerClient, config: dict[str, Any]) -> Container:
    """Create and start a container, or say why the engine would not (``container_start_failed``).

    A failed start leaves the container "Created" (a GPU request on a host
    without NVIDIA's toolkit): it is removed here, not left behind.
    """
    try:
        container = client.containers.create(**config)
    except docker.errors.APIError as exc:
        raise serving.LegFailure(Failure(failures.CONTAINER_START_FAILED, str(exc.explanation or exc))) from None
    try:
        container.start()
    except docker.errors.APIError as exc:
        with contextlib.suppress(docker.errors.APIError):
            container.remove(force=True)
        raise serving.LegFailure(Failure(failures.CONTAINER_START_FAILED, str(exc.explanation or exc))) from None
    return container


@dataclass
class ContainerService:
    """A server running as a container."""

    container: Container
    url: str
    log: Path

    def poll(self) -> int | None:
        self.container.reload()
        return self.container.attrs["State"]["ExitCode"] if self.container.status in ("exited", "dead") else None

    def stop(self, grace_s: float) -> int:
        with contextlib.suppress(docker.errors.NotFound):
            self.container.stop(timeout=max(1, math.ceil(grace_s)))
        code = _exit_code(self.container)
        _save_logs(self.container, self.log)
        return code

    def cause(self) -> Failure | None:
        return _oom(self.container, "server")


class ContainerExecutor:
    """Each command a container of the leg's image, in the leg's source tree, with the leg's GPUs."""

    def __init__(
        self,
        client: docker.DockerClient,
        image_id: str,
        *,
        params: dict[str, Any],
        labels: dict[str, str],
        gpu_ids: list[str],
        token: str,
    ) -> None:
        container, self._docker = params["container"], params["docker"]
        self.client, self.image_id, self.labels, self.gpu_ids = client, image_id, labels, gpu_ids
        self.python = params["python"]
        self.network = self._docker["network"]
        self.bind_host = "0.0.0.0" if self.network == "bridge" else "127.0.0.1"
        self.secrets: tuple[str, ...] = (token,) if token else ()
        self.request_gpus = container["request_gpus"]
        self.source_dir, self.hf_cache = container["source_dir"], container["hf_cache"]
        self.env = containers.command_env(container, gpu_ids, isolated=self.request_gpus, token=token)

    def start(self, argv: list[str], env: dict[str, str], log: Path, port: int) -> serving.Service:
        container = self._launch(argv, env, "server", self.network)
        host = self.bind_host
        if self.network == "bridge":
            container.reload()
            host = container.attrs["NetworkSettings"]["IPAddress"]
        return ContainerService(container, f"http://{host}:{port}", log)

    def run(
        self, argv: list[str], env: dict[str, str], log: Path, timeout_s: float, beside: serving.Service | None = None
    ) -> serving.Ended:
        if isinstance(beside, ContainerService):  # the client shares the server's network namespace
            container = self._launch(argv, env, "client", f"container:{beside.container.id}")
        else:
            container = self._launch(argv, env, "benchmark", self.network)
        try:
            code: int | None = container.wait(timeout=max(1, math.ceil(timeout_s)))["StatusCode"]
        except requests.exceptions.RequestException:  # the SDK's way of saying "deadline" (a read timeout)
            code = None
            with contextlib.suppress(docker.errors.APIError):
                container.kill()
        _save_logs(container, log)
        if code is None:
            return serving.Ended(None, timed_out=True)
        return serving.Ended(code, cause=_oom(container, "benchmark"))

    def _launch(self, argv: list[str], env: dict[str, str], role: str, network_mode: str) -> Container:
        config = container_config(
            self.image_id,
            argv,
            env={**self.env, **env},
            labels={**self.labels, LABEL_ROLE: role},
            workdir=self.source_dir,
            network_mode=network_mode,
            gpu_ids=self.gpu_ids,
            request_gpus=self.request_gpus,
            shm_size=self._docker["shm_size"],
            mem_limit=self._docker["mem_limit"],
            hf_cache=self.hf_cache,
        )
        return launch(self.client, config)


def _exit_code(container: Container) -> int:
    container.reload()
    return int(container.attrs["State"]["ExitCode"])


def _oom(container: Container, role: str) -> Failure | None:
    container.reload()
    if not container.attrs["State"].get("OOMKilled"):
        return None
    limit = container.attrs["HostConfig"].get("Memory") or 0
    within = f"its memory limit of {limit // 2**20} MiB" if limit else "the host's memory"
    return Failure(failures.OOM, f"the {role} container was killed for exceeding {within} (OOMKilled, exit 137)")


def _save_logs(container: Container, log: Path) -> None:
    with open(log, "ab") as handle:
        for chunk in container.logs(stdout=True, stderr=True, stream=True, follow=False):
            handle.write(chunk)
