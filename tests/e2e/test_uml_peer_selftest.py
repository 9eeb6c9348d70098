#!/usr/bin/python3
"""Self-test of the e2e harness, without the gateway.

    guest (UML, ESP peer) --ua|ub-- nat (masquerade fully-random) --nw|wn-- wan (fake gateway)
    198.51.100.2, inner 10.1.0.1    198.51.100.1 | 192.0.2.254                192.0.2.1

The guest has an AES-GCM-128 tunnel-mode SA with `encap espinudp 4500 4500` toward the fake
gateway for 10.1.0.0/24 -> 10.2.0.0/24. A ping from 10.1.0.1 to 10.2.0.1 must reach wan as
ESP-in-UDP to port 4500, from the NAT's address and a port the NAT picked, with our SPI, and
scapy must decrypt it back to the ICMP echo request with the same key. Flushing the NAT's
conntrack must move the next packet to a new port. A 4 MB TCP transfer into the guest checks the
guest command channel and the transfer tool.

Run as root: /usr/bin/python3 tests/e2e/test_uml_peer_selftest.py   (exit 0 = pass)
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from capture import Capture  # noqa: E402
from esp_sa import EspSA  # noqa: E402
from topology import Topology  # noqa: E402
import tcp_xfer  # noqa: E402
from uml_peer import UmlPeer  # noqa: E402

GUEST, NAT_IN, NAT_OUT, FAKE_GW = "198.51.100.2", "198.51.100.1", "192.0.2.254", "192.0.2.1"
INNER_SRC, INNER_DST = "10.1.0.1", "10.2.0.1"
SPI = 0xC0DE0001
PINGS = 3
XFER_BYTES = 4 * 1024 * 1024


class Failed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failed(message)


def build(topo):
    guest_ns, nat_ns, wan_ns = topo.netns("uml"), topo.netns("nat"), topo.netns("wan")
    guest_if, nat_in = topo.veth(guest_ns, "ua", nat_ns, "ub")
    nat_out, wan_if = topo.veth(nat_ns, "nw", wan_ns, "wn")
    topo.addr(nat_ns, nat_in, f"{NAT_IN}/24")
    topo.addr(nat_ns, nat_out, f"{NAT_OUT}/24")
    topo.addr(wan_ns, wan_if, f"{FAKE_GW}/24")
    topo.masquerade(nat_ns, nat_out)
    peer = UmlPeer(topo, guest_ns, guest_if, f"{GUEST}/24", gateway=NAT_IN,
                   inner=f"{INNER_SRC}/24", routes=[f"10.2.0.0/24 via {NAT_IN} src {INNER_SRC}"])
    return peer, nat_ns, wan_ns, wan_if


def check_tcp_transfer(topo, peer, nat_ns):
    receiver = peer.run_async(tcp_xfer.recv_cmd(5001), timeout=60)
    sent = topo.run(nat_ns, tcp_xfer.send_cmd(GUEST, 5001, XFER_BYTES), timeout=60)
    got = receiver.wait(check=True)
    check(tcp_xfer.parse_result(got.stdout) == tcp_xfer.parse_result(sent.stdout),
          f"TCP transfer differs: sent {sent.stdout.strip()}, received {got.stdout.strip()}")
    check(tcp_xfer.parse_result(got.stdout)[0] == XFER_BYTES,
          f"TCP transfer moved {got.stdout.strip()} instead of {XFER_BYTES} bytes")


def esp_packets(packets):
    from scapy.layers.inet import IP, UDP
    from scapy.layers.ipsec import ESP
    return [p for p in packets if p.haslayer(UDP) and p.haslayer(ESP) and p[IP].dst == FAKE_GW]


def check_esp_through_nat(topo, peer, sa, nat_ns, wan_ns, wan_if):
    from scapy.layers.inet import ICMP, IP, UDP
    from scapy.layers.ipsec import ESP

    with Capture(topo, wan_ns, wan_if, "udp port 4500") as cap:
        peer.run(f"ping -c {PINGS} -i 0.2 -W 1 {INNER_DST}", timeout=20)  # no reply expected
        mapping = topo.conntrack_list(nat_ns)
        topo.conntrack_flush(nat_ns)
        peer.run(f"ping -c 1 -W 1 {INNER_DST}", timeout=20)
    packets = esp_packets(cap.packets())

    check(len(packets) == PINGS + 1,
          f"expected {PINGS + 1} ESP-in-UDP packets at the fake gateway, captured "
          f"{len(packets)}: {[p.summary() for p in packets]}")
    first, after_flush = packets[:PINGS], packets[PINGS]
    for p in packets:
        check(p[IP].src == NAT_OUT, f"outer source {p[IP].src}, expected the NAT's {NAT_OUT}")
        check(p[UDP].dport == 4500, f"UDP destination port {p[UDP].dport}, expected 4500")
        check(p[ESP].spi == SPI, f"SPI {p[ESP].spi:#x}, expected {SPI:#x}")
    port = first[0][UDP].sport
    # fully-random picks any port: 4500 kept would mean the NAT did not translate the port
    # (a 1-in-64k coincidence is possible, accepted).
    check(port != 4500, "the NAT kept source port 4500: masquerade fully-random not in effect")
    check(all(p[UDP].sport == port for p in first),
          f"one NAT mapping expected, saw ports {[p[UDP].sport for p in first]}")
    # The reply tuple of the NAT's entry names the port it picked.
    reply = f"src={FAKE_GW} dst={NAT_OUT} sport=4500 dport={port}"
    check(reply in mapping, f"conntrack shows no mapping to port {port}:\n{mapping}")
    check(after_flush[UDP].sport != port,
          f"conntrack -F did not rebind: port {port} used again after the flush")
    check([p[ESP].seq for p in packets] == list(range(1, PINGS + 2)),
          f"ESP sequence numbers {[p[ESP].seq for p in packets]}, expected 1..{PINGS + 1}")

    inner = sa.scapy().decrypt(first[0][IP])
    check(inner.haslayer(ICMP) and inner[ICMP].type == 8,
          f"decrypted packet is not an ICMP echo request: {inner.summary()}")
    check((inner[IP].src, inner[IP].dst) == (INNER_SRC, INNER_DST),
          f"decrypted inner addresses {inner[IP].src} -> {inner[IP].dst}, "
          f"expected {INNER_SRC} -> {INNER_DST}")

    stats = peer.xfrm_stats().get(SPI, {})
    check(stats.get("packets") == PINGS + 1,
          f"guest SA counters {stats}, expected {PINGS + 1} packets")
    return port, after_flush[UDP].sport


def main():
    started = time.monotonic()
    with Topology() as topo:
        peer, nat_ns, wan_ns, wan_if = build(topo)
        peer.start()
        booted = time.monotonic()
        check_tcp_transfer(topo, peer, nat_ns)

        sa = EspSA(SPI, GUEST, FAKE_GW, key=os.urandom(20), encap=(4500, 4500))
        peer.run(sa.xfrm_state(), check=True)
        peer.run(sa.xfrm_policy("10.1.0.0/24", "10.2.0.0/24", "out"), check=True)
        port, new_port = check_esp_through_nat(topo, peer, sa, nat_ns, wan_ns, wan_if)
        peer.stop()
    print(f"PASS: UML boot {booted - started:.1f} s; ESP-in-UDP via NAT port {port} "
          f"(after conntrack -F: {new_port}) decrypted by scapy; "
          f"{XFER_BYTES} B TCP into the guest intact; total {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    try:
        main()
    except Failed as exc:
        print(f"FAIL: {exc}", file=sys.stderr)
        sys.exit(1)
