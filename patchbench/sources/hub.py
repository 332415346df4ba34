"""The ISO-Bench trajectory dataset from the Hugging Face Hub: only the files patchbench reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from patchbench.sources.kinds import SourceError

PATCH_NAME = "model_patch.diff"


def dataset_root(source: dict[str, Any], base: Path) -> Path:
    """Where the trajectory dataset is on disk, downloading it first if it has to be.

    A ``path`` that exists is used as it is. With ``hf_dataset`` the dataset is
    downloaded into ``path`` (when given) or else into Hugging Face's cache.
    """
    local = base / source["path"] if source.get("path") else None
    if local is not None and (local.is_dir() or not source.get("hf_dataset")):
        return local
    return download_dataset(source["hf_dataset"], source.get("repo"), local)


def download_dataset(dataset: str, repo: str | None, local: Path | None) -> Path:
    """Only the files this module reads; a copy already in the cache costs no network call."""
    try:
        import huggingface_hub  # deferred: only this kind of source needs it
    except ImportError:
        raise SourceError(
            f"trajectories source: downloading the dataset {dataset!r} needs huggingface_hub "
            "(pip install huggingface_hub), or give a local 'path' to a copy"
        ) from None
    folders = repo or "*"
    patterns = [f"{folders}/*/{name}" for name in (PATCH_NAME, "run_summary.json", "journal.json")]

    def fetch(cached_only: bool) -> Path:
        return Path(
            huggingface_hub.snapshot_download(
                dataset,
                repo_type="dataset",
                allow_patterns=[*patterns, "metadata.json"],
                local_dir=local,
                local_files_only=cached_only,
            )
        )

    try:
        if local is None:
            try:
                return fetch(cached_only=True)
            except huggingface_hub.errors.LocalEntryNotFoundError:
                pass  # not cached yet
        return fetch(cached_only=False)
    # The hub's failures (offline, not found, gated, bad id) are all OSError or ValueError kinds.
    except (OSError, ValueError) as exc:
        raise SourceError(
            f"trajectories source: cannot get the dataset {dataset!r} from the Hugging Face Hub: {exc}\n"
            "Download it while online, or give a local 'path' to a copy."
        ) from None
