rule report:
    """Render the report (Markdown, self-contained HTML and its figures) from summary.csv."""
    input:
        unpack(report_labels),
        summary=PATHS.summary,
    output:
        md=PATHS.report_md,
        html=report(
            PATHS.report_html,
            caption="../report/report.rst",
            category="Report",
            labels={"file": "report.html"},
        ),
        outcomes=report(
            PATHS.plot("outcomes.svg"),
            caption="../report/outcomes.rst",
            category="Plots",
            labels={"figure": "outcomes per group"},
        ),
        outcomes_by_type=report(
            PATHS.plot("outcomes_by_type.svg"),
            caption="../report/outcomes_by_type.rst",
            category="Plots",
            labels={"figure": "outcomes per benchmark type"},
        ),
        improvement=report(
            PATHS.plot("improvement.svg"),
            caption="../report/improvement.rst",
            category="Plots",
            labels={"figure": "improvement over baseline"},
        ),
    log:
        PATHS.log("report"),
    localrule: True
    conda:
        "../envs/patchbench.yaml"
    params:
        title=config["report"]["title"],
        out=report_dir,
        labels=report_labels_flag,
    shell:
        "patchbench report --summary {input.summary:q} --out {params.out:q} --title {params.title:q} "
        "{params.labels} > {log:q} 2>&1"
