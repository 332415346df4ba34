rule patch:
    """The leg's patch: empty (baseline), the real commit diff (human) or the agent's file."""
    input:
        unpack(agent_patch),
        repo="results/{suite}/target/repo.json",
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
        agent_patch=agent_patch_flag,
    shell:
        "patchbench leg patch --params {params.leg:q} --repo {params.repo:q} {params.agent_patch} "
        "--out {output:q} > {log:q} 2>&1"
