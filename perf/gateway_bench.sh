#!/usr/bin/env bash
# espgw between two memif ports and the traffic generator (perf/gen/, espgen) on this
# machine: builds both, writes espgw's config for the generator's peers, starts the
# generator and espgw, and prints the table of RFC 2544 throughput (the highest rate with
# loss <= 0.1 %), loss and latency for each direction and size.
#
#   perf/gateway_bench.sh [--out DIR] [espgen options]
#     e.g. perf/gateway_bench.sh --peers 1000 --cipher aes256-gcm --size 64,1420
#
# Default: 1 peer, AES-128-GCM, decap and encap, 64/512/1420/IMIX, search.
# DIR (default perf/out/gateway) gets espgw.conf, espgw.log, gen.txt and gen.json.
# Cores: espgen polls on lcore 0, espgw's worker on lcore 1 (its control core 0 sleeps when
# idle). With BENCH_HUGE=1 (the default) both use hugepages that this script reserves;
# BENCH_HUGE=0 runs both without. Run nothing else meanwhile.
set -euo pipefail
cd "$(dirname "$0")/.."
out=perf/out/gateway
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
mkdir -p "$out"
bash scripts/build.sh >/dev/null
if [ "${BENCH_HUGE:-1}" = 1 ]; then
  bash scripts/setup.sh --hugepages 3072 >/dev/null
  gw_eal='"--in-memory", "-m", "2048", "--no-pci", "--file-prefix", "espgw-bench"'
  gen_eal='--in-memory -m 1536 --no-pci'
else
  gw_eal='"--no-huge", "-m", "2048", "--no-pci", "--file-prefix", "espgw-bench"'
  gen_eal='--no-huge -m 1536 --no-pci'
fi
gen=./build/perf/espgen
"$gen" --write-config "$out/espgw.conf" --gw-eal "$gw_eal" "${args[@]}" >/dev/null
./build/src/espgw --check -c "$out/espgw.conf" >/dev/null

# The generator is the memif server: it starts first, espgw connects to it.
espgw_pid=
cleanup() { [ -n "$espgw_pid" ] && kill "$espgw_pid" 2>/dev/null && wait "$espgw_pid" 2>/dev/null; true; }
trap cleanup EXIT
# espgw connects once, at start: wait until the generator's (abstract) sockets listen.
sock=/espgen
for a in "${args[@]}"; do [ "${prev:-}" = --socket-dir ] && sock=$a; prev=$a; done
( for _ in $(seq 300); do
    grep -q "@$sock/public.sock" /proc/net/unix && grep -q "@$sock/inside.sock" /proc/net/unix && break
    sleep 0.1
  done
  exec ./build/src/espgw -c "$out/espgw.conf" ) >"$out/espgw.log" 2>&1 &
espgw_pid=$!
"$gen" --eal "$gen_eal" --lcore 0 --search --json "$out/gen.json" "${args[@]}" | tee "$out/gen.txt"
echo "wrote $out/gen.txt and $out/gen.json (espgw's config and log next to them)"
