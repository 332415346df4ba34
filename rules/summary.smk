rule summary:
    """One row per leg, failed and skipped legs included, with improvements over baseline and human."""
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
        primary=primary_metrics_param,
    shell:
        "patchbench summary --primary {params.primary:q} --out {output:q} {input.metrics:q} > {log:q} 2>&1"
