#!/usr/bin/python3
"""Writes the seed corpora of the data plane's fuzz targets (fuzz_dp_public, fuzz_dp_inside,
fuzz_dp_reassembly) into corpus/<target>/, in the input formats described at the top of each
target. The frames are made with scapy and use the addresses of tests/support
(standalone_datapath.h): gateway 192.0.2.1 / 10.1.0.1 / 2001:db8:ff::1, peer 192.0.2.254 /
2001:db8:ff::fe, inner 10.2.0.2 / 2001:db8:2::2, LAN host 10.1.0.2 / 2001:db8:1::2.

  make_dp_seeds.py [corpus-dir]      (default: the corpus/ next to this script)
"""

import os
import struct
import sys

from scapy.layers.inet import ICMP, IP, TCP, UDP, fragment
from scapy.layers.inet6 import ICMPv6EchoRequest, ICMPv6ND_NS, IPv6, IPv6ExtHdrFragment
from scapy.layers.l2 import ARP, Ether

GW, GW_LAN, PEER, LAN, INNER = "192.0.2.1", "10.1.0.1", "192.0.2.254", "10.1.0.2", "10.2.0.2"
GW6, PEER6, LAN6, INNER6, GW_LAN6 = "2001:db8:ff::1", "2001:db8:ff::fe", "2001:db8:1::2", "2001:db8:2::2", "2001:db8:1::1"


def blob(b):
    return struct.pack("!H", len(b)) + bytes(b)


def raw(frame):  # a raw-frame operation
    return b"\x00" + blob(bytes(frame))


def sealed(inner, kind=0, sport=4500):  # a sealed-frame operation (fuzz_dp_public)
    return b"\x02" + bytes([kind]) + struct.pack("!H", sport) + struct.pack("!H", len(inner) - 1) + bytes(inner)


def public_seeds():
    e = Ether(dst="02:00:00:00:00:01", src="02:00:00:00:00:fe")
    yield "keepalive_ike_esp", b"\x00" + b"".join([
        raw(e / IP(src=PEER, dst=GW) / UDP(sport=4500, dport=4500) / b"\xff"),
        raw(e / IP(src=PEER, dst=GW) / UDP(sport=4500, dport=4500) / (b"\0\0\0\0" + bytes(28))),
        raw(e / IP(src=PEER, dst=GW) / UDP(sport=500, dport=500) / bytes(28)),
        raw(e / IP(src=PEER, dst=GW) / UDP(sport=4500, dport=4500) / (struct.pack("!II", 0x1001, 1) + bytes(64))),
        raw(e / IP(src=PEER, dst=GW, proto=50) / (struct.pack("!II", 0x1001, 1) + bytes(64))),
    ])
    yield "arp_ndp", b"\x00" + raw(e / ARP(op=1, psrc=PEER, pdst=GW)) + raw(
        Ether() / IPv6(src=PEER6, dst="ff02::1:ff00:1") / ICMPv6ND_NS(tgt=GW6))
    yield "sealed_echo", b"\x00" + sealed(IP(src=INNER, dst=LAN) / ICMP() / (b"x" * 56)) + sealed(
        IP(src=INNER, dst=LAN) / UDP(sport=1, dport=2) / (b"y" * 300), kind=0, sport=4600)
    yield "sealed_v6_outer_and_inner", b"\x00" + sealed(IP(src=INNER, dst=LAN) / ICMP(), kind=1) + sealed(
        IPv6(src=INNER6, dst=LAN6) / ICMPv6EchoRequest(), kind=2)
    yield "sealed_tcp_outside_selectors", b"\x01" + sealed(IP(src="10.9.9.9", dst=LAN) / TCP()) + sealed(
        IP(src=INNER, dst=LAN, ttl=1) / TCP()) + b"\x03" + sealed(IP(src=INNER, dst=LAN) / ICMP(), kind=6) + b"\x04"
    big = IP(src=PEER, dst=GW, id=7) / UDP(sport=4500, dport=4500) / (struct.pack("!II", 0x1001, 1) + bytes(1300))
    yield "outer_fragments", b"\x00" + b"".join(raw(e / f) for f in fragment(big, 600))
    big6 = IPv6(src=PEER6, dst=GW6) / IPv6ExtHdrFragment(id=9) / UDP(sport=4500, dport=4500) / bytes(1300)
    from scapy.layers.inet6 import fragment6
    yield "outer_fragments6", b"\x00" + b"".join(raw(e / f) for f in fragment6(big6, 600))


def inside_seeds():
    e = Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:0a")
    yield "echo_to_peer", b"\x00" + raw(e / IP(src=LAN, dst=INNER) / ICMP() / (b"z" * 56))
    yield "big_df_and_not", b"\x00" + raw(e / IP(src=LAN, dst=INNER, flags="DF") / UDP() / bytes(1460)) + raw(
        e / IP(src=LAN, dst=INNER) / UDP() / bytes(1460))
    yield "fragment_policy_small_mtu", b"\x05" + raw(e / IP(src=LAN, dst=INNER) / UDP() / bytes(1400)) + b"\x03" + raw(
        e / IP(src=LAN, dst=INNER, flags="DF") / TCP() / bytes(1000))
    yield "ipv6_inside", b"\x02" + raw(e / IPv6(src=LAN6, dst=INNER6) / ICMPv6EchoRequest() / bytes(1300)) + raw(
        e / IPv6(src=LAN6, dst=INNER6) / UDP() / bytes(40))
    yield "arp_ndp_no_sa", b"\x00" + raw(e / ARP(op=1, psrc=LAN, pdst=GW_LAN)) + raw(
        Ether() / IPv6(src=LAN6, dst="ff02::1:ff00:1") / ICMPv6ND_NS(tgt=GW_LAN6)) + raw(
        e / IP(src=LAN, dst="10.99.0.1") / UDP()) + raw(e / IP(src=LAN, dst=GW_LAN) / ICMP())


def op(kind, source, ident, offset, length, fill=0x41):
    return struct.pack("!BBBHBB", kind, source, ident, offset, length, fill)


def reassembly_seeds():
    # A datagram in three pieces, in order and reversed; v6 too; a hole; an overlap; a time-out.
    yield "three_pieces", op(2, 0, 1, 0, 64) + op(2, 0, 1, 8, 64) + op(0, 0, 1, 16, 40)
    yield "reversed_v6", op(1, 1, 2, 16, 40) + op(3, 1, 2, 8, 64) + op(3, 1, 2, 0, 64)
    yield "natt_marker_whole", op(2 | 8, 2, 3, 0, 64) + op(8, 2, 3, 8, 20)
    yield "overlap_duplicate", op(2, 0, 1, 0, 64) + op(2, 0, 1, 0, 64) + op(2, 0, 1, 4, 64) + op(0, 0, 1, 8, 8)
    yield "hole_then_timeout", op(2, 3, 1, 0, 64) + op(0, 3, 1, 24, 8) + op(0xf0, 0, 0, 0, 60) + op(2, 3, 1, 8, 64)
    yield "flood_one_source", b"".join(op(2, 4, k, 8 * k, 64) for k in range(20))
    yield "too_many_pieces", b"".join(op(2, 0, 0, 8 * (k + 1), 64) for k in range(10)) + op(2, 0, 0, 0, 64)


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
    for target, seeds in (("fuzz_dp_public", public_seeds()), ("fuzz_dp_inside", inside_seeds()),
                          ("fuzz_dp_reassembly", reassembly_seeds())):
        d = os.path.join(root, target)
        os.makedirs(d, exist_ok=True)
        for name, data in seeds:
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
