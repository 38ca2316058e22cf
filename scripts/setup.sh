#!/usr/bin/env bash
# Installs what the build and the test suite need on a Debian machine with a Rust toolchain.
# Safe to re-run: it installs only what is missing.
set -euo pipefail

# Debian packages: OpenSSL headers for the TLS stack, the registry the integration tests start
# (CNCF distribution 2.8), htpasswd for its basic auth, openssl to make test certificates, and
# skopeo, a peer the interop tests use; GNU time measures peak memory in tests and the bench;
# chromium-headless-shell (/usr/bin/chromium-headless-shell) renders the catalogue in
# tests/it/catalog_browser.rs.
APT_PACKAGES=(pkg-config libssl-dev openssl docker-registry apache2-utils skopeo time chromium-headless-shell)

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

# The ORAS Python SDK, the other interop peer, and cryptography, with which the test token
# issuer signs its JWTs.
if ! python3 -c 'import oras.client' >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check oras
fi
if ! python3 -c 'import cryptography.x509' >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check cryptography
fi
# PyNaCl: the tests' independent signer (tests/it/support/signer.py) writes and reads cosign's
# encrypted key file (scrypt + NaCl secretbox) with it.
if ! python3 -c 'import nacl.secret' >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check pynacl
fi

# sigstore-js (@sigstore/verify), a real verifier the signing tests check packreg's bundles
# with, at the versions its package-lock.json pins.
if [ ! -d tests/it/support/sigstore-js/node_modules/@sigstore/verify ]; then
  (cd tests/it/support/sigstore-js && npm ci --no-audit --no-fund --silent)
fi

# cargo-deb, with which scripts/build-deb.sh (and the test of the Debian package) builds the
# .deb; dpkg, which that test unpacks it with, is part of every Debian system.
if ! cargo deb --version >/dev/null 2>&1; then
  cargo install --locked --quiet cargo-deb --version '^3'
fi
