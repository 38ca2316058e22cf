#!/usr/bin/env bash
# Builds the Debian package of packreg with cargo-deb (installed from crates.io when missing):
# the binary, a man page per command (`packreg man`) and the bash, zsh and fish completions
# (`packreg completions`). Prints the path of the .deb on its last line.
#
# PACKREG_DEB_PROFILE chooses the cargo profile (default release; the test suite uses dev,
# which reuses what `cargo test` already built).
set -euo pipefail
cd "$(dirname "$0")/.."

profile="${PACKREG_DEB_PROFILE:-release}"
if ! cargo deb --version >/dev/null 2>&1; then
  echo "installing cargo-deb from crates.io" >&2
  cargo install --locked --quiet cargo-deb --version '^3'
fi

cargo build --quiet --profile "$profile" --bin packreg
case "$profile" in
  dev | test) profile_dir=debug ;;
  bench) profile_dir=release ;;
  *) profile_dir="$profile" ;;
esac
bin="${CARGO_TARGET_DIR:-target}/$profile_dir/packreg"

# The assets Cargo.toml's [package.metadata.deb] names.
assets=target/deb-assets
rm -rf "$assets"
mkdir -p "$assets/man" "$assets/completions"
"$bin" --quiet man -o "$assets/man"
gzip -9n "$assets"/man/*.1
"$bin" completions bash >"$assets/completions/packreg.bash"
"$bin" completions zsh >"$assets/completions/_packreg"
"$bin" completions fish >"$assets/completions/packreg.fish"

# An unoptimised build is for tests: light compression of its large binary saves most of the
# time.
fast=()
[ "$profile_dir" = debug ] && fast=(--fast)
out=target/debian
mkdir -p "$out"
deb=$(cargo deb --no-build --quiet "${fast[@]}" --profile "$profile" --output "$out")
echo "$deb"
