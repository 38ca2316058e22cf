#!/usr/bin/env bash
# Installs what the test suite needs on a Debian machine with a Rust toolchain. Safe to re-run:
# it installs only what is missing.
set -euo pipefail

# Debian packages the tests use.
APT_PACKAGES=(skopeo)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
