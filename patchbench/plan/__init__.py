"""The suite plan, read when Snakemake parses the workflow: commit tables, lint, legs."""
