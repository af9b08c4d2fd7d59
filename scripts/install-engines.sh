#!/usr/bin/env bash
# Installs the modern Docker Engine beside Debian 12's dockerd 20.10, in a
# private prefix: Debian unstable's docker.io (dockerd), docker-cli,
# docker-buildx, containerd and tini-static, fetched with `apt-get download`
# through an apt directory of our own (never the system's sources) and
# unpacked with `dpkg-deb -x`. They need glibc 2.34 (Debian 12 has 2.36) and
# run with Debian 12's runc. If unstable's upload does not run here, Debian 13
# (trixie) is tried instead; the script says which it used.
#
#   scripts/install-engines.sh           install unless a working one is there; print its versions
#   HANDOVER_ENGINES_REFRESH=1 ...       look for a newer upload even if one is installed
#   HANDOVER_ENGINES_SUITES="trixie"     the suites to try, in order (default: unstable trixie)
#   HANDOVER_ENGINES_ROOT=DIR            where prefixes live (default /opt/image-handover/engines)
#
# Layout: ROOT/<docker.io version>/usr/{bin,sbin,libexec}, its VERSIONS file,
# ROOT/current -> the one in use, ROOT/apt the private apt state.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

root=${HANDOVER_ENGINES_ROOT:-/opt/image-handover/engines}
suites=${HANDOVER_ENGINES_SUITES:-unstable trixie}
# dockerd's docker-init links to tini-static: its own package in unstable
# (whose dynamic tini needs glibc 2.38), part of `tini` in trixie.
packages=(docker.io docker-cli docker-buildx containerd)

say() { echo "install-engines: $*" >&2; }

runs() {
  # The binaries start (glibc and friends are new enough).
  local prefix=$1
  "$prefix/usr/sbin/dockerd" --version >/dev/null 2>&1 &&
    "$prefix/usr/bin/containerd" --version >/dev/null 2>&1 &&
    "$prefix/usr/bin/docker" --version >/dev/null 2>&1 &&
    "$prefix/usr/libexec/docker/cli-plugins/docker-buildx" version >/dev/null 2>&1 &&
    "$prefix/usr/bin/docker-init" --version >/dev/null 2>&1
}

serves() {
  # A dockerd from this prefix starts its own containerd, answers, builds and
  # runs nothing yet: enough to know this upload works on this machine.
  local prefix=$1 base out
  base=$(mktemp -d /tmp/hie-XXXXXX)
  if out=$(HANDOVER_ENGINE_PREFIX=$prefix bash "$here/engines.sh" start "$base" probe=28-containerd 2>&1); then
    HANDOVER_ENGINE_PREFIX=$prefix bash "$here/engines.sh" stop "$base" >/dev/null 2>&1 || true
    return 0
  fi
  say "a dockerd from $prefix did not start here:"
  echo "$out" | tail -n 15 >&2
  HANDOVER_ENGINE_PREFIX=$prefix bash "$here/engines.sh" stop "$base" >/dev/null 2>&1 || true
  return 1
}

show() {
  echo "Modern engine (${1}):"
  sed 's/^/  /' "$1/VERSIONS"
}

if [ -z "${HANDOVER_ENGINES_REFRESH:-}" ] && [ -f "$root/current/VERSIONS" ] && runs "$root/current"; then
  show "$(readlink -f "$root/current")"
  exit 0
fi

if [ "$(id -u)" != 0 ] && ! { mkdir -p "$root" && [ -w "$root" ]; } 2>/dev/null; then
  say "cannot write $root: run as root (or set HANDOVER_ENGINES_ROOT)"
  exit 1
fi

apt_dir="$root/apt"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/parts" "$apt_dir/prefs"
: >"$apt_dir/status"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
{
  for suite in $suites; do
    echo "deb [signed-by=$keyring] http://deb.debian.org/debian $suite main"
  done
} >"$apt_dir/sources.list"
apt_opts=(
  -o "Dir::Etc::sourcelist=$apt_dir/sources.list"
  -o "Dir::Etc::sourceparts=$apt_dir/parts"
  -o "Dir::Etc::preferences=$apt_dir/prefs/none"
  -o "Dir::Etc::preferencesparts=$apt_dir/prefs"
  -o "Dir::State::Lists=$apt_dir/lists"
  -o "Dir::State::status=$apt_dir/status"
  -o "Dir::Cache=$apt_dir/cache"
  -o "Acquire::Languages=none"
  -o "APT::Sandbox::User=root"
  -o "Debug::NoLocking=1"
)

say "reading Debian's package lists for: $suites (private apt state in $apt_dir)"
apt-get "${apt_opts[@]}" -qq update

chosen=
for suite in $suites; do
  in_suite() { apt-cache "${apt_opts[@]}" madison "$1" | awk -v s="$suite/main" '$0 ~ " "s" " {print $3; exit}'; }
  version=$(in_suite docker.io)
  if [ -z "$version" ]; then say "$suite has no docker.io"; continue; fi
  init=tini-static
  [ -n "$(in_suite tini-static)" ] || init=tini
  prefix="$root/$version"
  if [ -f "$prefix/VERSIONS" ] && runs "$prefix"; then
    say "docker.io $version from $suite is already installed"
    chosen=$prefix
    break
  fi
  partial="$root/.partial-$version"
  debs="$root/.debs-$version"
  rm -rf "$partial" "$debs"
  mkdir -p "$partial" "$debs"
  say "fetching ${packages[*]} $init from $suite (docker.io $version)"
  (cd "$debs" && apt-get "${apt_opts[@]}" -qq download "${packages[@]/%//$suite}" "$init/$suite")
  {
    echo "suite=$suite"
    for deb in "$debs"/*.deb; do
      dpkg-deb -x "$deb" "$partial"
      echo "$(dpkg-deb -f "$deb" Package)=$(dpkg-deb -f "$deb" Version)"
    done
    echo "runc=$(dpkg-query -W -f '${Version}' runc 2>/dev/null || echo missing) (this machine's)"
  } >"$partial/VERSIONS.tmp"
  rm -rf "$debs"
  if ! runs "$partial"; then
    say "docker.io $version from $suite does not run on this machine:"
    "$partial/usr/sbin/dockerd" --version 2>&1 | tail -n 3 >&2 || true
    rm -rf "$partial"
    continue
  fi
  if ! serves "$partial"; then
    rm -rf "$partial"
    continue
  fi
  {
    cat "$partial/VERSIONS.tmp"
    echo "dockerd: $("$partial/usr/sbin/dockerd" --version)"
    echo "docker: $("$partial/usr/bin/docker" --version)"
    echo "containerd: $("$partial/usr/bin/containerd" --version)"
    echo "buildx: $("$partial/usr/libexec/docker/cli-plugins/docker-buildx" version)"
  } >"$partial/VERSIONS"
  rm -f "$partial/VERSIONS.tmp"
  rm -rf "$prefix"
  mv "$partial" "$prefix"
  chosen=$prefix
  say "installed docker.io $version from $suite in $prefix"
  break
done

if [ -z "$chosen" ]; then
  say "no suite of ($suites) gave a Docker Engine that runs here"
  exit 1
fi
ln -sfn "$(basename "$chosen")" "$root/current.tmp"
mv -T "$root/current.tmp" "$root/current"
show "$chosen"
