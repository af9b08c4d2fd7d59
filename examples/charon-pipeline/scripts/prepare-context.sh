#!/usr/bin/env bash
# prepare-context.sh DIR: writes charon's build context to DIR: the service
# files plus a static busybox (from the busybox-static package).
set -euo pipefail
dir=${1:?usage: prepare-context.sh DIR}
here=$(cd "$(dirname "$0")/.." && pwd)
busybox=${BUSYBOX:-/usr/bin/busybox}
if ! file_info=$("$busybox" 2>&1 | head -n 1) || [[ "$file_info" != BusyBox* ]]; then
  echo "prepare-context.sh: $busybox is not busybox; install busybox-static (apt-get install busybox-static)" >&2
  exit 1
fi
mkdir -p "$dir"
cp -R "$here/service/." "$dir/"
cp "$busybox" "$dir/busybox"
echo "$dir"
