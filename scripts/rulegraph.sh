#!/usr/bin/env bash
# Print the workflow's rule graph as a Mermaid diagram (the picture in the README).
# Usage: scripts/rulegraph.sh [snakemake options]   (run from the repository root)
set -euo pipefail
exec snakemake --rulegraph mermaid-js --cores 1 --resources gpu=1 "$@"
