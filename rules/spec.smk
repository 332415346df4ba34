rule spec:
    """The commit's one benchmark, normalized against the target tree; every leg of the commit runs it."""
    input:
        repo="results/{suite}/target/repo.json",
    output:
        "results/{suite}/legs/{commit}/spec.json",
    log:
        "results/{suite}/logs/spec/{commit}.log",
    localrule: True
    conda:
        "../envs/patchbench.yaml"
    params:
        commit=spec_params,
        repo="results/{suite}/target/repo.git",
    shell:
        "patchbench spec --params {params.commit:q} --repo {params.repo:q} --out {output:q} > {log:q} 2>&1"
