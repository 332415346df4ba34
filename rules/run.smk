rule run:
    """Run the commit's one benchmark spec in the leg's image; holds the GPUs it needs."""
    input:
        spec="results/{suite}/legs/{commit}/spec.json",
        image="results/{suite}/legs/{commit}/{leg}/image.tag",
    output:
        "results/{suite}/legs/{commit}/{leg}/run.log",
    log:
        "results/{suite}/logs/run/{commit}/{leg}.log",
    # Before preparing more images: with the docker runtime, an image pulled or
    # built for a leg occupies the disk until the legs that need it have run.
    priority: 1
    conda:
        "../envs/patchbench.yaml"
    resources:
        gpu=leg_gpus,
    params:
        leg=run_params,
        # The shared clone; ready before any patch.diff (the patch rule needs repo.json).
        repo="results/{suite}/target/repo.git",
    shell:
        "patchbench leg run --params {params.leg:q} --spec {input.spec:q} --image {input.image:q} --repo {params.repo:q} "
        "--out {output:q} > {log:q} 2>&1"
