#!/usr/bin/env bash
# A Docker engine for the docker runtime's tests and demo, on Debian 12 as root,
# with network only to the Debian mirrors. Idempotent: run it as often as you like.
#
#  1. installs Debian's docker.io (engine 20.10, API 1.41), mmdebstrap (builds
#     the base image) and docker-registry (a local registry the pull tests use);
#  2. starts dockerd by hand when `docker info` fails (Debian's policy-rc.d
#     keeps the package from starting it), falling back to the vfs driver
#     without bridge networking where overlay2 or iptables do not work;
#  3. imports the offline base image the demo builds FROM: a Debian rootfs
#     with python3 and git (the workflow itself never touches the network).
#
# Environment: PATCHBENCH_BASE_IMAGE (default patchbench/python3:bookworm),
# DEBIAN_MIRROR (default: the mirror apt uses for bookworm, else deb.debian.org).
set -euo pipefail

BASE_IMAGE=${PATCHBENCH_BASE_IMAGE:-patchbench/python3:bookworm}
DOCKERD_LOG=/var/log/patchbench-dockerd.log
export DEBIAN_FRONTEND=noninteractive

say() { printf 'ci-docker: %s\n' "$*" >&2; }

if ! command -v dockerd >/dev/null || ! command -v mmdebstrap >/dev/null || ! command -v docker-registry >/dev/null; then
    say "installing docker.io, mmdebstrap, docker-registry"
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends docker.io mmdebstrap docker-registry >/dev/null
fi

wait_for_engine() {
    for _ in $(seq 100); do
        docker info >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    return 1
}

if ! docker info >/dev/null 2>&1; then
    say "starting dockerd (log: $DOCKERD_LOG)"
    setsid dockerd >"$DOCKERD_LOG" 2>&1 </dev/null &
    dockerd_pid=$!
    if ! wait_for_engine; then
        say "dockerd did not come up with its defaults; trying vfs without a bridge"
        kill "$dockerd_pid" 2>/dev/null || true
        sleep 1
        setsid dockerd --storage-driver=vfs --iptables=false --ip-masq=false --bridge=none \
            >>"$DOCKERD_LOG" 2>&1 </dev/null &
        wait_for_engine || { tail -n 30 "$DOCKERD_LOG" >&2; exit 1; }
        say "note: no bridge network; run the docker runtime with docker.network: host"
    fi
fi
say "engine $(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})')"

# The mirror apt already uses for bookworm main (a site mirror or proxy keeps working).
debian_mirror() {
    apt-get indextargets --format '$(REPO_URI)' 'Codename: bookworm' 'Component: main' 2>/dev/null | head -n1
}

if ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    MIRROR=${DEBIAN_MIRROR:-$(debian_mirror)}
    MIRROR=${MIRROR:-http://deb.debian.org/debian}
    say "building $BASE_IMAGE from $MIRROR"
    rootfs=$(mktemp --suffix=.tar)
    trap 'rm -f "$rootfs"' EXIT
    # extract: unpack the packages and their dependencies without running
    # maintainer scripts (3x faster than a minbase bootstrap; nothing needs them).
    mmdebstrap --quiet --mode=root --variant=extract --include=python3,git,dash,coreutils \
        bookworm "$rootfs" "$MIRROR"
    docker import --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' --change 'ENV LANG=C.UTF-8' \
        "$rootfs" "$BASE_IMAGE" >/dev/null
fi
docker run --rm --network none "$BASE_IMAGE" python3 -c 'import json, http.server; print("base image ok")'
