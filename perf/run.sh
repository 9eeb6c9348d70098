#!/usr/bin/env bash
# Runs the ESP benchmark on a quiet machine: builds if needed, reserves hugepages (as a
# gateway runs; BENCH_HUGE=0 uses no-huge memory, as the tests do), prints the table. Run
# nothing else meanwhile: with 2 vCPUs any other load shows up in the numbers.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh >/dev/null
if [ "${BENCH_HUGE:-1}" = 1 ]; then
  bash scripts/setup.sh --hugepages 1024 >/dev/null
  export BENCH_HUGE=1
else
  unset BENCH_HUGE
fi
exec ./build/perf/bench_esp "$@"
