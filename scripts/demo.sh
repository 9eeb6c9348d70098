#!/usr/bin/env bash
# One command: install, build, build a demo network in namespaces and run espgw on its
# embedded default config. Two road warriors behind a NAT reach the LAN through it:
#  - a strongSwan client (charon 5.9 from Debian) connects with IKEv2: NAT detected, a virtual
#    IP assigned from espgw's pool, the CHILD SA installed in espgw's data plane; it pings the
#    LAN host through the tunnel and moves a few MB over TCP;
#  - a scapy peer with static SAs (fixed keys from the config) pings too.
#
#   strongSwan 198.51.101.2 --+
#                              NAT 192.0.2.254 -- espgw 192.0.2.1 | 10.1.0.1 -- LAN 10.1.0.2
#   scapy 198.51.100.2 -------+
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
  [ -n "${SW_PID:-}" ] && kill "$SW_PID" 2>/dev/null && wait "$SW_PID" 2>/dev/null
  for ns in gw lan nat peer rw; do ip netns del "$P-$ns" 2>/dev/null || true; done
  rm -rf "${SW_DIR:-/nonexistent}"
}
trap cleanup EXIT INT TERM
cleanup

for ns in gw lan nat peer rw; do
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
link nat nat-rw rw rw0
ip -n $P-nat addr add 192.0.2.254/24 dev nat-out
ip -n $P-nat addr add 198.51.100.1/24 dev nat-in
ip -n $P-nat addr add 198.51.101.1/24 dev nat-rw
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
ip -n $P-rw addr add 198.51.101.2/24 dev rw0
ip -n $P-rw route add default via 198.51.101.1
ip -n $P-lan addr add 10.1.0.2/24 dev lan0
ip -n $P-lan route add default via 10.1.0.1
# Kernels sending toward espgw's af_packet ports fill in their own checksums (no "hardware" here).
for e in "lan lan0" "nat nat-out"; do set -- $e; ip netns exec "$P-$1" /usr/bin/python3 scripts/tx_csum_off.py "$2"; done

echo "== espgw on its embedded default config (espgw --print-default shows it)"
ip netns exec $P-gw ./build/src/espgw &
GW_PID=$!
for _ in $(seq 50); do [ -S /var/run/dpdk/espgw-demo/dpdk_telemetry.v2 ] && break; sleep 0.2; done
sleep 1
echo "== a strongSwan road warrior behind the NAT connects with IKEv2 (PSK, Curve25519, AES-GCM)"
SW_DIR=$(mktemp -d /tmp/espgw-demo-strongswan.XXXXXX)
mkdir -p "$SW_DIR"/{x509,x509ca,private,rsa,ecdsa,pubkey,x509crl,x509aa,x509ac,pkcs12,pkcs8}
cat > "$SW_DIR/strongswan.conf" <<CONF
charon-systemd {
  load = random nonce openssl aes sha1 sha2 hmac gcm pem pkcs1 x509 pubkey gmp curve25519 kdf kernel-libipsec kernel-netlink socket-default vici updown
  plugins { vici { socket = unix://$SW_DIR/charon.vici } }
  journal { default = -1 }
  filelog { log { path = $SW_DIR/charon.log
    flush_line = yes
    default = 1 } }
}
CONF
cat > "$SW_DIR/swanctl.conf" <<CONF
connections { demo { version = 2
    local_addrs = 198.51.101.2
    remote_addrs = 192.0.2.1
    proposals = aes128gcm16-prfsha256-curve25519
    vips = 0.0.0.0
    local { auth = psk
      id = alice@example.net }
    remote { auth = psk
      id = gw.example.net }
    children { demo { remote_ts = 10.1.0.0/24
      esp_proposals = aes128gcm16 } } } }
secrets { ike-1 { id-1 = alice@example.net
  secret = "demo-only-pre-shared-key-change-me" } }
CONF
STRONGSWAN_CONF="$SW_DIR/strongswan.conf" ip netns exec $P-rw setsid /usr/sbin/charon-systemd >/dev/null 2>&1 &
SW_PID=$!
for _ in $(seq 50); do
  swanctl --load-all --uri "unix://$SW_DIR/charon.vici" --file "$SW_DIR/swanctl.conf" >/dev/null 2>&1 && break
  sleep 0.2
done
swanctl --initiate --uri "unix://$SW_DIR/charon.vici" --child demo --timeout 20 | grep -E "IKE_SA|CHILD_SA|virtual IP|NAT" || true
VIP=$(grep -o "installing new virtual IP [0-9.]*" "$SW_DIR/charon.log" | tail -1 | awk '{print $5}')
if [ -n "$VIP" ]; then
  echo "== the client's virtual IP is $VIP; it pings the LAN host through espgw"
  ip netns exec $P-rw ping -n -c 5 -i 0.2 -I "$VIP" 10.1.0.2 | tail -3
  echo "== and sends 4 MB over TCP to the LAN host"
  ip netns exec $P-lan /usr/bin/python3 tests/e2e/tcp_xfer.py recv 5001 10.1.0.2 > "$SW_DIR/recv.txt" &
  ip netns exec $P-rw /usr/bin/python3 tests/e2e/tcp_xfer.py send 10.1.0.2 5001 4194304 > "$SW_DIR/send.txt"
  wait $! || true
  echo "sent:     $(cat "$SW_DIR/send.txt")"; echo "received: $(cat "$SW_DIR/recv.txt")  (bytes, SHA-256)"
else
  echo "the client got no virtual IP; its log: $SW_DIR/charon.log"
fi
echo "== a road warrior with static SAs (scapy) pings the LAN host through the tunnel"
ip netns exec $P-peer /usr/bin/python3 scripts/demo_peer.py 5 || true
echo "== counters (DPDK telemetry: dpdk-telemetry.py -f espgw-demo)"
for cmd in /espgw/ike_sas /espgw/child_sas /espgw/ike /espgw/stats /espgw/sas; do
  echo "$cmd" | ip netns exec $P-gw /usr/bin/python3 /usr/bin/dpdk-telemetry.py -f espgw-demo 2>/dev/null | sed 's/^--> //' | grep '^{' || true
done
if [ -n "${DEMO_SECONDS:-}" ]; then sleep "$DEMO_SECONDS"; else echo "== espgw keeps running; Ctrl-C stops it"; wait "$GW_PID"; fi
