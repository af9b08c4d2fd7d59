#!/usr/bin/env bash
# prepare-context.sh DIR: writes charon's build context to DIR: the service
# files plus a static busybox (from the busybox-static package).
set -euo pipefail
dir=${1:?usage: prepare-context.sh DIR}
here=$(cd "$(dirname "$0")/.." && pwd)
busybox=${BUSYBOX:-/usr/bin/busybox}
# No pipes here: a reader that stops early would kill busybox with SIGPIPE.
applets=$("$busybox" --list 2>/dev/null) || applets=
case $'\n'"$applets"$'\n' in
  *$'\n'httpd$'\n'*) ;;
  *)
    echo "prepare-context.sh: $busybox is not a busybox with httpd; install busybox-static (apt-get install busybox-static)" >&2
    exit 1
    ;;
esac
mkdir -p "$dir"
cp -R "$here/service/." "$dir/"
cp "$busybox" "$dir/busybox"
echo "$dir"
