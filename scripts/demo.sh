#!/usr/bin/env bash
# One command: install, build, build a demo network in namespaces and run espgw on its
# embedded default config, with a scapy road warrior behind a NAT pinging the LAN through it.
#
#   road warrior 198.51.100.2 (inner 10.2.0.2) -- NAT 192.0.2.254 -- espgw 192.0.2.1 | 10.1.0.1 -- LAN 10.1.0.2
#
# The gateway keeps running afterwards (Ctrl-C stops it and removes the namespaces);
# DEMO_SECONDS=N stops it after N seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh >/dev/null

P=espgw-demo
cleanup() {
  [ -n "${GW_PID:-}" ] && kill "$GW_PID" 2>/dev/null && wait "$GW_PID" 2>/dev/null
  for ns in gw lan nat peer; do ip netns del "$P-$ns" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM
cleanup

for ns in gw lan nat peer; do
  ip netns add "$P-$ns"
  ip netns exec "$P-$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip -n "$P-$ns" link set lo up
done
link() {  # ns_a if_a ns_b if_b: a veth that behaves like a wire (no 64 KB GSO frames)
  ip -n "$P-$1" link add "$2" type veth peer name "$4" netns "$P-$3"
  for e in "$1 $2" "$3 $4"; do set -- $e; ip -n "$P-$1" link set "$2" gso_max_segs 1 up; done
}
link gw espgw-pub nat nat-out
link gw espgw-lan lan lan0
link nat nat-in peer peer0
ip -n $P-nat addr add 192.0.2.254/24 dev nat-out
ip -n $P-nat addr add 198.51.100.1/24 dev nat-in
ip netns exec $P-nat sysctl -qw net.ipv4.ip_forward=1
ip netns exec $P-nat nft -f - <<NFT
table ip nat {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "nat-out" masquerade fully-random
  }
}
NFT
ip -n $P-peer addr add 198.51.100.2/24 dev peer0
ip -n $P-peer route add default via 198.51.100.1
ip -n $P-lan addr add 10.1.0.2/24 dev lan0
ip -n $P-lan route add default via 10.1.0.1

echo "== espgw on its embedded default config (espgw --print-default shows it)"
ip netns exec $P-gw ./build/src/espgw &
GW_PID=$!
for _ in $(seq 50); do [ -S /var/run/dpdk/espgw-demo/dpdk_telemetry.v2 ] && break; sleep 0.2; done
sleep 1
echo "== a road warrior behind the NAT pings the LAN host through the tunnel"
ip netns exec $P-peer /usr/bin/python3 scripts/demo_peer.py 5 || true
echo "== counters (DPDK telemetry: dpdk-telemetry.py -f espgw-demo)"
for cmd in /espgw/stats /espgw/sas; do
  echo "$cmd" | ip netns exec $P-gw /usr/bin/python3 /usr/bin/dpdk-telemetry.py -f espgw-demo 2>/dev/null | sed 's/^--> //' | grep '^{' || true
done
if [ -n "${DEMO_SECONDS:-}" ]; then sleep "$DEMO_SECONDS"; else echo "== espgw keeps running; Ctrl-C stops it"; wait "$GW_PID"; fi
