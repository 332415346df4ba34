rule patch:
    """The leg's patch: empty (baseline), the real commit diff (human) or the agent's file."""
    input:
        repo="results/{suite}/target/repo.json",
        agent_patch=agent_patch,
    output:
        "results/{suite}/legs/{commit}/{leg}/patch.diff",
    log:
        "results/{suite}/logs/patch/{commit}/{leg}.log",
    localrule: True
    conda:
        "../envs/patchbench.yaml"
    params:
        leg=patch_params,
        repo="results/{suite}/target/repo.git",
    shell:
        "patchbench leg patch --params {params.leg:q} --repo {params.repo:q} {input.agent_patch:q} "
        "--out {output:q} > {log:q} 2>&1"
