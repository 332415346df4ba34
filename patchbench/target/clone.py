"""The target repository, cloned once per suite and shared (read-only) by every leg."""

from __future__ import annotations

import tempfile
from pathlib import Path

from patchbench import artifacts, gitops

BUILTIN_DEMO = "builtin:demo"


def materialize(source: str, dest: Path, out: Path) -> None:
    """Clone (or refresh) ``source`` into the bare repository ``dest`` and record its refs.

    ``builtin:demo`` is the demo suite's engine, whose history is built from
    this repository's ``demo/`` folder. ``out`` changes only when the refs do,
    so refreshing an unchanged clone reruns nothing downstream.
    """
    if source == BUILTIN_DEMO:
        from patchbench.target.demo import build_demo_repo

        with tempfile.TemporaryDirectory(prefix="patchbench-demo-") as scratch:
            built = Path(scratch) / "tinyllm"
            build_demo_repo(built)
            gitops.mirror(str(built), dest)
    else:
        gitops.mirror(source, dest)
    artifacts.write_json(out, {"source": source, "path": str(dest), "refs": gitops.heads(dest)})
