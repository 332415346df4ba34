rule patch:
    """The leg's patch: empty (baseline), the real commit diff (human) or the agent's file."""
    input:
        revisions=PATHS.commit_file("{commit}", layout.REVISIONS),
        agent_patch=agent_patch,
    output:
        PATHS.leg_file("{commit}", "{leg}", layout.PATCH),
    log:
        PATHS.log("patch", "{commit}", "{leg}"),
    # Just above the runs of the commit lookahead + 1 before this one (plan.suite).
    priority: prepare_priority
    localrule: True
    conda:
        "../envs/patchbench.yaml"
    params:
        leg=patch_params,
        repo=PATHS.repo_git,
    shell:
        "patchbench leg patch --params {params.leg:q} --repo {params.repo:q} --revisions {input.revisions:q} "
        "{input.agent_patch:q} "
        "--out {output:q} > {log:q} 2>&1"
