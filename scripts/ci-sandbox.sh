#!/usr/bin/env bash
# The local runtime's sandbox for CI and for hosts that run agent patches:
# Debian's bubblewrap, then a real pod started once to prove it works here
# (user namespaces allowed, no AppArmor restriction). Idempotent; as root.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if ! command -v bwrap >/dev/null; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends bubblewrap >/dev/null
fi
python=${PYTHON:-.venv/bin/python}
reason=$("$python" -c 'from patchbench.runtime.sandbox import probe; print(probe() or "")')
if [ -n "$reason" ]; then
    echo "ci-sandbox: no usable sandbox: $reason" >&2
    exit 1
fi
echo "ci-sandbox: bwrap $(bwrap --version | awk '{print $2}') works" >&2
