rule target_repo:
    """Clone the target repository once; every leg reads from this copy."""
    output:
        record=PATHS.repo_json,
    log:
        PATHS.log("target_repo"),
    localrule: True
    conda:
        "../envs/patchbench.yaml"
    params:
        source=config["repo"],
        dest=PATHS.repo_git,
    shell:
        "patchbench clone --repo {params.source:q} --dest {params.dest:q} --out {output.record:q} > {log:q} 2>&1"
