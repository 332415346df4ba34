rule metrics:
    """The leg's numbers, or its failure category with the evidence, plus provenance."""
    input:
        spec=PATHS.commit_file("{commit}", layout.SPEC),
        leg_files=metrics_leg_files,
    output:
        PATHS.leg_file("{commit}", "{leg}", layout.METRICS),
    log:
        PATHS.log("metrics", "{commit}", "{leg}"),
    localrule: True
    conda:
        "../envs/patchbench.yaml"
    params:
        leg=metrics_params,
    shell:
        "patchbench leg metrics --params {params.leg:q} --spec {input.spec:q} {input.leg_files:q} "
        "--out {output:q} > {log:q} 2>&1"
