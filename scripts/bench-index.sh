#!/bin/bash
# Times 20 pushes of new small packs to a fresh loopback docker-registry with the packreg
# binary given (default target/debug/packreg), and counts the requests one push sends to the
# pack index (spectro-packs/packreg-index). Run it with a build from before and after a change
# to see what the pack index costs a push.
set -euo pipefail
BIN=${1:-target/debug/packreg}
BIN=$(realpath "$BIN")
ROOT=$(cd "$(dirname "$0")/.." && pwd)
W=$(mktemp -d)
trap 'kill $RP 2>/dev/null || true; wait $RP 2>/dev/null || true; rm -rf "$W"' EXIT
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
cat > "$W/config.yml" <<C
version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $W/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$PORT
C
docker-registry serve "$W/config.yml" > "$W/log" 2>&1 &
RP=$!
sleep 1
export HOME=$W XDG_DATA_HOME=$W/d XDG_CACHE_HOME=$W/c XDG_CONFIG_HOME=$W/cf DOCKER_CONFIG=$W/dc
for i in $(seq 0 21); do
  mkdir -p "$W/p$i"
  cp -r "$ROOT/testdata/packs/hello-manifests/." "$W/p$i/"
  jq ".name=\"pk$i\"" "$W/p$i/pack.json" > "$W/t" && mv "$W/t" "$W/p$i/pack.json"
done
push() { "$BIN" -q -r "127.0.0.1:$PORT" --plain-http push "$1" > /dev/null; }
push "$W/p0"
start=$(date +%s.%N)
for i in $(seq 1 20); do push "$W/p$i"; done
end=$(date +%s.%N)
echo "20 pushes: $(echo "$end - $start" | bc) s"
before=$(grep -c '"[A-Z]* /v2/spectro-packs/packreg-index' "$W/log" || true)
push "$W/p21"
after=$(grep -c '"[A-Z]* /v2/spectro-packs/packreg-index' "$W/log" || true)
echo "requests to the pack index in one push: $((after - before))"
