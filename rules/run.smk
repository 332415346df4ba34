rule run:
    """One round of the leg: the commit's one benchmark spec in the leg's image; holds the GPUs it needs."""
    input:
        spec=PATHS.commit_file("{commit}", layout.SPEC),
        image=PATHS.leg_file("{commit}", "{leg}", layout.IMAGE_TAG),
    output:
        PATHS.round_log("{commit}", "{leg}", "{round}"),
    log:
        PATHS.log("run", "{commit}", "{leg}", "{round}"),
    # Commits in table order, each commit's rounds in turn, a round's legs in
    # its shuffled order; the preparation of the commit lookahead + 1 ahead
    # comes just before each commit's runs (plan.suite).
    priority: run_priority
    conda:
        "../envs/patchbench.yaml"
    resources:
        gpu=leg_gpus,
    params:
        leg=run_params,
        # The shared clone; ready before any revisions.json.
        repo=PATHS.repo_git,
    shell:
        "patchbench leg run --params {params.leg:q} --spec {input.spec:q} --image {input.image:q} --repo {params.repo:q} "
        "--out {output:q} > {log:q} 2>&1"
