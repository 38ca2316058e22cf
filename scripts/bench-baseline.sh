#!/usr/bin/env bash
# Builds the release binary of an earlier commit, for `BASELINE=... scripts/bench.sh`, and prints
# its path. The build happens in a worktree under target/baseline/REV with a target folder of its
# own (seeded from this one's release dependencies, so only packreg itself is compiled).
#
# usage: scripts/bench-baseline.sh REV    e.g. BASELINE="$(scripts/bench-baseline.sh main~5)" scripts/bench.sh 3
set -euo pipefail
cd "$(dirname "$0")/.."
REV="$(git rev-parse --verify "${1:?usage: scripts/bench-baseline.sh REV}^{commit}")"
DIR="$PWD/target/baseline/$REV"
if [ ! -x "$DIR/target/release/packreg" ]; then
  [ -d "$DIR/src" ] || git worktree add --detach -f "$DIR" "$REV" >&2
  if [ -d target/release/deps ] && [ ! -d "$DIR/target/release" ]; then
    mkdir -p "$DIR/target" && cp -a target/release "$DIR/target/"
  fi
  (cd "$DIR" && cargo build --release --quiet) >&2
fi
echo "$DIR/target/release/packreg"
