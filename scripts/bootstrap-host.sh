#!/usr/bin/env bash
# Installs what compiling the xtask itself needs (a C compiler for the
# compression and crypto crates). Everything else is installed by
# `cargo xtask host-deps`, which knows the full list.
set -euo pipefail
if command -v cc >/dev/null && command -v make >/dev/null; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "bootstrap-host: missing a C toolchain; run: sudo apt-get install build-essential" >&2
  exit 1
fi
apt-get update -q
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends build-essential
