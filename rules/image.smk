rule image:
    """Prepare the leg's image (local runtime: a private working copy, patch applied)."""
    input:
        patch="results/{suite}/legs/{commit}/{leg}/patch.diff",
    output:
        "results/{suite}/legs/{commit}/{leg}/image.tag",
    log:
        "results/{suite}/logs/image/{commit}/{leg}.log",
    conda:
        "../envs/patchbench.yaml"
    params:
        leg=image_params,
        # The shared clone; ready before any patch.diff (the patch rule needs repo.json).
        repo="results/{suite}/target/repo.git",
        worktree="results/{suite}/worktrees/{commit}/{leg}",
    shell:
        "patchbench leg image --params {params.leg:q} --repo {params.repo:q} --patch {input.patch:q} "
        "--worktree {params.worktree:q} --log {log:q} --out {output:q} 2>> {log:q}"
