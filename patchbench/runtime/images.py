"""Container images: their names, their identity, and which of them a suite may remove.

Names come from config templates (ISO-Bench's by default) and are pure
functions of the leg. An image's identity is its image ID, except for images
patchbench builds itself: those carry the digest of their *recipe* (base
image, Dockerfile, revision, patch, rebuild command) as a label, because two
builds of one recipe get different image IDs (timestamps) but are the same
image for a benchmark. ``image.tag`` records that identity, so rebuilding a
removed image does not rerun the legs downstream.

Disk: a suite remembers which images it brought onto the host (pulled or
built) in ``results/<suite>/.docker/images.json`` with the legs still to run
from each. Once none is left an image may go (beyond ``disk_budget_gb``, least
recently used first); images that were on the host before are never in that
record, so never removed. The same budget bounds the images prepared ahead of
the GPU (those only commits not yet started wait for): a pull or build ahead
reserves its room first, or waits. The record is changed under an ``fcntl``
lock: legs run in parallel processes.

What a leg's image stage saw (did it pull, how many GB the suite's images took
once its image was ready) is kept apart, in ``legs/<commit>/<leg>.json`` of
the same directory: it changes from one attempt to the next, so it must not
go into ``image.tag`` (whose bytes decide what Snakemake reruns). The run
stage notes it in ``run.log``, from where it reaches the leg's provenance.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from patchbench import artifacts

RECIPE_LABEL = "patchbench.recipe"
PLACEHOLDERS = ("commit", "commit12", "parent", "parent12", "suite", "agent")
GB = 1e9


def image_name(template: str, *, suite: str, commit: str, parent: str, agent: str = "") -> str:
    """Fill a name template; unknown braces are left alone (Docker will reject a bad name itself)."""
    values = {
        "commit": commit,
        "commit12": commit[:12],
        "parent": parent,
        "parent12": parent[:12],
        "suite": suite,
        "agent": agent,
    }
    for key in PLACEHOLDERS:
        template = template.replace("{" + key + "}", values[key])
    return template


def start_image(templates: dict[str, str], *, variant: str, suite: str, commit: str, parent: str) -> str:
    """The image a leg starts from: the human image, else the baseline image (agents too)."""
    return image_name(
        templates["human" if variant == "human" else "baseline"], suite=suite, commit=commit, parent=parent
    )


def fill(template: str, **values: str) -> str:
    """``{key}`` placeholders replaced; other braces (``${VAR}`` in a Dockerfile) kept as they are."""
    for key, value in values.items():
        template = template.replace("{" + key + "}", value)
    return template


def recipe_digest(parts: dict[str, Any]) -> str:
    """The identity of an image patchbench makes: a digest of everything that goes into it."""
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def sif_file(name: str) -> str:
    """Where a local Apptainer image of ``name`` is expected: ``/`` and ``:`` become ``_``."""
    return name.replace("/", "_").replace(":", "_") + ".sif"


# ------------------------------------------------- what the suite owns (pure)


def owned(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return state.setdefault("images", {})


def record(state: dict[str, Any], name: str, image_id: str, when: float, *, derived: bool = False) -> None:
    """``name`` was pulled, built or (``derived``: a layer on another image) derived by this
    suite (``image_id`` is what the name pointed at); a room reserved for it is taken."""
    owned(state)[name] = {"id": image_id, "users": [], "last_used": when, "derived": derived}
    reserved(state).pop(name, None)


def claim(state: dict[str, Any], name: str, users: list[str], me: str | None, when: float) -> None:
    """``users`` (run jobs: ``<commit>/<leg>/<round>``) will run from ``name``, ``me`` (the run job
    asking, if one is) certainly; those already done are not waited for.

    Only images the suite owns are tracked: the others are never removed anyway.
    """
    done = set(state.setdefault("done", []))
    done.discard(me)
    state["done"] = sorted(done)
    entry = owned(state).get(name)
    if entry is not None:
        entry["users"] = sorted(set(entry["users"]) | (set(users) - done) | ({me} if me else set()))
        entry["last_used"] = when


def release(state: dict[str, Any], me: str, when: float) -> bool:
    """``me`` has run; True when it was waited for by some image (a collection may free one)."""
    state["done"] = sorted(set(state.setdefault("done", [])) | {me})
    released = False
    for entry in owned(state).values():
        if me in entry["users"]:
            entry["users"].remove(me)
            entry["last_used"] = when
            released = True
    return released


def reserved(state: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Pulls and builds under way ahead of the GPU: name -> the bytes counted for it and the pid pulling it."""
    return state.setdefault("reserved", {})


def ahead_bytes(state: dict[str, Any], sizes: dict[str, int], started: Callable[[str], bool]) -> int:
    """Bytes of the images prepared ahead of the GPU: the suite's pulled or built images that only
    run jobs of commits not yet started wait for, and the pulls and builds under way.

    Derived images are a layer on one of those (counted whole, they would count a base twice);
    an image a started commit waits for is in use.
    """
    waiting = [
        name
        for name, entry in owned(state).items()
        if not entry.get("derived") and entry["users"] and not any(started(commit_of(u)) for u in entry["users"])
    ]
    return sum(sizes.get(name, 0) for name in waiting) + sum(r["bytes"] for r in reserved(state).values())


def reserve_room(
    state: dict[str, Any], name: str, sizes: dict[str, int], budget_bytes: int, started: Callable[[str], bool], pid: int
) -> bool:
    """Whether ``name`` may be pulled or built now, ahead of the GPU; if so its room is reserved.

    Its size is not known before it arrives: it is counted as the largest image the suite
    holds (all of a campaign's images are alike), so the first one always fits.
    """
    estimate = max(sizes.values(), default=0)
    if ahead_bytes(state, sizes, started) + estimate > budget_bytes:
        return False
    reserved(state)[name] = {"bytes": estimate, "pid": pid}
    return True


def drop_reservations(state: dict[str, Any], keep: Callable[[dict[str, int]], bool]) -> None:
    """Forget the reservations ``keep`` rejects (a pull that failed, or whose process is gone)."""
    state["reserved"] = {name: r for name, r in reserved(state).items() if keep(r)}


def commit_of(run_id: str) -> str:
    """The commit of a run job ``<commit>/<leg>/<round>``."""
    return run_id.split("/", 1)[0]


def held_gb(sizes: dict[str, int]) -> float:
    """GB taken by the suite's images of ``sizes`` (bytes by name; layers they share are counted in each)."""
    return round(sum(sizes.values()) / GB, 6)


def merged_facts(before: dict[str, Any], now: dict[str, Any]) -> dict[str, Any]:
    """A leg's image facts after another attempt: a pull or a peak seen for the same image is not forgotten."""
    if not before or (before.get("image"), before.get("digest")) != (now.get("image"), now.get("digest")):
        return dict(now)
    merged = dict(now)
    if "image_pulled" in before or "image_pulled" in now:
        merged["image_pulled"] = bool(before.get("image_pulled")) or bool(now.get("image_pulled"))
    disks = [facts["disk_gb"] for facts in (before, now) if facts.get("disk_gb") is not None]
    if disks:
        merged["disk_gb"] = max(disks)
    return merged


def removable(state: dict[str, Any], sizes: dict[str, int], budget_bytes: int) -> list[str]:
    """Owned images no leg waits for, least recently used first, until the owned ones fit ``budget_bytes``.

    A budget of 0 keeps none of them.
    """
    images = owned(state)
    idle = sorted((entry["last_used"], name) for name, entry in images.items() if not entry["users"])
    total = sum(sizes.get(name, 0) for name in images)
    chosen = []
    for _, name in idle:
        if budget_bytes and total <= budget_bytes:
            break
        chosen.append(name)
        total -= sizes.get(name, 0)
    return chosen


# ------------------------------------------------- the record on disk


class ImageStore:
    """The suite's image record on disk, changed under an exclusive lock by one leg at a time."""

    def __init__(self, state_dir: Path) -> None:
        self.dir = state_dir

    @contextlib.contextmanager
    def state(self) -> Iterator[dict[str, Any]]:
        """The record, locked; it is saved when the block ends without an exception."""
        path = self.dir / "images.json"
        with self._locked("images.lock"):
            state = json.loads(path.read_text()) if path.exists() else {}
            yield state
            artifacts.write_json(path, state)

    @contextlib.contextmanager
    def resolving(self, name: str) -> Iterator[None]:
        """Only one leg at a time pulls or builds ``name``; the next one finds it present."""
        key = hashlib.sha256(name.encode()).hexdigest()[:16]
        with self._locked(f"locks/{key}.lock"):
            yield

    def _locked(self, relative: str) -> contextlib.AbstractContextManager[None]:
        return artifacts.exclusive(self.dir / relative)

    def claim(self, name: str, users: list[str], me: str | None) -> None:
        with self.state() as state:
            claim(state, name, users, me, time.time())

    def record(self, name: str, image_id: str, users: list[str], me: str | None, *, derived: bool = False) -> None:
        with self.state() as state:
            record(state, name, image_id, time.time(), derived=derived)
            claim(state, name, users, me, time.time())

    def release(self, me: str) -> bool:
        with self.state() as state:
            return release(state, me, time.time())

    def leg_facts(self, me: str) -> dict[str, Any]:
        """What ``me``'s image stage recorded (``image``, ``digest``, ``image_pulled``, ``disk_gb``); {} if nothing."""
        path = self._facts_path(me)
        return json.loads(path.read_text()) if path.exists() else {}

    def note_leg(self, me: str, facts: dict[str, Any]) -> dict[str, Any]:
        """Record ``me``'s image facts, merged with an earlier attempt's for the same image; the result."""
        merged = merged_facts(self.leg_facts(me), facts)
        path = self._facts_path(me)
        path.parent.mkdir(parents=True, exist_ok=True)
        artifacts.write_json(path, merged)
        return merged

    def _facts_path(self, me: str) -> Path:
        return self.dir / "legs" / f"{me}.json"  # ``me`` is ``<commit>/<leg>``
