rule spec:
    """The commit's one benchmark: its planned command finished against its tree; every leg runs it."""
    input:
        revisions=PATHS.commit_file("{commit}", layout.REVISIONS),
    output:
        PATHS.commit_file("{commit}", layout.SPEC),
    log:
        PATHS.log("spec", "{commit}"),
    # Just above the runs of the commit lookahead + 1 before this one (plan.suite).
    priority: prepare_priority
    localrule: True
    conda:
        "../envs/patchbench.yaml"
    params:
        commit=spec_params,
        repo=PATHS.repo_git,
    shell:
        "patchbench spec --params {params.commit:q} --repo {params.repo:q} --revisions {input.revisions:q} "
        "--out {output:q} > {log:q} 2>&1"
