#!/usr/bin/env bash
# The quick start: a real handover on the local store between two separate
# Docker Engines 28 on containerd's image store (Docker 29's default), as a
# build job and a test job on two runners would have. Installs what is
# missing, builds a small image offline with BuildKit (no registry), exports
# it as charon:local, loads and verifies it on the other engine — under the
# producer's very image id — and runs it there.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/node_modules/.bin:$PATH"
npm run --silent build

base=$(mktemp -d /tmp/handover-demo-XXXX)
trap 'bash scripts/engines.sh stop "$base/engines"' EXIT
echo "Starting two Docker Engines (producer, consumer; containerd image store) under $base/engines"
eval "$(bash scripts/engines.sh start "$base/engines" producer=28-containerd consumer=28-containerd | sed 's/^/export ENGINE_/')"
# The engines' own docker CLI, with buildx as its plugin.
eval "$(bash scripts/engines.sh cli "$base/engines" 28-containerd | sed 's/^/export /')"
docker() { "$DOCKER_CLI" "$@"; }

context="$base/context"
mkdir -p "$context"
cp /usr/bin/busybox "$context/busybox"
cat >"$context/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN echo "charon is up" > /etc/motd
CMD ["/bin/cat", "/etc/motd"]
DOCKERFILE
echo "Building charon-build:123 on the producer"
if ! docker -H "$ENGINE_producer" buildx build --network none -q -t charon-build:123 "$context" >/dev/null 2>"$base/build.log"; then
  cat "$base/build.log" >&2
  exit 1
fi

store="$PWD/.handover"
echo
echo "\$ handover export charon-build:123 --tag charon:local --name docker-image --store ./.handover"
DOCKER_HOST="$ENGINE_producer" node bin/handover.js export charon-build:123 --tag charon:local --name docker-image --store "$store"
digest=$(node bin/handover.js inspect --name docker-image --store "$store" --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).bundleDigest))')

echo "\$ handover load --name docker-image --store ./.handover --expect $digest   (on the consumer engine)"
DOCKER_HOST="$ENGINE_consumer" node bin/handover.js load --name docker-image --store "$store" --expect "$digest" --require-tag charon:local

echo "\$ docker image inspect --format '{{.Id}}' …   (the same image id on both engines)"
echo "producer charon-build:123  $(docker -H "$ENGINE_producer" image inspect --format '{{.Id}}' charon-build:123)"
echo "consumer charon:local      $(docker -H "$ENGINE_consumer" image inspect --format '{{.Id}}' charon:local)"
echo "\$ docker run --rm charon:local   (on the consumer engine)"
docker -H "$ENGINE_consumer" run --rm --network none charon:local
echo
echo "\$ handover ls --store ./.handover"
node bin/handover.js ls --store "$store"
