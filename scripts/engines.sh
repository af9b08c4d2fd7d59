#!/usr/bin/env bash
# Start or stop separate Docker Engines, one per name, each with its own data
# root, exec root, pid file and socket: as separate CI runners would have.
#   scripts/engines.sh start BASE NAME...   prints NAME=unix://BASE/NAME.sock lines
#   scripts/engines.sh stop BASE
set -euo pipefail

cmd=${1:?usage: engines.sh start|stop BASE [NAME...]}
base=${2:?usage: engines.sh start|stop BASE [NAME...]}
shift 2

driver_for() {
  local root=$1
  if [ -n "${HANDOVER_STORAGE_DRIVER:-}" ]; then echo "$HANDOVER_STORAGE_DRIVER"; return; fi
  # overlay2 needs a filesystem that supports it for the data root (ext4, xfs).
  case "$(stat -f -c %T "$root")" in
    ext2/ext3|xfs|btrfs) echo overlay2 ;;
    *) echo vfs ;;
  esac
}

start_one() {
  local name=$1; local dir="$base/$name"
  mkdir -p "$dir/data" "$dir/exec"
  local sock="$dir/d.sock" driver
  driver=$(driver_for "$dir/data")
  dockerd \
    --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$dir/d.pid" \
    -H "unix://$sock" --storage-driver "$driver" \
    --bridge=none --iptables=false --ip-masq=false --ip-forward=false \
    --userland-proxy=false --log-level=warn \
    >"$dir/dockerd.log" 2>&1 &
  echo $! >"$dir/launcher.pid"
}

wait_one() {
  local name=$1; local dir="$base/$name" i
  for i in $(seq 1 150); do
    if docker -H "unix://$dir/d.sock" version >/dev/null 2>&1; then
      echo "$name=unix://$dir/d.sock"
      return 0
    fi
    if ! kill -0 "$(cat "$dir/launcher.pid")" 2>/dev/null; then break; fi
    sleep 0.2
  done
  echo "engines.sh: dockerd '$name' did not start; its log follows" >&2
  tail -n 30 "$dir/dockerd.log" >&2
  return 1
}

case "$cmd" in
  start)
    [ $# -gt 0 ] || { echo "engines.sh start: name at least one engine" >&2; exit 2; }
    mkdir -p "$base"
    for n in "$@"; do start_one "$n"; done
    for n in "$@"; do wait_one "$n"; done
    ;;
  stop)
    for pidfile in "$base"/*/launcher.pid; do
      [ -f "$pidfile" ] || continue
      kill "$(cat "$pidfile")" 2>/dev/null || true
    done
    for pidfile in "$base"/*/launcher.pid; do
      [ -f "$pidfile" ] || continue
      pid=$(cat "$pidfile")
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    done
    # Data roots hold overlay mounts while a daemon runs; they are gone now.
    rm -rf "$base"
    ;;
  *) echo "engines.sh: unknown command '$cmd' (start|stop)" >&2; exit 2 ;;
esac
