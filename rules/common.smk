import inspect
import json
import os
import sys

from snakemake.common import overwrite_function_params
from snakemake.utils import min_version, validate

from pathlib import Path

from patchbench import artifacts, layout
from patchbench.layout import Layout
from patchbench.plan import legs
from patchbench.plan.legs import Leg
from patchbench.plan.suite import plan_suite
from patchbench.results import retry
from patchbench.runtime import lookahead

min_version("9.0")


validate(config, "../patchbench/schemas/config.schema.yaml")


def gpu_limit():
    """--resources gpu=N when given: Snakemake silently caps larger requests to it."""
    resource = workflow.global_resources.get("gpu")
    return getattr(resource, "value", None)


# The plan is pure (config + commit table + patch file names): cheap at parse time.
PLAN = plan_suite(config, gpu_limit=gpu_limit())
LEGS = PLAN.legs()
# Rules name their files with wildcards; input functions name one suite's files.
PATHS = Layout("{suite}")
SUITE = Layout(PLAN.suite)


# Image jobs take no core (threads: 0): Snakemake starts them beside the run job
# that holds the core and the GPU, at most prepare.parallel at once (a resource
# declared here, so the plain `--cores 1 --resources gpu=1` bounds them too).
# How far ahead of the GPU they go is the image job's own wait (runtime.lookahead),
# read from the schedule file that write_schedule() leaves when the run starts;
# jobs, here or on a cluster node, learn its path from the environment.
workflow.register_resource("prepare", config["prepare"]["parallel"])
os.environ[lookahead.ENV] = SUITE.schedule


def write_schedule():
    lookahead.write(SUITE.schedule, PLAN.schedule())


wildcard_constraints:
    suite=PLAN.suite,
    commit="[0-9a-f]{7,40}",
    leg=legs.NAME_PATTERN,
    round="[1-9][0-9]*",


def per_job(func):
    """Mark a function that Snakemake calls for every job (input, params, resources).

    Snakemake inspects such a function's signature each time it calls it (~50 µs,
    twice per call): a tenth of the dry run of a 1,000-commit suite. The
    signature never changes, so Snakemake is handed it once.
    """
    overwrite_function_params(func, inspect.signature(func).parameters)
    return func


def as_param(value):
    """Params as canonical JSON: key order must not look like a change to Snakemake."""
    return json.dumps(value, sort_keys=True)


def leg_of(wildcards):
    return Leg.parse(wildcards.commit, wildcards.leg)


def final_targets():
    """The report, plus the run logs and metrics.json of every leg that lost one.

    Snakemake does not recompute a deleted intermediate file when what depends
    on it is up to date, so such a leg's files are named as targets. Only those:
    a target per leg would cost the DAG ~10,000 lookups on a large suite.
    """
    incomplete = []
    if workflow.is_main_process:
        summary_exists = Path(SUITE.summary).exists()
        for leg in LEGS:
            files = leg_products(leg)
            present = [Path(f).exists() for f in files]
            if not all(present) and (summary_exists or any(present)):
                incomplete += files
    return [SUITE.summary, SUITE.report_md, SUITE.report_html] + incomplete


def leg_products(leg):
    """A leg's round logs and metrics.json; a skipped leg (known before anything runs) has only the latter."""
    metrics = SUITE.leg_file(leg.commit, leg.name, layout.METRICS)
    return [metrics] if PLAN.skip(leg) else round_logs(leg) + [metrics]


def round_logs(leg):
    return [
        SUITE.round_log(leg.commit, leg.name, number)
        for number in range(1, PLAN.rounds + 1)
    ]


@per_job
def metrics_leg_files(wildcards):
    """image.tag and the round logs of a leg that runs; none for a skipped one
    (known before anything runs), so it never builds an image or reaches a
    cluster queue. One plain list, not unpack() and a flags function: a metrics
    job per leg."""
    leg = leg_of(wildcards)
    if PLAN.skip(leg):
        return []
    return [SUITE.leg_file(leg.commit, leg.name, layout.IMAGE_TAG)] + round_logs(leg)


def all_metrics(wildcards):
    return [SUITE.leg_file(leg.commit, leg.name, layout.METRICS) for leg in LEGS]


@per_job
def agent_patch(wildcards):
    """The agent's own patch file, when there is one: a change to it reruns the leg.
    One plain list (no unpack and flags function), like metrics_leg_files."""
    path = PLAN.agent_patch(leg_of(wildcards))
    return [str(path)] if path else []


@per_job
def patch_params(wildcards):
    return as_param(PLAN.patch_params(leg_of(wildcards)))


@per_job
def image_params(wildcards):
    return as_param(PLAN.image_params(leg_of(wildcards)))


@per_job
def spec_params(wildcards):
    return as_param(PLAN.spec_params(wildcards.commit))


@per_job
def run_params(wildcards):
    return as_param(PLAN.run_params(leg_of(wildcards), int(wildcards.round)))


@per_job
def metrics_params(wildcards):
    return as_param(PLAN.metrics_params(leg_of(wildcards)))


@per_job
def leg_gpus(wildcards, input):
    """GPUs the run job holds; Snakemake caps resources silently, so the plan
    has already skipped legs that need more than the host has. None for a
    commit whose spec the tree ruled out: its run job only records that.
    Snakemake asks once spec.json exists."""
    return PLAN.gpus(leg_of(wildcards)) if runnable(input.spec) else 0


def runnable(spec):
    return artifacts.read_artifact(spec, layout.SPEC)["spec"] is not None


@per_job
def run_priority(wildcards):
    return PLAN.run_priority(leg_of(wildcards), int(wildcards.round))


@per_job
def prepare_priority(wildcards):
    return PLAN.prepare_priority(wildcards.commit)


@per_job
def revisions_params(wildcards):
    return as_param(PLAN.revisions_params(wildcards.commit))


def report_dir(wildcards, output):
    """The report's folder, from its output (a prefix param would break without a shared FS)."""
    return str(Path(output.md).parent)


def report_labels(wildcards):
    """The soft-metric labels (report: labels:), when configured: a change to them rerenders."""
    labels = config["report"].get("labels")
    return {"labels": labels} if labels else {}


def report_labels_flag(wildcards, input):
    return f"--labels {input.labels}" if "labels" in input.keys() else ""


def retry_failed_legs(mode):
    """--config retry=failed|all-failed: archive those legs' results so they rerun.

    Only the main Snakemake process acts (cluster jobs re-parse this file), and
    a dry run only reports what a real run would retry.
    """
    legs = retry.legs_to_retry(
        [Path(SUITE.leg_dir(leg.commit, leg.name)) for leg in LEGS], mode
    )
    if not workflow.is_main_process:
        return
    if workflow.dryrun:
        print(
            f"patchbench: a real run would retry {len(legs)} failed leg(s) ({mode})",
            file=sys.stderr,
        )
        return
    for path, files in legs.items():
        retry.archive(path, files)
    print(f"patchbench: retrying {len(legs)} failed leg(s) ({mode})", file=sys.stderr)


if config["retry"]:
    retry_failed_legs(config["retry"])
