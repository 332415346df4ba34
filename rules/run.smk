rule run:
    """Run the commit's one benchmark spec in the leg's image; holds the GPUs it needs."""
    input:
        spec=PATHS.commit_file("{commit}", layout.SPEC),
        image=PATHS.leg_file("{commit}", "{leg}", layout.IMAGE_TAG),
    output:
        PATHS.leg_file("{commit}", "{leg}", layout.RUN_LOG),
    log:
        PATHS.log("run", "{commit}", "{leg}"),
    # Before preparing more images: with the docker runtime, an image pulled or
    # built for a leg occupies the disk until the legs that need it have run.
    priority: 1
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
