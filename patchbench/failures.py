"""Failure categories: the vocabulary every leg, parser and report shares.

A leg that produced no numbers is never a silent zero: it carries one of these
categories and the log line(s) that show it. Keeping the names in one place
lets the summary, the report and the retry policy agree on them.
"""

from __future__ import annotations

from dataclasses import dataclass

# Decided before any benchmark runs (from the commit table, config or patch).
MISSING_PATCH = "missing_patch"
MISSING_PARENT_COMMIT = "missing_parent_commit"
MISSING_PERF_COMMAND = "missing_perf_command"
UNSUPPORTED_BENCHMARK = "unsupported_benchmark"
GPU_REQUIREMENT = "gpu_requirement"
PLACEHOLDER_IN_COMMAND = "placeholder_in_command"
LOCAL_PATH_IN_COMMAND = "local_path_in_command"
PATCH_REJECTED = "patch_rejected"
PATCH_APPLY_FAILED = "patch_apply_failed"
PATCH_SYNTAX_ERROR = "patch_syntax_error"
NEEDS_REBUILD = "needs_rebuild"
SETUP_FAILED = "setup_failed"
MISSING_IMAGE = "missing_image"
MISSING_BENCHMARK_SCRIPT = "missing_benchmark_script"
UNSUPPORTED_FLAG = "unsupported_flag"

# Decided from the run and its log.
SERVER_START_TIMEOUT = "server_start_timeout"
SERVER_CRASH = "server_crash"
BENCHMARK_CRASH = "benchmark_crash"
OOM = "oom"
TIMEOUT = "timeout"
BAD_ARGUMENTS = "bad_arguments"
ENV_ERROR = "env_error"
DEPRECATED_SCRIPT = "deprecated_script"
REQUESTS_FAILED = "requests_failed"
NO_METRICS = "no_metrics"
CONTAINER_START_FAILED = "container_start_failed"
GPU_UNAVAILABLE = "gpu_unavailable"
SANDBOX_UNAVAILABLE = "sandbox_unavailable"
MISSING_PROGRAM = "missing_program"

# A finding, not a failure: the leg is measured all the same (with the pinned harness).
TOUCHES_BENCHMARK = "touches_benchmark"

CATEGORIES: dict[str, str] = {
    MISSING_PATCH: "the agent produced no (or an empty) patch for this commit",
    MISSING_PARENT_COMMIT: "the commit's parent is not recorded and not in the repository",
    MISSING_PERF_COMMAND: "the commit table gives no benchmark command",
    UNSUPPORTED_BENCHMARK: "the benchmark command is not one the workflow can run",
    GPU_REQUIREMENT: "the benchmark needs more GPUs than the host has",
    PLACEHOLDER_IN_COMMAND: "the perf command has placeholders never filled in (BS, MODEL, ...)",
    LOCAL_PATH_IN_COMMAND: "the perf command uses paths that exist only on its author's machine",
    PATCH_REJECTED: "the patch is unsafe or malformed (outside the repository, binary, too large)",
    PATCH_APPLY_FAILED: "the patch does not apply to the parent commit",
    PATCH_SYNTAX_ERROR: "a Python file changed by the patch does not compile",
    NEEDS_REBUILD: "the patch changes compiled sources and nothing would rebuild them",
    SETUP_FAILED: "the suite's setup command failed in the leg's worktree",
    MISSING_IMAGE: "the leg's container image is not on the host, not pullable and not buildable",
    MISSING_BENCHMARK_SCRIPT: "the tree has no benchmark program for the command (or no engine package)",
    UNSUPPORTED_FLAG: "an option of the command that neither the benchmark nor the server of that tree accepts",
    SERVER_START_TIMEOUT: "the server did not become healthy before the deadline",
    SERVER_CRASH: "the server died before or during the benchmark",
    BENCHMARK_CRASH: "the benchmark client raised an error",
    OOM: "out of memory (CUDA or host)",
    TIMEOUT: "the benchmark ran past its deadline",
    BAD_ARGUMENTS: "the benchmark rejected its command-line arguments",
    ENV_ERROR: "a module is missing or broken in the environment",
    DEPRECATED_SCRIPT: "the benchmark script is a deprecation stub",
    REQUESTS_FAILED: "all or most benchmark requests failed",
    NO_METRICS: "the run finished but printed no recognisable result",
    CONTAINER_START_FAILED: "the container engine could not start the leg's container (GPU request, mounts)",
    GPU_UNAVAILABLE: "the GPUs the leg was given stayed held by another leg",
    SANDBOX_UNAVAILABLE: "agent code would have run unconfined: no usable sandbox on this host (bubblewrap)",
    MISSING_PROGRAM: "a program the leg runs (benchmark, server, setup) does not exist where it runs",
}

# Failures a plain retry may cure (flaky hosts, transient resources); the rest
# only change when the input changes.
RETRYABLE = frozenset(
    {
        SERVER_START_TIMEOUT,
        SERVER_CRASH,
        BENCHMARK_CRASH,
        OOM,
        TIMEOUT,
        ENV_ERROR,
        REQUESTS_FAILED,
        NO_METRICS,
        SETUP_FAILED,
        GPU_UNAVAILABLE,
        SANDBOX_UNAVAILABLE,  # cured by installing bubblewrap (or allowing user namespaces) on the host
    }
)


@dataclass(frozen=True)
class Failure:
    """Why a leg has no numbers: a category and the evidence that shows it."""

    category: str
    evidence: str

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise ValueError(f"unknown failure category: {self.category!r}")

    def as_dict(self) -> dict[str, str]:
        return {"category": self.category, "evidence": self.evidence}
