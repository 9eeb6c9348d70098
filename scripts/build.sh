#!/usr/bin/env bash
# Configures (once) and builds espgw, its tests and benchmarks in ./build.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f build/build.ninja ] || meson setup build --buildtype=release -Db_ndebug=true
ninja -C build
