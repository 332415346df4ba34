rule report:
    """Render the report (Markdown and self-contained HTML) from summary.csv."""
    input:
        summary="results/{suite}/summary.csv",
    output:
        md="results/{suite}/report.md",
        html="results/{suite}/report.html",
    log:
        "results/{suite}/logs/report.log",
    localrule: True
    conda:
        "../envs/patchbench.yaml"
    params:
        title=config["report"]["title"],
        band=config["report"]["similar_band_pct"],
        out=report_dir,
    shell:
        "patchbench report --summary {input.summary:q} --out {params.out:q} --title {params.title:q} "
        "--band {params.band} > {log:q} 2>&1"
