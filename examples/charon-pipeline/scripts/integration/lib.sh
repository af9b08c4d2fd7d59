# Shared by the integration scripts: start charon from the loaded image and
# talk to it from inside its own network namespace (docker exec … nc), so
# the scripts need no published ports and work on any engine (DOCKER_HOST).
set -euo pipefail

IMAGE=${CHARON_IMAGE:-charon:local}
SUITE=${SUITE:?set SUITE before sourcing lib.sh}
CONTAINER="charon-$SUITE-$$"
failures=0

cleanup() { docker rm -f "$CONTAINER" >/dev/null 2>&1 || true; }
trap cleanup EXIT

start_charon() {
  # The plan's fail-fast check: the handed-over tag must exist before any test.
  docker image inspect "$IMAGE" --format "$SUITE: testing $IMAGE (image {{.Id}})"
  docker run -d --name "$CONTAINER" --network none "$IMAGE" >/dev/null
  for _ in $(seq 1 100); do
    if [ "$(http /cgi-bin/health 2>/dev/null | head -c 3)" = 200 ]; then return 0; fi
    sleep 0.1
  done
  echo "$SUITE: charon did not become healthy; its log:" >&2
  docker logs "$CONTAINER" >&2 || true
  exit 1
}

# http PATH [HEADER…]: an HTTP/1.0 GET from inside the container (busybox nc);
# prints "STATUS BODY".
http() {
  local path=$1; shift
  local request="GET $path HTTP/1.0\r\nHost: charon\r\n" header response
  for header in "$@"; do request+="$header\r\n"; done
  response=$(printf '%b\r\n' "$request" | docker exec -i "$CONTAINER" /bin/busybox nc 127.0.0.1 8080 | tr -d '\r')
  printf '%s %s' "$(printf '%s\n' "$response" | head -n 1 | cut -d ' ' -f 2)" "$(printf '%s\n' "$response" | sed '1,/^$/d')"
}

# expect NAME WANT_STATUS WANT_BODY_SUBSTRING PATH [HEADER…]
expect() {
  local name=$1 want_status=$2 want_body=$3 path=$4; shift 4
  local got status body
  got=$(http "$path" "$@")
  status=${got%% *}; body=${got#* }
  if [ "$status" = "$want_status" ] && [[ "$body" == *"$want_body"* ]]; then
    echo "PASS $SUITE: $name"
  else
    echo "FAIL $SUITE: $name: expected $want_status with '$want_body', got $status '$body'"
    failures=$((failures + 1))
  fi
}

finish() {
  if [ "$failures" -gt 0 ]; then echo "$SUITE: $failures check(s) failed"; exit 1; fi
  echo "$SUITE: all checks passed"
}
