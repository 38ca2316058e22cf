#!/usr/bin/env bash
# Benchmark: packreg push and pull against the ORAS Python SDK and raw curl transfers of the
# same blob, and packreg mirror against skopeo copy between two registries, on local
# docker-registry processes, in one run, alternating the order. Reports medians, ratios and
# peak memory (/usr/bin/time -v). Only loopback traffic.
#
# usage: scripts/bench.sh [ROUNDS]   (default 3; needs docker-registry, skopeo, curl, python3 with oras)
# SECTIONS="transfer compression startup scale scale10 images" (the default: all) runs only those parts.
#
# Before and after in one run: BASELINE=PATH names another packreg binary (an older build, e.g.
# made by scripts/bench-baseline.sh REV); every packreg step is then also run with it, in the same
# rounds, alternating which binary goes first, into repositories and registries of its own, and
# the report ends with a before/after table.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${1:-3}"
command -v docker-registry >/dev/null || scripts/setup.sh
cargo build --release --quiet
PACKREG="$PWD/target/release/packreg"
BASELINE="${BASELINE:-}"
SECTIONS="${SECTIONS:-transfer compression startup scale scale10 images}"
want() { [[ " $SECTIONS " == *" $1 "* ]]; }
[ -z "$BASELINE" ] || [ -x "$BASELINE" ] || { echo "BASELINE=$BASELINE is not an executable" >&2; exit 2; }
# builds LABEL: the binaries to measure this round, as "label:path" ("" for this build,
# "before_" for the baseline), the baseline first in even rounds.
builds() {
  if [ -z "$BASELINE" ]; then echo ":$PACKREG"
  elif [ $(($1 % 2)) -eq 0 ]; then echo "before_:$BASELINE"; echo ":$PACKREG"
  else echo ":$PACKREG"; echo "before_:$BASELINE"; fi
}

WORK="$(mktemp -d)"
# start_registry runs in a command substitution, a subshell whose PIDS the script never sees:
# every registry this run started is found by its configuration under $WORK instead.
trap 'kill "${REG_PID:-0}" "${PIDS[@]}" 2>/dev/null; pkill -f "docker-registry serve $WORK/" 2>/dev/null; rm -rf "$WORK"' EXIT
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
REG="127.0.0.1:$PORT"
cat > "$WORK/registry.yml" <<YAML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $WORK/data
  delete:
    enabled: true
http:
  addr: $REG
YAML
docker-registry serve "$WORK/registry.yml" >"$WORK/registry.log" 2>&1 &
REG_PID=$!
PIDS=()
# start_registry NAME: a fresh, empty registry (so no tool can mount blobs it saw before);
# prints its address.
start_registry() {
  local port
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  sed -e "s#$WORK/data#$WORK/data-$1#" -e "s#addr: $REG#addr: 127.0.0.1:$port#" "$WORK/registry.yml" > "$WORK/registry-$1.yml"
  docker-registry serve "$WORK/registry-$1.yml" >"$WORK/registry-$1.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break; sleep 0.1; done
  echo "127.0.0.1:$port"
}
for _ in $(seq 100); do curl -fsS "http://$REG/v2/" >/dev/null 2>&1 && break; sleep 0.1; done

# Pack 1: one 256 MiB chart. Pack 2: 200 small manifests.
make_packs() {
  local big="$WORK/big" small="$WORK/small"
  mkdir -p "$big/charts" "$WORK/chart/huge/templates" "$small/manifests"
  printf 'apiVersion: v2\nname: huge\nversion: 1.0.0\n' > "$WORK/chart/huge/Chart.yaml"
  head -c 256M /dev/urandom > "$WORK/chart/huge/templates/payload.bin"
  tar -C "$WORK/chart" -cf - huge | gzip -1 > "$big/charts/huge-1.0.0.tgz"
  printf '{"name":"bench-big","displayName":"Bench big","version":"1.0.0","layer":"addon","cloudTypes":["all"],"charts":["charts/huge-1.0.0.tgz"]}\n' > "$big/pack.json"
  printf 'pack:\n  content:\n    images: []\ncharts:\n  huge: {}\n' > "$big/values.yaml"
  for i in $(seq -w 1 200); do
    printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%s\ndata:\n  key: value-%s\n' "$i" "$i" > "$small/manifests/cm-$i.yaml"
  done
  printf '{"name":"bench-small","displayName":"Bench small","version":"1.0.0","layer":"addon","cloudTypes":["all"]}\n' > "$small/pack.json"
  printf 'pack:\n  content:\n    images: []\n' > "$small/values.yaml"
  # Pack 3: 128 MiB of YAML manifests (64 files of 2 MiB: ConfigMaps of generated settings).
  mkdir -p "$WORK/yaml/manifests"
  python3 - "$WORK/yaml/manifests" <<'PY'
import random, sys
rng = random.Random(7)
words = ["alpha", "bravo", "charlie", "delta", "echo", "replicas", "image", "port", "enabled", "timeout", "region", "zone"]
for f in range(64):
    lines = [f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings-{f}\n  namespace: bench\ndata:\n"]
    size, i = 0, 0
    while size < 2 * 1024 * 1024:
        line = f"  {rng.choice(words)}-{i}: \"{rng.choice(words)}-{rng.getrandbits(48):012x}-{rng.randint(0, 99999)}\"\n"
        lines.append(line); size += len(line); i += 1
    open(f"{sys.argv[1]}/settings-{f:02d}.yaml", "w").write("".join(lines))
PY
  printf '{"name":"bench-yaml","displayName":"Bench YAML","version":"1.0.0","layer":"addon","cloudTypes":["all"]}\n' > "$WORK/yaml/pack.json"
  printf 'pack:\n  content:\n    images: []\n' > "$WORK/yaml/values.yaml"
}
make_packs
CHART="$WORK/big/charts/huge-1.0.0.tgz"
DIGEST="sha256:$(sha256sum "$CHART" | cut -d' ' -f1)"
SIZE="$(stat -c %s "$CHART")"

# measure NAME CMD...: appends "NAME seconds maxrss_kb" to results.
measure() {
  local name="$1"; shift
  local start end
  start=$(date +%s.%N)
  /usr/bin/time -v -o "$WORK/time.txt" "$@" >/dev/null 2>"$WORK/cmd.err" || { cat "$WORK/cmd.err" >&2; exit 1; }
  end=$(date +%s.%N)
  local rss
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/time.txt")
  echo "$name $(echo "$end - $start" | bc) $rss" >> "$WORK/results"
}

# upload_file REPO FILE DIGEST: a monolithic upload with curl (POST, then PUT of the file).
upload_file() {
  local repo="$1" loc
  loc=$(curl -fsS -X POST -D - -o /dev/null "http://$REG/v2/$repo/blobs/uploads/" | awk -F': ' 'tolower($1)=="location" {print $2}' | tr -d '\r')
  case "$loc" in http*) ;; *) loc="http://$REG$loc";; esac
  local sep='?'; case "$loc" in *\?*) sep='&';; esac
  curl -fsS -X PUT -H 'Content-Type: application/octet-stream' -T "$2" "$loc${sep}digest=$3" -o /dev/null
}
curl_upload() { upload_file "$1" "$CHART" "$DIGEST"; }
curl_download() { curl -fsS "http://$REG/v2/$1/blobs/$DIGEST" -o "$WORK/curl.out"; }
curl_download_https() { curl -fsS --cacert "$WORK/tls.crt" "https://$TLS_REG/v2/$1/blobs/$DIGEST" -o "$WORK/curl.out"; }
# by_hand REPO DIR PART: what a Palette-format push (or a native layer) does, by hand: the tar
# of DIR/PART through `gzip -6` into a file, its sha256, and a curl upload.
by_hand() {
  tar -C "$2" -cf - "$3" | gzip -6 > "$WORK/by-hand.tgz"
  upload_file "$1" "$WORK/by-hand.tgz" "sha256:$(sha256sum "$WORK/by-hand.tgz" | cut -d' ' -f1)"
}
# fresh NAME: the environment of a new user on a fresh machine (empty home, no cache, no
# settings), as env(1) arguments.
fresh() {
  local home="$WORK/home-$1"
  rm -rf "$home"; mkdir -p "$home"
  echo "HOME=$home XDG_CACHE_HOME=$home/.cache XDG_CONFIG_HOME=$home/.config DOCKER_CONFIG=$home/.docker"
}

oras_push() {
  (cd "$(dirname "$2")" && python3 - "$REG" "$1" "$(basename "$2")" <<'PY'
import sys, oras.client
c = oras.client.OrasClient(hostname=sys.argv[1], insecure=True)
c.push(target=sys.argv[2], files=[sys.argv[3]], quiet=True)
PY
  )
}
oras_pull() {
  python3 - "$REG" "$1" "$2" <<'PY'
import sys, oras.client
c = oras.client.OrasClient(hostname=sys.argv[1], insecure=True)
c.pull(target=sys.argv[2], outdir=sys.argv[3])
PY
}
export -f oras_push oras_pull upload_file curl_upload curl_download curl_download_https by_hand
export REG CHART DIGEST WORK

# A TLS registry (self-signed, trusted with --ca-file / --cacert) holding the big pack, for
# the HTTPS pull and the start-up figures.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$WORK/tls.key" -out "$WORK/tls.crt" 2>/dev/null
TLS_PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
TLS_REG="127.0.0.1:$TLS_PORT"
export TLS_REG
sed -e "s#$WORK/data#$WORK/data-tls#" -e "s#addr: $REG#addr: $TLS_REG\n  tls:\n    certificate: $WORK/tls.crt\n    key: $WORK/tls.key#" \
  "$WORK/registry.yml" > "$WORK/registry-tls.yml"
docker-registry serve "$WORK/registry-tls.yml" >"$WORK/registry-tls.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do curl -fsS --cacert "$WORK/tls.crt" "https://$TLS_REG/v2/" >/dev/null 2>&1 && break; sleep 0.1; done
"$PACKREG" -q -r "$TLS_REG/tp" --ca-file "$WORK/tls.crt" push "$WORK/big" >/dev/null

: > "$WORK/results"
for round in $(seq "$ROUNDS"); do
  if want transfer; then
  # Fresh repositories each round, so nothing is skipped as already present.
  steps=(packreg_push oras_push curl_upload)
  [ $((round % 2)) -eq 0 ] && steps=(curl_upload oras_push packreg_push)
  for step in "${steps[@]}"; do
    case "$step" in
      # A fresh blob cache: packreg would otherwise mount the chart pushed in an earlier round.
      packreg_push) for b in $(builds "$round"); do L="${b%%:*}" BIN="${b#*:}"
        measure "${L}packreg_push" env XDG_CACHE_HOME="$WORK/cache-$L$round" "$BIN" -q -r "$REG/${L}r$round" push "$WORK/big"; done ;;
      oras_push) measure oras_push bash -c "oras_push '$REG/o$round/chart:1' '$CHART'" ;;
      curl_upload) measure curl_upload bash -c "curl_upload c$round/chart" ;;
    esac
  done
  rm -rf "$WORK/pulled" "$WORK/oras-out"
  # Each pull as a new user's first on a fresh machine: an empty home, no cache, no settings.
  steps=(packreg_pull oras_pull curl_download packreg_pull_https curl_download_https)
  [ $((round % 2)) -eq 0 ] && steps=(curl_download_https packreg_pull_https curl_download oras_pull packreg_pull)
  for step in "${steps[@]}"; do
    case "$step" in
      packreg_pull) for b in $(builds "$round"); do L="${b%%:*}" BIN="${b#*:}"
        rm -rf "$WORK/pulled"; measure "${L}packreg_pull" env $(fresh pull) "$BIN" -r "$REG/${L}r$round" pull bench-big -o "$WORK/pulled"; done ;;
      packreg_pull_https) for b in $(builds "$round"); do L="${b%%:*}" BIN="${b#*:}"
        rm -rf "$WORK/pulled"; measure "${L}packreg_pull_https" env $(fresh pull) "$BIN" -r "$TLS_REG/tp" --ca-file "$WORK/tls.crt" pull bench-big -o "$WORK/pulled"; done ;;
      curl_download_https) measure curl_download_https bash -c "curl_download_https tp/spectro-packs/archive/bench-big" ;;
      oras_pull) rm -rf "$WORK/oras-out"; measure oras_pull bash -c "oras_pull '$REG/o$round/chart:1' '$WORK/oras-out'" ;;
      curl_download) measure curl_download bash -c "curl_download c$round/chart" ;;
    esac
  done
  # Registry to registry: packreg mirror against skopeo copy of the same artifact.
  # Each into a registry of its own, started empty: skopeo's blob info cache would otherwise
  # mount what an earlier round copied.
  SKOPEO_DST="$(start_registry "k$round")"
  steps=(packreg_mirror skopeo_copy)
  [ $((round % 2)) -eq 0 ] && steps=(skopeo_copy packreg_mirror)
  for step in "${steps[@]}"; do
    case "$step" in
      packreg_mirror) for b in $(builds "$round"); do L="${b%%:*}" BIN="${b#*:}"
        MIRROR_DST="$(start_registry "${L}m$round")"
        measure "${L}packreg_mirror" "$BIN" -q mirror "$REG/${L}r$round" "$MIRROR_DST" bench-big:1.0.0; done ;;
      skopeo_copy) measure skopeo_copy skopeo copy -q --src-tls-verify=false --dest-tls-verify=false --preserve-digests \
        "docker://$REG/r$round/spectro-packs/archive/bench-big:1.0.0" "docker://$SKOPEO_DST/spectro-packs/archive/bench-big:1.0.0" ;;
    esac
  done
  # The chunk-size curve: the same push with chunks of 4, 16 (the default) and 64 MiB, and
  # whole (0), each into a fresh repository with a fresh blob cache.
  for cs in 4 16 64 0; do
    for b in $(builds "$round"); do L="${b%%:*}" BIN="${b#*:}"
      measure "${L}push_chunk_$cs" env XDG_CACHE_HOME="$WORK/cache-${L}c$cs-$round" "$BIN" -q --chunk-size "$cs" -r "$REG/${L}c$cs-$round" push "$WORK/big"
    done
  done
  # Small files: packreg's pack against the ORAS SDK pushing the same manifests folder.
  steps=(packreg_small oras_small)
  [ $((round % 2)) -eq 0 ] && steps=(oras_small packreg_small)
  for step in "${steps[@]}"; do
    case "$step" in
      packreg_small) for b in $(builds "$round"); do L="${b%%:*}" BIN="${b#*:}"
        measure "${L}packreg_small" "$BIN" -q -r "$REG/${L}s$round" push "$WORK/small"; done ;;
      oras_small) measure oras_small bash -c "oras_push '$REG/os$round/small:1' '$WORK/small/manifests'" ;;
    esac
  done
  fi
  # Compression: a Palette-format push of the big pack (one gzip tar of the folder) and a native
  # push of 128 MiB of YAML manifests (one gzip tar layer), each against the same by hand.
  want compression || continue
  steps=(packreg_palette by_hand_palette packreg_yaml by_hand_yaml)
  [ $((round % 2)) -eq 0 ] && steps=(by_hand_yaml packreg_yaml by_hand_palette packreg_palette)
  for step in "${steps[@]}"; do
    case "$step" in
      packreg_palette) for b in $(builds "$round"); do L="${b%%:*}" BIN="${b#*:}"
        measure "${L}push_palette" env $(fresh push) "$BIN" -q -r "$REG/${L}pp$round" push --format palette "$WORK/big"; done ;;
      by_hand_palette) measure by_hand_palette bash -c "by_hand hp$round/big '$WORK' big" ;;
      packreg_yaml) for b in $(builds "$round"); do L="${b%%:*}" BIN="${b#*:}"
        measure "${L}push_yaml" env $(fresh push) "$BIN" -q -r "$REG/${L}py$round" push "$WORK/yaml"; done ;;
      by_hand_yaml) measure by_hand_yaml bash -c "by_hand hy$round/yaml '$WORK/yaml' manifests" ;;
    esac
  done
done

# Start-up: `packreg inspect` on a plain-HTTP registry and, with --ca-file, on a TLS one,
# beside curl fetching the same manifest, STARTUP_RUNS times each, interleaved.
STARTUP_RUNS="${STARTUP_RUNS:-15}"
want startup || STARTUP_RUNS=0
"$PACKREG" -q -r "$REG/i" --plain-http push "$WORK/small" >/dev/null
"$PACKREG" -q -r "$TLS_REG/i" --ca-file "$WORK/tls.crt" push "$WORK/small" >/dev/null
ACCEPT='application/vnd.oci.image.manifest.v1+json'
for run in $(seq "$STARTUP_RUNS"); do
  for b in $(builds "$run"); do L="${b%%:*}" BIN="${b#*:}"
    measure "${L}inspect_http" "$BIN" -q -r "$REG/i" --plain-http inspect bench-small:1.0.0
  done
  measure curl_manifest_http curl -fsS -H "Accept: $ACCEPT" "http://$REG/v2/i/spectro-packs/archive/bench-small/manifests/1.0.0"
  for b in $(builds "$run"); do L="${b%%:*}" BIN="${b#*:}"
    measure "${L}inspect_https" "$BIN" -q -r "$TLS_REG/i" --ca-file "$WORK/tls.crt" inspect bench-small:1.0.0
  done
  measure curl_manifest_https curl -fsS --cacert "$WORK/tls.crt" -H "Accept: $ACCEPT" "https://$TLS_REG/v2/i/spectro-packs/archive/bench-small/manifests/1.0.0"
done

if want scale; then
# Scale: 200 packs x 5 versions (plus parent tags), mirrored once; then a mirror with nothing to
# copy, beside the registries' own floor for exactly those requests (scripts/mirror-floor.py,
# keep-alive, 8 at a time) and skopeo sync of the same repositories; ls of the source; and the
# catalogue of the source, first and no-op runs.
SCALE_SRC="$(start_registry scale-src)"
SCALE_DST="$(start_registry scale-dst)"
SKOPEO_SYNC_DST="$(start_registry scale-skopeo)"
python3 scripts/scale-fixture.py "$SCALE_SRC" 200 5 >/dev/null
"$PACKREG" -q --plain-http mirror "$SCALE_SRC" "$SCALE_DST"
{
  echo "$SCALE_SRC:"
  echo "  tls-verify: false"
  echo "  images:"
  for i in $(seq 0 199); do printf '    spectro-packs/archive/scale-%04d: []\n' "$i"; done
} > "$WORK/sync.yaml"
skopeo sync --src yaml --dest docker --dest-tls-verify=false "$WORK/sync.yaml" "$SKOPEO_SYNC_DST" >/dev/null 2>&1
for round in $(seq "$ROUNDS"); do
  for b in $(builds "$round"); do L="${b%%:*}" BIN="${b#*:}"
    measure "${L}mirror_noop" env XDG_CACHE_HOME="$WORK/cache-${L}scale" "$BIN" -q --plain-http mirror "$SCALE_SRC" "$SCALE_DST"
  done
  measure mirror_floor python3 scripts/mirror-floor.py "$SCALE_SRC" "$SCALE_DST"
  measure skopeo_sync skopeo sync --src yaml --dest docker --dest-tls-verify=false "$WORK/sync.yaml" "$SKOPEO_SYNC_DST"
  for b in $(builds "$round"); do L="${b%%:*}" BIN="${b#*:}"
    measure "${L}ls_scale" "$BIN" -q --plain-http -r "$SCALE_SRC" ls
  done
  # The catalogue of the same source: a first run into an empty folder, then a run with
  # nothing changed (this build only: a baseline may not have the command).
  measure catalog_first "$PACKREG" -q --plain-http -r "$SCALE_SRC" catalog -o "$WORK/catalog-$round"
  measure catalog_noop "$PACKREG" -q --plain-http -r "$SCALE_SRC" catalog -o "$WORK/catalog-$round"
done
fi

# Scale x10: 2,000 packs x 5 versions (SCALE10_PACKS to change it), plus parent tags. The first
# full mirror into an empty registry, once per binary, beside the request floor of the same
# copy (`mirror-floor.py --copy`, which mounts a blob it already uploaded elsewhere); then, each
# round, the no-op mirror beside its floor and `ls` of the 10,000 versions at the destination
# (which holds the pack index the mirror wrote; the fixture's source has none).
if want scale10; then
SCALE10_PACKS="${SCALE10_PACKS:-2000}"
S10_SRC="$(start_registry s10-src)"
python3 scripts/scale-fixture.py "$S10_SRC" "$SCALE10_PACKS" 5 >/dev/null
for b in $(builds 1); do L="${b%%:*}" BIN="${b#*:}"
  dst="$(start_registry "${L}s10-dst")"
  measure "${L}mirror_first_x10" env $(fresh "${L}s10") "$BIN" -q --plain-http mirror "$S10_SRC" "$dst"
  [ -n "$L" ] || S10_DST="$dst"
done
measure mirror_first_floor_x10 python3 scripts/mirror-floor.py --copy "$S10_SRC" "$(start_registry s10-floor)"
for round in $(seq "$ROUNDS"); do
  for b in $(builds "$round"); do L="${b%%:*}" BIN="${b#*:}"
    measure "${L}mirror_noop_x10" env $(fresh "${L}s10n") "$BIN" -q --plain-http mirror "$S10_SRC" "$S10_DST"
  done
  measure mirror_noop_floor_x10 python3 scripts/mirror-floor.py "$S10_SRC" "$S10_DST"
  for b in $(builds "$round"); do L="${b%%:*}" BIN="${b#*:}"
    measure "${L}ls_x10" env $(fresh "${L}s10l") "$BIN" -q --plain-http -r "$S10_DST" ls --json
  done
done
fi

if want images; then
# Images: a pack whose values list a 256 MiB two-platform image, mirrored with --with-images
# from a local pack store into a fresh registry, against `skopeo copy --all` of the same image
# into another fresh registry.
IMG_UP="$(start_registry img-up)"
python3 scripts/image-fixture.py "$IMG_UP" team/multi 3.0 256 >/dev/null
mkdir -p "$WORK/imgpack"
printf '{"name":"bench-img","displayName":"Bench images","version":"1.0.0","layer":"addon","cloudTypes":["all"]}\n' > "$WORK/imgpack/pack.json"
printf 'pack:\n  content:\n    images:\n      - image: %s/team/multi:3.0\n' "$IMG_UP" > "$WORK/imgpack/values.yaml"
"$PACKREG" -q -r "oci:$WORK/imgstore" push "$WORK/imgpack" >/dev/null
IMG_HOST="${IMG_UP/:/_}"
for round in $(seq "$ROUNDS"); do
  IMG_DST_S="$(start_registry "imgs$round")"
  steps=(packreg_mirror_images skopeo_copy_all)
  [ $((round % 2)) -eq 0 ] && steps=(skopeo_copy_all packreg_mirror_images)
  for step in "${steps[@]}"; do
    case "$step" in
      packreg_mirror_images) for b in $(builds "$round"); do L="${b%%:*}" BIN="${b#*:}"
        IMG_DST_P="$(start_registry "${L}imgp$round")"
        measure "${L}packreg_mirror_images" env XDG_CACHE_HOME="$WORK/cache-${L}img-$round" "$BIN" -q --plain-http mirror "oci:$WORK/imgstore" "$IMG_DST_P" --with-images; done ;;
      skopeo_copy_all) measure skopeo_copy_all skopeo copy --all --preserve-digests --src-tls-verify=false --dest-tls-verify=false \
        "docker://$IMG_UP/team/multi:3.0" "docker://$IMG_DST_S/$IMG_HOST/team/multi:3.0" ;;
    esac
  done
done
fi

python3 - "$WORK/results" "$SIZE" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, secs, rss = line.split()
    rows.setdefault(name, []).append((float(secs), int(rss)))
size_mib = int(sys.argv[2]) / 1048576
med = {k: statistics.median(s for s, _ in v) for k, v in rows.items()}
peak = {k: max(r for _, r in v) / 1024 for k, v in rows.items()}
print(f"blob: {size_mib:.0f} MiB; rounds: {max(len(v) for v in rows.values())}; medians")
for k in ["packreg_push", "oras_push", "curl_upload", "packreg_pull", "oras_pull", "curl_download", "packreg_pull_https", "curl_download_https", "push_palette", "by_hand_palette", "push_yaml", "by_hand_yaml", "packreg_mirror", "skopeo_copy", "packreg_small", "oras_small", "inspect_http", "curl_manifest_http", "inspect_https", "curl_manifest_https", "push_chunk_4", "push_chunk_16", "push_chunk_64", "push_chunk_0", "mirror_noop", "mirror_floor", "skopeo_sync", "ls_scale", "catalog_first", "catalog_noop", "mirror_first_x10", "mirror_first_floor_x10", "mirror_noop_x10", "mirror_noop_floor_x10", "ls_x10", "packreg_mirror_images", "skopeo_copy_all"]:
    if k in med:
        print(f"  {k:<19} {med[k]:7.3f} s   peak {peak[k]:7.1f} MiB")
def ratio(a, b):
    return med[a] / med[b]
def show(text):
    # A figure of a section not run (SECTIONS) leaves its line out.
    try:
        print(text())
    except KeyError:
        pass
show(lambda: f"push: packreg/curl {ratio('packreg_push','curl_upload'):.2f} (target <= 1.2), packreg/oras {ratio('packreg_push','oras_push'):.2f}")
show(lambda: f"pull: packreg/curl {ratio('packreg_pull','curl_download'):.2f} (target <= 1.1), packreg/oras {ratio('packreg_pull','oras_pull'):.2f} (target <= 1.0)")
show(lambda: f"pull over HTTPS (--ca-file): packreg/curl {ratio('packreg_pull_https','curl_download_https'):.2f} (target <= 1.1)")
show(lambda: f"Palette-format push / by hand (tar | gzip -6, sha256sum, curl): {ratio('push_palette','by_hand_palette'):.2f} (target <= 0.5)")
show(lambda: f"native push of 128 MiB of YAML / by hand: {ratio('push_yaml','by_hand_yaml'):.2f} (target <= 0.8)")
show(lambda: f"mirror: packreg/skopeo {ratio('packreg_mirror','skopeo_copy'):.2f} (target <= 1.0)")
show(lambda: f"small files: packreg/oras {ratio('packreg_small','oras_small'):.2f} (target <= 1.0)")
show(lambda: "push by chunk size (packreg/curl): " + ", ".join(f"{c} MiB {ratio(f'push_chunk_{c}', 'curl_upload'):.2f}" for c in ["4", "16", "64"]) + f", whole {ratio('push_chunk_0', 'curl_upload'):.2f}")
show(lambda: f"200 packs x 5 versions: no-op mirror {med['mirror_noop']:.2f} s, floor {med['mirror_floor']:.2f} s: {ratio('mirror_noop', 'mirror_floor'):.2f}x (target <= 1.5); skopeo sync {med['skopeo_sync']:.2f} s; ls {med['ls_scale']:.2f} s (target <= 3)")
show(lambda: f"200 packs x 5 versions: catalog first run {med['catalog_first']:.2f} s, no-op run {med['catalog_noop']:.2f} s: {ratio('catalog_noop', 'mirror_noop'):.2f}x the no-op mirror")
show(lambda: f"x10 scale: first full mirror {med['mirror_first_x10']:.1f} s, floor {med['mirror_first_floor_x10']:.1f} s: {ratio('mirror_first_x10', 'mirror_first_floor_x10'):.2f}x (target <= 2); no-op mirror {med['mirror_noop_x10']:.1f} s, floor {med['mirror_noop_floor_x10']:.1f} s: {ratio('mirror_noop_x10', 'mirror_noop_floor_x10'):.2f}x (target <= 1.0); ls --json {med['ls_x10']:.2f} s (target <= 3); peak {max(peak['mirror_first_x10'], peak['mirror_noop_x10'], peak['ls_x10']):.1f} MiB (target <= 64)")
show(lambda: f"pack with a 256 MiB two-platform image: packreg mirror --with-images / skopeo copy --all {ratio('packreg_mirror_images', 'skopeo_copy_all'):.2f} (target <= 1.1)")
show(lambda: f"inspect, plain HTTP: {med['inspect_http']:.3f} s (target <= 0.05; curl {med['curl_manifest_http']:.3f} s)")
show(lambda: f"inspect, HTTPS with --ca-file: {med['inspect_https']:.3f} s (target <= 0.12; curl {med['curl_manifest_https']:.3f} s)")
show(lambda: f"packreg peak memory: {max(peak[k] for k in ['packreg_push', 'packreg_pull', 'packreg_pull_https', 'packreg_mirror', 'packreg_small', 'push_palette', 'push_yaml'] if k in peak):.1f} MiB (target < 64)")
before = sorted(k for k in med if k.startswith("before_"))
if before:
    print("before/after, same run (median s; after/before < 1 is faster now):")
    for b in before:
        k = b[len("before_"):]
        print(f"  {k:<22} before {med[b]:7.3f}  after {med[k]:7.3f}  after/before {med[k] / med[b]:.2f}   peak MiB {peak[b]:6.1f} -> {peak[k]:6.1f}")
PY
