#!/usr/bin/env bash
# Installs what handover's demo, tests and benchmark need on a fresh Debian
# machine: the engines (Debian 12's dockerd 20.10 and podman; the modern
# Docker Engine in a private prefix, see install-engines.sh) and OCI tools from
# Debian (as root), then the npm dependencies, which bring Node 24 (npm
# scripts find it first on PATH).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=()
[ -x /usr/sbin/dockerd ] || packages+=(docker.io)
command -v podman >/dev/null 2>&1 || packages+=(podman)
command -v curl >/dev/null 2>&1 || packages+=(curl)
command -v skopeo >/dev/null 2>&1 || packages+=(skopeo)
command -v umoci >/dev/null 2>&1 || packages+=(umoci)
command -v zstd >/dev/null 2>&1 || packages+=(zstd)
# static: it runs in the test images, which are built FROM scratch
dpkg -s busybox-static >/dev/null 2>&1 || packages+=(busybox-static)
if [ "${HANDOVER_SETUP_BENCH:-}" = 1 ]; then
  command -v docker-registry >/dev/null 2>&1 || packages+=(docker-registry)
  command -v zip >/dev/null 2>&1 || packages+=(zip)
  command -v unzip >/dev/null 2>&1 || packages+=(unzip)
fi

if [ ${#packages[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: these Debian packages are missing: ${packages[*]}; run this script as root (or sudo apt-get install them)." >&2
    exit 1
  fi
  echo "setup: installing ${packages[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi

# The modern engine (Docker 28 and its containerd, buildx) in its own prefix;
# quick when it is there already. Prints the versions it uses.
if [ "$(id -u)" = 0 ] || [ -f /opt/image-handover/engines/current/VERSIONS ]; then
  bash scripts/install-engines.sh
else
  echo "setup: the modern Docker Engine is not installed; run this script as root to install it (tests on it are skipped)" >&2
fi

if [ -L node_modules ]; then
  # A work tree sharing another checkout's node_modules: npm ci would empty
  # the shared directory through the link.
  echo "setup: node_modules is a link to $(readlink node_modules); not touching it (run npm ci there)" >&2
elif [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies (Node 24 comes with them)"
  npm ci --no-audit --no-fund
fi
