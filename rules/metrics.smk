rule metrics:
    """The leg's numbers, or its failure category with the evidence, plus provenance."""
    input:
        spec="results/{suite}/legs/{commit}/spec.json",
        leg_files=metrics_leg_files,
    output:
        "results/{suite}/legs/{commit}/{leg}/metrics.json",
    log:
        "results/{suite}/logs/metrics/{commit}/{leg}.log",
    localrule: True
    conda:
        "../envs/patchbench.yaml"
    params:
        leg=metrics_params,
    shell:
        "patchbench leg metrics --params {params.leg:q} --spec {input.spec:q} {input.leg_files:q} "
        "--out {output:q} > {log:q} 2>&1"
