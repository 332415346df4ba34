# patchbench: baseline vs human fix vs coding agents, one leg per (commit, variant).
# Each leg is patch.diff -> image.tag -> run.log -> metrics.json; all legs meet
# in summary.csv and the report. Failure is data: a leg that could not run
# still writes metrics.json with its failure category and evidence.

import gc

# Snakemake plans every job before it runs one: hundreds of objects per job,
# none of them garbage, which Python's cyclic collector would rescan again and
# again as they pile up (a quarter of a large dry run, docs/speed.md). The
# collector rests until jobs start.
gc.disable()


onstart:
    gc.freeze()  # the DAG lives as long as the run: keep later collections off it
    gc.enable()
    write_schedule()  # when image jobs may begin (rules/common.smk)


# The demo suite runs when no suite is named. Snakemake would merge a
# --configfile into it, and demo settings (agents, images, docker options) would
# leak into a real suite wherever it leaves a key out, so a named suite replaces it.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/target.smk"
include: "rules/revisions.smk"
include: "rules/spec.smk"
include: "rules/patch.smk"
include: "rules/image.smk"
include: "rules/run.smk"
include: "rules/metrics.smk"
include: "rules/summary.smk"
include: "rules/report.smk"


rule all:
    default_target: True
    input:
        final_targets(),
