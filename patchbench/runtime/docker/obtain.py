"""The docker image stage: the leg's image used when present, pulled, built or derived, and recorded.

The leg's image is named from config templates. It is used when present on
the host, pulled when its registry has it (asked without downloading; an
offline host answers "no" quickly), built from the Dockerfile template when
``docker.build`` allows it, and otherwise the leg is ``missing_image`` with
every name and reason tried. Agents start from the baseline image: their
patch, vetted on the host first, is mounted read-only into a container of that
image and applied there with ``git apply`` (never forced), ``rebuild_command``
runs after it when the patch changes compiled sources, and the container is
committed as the agent's image. ``image.tag`` holds the image's name and
identity (see ``images``); whether this leg pulled an image and the GB the
suite's images took once it was ready are recorded apart
(``ImageStore.note_leg``), as they differ between attempts.
"""

from __future__ import annotations

import contextlib
import io
import os
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import docker
import docker.errors
import requests.exceptions
from docker.models.images import Image
from docker.types import Mount
from docker.utils import parse_repository_tag

from patchbench import failures, gitops
from patchbench.failures import Failure
from patchbench.runtime import containers, images, lookahead, processes
from patchbench.runtime import image as image_stage
from patchbench.runtime import run as run_stage
from patchbench.runtime.docker.cleanup import held, owned_sizes, sweep
from patchbench.runtime.docker.engine import (
    LABEL_LEG,
    LABEL_ROLE,
    LABEL_RUN,
    LABEL_SUITE,
    Say,
    connect,
    container_config,
    identity,
    launch,
    say_to,
)
from patchbench.runtime.images import RECIPE_LABEL, ImageStore

PROGRESS_EVERY_S = 10.0
# The CPU weight of the containers that build and derive images (Docker's least; a run's is 1024):
# they run beside a benchmark, and the engine, not this process, runs them, so nice cannot reach them.
CPU_SHARES = 2
EVIDENCE_LINES = 8


def prepare(
    params: dict[str, Any], *, repo: Path, revisions: Path, patch: Path, worktree: Path, out: Path, log: Path
) -> None:
    """Resolve (pull, build, derive) the leg's image and write ``image.tag``; failures are recorded, not raised.

    ``worktree`` is scratch space for vetting an agent patch on the host.
    """

    def build(tag: dict[str, Any]) -> Failure | None:
        recipe = _start_recipe(params, tag)
        if params["variant"] == "agent":
            failure = image_stage.judge_patch(
                tag,
                image_stage.vet_patch(repo, tag["checkout"], patch, worktree),
                can_rebuild=bool(params["rebuild_command"]),
                why_not="no container.rebuild_command rebuilds them",
            )
            if failure:
                return failure
            recipe = _derived_recipe(params, tag, recipe, patch, rebuild=tag["needs_rebuild"])
        tag["image"] = recipe["name"]
        tag["recipe"] = recipe
        with open(log, "a", encoding="utf-8") as handle, processes.interruptible():
            obtainer = Obtainer.for_leg(
                params,
                repo=repo,
                say=say_to(handle),
                claimants=params["claimants"],
                runs=params["runs"],
                build_timeout_s=params["setup_timeout_s"],
            )
            sweep(obtainer.client, obtainer.labels)  # a derive container of an attempt killed outright
            try:
                tag["digest"] = obtainer.obtain(recipe).digest
            except run_stage.LegFailure as exc:
                return exc.failure
            obtainer.note_facts(recipe["name"], tag["digest"])
        return None

    image_stage.prepare_leg(params, runtime="docker", revisions=revisions, patch=patch, out=out, build=build)


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
        params["images"]["agent"],
        suite=params["suite"],
        commit=tag["commit"],
        parent=tag["parent"],
        agent=params["agent"],
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


@dataclass(frozen=True)
class Obtained:
    image: Image
    digest: str


@dataclass
class Obtainer:
    """Brings images onto the host in the resolution order and records what the suite now owns.

    ``claimants`` are the run jobs that will run from the image a leg starts
    from (so it is kept for them), ``runs`` those of the leg itself (an
    agent's derived image is kept for them alone); ``me`` is the leg asking,
    ``claimer`` its run job when a run job asks.
    """

    client: docker.DockerClient
    store: ImageStore
    repo: Path
    say: Say
    me: str
    claimer: str | None  # ``<commit>/<leg>/<round>`` in the run stage; the image stage claims for others only
    claimants: list[str]
    runs: list[str]
    registry_timeout_s: float
    build_timeout_s: float
    labels: dict[str, str]  # the leg's: on the containers that derive images
    pulled: list[str] = field(default_factory=list)  # what this Obtainer pulled from a registry

    @classmethod
    def for_leg(
        cls,
        params: dict[str, Any],
        *,
        repo: Path,
        say: Say,
        claimants: list[str],
        runs: list[str],
        build_timeout_s: float,
    ) -> Obtainer:
        return cls(
            client=connect(),
            store=ImageStore(Path(params["state_dir"])),
            repo=repo,
            say=say,
            me=params["leg"],
            claimer=params.get("run_id"),
            claimants=claimants,
            runs=runs,
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
            self.store.claim(recipe["name"], [], self.claimer)
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
                    self.store.claim(name, self.claimants, self.claimer)
                    return Obtained(present, identity(present))
                base = self.obtain(build["base"])
                if made_here == _build_digest(base.digest, build):
                    self.store.claim(name, self.claimants, self.claimer)
                    return Obtained(present, made_here)
                tried.append(f"{name}: present but built from another recipe")
                self._remove_stale(name)
            else:
                tried.append(f"{name}: not on this host")
            if recipe["pull"]:
                refusal = self._pull_refusal(name)
                if refusal is None:
                    with self._room_ahead(name):
                        image = self._pull(name)
                        self.store.record(name, image.id, self.claimants, self.claimer)
                    return Obtained(image, identity(image))
                tried.append(f"not pullable: {refusal}")
            else:
                tried.append("pulling is off (docker.pull: false)")
            if build is None:
                raise _missing("; ".join(tried + ["building is off (docker.build: false)"]))
            if not build["base"]["name"]:
                raise _missing("; ".join(tried + ["building needs docker.base_image, which is empty"]))
            base = self.obtain(build["base"])
            with self._room_ahead(name):
                return self._build(name, build, base)

    @contextlib.contextmanager
    def _room_ahead(self, name: str) -> Iterator[None]:
        """Pull or build ``name`` within the disk budget of images prepared ahead of the GPU.

        In the image stage of a workflow (``runtime.lookahead``), an image whose runs belong
        to a commit the GPU has not started waits until the images prepared ahead, with it,
        fit ``docker.disk_budget_gb`` (or until the GPU has been idle: nothing would make room).
        The run stage never waits here: it holds the GPU.
        """
        schedule = lookahead.current()
        if schedule is None or self.claimer is not None or not self.claimants:
            yield
            return
        folders = {Path(folder).name: folder for folder in schedule.commit_dirs}

        def started(commit: str) -> bool:
            return commit in folders and lookahead.started(folders[commit])

        budget = int(schedule.disk_budget_gb * images.GB)

        def room() -> bool:
            if started(images.commit_of(self.claimants[0])):
                return True  # its commit is running: the image is in use, not ahead
            with self.store.state() as state:
                images.drop_reservations(state, lambda reservation: processes.alive(reservation["pid"]))
                return images.reserve_room(state, name, owned_sizes(self.client, state), budget, started, os.getpid())

        waited = lookahead.wait(room, schedule.gpu_locks, idle_s=schedule.idle_s)
        if waited.seconds >= lookahead.POLL_S:
            why = "room" if waited.reason == "turn" else f"an idle GPU ({schedule.idle_s:g}s)"
            self.say(f"waited {waited.seconds:.1f}s for {why} within docker.disk_budget_gb before preparing {name}")
        try:
            yield
        finally:
            with self.store.state() as state:
                images.reserved(state).pop(name, None)  # recorded, or failed: either way no longer under way

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
                container_limits={"cpushares": CPU_SHARES},
            )
            lines: list[str] = []
            for chunk in stream:
                if "error" in chunk:
                    evidence = "\n".join(lines[-EVIDENCE_LINES:] + [chunk["error"].strip()])
                    raise run_stage.LegFailure(Failure(failures.SETUP_FAILED, f"building {name} failed:\n{evidence}"))
                if text := chunk.get("stream", "").rstrip():
                    lines.append(text)
                    self.say(text)
        image = self.client.images.get(name)
        self.store.record(name, image.id, self.claimants, self.claimer)
        return Obtained(image, digest)

    def _derive(self, name: str, derive: dict[str, Any]) -> Obtained:
        base = self.obtain(derive["base"])
        digest = images.recipe_digest(
            {k: derive[k] for k in ("patch_sha256", "source_dir", "rebuild_command")} | {"base": base.digest}
        )
        with self.store.resolving(name):
            present = self._present(name)
            if present is not None and present.labels.get(RECIPE_LABEL) == digest:
                self.store.claim(name, self.runs, self.claimer)
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
            self.store.record(name, image_id, self.runs, self.claimer, derived=True)
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
        config = container_config(
            image_id,
            argv,
            env={},
            labels=labels,
            workdir=workdir,
            network_mode=network,
            mounts=mounts,
            cpu_shares=CPU_SHARES,
        )
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
                raise run_stage.LegFailure(Failure(category, f"{' '.join(argv)} {what} in the image:\n{evidence}"))
            repository, tag = parse_repository_tag(name) if name else (None, None)
            # A commit keeps the container's labels: blank the ones that mark containers as a leg's.
            image_labels = {LABEL_SUITE: "", LABEL_LEG: "", LABEL_RUN: "", LABEL_ROLE: "", RECIPE_LABEL: digest}
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


def _missing(evidence: str) -> run_stage.LegFailure:
    return run_stage.LegFailure(Failure(failures.MISSING_IMAGE, evidence))


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
