#!/usr/bin/env bash
# espgw side by side with DPDK's ipsec-secgw: the same generator traffic (perf/gen, espgen),
# the same memif ports, the same cores. ipsec-secgw is built here from the source Debian's
# dpdk-doc ships. It has no NAT-T with software crypto, so both run plain ESP in tunnel mode
# (espgen --encap none): one address per peer, one SA pair each, the same keys.
#
#   perf/secgw_compare.sh [--out DIR] [--peers N] [--cipher C] [--size LIST] [--rounds R]
#                         [--packets P]     (per trial; default 2,000,000)
#
# What it does:
#  1. Builds ipsec-secgw as shipped and runs it once on the memif ports: it refuses them
#     (it requires RX checksum offload of every port, which no virtual port here offers) and
#     its own error output is kept in DIR/secgw-shipped.log.
#  2. Builds a second copy with that one requirement removed (a sed on one line of
#     ipsec-secgw.c: its port_conf asks for RX_OFFLOAD_CHECKSUM; nothing in ipsec-secgw reads
#     the offload's result, so its packet processing is unchanged).
#  3. For R rounds: espgen flat out (memif pushes back, so what a gateway forwards is what it
#     can take) through espgw, then through ipsec-secgw, decap and encap, each size.
#  4. Once, DPDK's testpmd in io mode on the same ports (it returns every frame as it came,
#     espgen --count-only times it): what the memif ports themselves cost per packet.
#  5. Prints the table of Mpps per gateway and their ratio, and each gateway's own cycles per
#     packet (its cycles at its rate less the ports' cycles at testpmd's): the comparison of
#     the two packet paths with the ports taken out. DIR gets the JSON of every run.
#
# Cores: espgen polls on lcore 0; the gateway's packet loop on lcore 1 (espgw's control
# core 0 sleeps when idle; ipsec-secgw runs its loop on its main lcore 1). Hugepages as in
# perf/gateway_bench.sh. Run nothing else meanwhile.
set -euo pipefail
cd "$(dirname "$0")/.."
out=perf/out/secgw
peers=1
cipher=aes128-gcm
sizes=64,512,1420,imix
rounds=2
packets=2000000
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --peers) peers="$2"; shift 2 ;;
    --cipher) cipher="$2"; shift 2 ;;
    --size) sizes="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --packets) packets="$2"; shift 2 ;;
    *) echo "unknown option $1 (see the head of $0)" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
bash scripts/build.sh >/dev/null
bash scripts/setup.sh --hugepages 3072 >/dev/null
dpkg -s dpdk-doc >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends dpdk-doc >/dev/null
src=/usr/share/dpdk/examples/ipsec-secgw
[ -f "$src/ipsec-secgw.c" ] || { echo "dpdk-doc has no $src" >&2; exit 1; }

for v in shipped memif; do
  rm -rf "$out/$v"
  cp -r "$src" "$out/$v"
done
sed -i 's/\.offloads = RTE_ETH_RX_OFFLOAD_CHECKSUM,/.offloads = 0,/' "$out/memif/ipsec-secgw.c"
if diff -q "$src/ipsec-secgw.c" "$out/memif/ipsec-secgw.c" >/dev/null; then
  echo "the RX checksum requirement was not where this script expects it in $src/ipsec-secgw.c" >&2
  exit 1
fi
diff -u "$src/ipsec-secgw.c" "$out/memif/ipsec-secgw.c" >"$out/secgw-memif.diff" || true
for v in shipped memif; do
  make -C "$out/$v" >"$out/build-$v.log" 2>&1 || { echo "ipsec-secgw ($v) did not build: $out/build-$v.log" >&2; exit 1; }
done

case "$cipher" in
  aes128-gcm|aes256-gcm) cryptodev=crypto_aesni_gcm0 ;;
  *) cryptodev=crypto_aesni_mb0 ;;
esac
gen=./build/perf/espgen
sock=/espgen-cmp
common=(--encap none --peers "$peers" --cipher "$cipher" --socket-dir "$sock")
"$gen" "${common[@]}" --write-config "$out/espgw.conf" --write-secgw-config "$out/secgw.cfg" \
  --gw-eal '"--in-memory", "-m", "2048", "--no-pci", "--file-prefix", "espgw-cmp"' >/dev/null
./build/src/espgw --check -c "$out/espgw.conf" >/dev/null

memif() {  # memif() ID SIDE MAC: one of the gateway's ports, as espgw's written config has them
  echo "net_memif$1,role=client,id=0,rsize=12,socket=$sock/$2.sock,mac=$3"
}
secgw_cmd() {  # secgw_cmd VARIANT: ipsec-secgw on the two memif ports, one lcore, software crypto
  echo "$out/$1/build/ipsec-secgw -l 1 -n 1 --in-memory -m 1024 --no-pci --file-prefix secgw-cmp" \
       "--vdev $(memif 0 public 02:e5:00:00:00:01) --vdev $(memif 1 inside 02:e5:00:00:00:02) --vdev $cryptodev" \
       "-- -p 0x3 -P -u 0x1 --config (0,0,1),(1,0,1) -f $out/secgw.cfg"
}

# 1. As shipped: it starts, then refuses the ports.
set +e
timeout 30 $(secgw_cmd shipped) >"$out/secgw-shipped.log" 2>&1
rc=$?
set -e
echo "ipsec-secgw as Debian ships it, on memif ports (exit $rc):"
grep -E "Cause|Error" "$out/secgw-shipped.log" | sed 's/^/  | /'

gw_pid=
cleanup() { [ -n "$gw_pid" ] && kill "$gw_pid" 2>/dev/null && wait "$gw_pid" 2>/dev/null; gw_pid=; true; }
trap cleanup EXIT

run() {  # run NAME GATEWAY-COMMAND [ESPGEN-OPTION]: espgen (the memif server) first, the gateway once it listens
  local name=$1 cmd=$2 extra=${3:-}
  ( for _ in $(seq 300); do
      grep -q "@$sock/public.sock" /proc/net/unix && grep -q "@$sock/inside.sock" /proc/net/unix && break
      sleep 0.1
    done
    exec $cmd ) >"$out/$name.log" 2>&1 &
  gw_pid=$!
  "$gen" "${common[@]}" --eal "--in-memory -m 1536 --no-pci" --lcore 0 --size "$sizes" --dir decap,encap --packets "$packets" \
    $extra --json "$out/$name.json" >"$out/$name.txt" 2>&1 || { echo "$name: espgen failed, see $out/$name.txt" >&2; cat "$out/$name.txt" >&2; exit 1; }
  cleanup
  sleep 1
}

for r in $(seq "$rounds"); do
  run "espgw-$r" "./build/src/espgw -c $out/espgw.conf"
  run "secgw-$r" "$(secgw_cmd memif)"
done
# The ports alone: testpmd forwards each frame to the other port untouched (its main lcore 0
# waits; the forwarding lcore is 1, as the gateways').
run io "dpdk-testpmd -l 0,1 -n 1 --in-memory -m 1024 --no-pci --file-prefix io-cmp \
  --vdev $(memif 0 public 02:e5:00:00:00:01) --vdev $(memif 1 inside 02:e5:00:00:00:02) \
  -- --forward-mode=io --auto-start --nb-cores=1 --stats-period 3600 --no-lsc-interrupt" --count-only

/usr/bin/python3 - "$out" "$rounds" <<'EOF'
import json, re, sys
out, rounds = sys.argv[1], int(sys.argv[2])
runs = {g: [json.load(open(f"{out}/{g}-{r}.json")) for r in range(1, rounds + 1)] for g in ("espgw", "secgw")}
io = {(x["direction"], x["size"]): x["mpps"] for x in json.load(open(f"{out}/io.json"))["results"]}
machine = runs["espgw"][0]["machine"]
ghz = float(re.search(r"TSC ([0-9.]+) GHz", machine).group(1))
print(f"machine: {machine}")
print("Mpps flat out (each round); ports: testpmd io on the same memif ports; own: TSC cycles per")
print("packet of the gateway less the ports' (best rounds)")
print(f"{'dir':6} {'size':5} {'peers':>6} {'espgw Mpps':>16} {'secgw Mpps':>16} {'ratio':>6} {'ports':>6} "
      f"{'espgw own':>9} {'secgw own':>9} {'secgw/espgw':>11}")
rows, summary = {}, []
for g, rs in runs.items():
    for run in rs:
        for x in run["results"]:
            key = (x["direction"], x["cipher"], x["size"], x["peers"])
            bad = x["invalid"] or x["duplicates"]
            rows.setdefault(key, {}).setdefault(g, []).append(None if bad else x["mpps"])
for key, v in rows.items():
    def cell(xs):
        ok = [x for x in xs if x is not None]
        return (max(ok) if ok else 0.0), " / ".join("INVALID" if x is None else f"{x:.2f}" for x in xs)
    e, es = cell(v.get("espgw", []))
    s, ss = cell(v.get("secgw", []))
    ports = io.get((key[0], key[2]), 0)
    own = lambda mpps: ghz * 1e3 / mpps - ghz * 1e3 / ports if mpps and ports else float("nan")
    ratio = e / s if s else float("inf")
    print(f"{key[0]:6} {key[2]:5} {key[3]:>6} {es:>16} {ss:>16} {ratio:6.2f} {ports:6.2f} {own(e):9.0f} {own(s):9.0f} "
          f"{own(s) / own(e):11.2f}")
    summary.append({"direction": key[0], "cipher": key[1], "size": key[2], "peers": key[3],
                    "espgw_mpps": v.get("espgw"), "secgw_mpps": v.get("secgw"), "ratio_best": round(ratio, 3),
                    "ports_mpps": ports, "espgw_own_cycles": round(own(e)), "secgw_own_cycles": round(own(s))})
json.dump({"machine": machine, "rows": summary}, open(f"{out}/compare.json", "w"), indent=1)
print(f"({out}/compare.json)")
EOF
