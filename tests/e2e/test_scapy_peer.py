#!/usr/bin/python3
"""scapy as an independent ESP peer behind a real NAT (nftables masquerade, random ports).

  peer ns (scapy, 198.51.100.2, inner 10.2.0.x) -- NAT ns -- espgw (af_packet) -- LAN ns (10.1.0.2)

For every cipher scapy implements: an ICMP echo built and encrypted by scapy is decrypted and
forwarded by espgw to the LAN host; the host's reply is encrypted by espgw toward the NAT
mapping it learned and decrypted by scapy. Then: replayed, corrupted and truncated packets are
counted and never delivered; keepalives and IKE-marked packets are classified; a NAT rebinding
(conntrack flush) moves the SA's endpoint; tshark, given the keys, checks every ICV of the
captured public-side traffic.
"""

import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from capture import Capture, tshark_esp_icv  # noqa: E402
from gateway import Gateway, sa_entry  # noqa: E402
from netns_socket import udp_socket  # noqa: E402
from topology import Topology, wait_for  # noqa: E402

from scapy.layers.inet import ICMP, IP, UDP  # noqa: E402
from scapy.layers.inet6 import ICMPv6EchoReply, ICMPv6EchoRequest, IPv6  # noqa: E402
from scapy.layers.ipsec import ESP, SecurityAssociation  # noqa: E402

PEER, NAT_IN, NAT_OUT, GW, LAN = "198.51.100.2", "198.51.100.1", "192.0.2.254", "192.0.2.1", "10.1.0.2"
LAN6, GW6 = "2001:db8:1::2", "2001:db8:1::1"

# (espgw cipher, espgw integrity, scapy crypt, scapy auth, key length, auth key length, tshark names)
SUITES = [
    ("aes128-gcm", None, "AES-GCM", None, 20, 0, ('AES-GCM with 16 octet ICV [RFC4106]', 'NULL')),
    ("aes256-gcm", None, "AES-GCM", None, 36, 0, ('AES-GCM with 16 octet ICV [RFC4106]', 'NULL')),
    ("aes128-cbc", "hmac-sha256-128", "AES-CBC", "SHA2-256-128", 16, 32, ('AES-CBC [RFC3602]', 'HMAC-SHA-256-128 [RFC4868]')),
    ("aes256-cbc", "hmac-sha1-96", "AES-CBC", "HMAC-SHA1-96", 32, 20, ('AES-CBC [RFC3602]', 'HMAC-SHA-1-96 [RFC2404]')),
    ("aes128-cbc", "hmac-sha384-192", "AES-CBC", "SHA2-384-192", 16, 48, ('AES-CBC [RFC3602]', 'HMAC-SHA-384-192 [RFC4868]')),
    ("aes256-cbc", "hmac-sha512-256", "AES-CBC", "SHA2-512-256", 32, 64, ('AES-CBC [RFC3602]', 'HMAC-SHA-512-256 [RFC4868]')),
    ("chacha20-poly1305", None, "CHACHA20-POLY1305", None, 36, 0, None),
]


class Tunnel:
    """One scapy road warrior: its SAs, its UDP socket, its inner address."""

    def __init__(self, k, suite, v6=False):
        self.k = k
        self.v6 = v6
        self.cipher, self.integ, crypt, auth, klen, alen, self.tshark = suite
        self.esn = k == len(SUITES)  # the extra last tunnel runs with ESN
        self.inner = f"2001:db8:2::{10 + k:x}" if v6 else f"10.2.0.{10 + k}"
        self.port = 4600 + k
        self.spi_in, self.spi_out = 0x1000 + k, 0x2000 + k  # espgw's inbound / outbound
        self.key_in, self.key_out = os.urandom(klen), os.urandom(klen)
        self.auth_in, self.auth_out = os.urandom(alen), os.urandom(alen)
        kw = dict(crypt_algo=crypt)
        if auth:
            kw.update(auth_algo=auth)
        esn = dict(esn_en=True, esn=0) if self.esn else {}
        self.tx = SecurityAssociation(ESP, spi=self.spi_in, crypt_key=self.key_in, auth_key=self.auth_in or None,
                                      tunnel_header=IP(src=PEER, dst=GW), nat_t_header=UDP(sport=self.port, dport=4500),
                                      **kw, **esn)
        self.rx = SecurityAssociation(ESP, spi=self.spi_out, crypt_key=self.key_out, auth_key=self.auth_out or None,
                                      tunnel_header=IP(src=GW, dst=PEER), **kw, **esn)
        self.seq = 0
        self.sock = None
        self.stale = 0  # echo replies that came for an earlier ident (after their wait ended)

    def config(self):
        name = f"road{self.k}"
        local, remote = ("2001:db8:1::/64", f"{self.inner}/128") if self.v6 else ("10.1.0.0/24", f"{self.inner}/32")
        common = dict(local_ts=local, remote_ts=remote, integrity=self.integ, esn=self.esn)
        return ({"name": name, "address": NAT_OUT, "port": 0},
                [sa_entry(name + "-in", name, "in", self.spi_in, self.cipher, self.key_in, auth_key=self.auth_in, **common),
                 sa_entry(name + "-out", name, "out", self.spi_out, self.cipher, self.key_out, auth_key=self.auth_out, **common)])

    def esp_bytes(self, ident, size=100):
        """An encrypted ICMP echo request from the inner address to the LAN host."""
        self.seq += 1
        if self.v6:
            inner = IPv6(src=self.inner, dst=LAN6) / ICMPv6EchoRequest(id=ident, seq=self.seq & 0xFFFF, data=b"e" * size)
        else:
            inner = IP(src=self.inner, dst=LAN) / ICMP(id=ident, seq=self.seq & 0xFFFF) / (b"e" * size)
        p = self.tx.encrypt(inner)
        return bytes(p[ESP])

    def send(self, data):
        self.sock.sendto(data, (GW, 4500))

    def receive_reply(self, ident, timeout=1.0):
        """Decrypts what espgw sent back; returns True on the echo reply for `ident`."""
        self.sock.settimeout(timeout)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                data, src = self.sock.recvfrom(4096)
            except OSError:
                return False
            assert src == (GW, 4500), f"reply from {src}, expected {GW}:4500"
            if len(data) < 8 or data[:4] == b"\0\0\0\0":
                continue
            outer = IP(src=GW, dst=PEER) / UDP(sport=4500, dport=self.port) / ESP(data)
            inner = self.rx.decrypt(IP(bytes(outer)))
            if self.v6:
                if ICMPv6EchoReply in inner and inner[ICMPv6EchoReply].id == ident and inner[IPv6].src == LAN6:
                    return True
            elif ICMP in inner and inner[ICMP].type == 0 and inner[ICMP].id == ident and inner[IP].src == LAN:
                return True
            self.stale += 1
        return False

    def ping(self, ident, tries=5):
        for _ in range(tries):
            self.send(self.esp_bytes(ident))
            if self.receive_reply(ident):
                return True
        return False


def nat_topology(topo):
    """peer -- NAT (masquerade, random ports) -- gateway -- LAN, addressed as above; returns the
    namespaces and the NAT's outer, the gateway's public, the gateway's and the LAN's veths."""
    peer, nat, gwns, lan = (topo.netns(r) for r in ("peer", "nat", "gw", "lan"))
    pp, np_ = topo.veth(peer, "pp", nat, "np")
    nw, gp = topo.veth(nat, "nw", gwns, "gp")
    gl, ll = topo.veth(gwns, "gl", lan, "ll")
    topo.addr(peer, pp, f"{PEER}/24")
    topo.route(peer, "default", via=NAT_IN)
    topo.addr(nat, np_, f"{NAT_IN}/24")
    topo.addr(nat, nw, f"{NAT_OUT}/24")
    topo.forwarding(nat)
    topo.masquerade(nat, nw)
    topo.addr(lan, ll, f"{LAN}/24")
    topo.route(lan, "default", via="10.1.0.1")
    return peer, nat, gwns, lan, nw, gp, gl, ll


def counters(gw, spi):
    return gw.sa(spi)["in"]


def main():
    tunnels = [Tunnel(k, s) for k, s in enumerate(SUITES)] + [Tunnel(len(SUITES), SUITES[0])]
    tunnels.append(Tunnel(len(tunnels), SUITES[1], v6=True))  # IPv6 inside, AES-256-GCM
    with Topology("esc") as topo:
        peer, nat, gwns, lan, nw, gp, gl, ll = nat_topology(topo)
        # IPv6 on the LAN side only, for the tunnel with IPv6 inside.
        topo.run(lan, ["sysctl", "-qw", f"net.ipv6.conf.{ll}.disable_ipv6=0"])
        topo.run(lan, ["ip", "-6", "addr", "add", f"{LAN6}/64", "dev", ll, "nodad"])
        topo.run(lan, ["ip", "-6", "route", "add", "default", "via", GW6])

        peers, sas = [], []
        for t in tunnels:
            p, s = t.config()
            peers.append(p)
            sas += s
        gw = Gateway(topo, gwns, gp, gl, peers=peers, sas=sas, host_if=topo.ifname("gt"), protected6=f"{GW6}/64",
                     extra="keepalive_interval = 1;")
        gw.start()
        for t in tunnels:
            t.sock = udp_socket(peer, PEER, t.port)

        # A capture on the NAT's public side, for tshark's ICV check at the end (started once
        # dumpcap says it captures: a fixed sleep was not enough on a loaded machine).
        cap = Capture(topo, nat, nw, "udp port 4500").start()

        failures = []
        for t in tunnels:
            ok = t.ping(0x100 + t.k)
            label = t.cipher + ("/" + t.integ if t.integ else "") + (" esn" if t.esn else "") + (" ipv6-inner" if t.v6 else "")
            print(f"{'ok  ' if ok else 'FAIL'} {label}: scapy -> espgw -> LAN -> espgw -> scapy")
            if not ok:
                failures.append(label)
        pcap = cap.stop(settle=1.0)

        # Negative cases on the first tunnel: none may reach the LAN.
        t = tunnels[0]
        good = t.esp_bytes(0x200)
        t.send(good)
        assert t.receive_reply(0x200), "baseline echo failed"
        before = counters(gw, t.spi_in)
        stats_before = gw.telemetry("/espgw/stats")
        t.send(good)  # replay
        bad = bytearray(t.esp_bytes(0x201))
        bad[len(bad) // 2] ^= 0x01
        t.send(bytes(bad))  # corrupted
        t.send(t.esp_bytes(0x202)[:20])  # truncated inside the SA's framing
        t.send(t.esp_bytes(0x203)[:10])  # too short for any ESP packet
        assert not t.receive_reply(0x201, 0.5) and not t.receive_reply(0x202, 0.2), "a bad packet was delivered"
        after = wait_for(lambda: (c := counters(gw, t.spi_in))["drops"] >= before["drops"] + 3 and c, 5, "SA drops")
        d0, d1 = before["drops_by_reason"], after["drops_by_reason"]
        for reason in ("replayed", "auth_failed", "malformed"):
            if d1[reason] != d0[reason] + 1:
                failures.append(f"{reason}: {d0[reason]} -> {d1[reason]}")
        stats = gw.telemetry("/espgw/stats")
        if stats["esp_in"] != stats_before["esp_in"]:
            failures.append("a bad packet was accepted")
        drops = gw.telemetry("/espgw/drops")
        print(f"drops: {dict((k, v) for k, v in drops.items() if v)}")

        # RFC 3948 classification: keepalive, non-ESP marker (IKE on 4500), IKE on 500.
        t.send(b"\xff")
        t.send(b"\0\0\0\0" + bytes(40))
        ike = udp_socket(peer, PEER, 500)
        ike.sendto(bytes(40), (GW, 500))
        stats = wait_for(lambda: (s := gw.telemetry("/espgw/stats"))["ike_in"] >= stats_before["ike_in"] + 2
                           and s["keepalives_in"] >= stats_before["keepalives_in"] + 1 and s, 5, "IKE/keepalive counters")
        print(f"classified: keepalives {stats['keepalives_in']}, ike {stats['ike_in']}")

        # NAT keepalives from espgw (keepalive_interval = 1 s): a single 0xFF from port 4500
        # reaches the peer through its NAT mapping (RFC 3948 §2.3).
        t.sock.settimeout(3)
        got_keepalive = False
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and not got_keepalive:
            try:
                data, src = t.sock.recvfrom(4096)
                got_keepalive = data == b"\xff" and src == (GW, 4500)
            except OSError:
                break
        print(f"keepalive from espgw: {'received' if got_keepalive else 'MISSING'}")
        if not got_keepalive:
            failures.append("no NAT keepalive from espgw within 3 s")

        # NAT rebinding: flush the mappings; the next packet leaves from a new port and espgw
        # must follow it (mapping-change event, endpoint moved by the control core).
        old_peer = gw.sa(t.spi_out)["out"]["peer"]
        topo.conntrack_flush(nat)
        if not t.ping(0x300):
            failures.append("no reply after the NAT rebinding")
        new_peer = gw.sa(t.spi_out)["out"]["peer"]
        print(f"NAT rebinding: {old_peer} -> {new_peer}")
        if new_peer == old_peer:
            failures.append("endpoint did not move after the NAT rebinding")

        # tshark decrypts the captured public side with the keys: every ICV must be good.
        sas = []
        for tt in tunnels:
            if tt.tshark is None or tt.esn:
                continue  # tshark 4.0 has no ChaCha20 for ESP; ESN is not in its SA table
            enc, auth = tt.tshark
            sas += [("IPv4", "*", GW, tt.spi_in, enc, tt.key_in, auth, tt.auth_in),
                    ("IPv4", GW, "*", tt.spi_out, enc, tt.key_out, auth, tt.auth_out)]
        rows, bad_icv, err = tshark_esp_icv(pcap, sas)
        print(f"tshark: {len(rows)} ESP packets decoded, {len(bad_icv)} without a good ICV")
        if not rows or bad_icv:
            failures.append(f"tshark ICV check: {len(rows)} packets, bad: {bad_icv[:5]} {err[-500:]}")

        # Outer fragments: the NAT's public side gets a 1000-byte MTU, so a 1.4 KB ESP-in-UDP
        # datagram (sent without DF) leaves the NAT in pieces and must still be authenticated
        # and decrypted whole. DPDK's af_packet port joins its socket to a fanout group with
        # kernel defragmentation, so there the kernel may reassemble before espgw sees it; on
        # the pcap port (ESPGW_PUBLIC_PMD=pcap) the fragments arrive as sent and espgw must
        # put them back together itself.
        topo.run(nat, ["ip", "link", "set", nw, "mtu", "1000"])
        t.sock.setsockopt(socket.IPPROTO_IP, 10, 0)  # IP_MTU_DISCOVER = IP_PMTUDISC_DONT
        before = counters(gw, t.spi_in)
        t.send(t.esp_bytes(0x400, size=1300))
        try:
            wait_for(lambda: counters(gw, t.spi_in)["packets"] == before["packets"] + 1, 5, "a fragmented ESP packet")
            by_espgw = sum(v["reassembled"] for v in gw.telemetry("/espgw/workers").values())
            print(f"outer fragments: authenticated and decrypted (reassembled by espgw: {by_espgw})")
            if os.environ.get("ESPGW_PUBLIC_PMD") == "pcap" and by_espgw < 1:
                failures.append("outer fragments: the pcap port passed fragments, but espgw reassembled none")
        except TimeoutError as e:
            failures.append(f"outer fragments: {e}; workers {gw.telemetry('/espgw/workers')} ports {gw.telemetry('/espgw/ports')['public']}")

        workers = gw.telemetry("/espgw/workers")
        print("workers: " + ", ".join(f"{k}: public_rx {v['public_rx']} protected_rx {v['protected_rx']}"
                                      for k, v in workers.items()))
        want = int(os.environ.get("ESPGW_WORKERS", "1"))
        if len(workers) != want:
            failures.append(f"{len(workers)} workers running, {want} configured")
        if gw.proc.poll() is not None:
            failures.append("espgw died")
        if failures:
            print("FAILED:\n  " + "\n  ".join(failures))
            print(gw.read_log()[-3000:])
            return 1
        print("PASS")
        return 0


if __name__ == "__main__":
    sys.exit(main())
