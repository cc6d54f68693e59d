#!/usr/bin/env bash
# The CPU backend's tests on aarch64: cross-built with Debian's gcc-aarch64-linux-gnu as linker
# and run under qemu-user, so the NEON kernels are checked against the reference interpreter on
# every run (correctness only: timings under qemu mean nothing). Called by scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v aarch64-linux-gnu-gcc >/dev/null || ! command -v qemu-aarch64 >/dev/null; then
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
fi
if ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
  rustup target add aarch64-unknown-linux-gnu
fi

# qemu runs them a few times slower than the host, which the suite affords (about 10 s);
# every proptest case covers the NEON and the portable path.
cargo test --locked -p canao-cpu --target aarch64-unknown-linux-gnu
