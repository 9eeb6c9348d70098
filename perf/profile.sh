#!/usr/bin/env bash
# Instructions per packet in espgw's own data-path code, counted by callgrind: a number that,
# unlike cycles on a shared VM, does not move between runs, so a change's cost or saving shows
# even when it is a few instructions. Counts rx_public (decap) and rx_inside (encap) with
# everything they call, split into IPsec-MB's part and the rest (espgw's), per packet.
#
#   perf/profile.sh [--size S] [--sas K] [--access seq|random] [--cipher C] [--annotate]
#
# valgrind cannot decode AVX-512, so this builds bench_esp for x86-64-v3 (AVX2) in
# build-profile; IPsec-MB then runs its AVX2 code. --annotate prints espgw's source lines that
# cost at least one instruction per packet.
set -euo pipefail
cd "$(dirname "$0")/.."
size=64 sas=1 access=seq cipher=aes128-gcm annotate=0
while [ $# -gt 0 ]; do
  case "$1" in
    --size) size=$2; shift 2 ;;
    --sas) sas=$2; shift 2 ;;
    --access) access=$2; shift 2 ;;
    --cipher) cipher=$2; shift 2 ;;
    --annotate) annotate=1; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
command -v valgrind >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q valgrind >/dev/null
[ -f build-profile/build.ninja ] ||
  meson setup build-profile --buildtype=release -Db_ndebug=true -Ddebug=true -Dmarch=x86-64-v3 >/dev/null
ninja -C build-profile perf/bench_esp >/dev/null
rounds=20 packets=512
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for dir in decap encap; do
  fn=$([ $dir = decap ] && echo 'espgw::dp::rx_public(*' || echo 'espgw::dp::rx_inside(*')
  valgrind --tool=callgrind --toggle-collect="$fn" --callgrind-out-file="$out/$dir" \
    build-profile/perf/bench_esp --cipher "$cipher" --size "$size" --sas "$sas" --access "$access" \
    --only $dir --rounds $rounds --packets $packets >/dev/null 2>"$out/$dir.log" ||
    { cat "$out/$dir.log" >&2; exit 1; }
  callgrind_annotate "$out/$dir" >"$out/$dir.txt" 2>/dev/null
  total=$(awk '/PROGRAM TOTALS/{gsub(",","",$1); print $1}' "$out/$dir.txt")
  lib=$(awk '/libIPSec_MB/{gsub(",","",$1); s+=$1} END{print s+0}' "$out/$dir.txt")
  n=$((rounds * packets))
  printf '%s %s, %s B, %s SA(s) %s: espgw %d instructions per packet, IPsec-MB %d\n' \
    "$dir" "$cipher" "$size" "$sas" "$access" $(((total - lib) / n)) $((lib / n))
  if [ $annotate = 1 ]; then
    callgrind_annotate --auto=yes --show-percs=no "$out/$dir" 2>/dev/null |
      awk -v n=$n '/Auto-annotated source/{f=$0; show=(f ~ /\/(lib|include)\//); if (show) print f; next}
                   show && $2 != "=>" { c=$1; gsub(",","",c); if (c+0 >= n) print }'
  fi
done
