#!/usr/bin/python3
"""Peers reached over IPv6: scapy builds and opens the ESP, the peer namespace's Linux stack
carries it (and checks every UDP checksum, which IPv6 makes mandatory).

  peer ns (2001:db8:ff::2, inner 10.2.0.x) -- espgw (af_packet, 2001:db8:ff::1) -- LAN ns (10.1.0.2)

For ESP in UDP (AES-128-GCM, AES-128-CBC + HMAC-SHA-256) and plain ESP (AES-256-GCM): an ICMP
echo encrypted by scapy is decrypted and forwarded by espgw to the LAN host, whose reply espgw
encrypts toward the peer's IPv6 address and scapy decrypts. Both sides find each other with
neighbour discovery (the Linux peer asks for the gateway; espgw asks for the peer). Then: a
replay is refused, espgw's NAT keepalives and the peer's keepalive and IKE arrive over IPv6,
the peer moving to another address and UDP port is followed, a datagram the peer's stack
fragments is reassembled, and tshark, given the keys, checks every ICV.
"""

import json
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from capture import tshark_esp_icv  # noqa: E402
from gateway import Gateway, sa_entry  # noqa: E402
from netns_socket import raw_ipv6_socket, udp_socket  # noqa: E402
from topology import Topology, wait_for  # noqa: E402

from scapy.layers.inet import ICMP, IP  # noqa: E402
from scapy.layers.inet6 import IPv6  # noqa: E402
from scapy.layers.ipsec import ESP, SecurityAssociation  # noqa: E402

PEER6, PEER6B, GW6, LAN = "2001:db8:ff::2", "2001:db8:ff::3", "2001:db8:ff::1", "10.1.0.2"

# (espgw cipher, integrity, encap, scapy crypt, scapy auth, key length, auth key length, tshark names)
SUITES = [
    ("aes128-gcm", None, "udp", "AES-GCM", None, 20, 0, ('AES-GCM with 16 octet ICV [RFC4106]', 'NULL')),
    ("aes128-cbc", "hmac-sha256-128", "udp", "AES-CBC", "SHA2-256-128", 16, 32,
     ('AES-CBC [RFC3602]', 'HMAC-SHA-256-128 [RFC4868]')),
    ("aes256-gcm", None, "none", "AES-GCM", None, 36, 0, ('AES-GCM with 16 octet ICV [RFC4106]', 'NULL')),
]


class Tunnel:
    """One scapy peer over IPv6: its SAs, its socket (UDP, or raw ESP), its inner address."""

    def __init__(self, k, suite):
        self.k = k
        self.cipher, self.integ, self.encap, crypt, auth, klen, alen, self.tshark = suite
        self.inner = f"10.2.0.{10 + k}"
        self.port = 4600 + k if self.encap == "udp" else 0
        self.spi_in, self.spi_out = 0x1100 + k, 0x2100 + k  # espgw's inbound / outbound
        self.key_in, self.key_out = os.urandom(klen), os.urandom(klen)
        self.auth_in, self.auth_out = os.urandom(alen), os.urandom(alen)
        kw = dict(crypt_algo=crypt)
        if auth:
            kw.update(auth_algo=auth)
        self.tx = SecurityAssociation(ESP, spi=self.spi_in, crypt_key=self.key_in, auth_key=self.auth_in or None,
                                      tunnel_header=IP(src=self.inner, dst=LAN), **kw)
        self.rx = SecurityAssociation(ESP, spi=self.spi_out, crypt_key=self.key_out, auth_key=self.auth_out or None,
                                      tunnel_header=IPv6(src=GW6, dst=PEER6), **kw)
        self.seq = 0
        self.sock = None

    def config(self):
        name = f"peer6-{self.k}"
        common = dict(local_ts="10.1.0.0/24", remote_ts=f"{self.inner}/32", integrity=self.integ, encap=self.encap)
        peer = {"name": name, "address": PEER6}
        if self.encap == "udp":
            peer["port"] = 0  # learned from the first authenticated packet
        return (peer,
                [sa_entry(name + "-in", name, "in", self.spi_in, self.cipher, self.key_in, auth_key=self.auth_in, **common),
                 sa_entry(name + "-out", name, "out", self.spi_out, self.cipher, self.key_out, auth_key=self.auth_out,
                          **common)])

    def open(self, ns):
        self.sock = (udp_socket(ns, PEER6, self.port) if self.encap == "udp"
                     else raw_ipv6_socket(ns, PEER6, socket.IPPROTO_ESP))

    def esp_bytes(self, ident, size=100):
        """The ESP packet (header to ICV) of an ICMP echo from the inner address to the LAN host."""
        self.seq += 1
        inner = IP(src=self.inner, dst=LAN) / ICMP(id=ident, seq=self.seq) / (b"6" * size)
        # A tunnel-mode SA wraps in its tunnel header; only the ESP part is sent, by the
        # peer's own IPv6 stack (which also adds UDP for ESP in UDP).
        return bytes(self.tx.encrypt(inner)[ESP])

    def send(self, data, sock=None):
        (sock or self.sock).sendto(data, (GW6, 4500 if self.encap == "udp" else 0))

    def receive_reply(self, ident, timeout=1.0, sock=None):
        """Decrypts what espgw sent; True on the echo reply for `ident`."""
        sock = sock or self.sock
        sock.settimeout(timeout)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                data, src = sock.recvfrom(4096)
            except OSError:
                return False
            if src[0] != GW6:
                continue
            if self.encap == "udp":
                assert src[1] == 4500, f"reply from port {src[1]}, expected 4500"
                if len(data) < 8 or data[:4] == b"\0\0\0\0":
                    continue
            elif int.from_bytes(data[:4], "big") != self.spi_out:
                continue
            inner = self.rx.decrypt(IPv6(bytes(IPv6(src=GW6, dst=PEER6) / ESP(data))))
            if ICMP in inner and inner[ICMP].type == 0 and inner[ICMP].id == ident and inner[IP].src == LAN:
                return True
        return False

    def ping(self, ident, tries=5, sock=None):
        for _ in range(tries):
            self.send(self.esp_bytes(ident), sock)
            if self.receive_reply(ident, sock=sock):
                return True
        return False


def main():
    tunnels = [Tunnel(k, s) for k, s in enumerate(SUITES)]
    with Topology("es6") as topo:
        peer, gwns, lan = (topo.netns(r) for r in ("peer", "gw", "lan"))
        pp, gp = topo.veth(peer, "pp", gwns, "gp")
        gl, ll = topo.veth(gwns, "gl", lan, "ll")
        topo.run(peer, ["sysctl", "-qw", f"net.ipv6.conf.{pp}.disable_ipv6=0"])
        topo.run(peer, ["ip", "-6", "addr", "add", f"{PEER6}/64", "dev", pp, "nodad"])
        topo.run(peer, ["ip", "-6", "addr", "add", f"{PEER6B}/64", "dev", pp, "nodad"])  # where it moves to
        # Complete UDP checksums on the wire, as a NIC would send them (a veth leaves them to
        # offload, and espgw checks them over IPv6).
        topo.tx_csum_off(peer, pp)
        topo.addr(lan, ll, f"{LAN}/24")
        topo.route(lan, "default", via="10.1.0.1")

        peers, sas = [], []
        for t in tunnels:
            p, s = t.config()
            peers.append(p)
            sas += s
        gw = Gateway(topo, gwns, gp, gl, peers=peers, sas=sas, public6=f"{GW6}/64", extra="keepalive_interval = 1;")
        gw.start()
        for t in tunnels:
            t.open(peer)

        pcap = os.path.join(topo.tempdir("cap"), "peer.pcap")
        cap = topo.spawn(peer, ["tshark", "-q", "-i", pp, "-w", pcap, "-f", "ip6 and (udp port 4500 or ip6 proto 50)"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(2)

        failures = []
        for t in tunnels:
            ok = t.ping(0x600 + t.k)
            label = f"{t.cipher}{'/' + t.integ if t.integ else ''} over IPv6, {'ESP in UDP' if t.encap == 'udp' else 'plain ESP'}"
            print(f"{'ok  ' if ok else 'FAIL'} {label}: scapy -> espgw -> LAN -> espgw -> scapy")
            if not ok:
                failures.append(label)

        t = tunnels[0]
        # A replay is refused and counted.
        good = t.esp_bytes(0x700)
        t.send(good)
        if not t.receive_reply(0x700):
            failures.append("baseline echo failed")
        before = gw.sa(t.spi_in)["in"]["drops_by_reason"]["replayed"]
        t.send(good)
        if t.receive_reply(0x700, 0.5):
            failures.append("a replayed packet was answered")
        try:
            wait_for(lambda: gw.sa(t.spi_in)["in"]["drops_by_reason"]["replayed"] == before + 1, 5, "the replay drop")
        except TimeoutError as e:
            failures.append(str(e))

        # espgw's NAT keepalives (keepalive_interval = 1 s) reach the peer's kernel, which
        # delivers them only with a correct UDP checksum.
        t.sock.settimeout(3)
        got_keepalive = False
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and not got_keepalive:
            try:
                data, src = t.sock.recvfrom(4096)
                got_keepalive = data == b"\xff" and src[:2] == (GW6, 4500)
            except OSError:
                break
        print(f"keepalive from espgw over IPv6: {'received' if got_keepalive else 'MISSING'}")
        if not got_keepalive:
            failures.append("no keepalive from espgw within 3 s")

        # The peer's keepalive and IKE (behind the non-ESP marker) over IPv6.
        stats0 = gw.telemetry("/espgw/stats")
        t.send(b"\xff")
        t.send(b"\0\0\0\0" + bytes(40))
        try:
            wait_for(lambda: (s := gw.telemetry("/espgw/stats"))["ike_in"] >= stats0["ike_in"] + 1
                     and s["keepalives_in"] >= stats0["keepalives_in"] + 1, 5, "IKE and keepalive counters")
        except TimeoutError as e:
            failures.append(str(e))

        # The peer moves to another address and port (a new IPv6 address, as after renumbering
        # or a privacy address change): espgw follows, resolving the new neighbour.
        old = gw.sa(t.spi_out)["out"]["peer"]
        moved = udp_socket(peer, PEER6B, 4700)
        if not t.ping(0x800, sock=moved):
            failures.append("no reply at the peer's new address and port")
        new = gw.sa(t.spi_out)["out"]["peer"]
        print(f"peer move: {old} -> {new}")
        if new != f"[{PEER6B}]:4700":
            failures.append(f"endpoint after the move: {new}")

        # Fragments: with a 1280-byte path MTU toward the gateway the peer's IPv6 stack splits
        # a 1.4 KB datagram (RFC 8200 §4.5); espgw puts it back together itself (DPDK's
        # af_packet fanout defragments IPv4 only) before authenticating and decrypting it.
        topo.run(peer, ["ip", "-6", "route", "replace", f"{GW6}/128", "dev", pp, "mtu", "1280"])
        before = gw.sa(t.spi_in)["in"]["packets"]
        reassembled0 = sum(v["reassembled"] for v in gw.telemetry("/espgw/workers").values())
        big = t.esp_bytes(0x900, size=1300)
        t.send(big, moved)
        if not t.receive_reply(0x900, 2.0, sock=moved):
            failures.append("no reply to a fragmented ESP packet over IPv6")
        reassembled = sum(v["reassembled"] for v in gw.telemetry("/espgw/workers").values()) - reassembled0
        print(f"fragments over IPv6: {len(big)}-byte ESP sent, reassembled by espgw: {reassembled}, "
              f"SA packets {before} -> {gw.sa(t.spi_in)['in']['packets']}")
        if reassembled < 1:
            failures.append("espgw reassembled no IPv6 fragments")

        time.sleep(1)
        cap.terminate()
        cap.wait(10)

        # tshark decrypts the peer-side capture with the keys: every ICV must be good.
        sas = []
        for tt in tunnels:
            enc, auth = tt.tshark
            sas += [("IPv6", "*", GW6, tt.spi_in, enc, tt.key_in, auth, tt.auth_in),
                    ("IPv6", GW6, "*", tt.spi_out, enc, tt.key_out, auth, tt.auth_out)]
        rows, bad_icv, err = tshark_esp_icv(pcap, sas, fields=("ipv6.src",))
        from_gw = [r for r in rows if len(r) > 2 and r[2] == GW6]
        print(f"tshark: {len(rows)} ESP packets over IPv6 decoded ({len(from_gw)} from espgw), "
              f"{len(bad_icv)} without a good ICV")
        if not from_gw or bad_icv:
            failures.append(f"tshark ICV check: {len(rows)} packets, bad: {bad_icv[:5]} {err[-500:]}")

        neighbours = gw.telemetry("/espgw/neighbours")
        print(f"neighbours: {neighbours}")

        # The stock client reads the same counters (DPDK's dpdk-telemetry.py, as an operator would).
        res = subprocess.run(["/usr/bin/python3", "/usr/bin/dpdk-telemetry.py", "-f", gw.prefix],
                             input=f"/espgw/sa,{t.spi_out:#x}\n", capture_output=True, text=True, timeout=30)
        replies = [json.loads(line.split("--> ", 1)[-1]) for line in res.stdout.splitlines()
                   if line.split("--> ", 1)[-1].startswith("{")]
        stock = [r["/espgw/sa"] for r in replies if "/espgw/sa" in r]
        if not stock or stock[-1].get("out", {}).get("peer") != f"[{PEER6B}]:4700":
            failures.append(f"dpdk-telemetry.py: {res.stdout[-300:]} {res.stderr[-300:]}")
        else:
            print(f"dpdk-telemetry.py /espgw/sa: peer {stock[-1]['out']['peer']}, packets {stock[-1]['out']['packets']}")
        if gw.proc.poll() is not None:
            failures.append("espgw died")
        if failures:
            print("FAILED:\n  " + "\n  ".join(failures))
            print(gw.read_log()[-3000:])
            return 1
        print(gw.read_log()[-1500:])
        print("PASS")
        return 0


if __name__ == "__main__":
    sys.exit(main())
