#!/usr/bin/env bash
# Runs the ESP benchmark on a quiet machine: builds if needed, reserves hugepages when it can
# (BENCH_HUGE=1 uses them), prints the table. Run nothing else meanwhile: with 2 vCPUs any
# other load shows up in the numbers.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh >/dev/null
if [ "${BENCH_HUGE:-0}" = 1 ]; then bash scripts/setup.sh --hugepages 1024 >/dev/null; fi
exec ./build/perf/bench_esp "$@"
