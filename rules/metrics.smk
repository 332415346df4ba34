rule metrics:
    """The leg's numbers, or its failure category with the evidence, plus provenance."""
    input:
        unpack(metrics_inputs),
    output:
        "results/{suite}/legs/{commit}/{leg}/metrics.json",
    log:
        "results/{suite}/logs/metrics/{commit}/{leg}.log",
    localrule: True
    conda:
        "../envs/patchbench.yaml"
    params:
        leg=metrics_params,
        leg_files=metrics_flags,
    shell:
        "patchbench leg metrics --params {params.leg:q} --spec {input.spec:q} {params.leg_files} "
        "--out {output:q} > {log:q} 2>&1"
