rule revisions:
    """The commit's revisions, looked up in the clone once; the commit's spec, patches and images read them."""
    input:
        repo=PATHS.repo_json,
    output:
        PATHS.commit_file("{commit}", layout.REVISIONS),
    log:
        PATHS.log("revisions", "{commit}"),
    # Just above the runs of the commit lookahead + 1 before this one (plan.suite).
    priority: prepare_priority
    localrule: True
    conda:
        "../envs/patchbench.yaml"
    params:
        commit=revisions_params,
        repo=PATHS.repo_git,
    shell:
        "patchbench revisions --params {params.commit:q} --repo {params.repo:q} --out {output:q} > {log:q} 2>&1"
