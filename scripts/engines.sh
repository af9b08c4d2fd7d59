#!/usr/bin/env bash
# Start or stop separate container engines, one per name, each with its own
# data root, exec root, pid file and socket: as separate CI runners would have.
# Several kinds run side by side:
#   20.10          Debian 12's dockerd 20.10 (classic store)
#   28-classic     the modern dockerd that scripts/install-engines.sh put in its
#                  prefix (Debian unstable's 28.5, or trixie's 26.1 as a fallback),
#                  classic store (overlay2)
#   28-containerd  the same dockerd on the containerd image store
#   podman         Debian 12's podman 4.3, its Docker-compatible API service
#
#   scripts/engines.sh start BASE NAME[=KIND]...   prints NAME=unix://… lines (default kind 20.10)
#   scripts/engines.sh stop BASE                   stops all it started under BASE, removes BASE
#   scripts/engines.sh kinds                       KIND<TAB>available|unavailable<TAB>version or reason
#   scripts/engines.sh cli BASE KIND               DOCKER_CLI=… and DOCKER_CONFIG=… lines: the docker
#                                                  CLI to use against KIND (buildx as its plugin)
# The modern engine's prefix: $HANDOVER_ENGINE_PREFIX, else /opt/image-handover/engines/current.
# Keep BASE short: sockets live under it and must fit in 108 bytes.
set -euo pipefail

usage="usage: engines.sh start BASE NAME[=KIND]... | stop BASE | kinds | cli BASE KIND"
cmd=${1:?$usage}
shift

KINDS=(20.10 28-classic 28-containerd podman)
SYSTEM_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

modern_prefix() {
  local prefix=${HANDOVER_ENGINE_PREFIX:-/opt/image-handover/engines/current}
  readlink -f "$prefix" 2>/dev/null || echo "$prefix"
}

# Why KIND cannot run here (nothing when it can).
missing() {
  case "$1" in
    20.10) command -v /usr/sbin/dockerd >/dev/null || echo "Debian's docker.io is not installed (run scripts/setup.sh as root)" ;;
    28-classic|28-containerd)
      [ -x "$(modern_prefix)/usr/sbin/dockerd" ] || echo "the modern engine is not installed in $(modern_prefix) (run scripts/setup.sh as root)" ;;
    podman) command -v podman >/dev/null || echo "Debian's podman is not installed (run scripts/setup.sh as root)" ;;
    *) echo "unknown kind '$1' (kinds: ${KINDS[*]})" ;;
  esac
}

version_of() {
  case "$1" in
    20.10) /usr/sbin/dockerd --version | sed -E 's/^Docker version ([^,]+),.*/\1/' ;;
    28-classic|28-containerd) "$(modern_prefix)/usr/sbin/dockerd" --version | sed -E 's/^Docker version ([^,]+),.*/\1/' ;;
    podman) podman --version | sed -E 's/^podman version //' ;;
  esac
}

driver_for() {
  local root=$1
  if [ -n "${HANDOVER_STORAGE_DRIVER:-}" ]; then echo "$HANDOVER_STORAGE_DRIVER"; return; fi
  # overlay needs a filesystem that supports it for the data root (ext4, xfs).
  case "$(stat -f -c %T "$root")" in
    ext2/ext3|xfs|btrfs) echo overlay2 ;;
    *) echo vfs ;;
  esac
}

socket_of() {
  local dir=$1
  if [ "$(cat "$dir/kind")" = podman ]; then echo "$dir/podman.sock"; else echo "$dir/d.sock"; fi
}

start_dockerd() {
  local kind=$1 dir=$2 driver dockerd path config extra=()
  mkdir -p "$dir/data" "$dir/exec"
  driver=$(driver_for "$dir/data")
  case "$kind" in
    20.10)
      dockerd=/usr/sbin/dockerd; path=$SYSTEM_PATH; config='{}' ;;
    28-classic)
      dockerd=$(modern_prefix)/usr/sbin/dockerd
      path=$(modern_prefix)/usr/sbin:$(modern_prefix)/usr/bin:$SYSTEM_PATH
      config='{"features":{"containerd-snapshotter":false}}'
      extra=(--ip6tables=false) ;;
    28-containerd)
      dockerd=$(modern_prefix)/usr/sbin/dockerd
      path=$(modern_prefix)/usr/sbin:$(modern_prefix)/usr/bin:$SYSTEM_PATH
      config='{"features":{"containerd-snapshotter":true}}'
      extra=(--ip6tables=false)
      # On the containerd store the storage driver names a snapshotter.
      case "$driver" in overlay2) driver=overlayfs ;; vfs) driver=native ;; esac ;;
  esac
  echo "$config" >"$dir/daemon.json"
  # Its own containerd (started by dockerd from PATH: the prefix's for the
  # modern kinds), its own data, exec root and config: nothing of the system's.
  # These engines are thrown away: containers get 2 s to stop when it stops.
  PATH=$path "$dockerd" \
    --config-file "$dir/daemon.json" \
    --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$dir/d.pid" \
    -H "unix://$dir/d.sock" --storage-driver "$driver" \
    --bridge=none --iptables=false --ip-masq=false --ip-forward=false \
    --userland-proxy=false --log-level=warn --shutdown-timeout=2 "${extra[@]}" \
    >"$dir/engine.log" 2>&1 &
  echo $! >"$dir/launcher.pid"
}

start_podman() {
  local dir=$1
  mkdir -p "$dir/storage" "$dir/run" "$dir/tmp" "$dir/net" "$dir/copy"
  # Its own storage, run root, tmp dir (where podman keeps per-boot state),
  # file locks (the default shm locks are one segment for the whole machine)
  # and events: several services and the tests do not share state.
  # Podman (as root) gives a container the maximum nofile and nproc limits;
  # where this process may not raise its own (no CAP_SYS_RESOURCE: a sandbox,
  # CI), runc fails with "error setting rlimit type 7 (6): operation not
  # permitted". So: our hard nofile limit, and for nproc the 32768 podman
  # lowers its own process to (or ours if lower).
  local nofile nproc
  nofile=$(ulimit -Hn); nproc=$(ulimit -Hu)
  [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ] && nproc=32768
  cat >"$dir/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[engine]
lock_type = "file"
tmp_dir = "$dir/tmp"
events_logger = "file"
cgroup_manager = "cgroupfs"
volume_path = "$dir/storage/volumes"
image_copy_tmp_dir = "$dir/copy"
[network]
network_config_dir = "$dir/net"
EOF
  cat >"$dir/storage.conf" <<EOF
[storage]
driver = "$( [ "$(driver_for "$dir/storage")" = overlay2 ] && echo overlay || echo vfs )"
graphroot = "$dir/storage"
runroot = "$dir/run"
EOF
  # exec: the pid recorded is the service's own.
  (podman_exports "$dir"; exec podman --root "$dir/storage" --runroot "$dir/run" --tmpdir "$dir/tmp" \
    system service --time=0 "unix://$dir/podman.sock") >"$dir/engine.log" 2>&1 &
  echo $! >"$dir/launcher.pid"
}

podman_exports() {
  export CONTAINERS_CONF=$1/containers.conf CONTAINERS_STORAGE_CONF=$1/storage.conf TMPDIR=$1/copy
}

start_one() {
  local name=$1 kind=$2 dir="$base/$1" why
  why=$(missing "$kind")
  if [ -n "$why" ]; then echo "engines.sh: cannot start '$name' ($kind): $why" >&2; return 1; fi
  mkdir -p "$dir"
  echo "$kind" >"$dir/kind"
  case "$kind" in
    podman) start_podman "$dir" ;;
    *) start_dockerd "$kind" "$dir" ;;
  esac
}

answers() {
  curl -sf --max-time 5 --unix-socket "$1" http://engine/_ping >/dev/null 2>&1
}

wait_one() {
  local name=$1 dir="$base/$1" sock deadline
  sock=$(socket_of "$dir")
  deadline=$((SECONDS + ${HANDOVER_ENGINE_START_TIMEOUT:-120}))
  while [ $SECONDS -lt $deadline ]; do
    if answers "$sock"; then
      echo "$name=unix://$sock"
      return 0
    fi
    if ! kill -0 "$(cat "$dir/launcher.pid")" 2>/dev/null; then break; fi
    sleep 0.2
  done
  echo "engines.sh: engine '$name' ($(cat "$dir/kind")) did not start; its log follows" >&2
  tail -n 30 "$dir/engine.log" >&2
  return 1
}

# PIDs of processes whose command line names a path under BASE: what our
# engines started (containerd, shims, conmon), and only that.
pids_under() {
  local file pid
  # One grep over every command line (NUL-separated, hence -a); not our own shells.
  for file in $(grep -lasF -- "$base/" /proc/[0-9]*/cmdline); do
    pid=${file#/proc/}; pid=${pid%/cmdline}
    [ "$pid" = $$ ] || [ "$pid" = "$BASHPID" ] && continue
    grep -qasF engines.sh "$file" && continue
    echo "$pid"
  done
}

wait_gone() {
  local pid=$1 i
  for i in $(seq 1 "${2:-100}"); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  return 1
}

stop_all() {
  local dir pid mnt id
  [ -d "$base" ] || return 0
  # Podman containers outlive the service (conmon keeps them): remove them first, every engine's at once.
  for dir in "$base"/*/; do
    dir=${dir%/}
    [ -f "$dir/kind" ] && [ "$(cat "$dir/kind")" = podman ] || continue
    (podman_exports "$dir"; podman --root "$dir/storage" --runroot "$dir/run" --tmpdir "$dir/tmp" \
      rm -af -t 0) >/dev/null 2>&1 &
  done
  wait
  # SIGTERM lets dockerd stop its containers and its containerd.
  for dir in "$base"/*/; do
    [ -f "$dir/launcher.pid" ] && kill "$(cat "$dir/launcher.pid")" 2>/dev/null || true
  done
  for dir in "$base"/*/; do
    [ -f "$dir/launcher.pid" ] || continue
    pid=$(cat "$dir/launcher.pid")
    wait_gone "$pid" 150 || kill -9 "$pid" 2>/dev/null || true
  done
  # Containers a dockerd did not stop (it was killed): runc knows them by its root.
  for dir in "$base"/*/; do
    [ -d "$dir/exec/runtime-runc/moby" ] || continue
    for id in $(runc --root "$dir/exec/runtime-runc/moby" list -q 2>/dev/null); do
      runc --root "$dir/exec/runtime-runc/moby" delete --force "$id" >/dev/null 2>&1 || true
    done
  done
  # Whatever is left (a containerd whose dockerd was killed, a shim, conmon).
  for pid in $(pids_under); do kill "$pid" 2>/dev/null || true; done
  for pid in $(pids_under); do wait_gone "$pid" 30 || kill -9 "$pid" 2>/dev/null || true; done
  # Mounts under BASE (overlay, the storage drivers' private bind mounts, shm), deepest first.
  for mnt in $(awk -v b="$base/" 'index($5, b) == 1 {print $5}' /proc/self/mountinfo | sort -r); do
    umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
  done
  rm -rf "$base"
}

case "$cmd" in
  start)
    base=${1:?$usage}; shift
    [ $# -gt 0 ] || { echo "engines.sh start: name at least one engine" >&2; exit 2; }
    base=$(mkdir -p "$base" && cd "$base" && pwd)
    names=()
    for spec in "$@"; do
      name=${spec%%=*}; kind=20.10
      [ "$spec" != "$name" ] && kind=${spec#*=}
      case "$name" in ''|*/*|.*) echo "engines.sh: bad engine name '$name'" >&2; exit 2 ;; esac
      start_one "$name" "$kind"
      names+=("$name")
    done
    for name in "${names[@]}"; do wait_one "$name"; done
    ;;
  stop)
    base=${1:?$usage}
    [ -d "$base" ] || exit 0
    base=$(cd "$base" && pwd)
    stop_all
    ;;
  kinds)
    for kind in "${KINDS[@]}"; do
      why=$(missing "$kind")
      if [ -z "$why" ]; then printf '%s\tavailable\t%s\n' "$kind" "$(version_of "$kind")"
      else printf '%s\tunavailable\t%s\n' "$kind" "$why"; fi
    done
    ;;
  cli)
    base=${1:?$usage}; kind=${2:?$usage}
    why=$(missing "$kind")
    [ -z "$why" ] || { echo "engines.sh cli: $why" >&2; exit 1; }
    config="$(mkdir -p "$base" && cd "$base" && pwd)/cli-$kind"
    mkdir -p "$config/cli-plugins"
    case "$kind" in
      # Debian 12's own CLI, of the same release (no buildx in Debian 12).
      20.10) echo "DOCKER_CLI=/usr/bin/docker" ;;
      podman)
        # The modern CLI when there is one (podman's API is Docker's), else Debian 12's.
        if [ -x "$(modern_prefix)/usr/bin/docker" ]; then echo "DOCKER_CLI=$(modern_prefix)/usr/bin/docker"
        else echo "DOCKER_CLI=/usr/bin/docker"; fi ;;
      # The modern CLI, with buildx as its plugin.
      *)
        ln -sfn "$(modern_prefix)/usr/libexec/docker/cli-plugins/docker-buildx" "$config/cli-plugins/docker-buildx"
        echo "DOCKER_CLI=$(modern_prefix)/usr/bin/docker" ;;
    esac
    echo "DOCKER_CONFIG=$config"
    ;;
  *) echo "engines.sh: unknown command '$cmd' ($usage)" >&2; exit 2 ;;
esac
