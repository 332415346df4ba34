rule image:
    """Prepare the leg's image (local runtime: a private working copy, patch applied)."""
    input:
        revisions=PATHS.commit_file("{commit}", layout.REVISIONS),
        # A commit whose spec the tree ruled out prepares nothing.
        spec=PATHS.commit_file("{commit}", layout.SPEC),
        patch=PATHS.leg_file("{commit}", "{leg}", layout.PATCH),
    output:
        PATHS.leg_file("{commit}", "{leg}", layout.IMAGE_TAG),
    log:
        PATHS.log("image", "{commit}", "{leg}"),
    # Beside the run that holds the core and the GPU (see common.smk): no core,
    # one of the prepare.parallel slots, the earliest commits first.
    priority: prepare_priority
    conda:
        "../envs/patchbench.yaml"
    threads: 0
    resources:
        prepare=1,
    params:
        leg=image_params,
        # The shared clone; ready before any revisions.json.
        repo=PATHS.repo_git,
        worktree=PATHS.worktree("{commit}", "{leg}"),
    shell:
        "patchbench leg image --params {params.leg:q} --repo {params.repo:q} --revisions {input.revisions:q} "
        "--spec {input.spec:q} "
        "--patch {input.patch:q} "
        "--worktree {params.worktree:q} --log {log:q} --out {output:q} 2>> {log:q}"
