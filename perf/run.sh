#!/usr/bin/env bash
# Runs the ESP benchmark on a quiet machine: builds if needed, reserves hugepages (as a
# gateway runs; BENCH_HUGE=0 uses no-huge memory, as the tests do), prints the table. Run
# nothing else meanwhile: with 2 vCPUs any other load shows up in the numbers.
#
#   perf/run.sh [bench_esp options]     one table (default: AES-128-GCM, 1 SA, 64/512/1420)
#   perf/run.sh --matrix [DIR]          every cipher x 64/512/1420/IMIX x 1, 1k and 1M SAs at
#                                       random, into DIR (default perf/out): esp.txt,
#                                       esp.json and esp.png (cycles per packet against size)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh >/dev/null
if [ "${BENCH_HUGE:-1}" = 1 ]; then
  bash scripts/setup.sh --hugepages 3072 >/dev/null
  export BENCH_HUGE=1
else
  unset BENCH_HUGE
fi
if [ "${1:-}" != "--matrix" ]; then
  exec ./build/perf/bench_esp "$@"
fi
out=${2:-perf/out}
mkdir -p "$out"
# The plot needs matplotlib, from Debian's archive like every package the project uses.
python3 -c 'import matplotlib' 2>/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-matplotlib >/dev/null
./build/perf/bench_esp --cipher all --size 64,512,1420,imix --sas 1,1000,1000000 --access random \
  --json "$out/esp.json" | tee "$out/esp.txt"
/usr/bin/python3 perf/plot_esp.py "$out/esp.json" "$out/esp.png"
echo "wrote $out/esp.txt, $out/esp.json, $out/esp.png"
