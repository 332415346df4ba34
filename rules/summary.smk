rule summary:
    """One row per leg, failed and skipped legs included, with the verdicts against baseline and human."""
    input:
        metrics=all_metrics,
    output:
        PATHS.summary,
    log:
        PATHS.log("summary"),
    localrule: True
    conda:
        "../envs/patchbench.yaml"
    params:
        primary=as_param(config["primary_metrics"]),
        verdict=as_param(config["verdict"]),
    shell:
        "patchbench summary --primary {params.primary:q} --verdict {params.verdict:q} --out {output:q} "
        "{input.metrics:q} > {log:q} 2>&1"
