#!/usr/bin/python3
"""Self-test of the e2e harness, without the gateway.

    guest (UML, ESP peer) --ua|ub-- nat (masquerade fully-random) --nw|wn-- wan (fake gateway)
    198.51.100.2, inner 10.1.0.1    198.51.100.1 | 192.0.2.254                192.0.2.1

The guest has AES-GCM-128 tunnel-mode SAs with `encap espinudp 4500 4500` to and from the fake
gateway for 10.1.0.0/24 <-> 10.2.0.0/24. Checked:
- outbound: a ping from 10.1.0.1 to 10.2.0.1 reaches wan as ESP-in-UDP to port 4500, from the
  NAT's address and a port the NAT picked, with our SPI; scapy decrypts it back to the ICMP echo
  request with the same key; `conntrack -F` in the NAT moves the next packet to a new port;
- inbound: an echo request that scapy encrypts, sent from wan to the NAT's current mapping, is
  decapsulated by the guest kernel (so its UDP_ENCAP socket works) and answered through the
  tunnel;
- a 4 MB TCP transfer into the guest arrives intact (guest command channel, transfer tool).

Run as root: /usr/bin/python3 tests/e2e/test_uml_peer_selftest.py   (exit 0 = pass)
"""

import os
import sys
import time
from types import SimpleNamespace

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from capture import Capture  # noqa: E402
from esp_sa import EspSA  # noqa: E402
from topology import Topology, wait_for  # noqa: E402
import tcp_xfer  # noqa: E402
from uml_peer import UmlPeer  # noqa: E402

GUEST, NAT_IN, NAT_OUT, FAKE_GW = "198.51.100.2", "198.51.100.1", "192.0.2.254", "192.0.2.1"
INNER_SRC, INNER_DST = "10.1.0.1", "10.2.0.1"
SPI_OUT, SPI_IN = 0xC0DE0001, 0xC0DE0002
PINGS = 3
XFER_BYTES = 4 * 1024 * 1024


class Failed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failed(message)


def build(topo):
    net = SimpleNamespace(guest=topo.netns("uml"), nat=topo.netns("nat"), wan=topo.netns("wan"))
    guest_if, nat_in = topo.veth(net.guest, "ua", net.nat, "ub")
    nat_out, net.wan_if = topo.veth(net.nat, "nw", net.wan, "wn")
    topo.addr(net.nat, nat_in, f"{NAT_IN}/24")
    topo.addr(net.nat, nat_out, f"{NAT_OUT}/24")
    topo.addr(net.wan, net.wan_if, f"{FAKE_GW}/24")
    topo.masquerade(net.nat, nat_out)
    net.peer = UmlPeer(topo, net.guest, guest_if, f"{GUEST}/24", gateway=NAT_IN,
                       inner=f"{INNER_SRC}/24",
                       routes=[f"10.2.0.0/24 via {NAT_IN} src {INNER_SRC}"])
    net.sa_out = EspSA(SPI_OUT, GUEST, FAKE_GW, key=os.urandom(20), encap=(4500, 4500))
    net.sa_in = EspSA(SPI_IN, FAKE_GW, GUEST, key=os.urandom(20), encap=(4500, 4500))
    return net


def install_sas(net):
    for cmd in (net.sa_out.xfrm_state(), net.sa_in.xfrm_state(),
                net.sa_out.xfrm_policy("10.1.0.0/24", "10.2.0.0/24", "out"),
                net.sa_in.xfrm_policy("10.2.0.0/24", "10.1.0.0/24", "in")):
        net.peer.run(cmd, check=True)


def check_tcp_transfer(topo, net):
    receiver = net.peer.run_async(tcp_xfer.recv_cmd(5001), timeout=60)
    sent = topo.run(net.nat, tcp_xfer.send_cmd(GUEST, 5001, XFER_BYTES), timeout=60)
    got = receiver.wait(check=True)
    check(tcp_xfer.parse_result(got.stdout) == tcp_xfer.parse_result(sent.stdout),
          f"TCP transfer differs: sent {sent.stdout.strip()}, received {got.stdout.strip()}")
    check(tcp_xfer.parse_result(got.stdout)[0] == XFER_BYTES,
          f"TCP transfer moved {got.stdout.strip()} instead of {XFER_BYTES} bytes")


def esp_from_nat(packets):
    from scapy.layers.inet import IP, UDP
    from scapy.layers.ipsec import ESP
    esp = [p for p in packets if p.haslayer(UDP) and p.haslayer(ESP) and p[IP].dst == FAKE_GW]
    for p in esp:
        check(p[IP].src == NAT_OUT, f"outer source {p[IP].src}, expected the NAT's {NAT_OUT}")
        check(p[UDP].dport == 4500, f"UDP destination port {p[UDP].dport}, expected 4500")
        check(p[ESP].spi == SPI_OUT, f"SPI {p[ESP].spi:#x}, expected {SPI_OUT:#x}")
    return esp


def check_inner(net, packet, icmp_type, src, dst):
    from scapy.layers.inet import ICMP, IP
    inner = net.sa_out.scapy().decrypt(packet[IP])
    check(inner.haslayer(ICMP) and inner[ICMP].type == icmp_type,
          f"decrypted packet is not ICMP type {icmp_type}: {inner.summary()}")
    check((inner[IP].src, inner[IP].dst) == (src, dst),
          f"decrypted inner addresses {inner[IP].src} -> {inner[IP].dst}, expected {src} -> {dst}")


def check_outbound(topo, net):
    """Returns the NAT's current port for the guest's 4500."""
    from scapy.layers.inet import UDP
    from scapy.layers.ipsec import ESP

    with Capture(topo, net.wan, net.wan_if, "udp port 4500") as cap:
        net.peer.run(f"ping -c {PINGS} -i 0.2 -W 1 {INNER_DST}", timeout=20)  # no reply here
        mapping = topo.conntrack_list(net.nat)
        topo.conntrack_flush(net.nat)
        net.peer.run(f"ping -c 1 -W 1 {INNER_DST}", timeout=20)
    packets = esp_from_nat(cap.packets())

    check(len(packets) == PINGS + 1,
          f"expected {PINGS + 1} ESP-in-UDP packets at the fake gateway, captured "
          f"{len(packets)}: {[p.summary() for p in packets]}")
    first, after_flush = packets[:PINGS], packets[PINGS]
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
    check_inner(net, first[0], 8, INNER_SRC, INNER_DST)
    return after_flush[UDP].sport


def check_inbound(topo, net, port):
    from scapy.layers.inet import ICMP, IP, UDP

    request = IP(src=INNER_DST, dst=INNER_SRC) / ICMP(type=8, id=0x4567, seq=1) / b"selftest"
    esp = net.sa_in.scapy().encrypt(request)[UDP].payload  # the ESP header onwards
    with Capture(topo, net.wan, net.wan_if, "udp port 4500") as cap:
        topo.send_udp(net.wan, FAKE_GW, 4500, NAT_OUT, port, bytes(esp))
        # The answer is an echo reply the guest sends back through its outbound SA.
        try:
            wait_for(lambda: net.peer.xfrm_stats()[SPI_OUT]["packets"] > PINGS + 1, 5,
                     "the guest's tunnelled echo reply", interval=0.2)
        except TimeoutError:
            pass  # judged below, from the capture
    replies = esp_from_nat(cap.packets())
    stats = {hex(spi): entry for spi, entry in net.peer.xfrm_stats().items()}
    check(len(replies) == 1, f"expected 1 tunnelled echo reply from the guest, captured "
                             f"{len(replies)}; guest SA counters: {stats}")
    check_inner(net, replies[0], 0, INNER_SRC, INNER_DST)
    stats = net.peer.xfrm_stats()
    check(stats[SPI_IN]["packets"] == 1 and stats[SPI_IN]["failed"] == 0,
          f"guest inbound SA counters {stats[SPI_IN]}, expected 1 packet, 0 failed")
    check(stats[SPI_OUT]["packets"] == PINGS + 2,
          f"guest outbound SA counters {stats[SPI_OUT]}, expected {PINGS + 2} packets")


def main():
    started = time.monotonic()
    with Topology() as topo:
        net = build(topo)
        net.peer.start()
        booted = time.monotonic()
        check_tcp_transfer(topo, net)
        install_sas(net)
        port = check_outbound(topo, net)
        check_inbound(topo, net, port)
        net.peer.stop()
    print(f"PASS: UML boot {booted - started:.1f} s; ESP-in-UDP through the NAT both ways "
          f"(port after rebinding: {port}), checked with scapy; {XFER_BYTES} B TCP into the "
          f"guest intact; total {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    try:
        main()
    except Failed as exc:
        print(f"FAIL: {exc}", file=sys.stderr)
        sys.exit(1)
