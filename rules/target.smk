rule target_repo:
    """Clone the target repository once; every leg reads from this copy."""
    output:
        record="results/{suite}/target/repo.json",
    log:
        "results/{suite}/logs/target_repo.log",
    localrule: True
    conda:
        "../envs/patchbench.yaml"
    params:
        source=config["repo"],
        dest="results/{suite}/target/repo.git",
    shell:
        "patchbench clone --repo {params.source:q} --dest {params.dest:q} --out {output.record:q} > {log:q} 2>&1"
