#!/usr/bin/env bash
# Runs the whole test suite. Installs what the tests need first (scripts/setup.sh); the tests
# start their own registries on loopback ports.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo test "$@"
