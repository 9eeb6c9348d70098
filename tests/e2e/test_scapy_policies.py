#!/usr/bin/python3
"""Policies from the config, against scapy as the peer behind an nftables NAT.

  peer ns (scapy, 198.51.100.2) -- NAT ns -- espgw (af_packet) -- LAN ns (10.1.0.2)

One SA pair carries a policy with two remote networks (10.2.0.0/24 and 10.3.0.0/24): echo
requests from both are decrypted, delivered and answered through the same outbound SA; one
from 10.4.0.9 (outside the selectors) is authenticated but dropped as a policy violation. A
discard policy (10.66.0.0/16) swallows the LAN host's traffic there: counted, nothing sent.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from gateway import Gateway, sa_entry  # noqa: E402
from netns_socket import udp_socket  # noqa: E402
from test_scapy_peer import LAN, NAT_OUT, PEER, SUITES, Tunnel, nat_topology  # noqa: E402
from topology import Topology, wait_for  # noqa: E402

from scapy.layers.inet import ICMP, IP  # noqa: E402
from scapy.layers.ipsec import ESP  # noqa: E402

POLICIES = '''policies = (
  { name = "site"; local_ts = "10.1.0.0/24"; remote_ts = ["10.2.0.0/24", "10.3.0.0/24"]; },
  { name = "quarantine"; local_ts = "10.1.0.0/24"; remote_ts = "10.66.0.0/16"; action = "discard"; }
);'''


def esp_from(t, src, ident):
    """An encrypted echo request from inner address src to the LAN host."""
    t.seq += 1
    return bytes(t.tx.encrypt(IP(src=src, dst=LAN) / ICMP(id=ident, seq=t.seq) / (b"p" * 64))[ESP])


def main():
    t = Tunnel(0, SUITES[0])
    failures = []
    with Topology("epo") as topo:
        peer, nat, gwns, lan, nw, gp, gl, ll = nat_topology(topo)

        sas = [sa_entry("site-in", "site", "in", t.spi_in, t.cipher, t.key_in, policy="site"),
               sa_entry("site-out", "site", "out", t.spi_out, t.cipher, t.key_out, policy="site")]
        gw = Gateway(topo, gwns, gp, gl, peers=[{"name": "site", "address": NAT_OUT, "port": 0}], sas=sas,
                     extra=POLICIES)
        gw.start()
        t.sock = udp_socket(peer, PEER, t.port)

        policies = gw.listing("/espgw/policies")
        print(f"policies: {policies}")
        site = policies.get("site", {})
        if site.get("outbound_spi") != t.spi_out or "10.3.0.0/24" not in site.get("selectors", ""):
            failures.append(f"/espgw/policies: site is {site}")
        if policies.get("quarantine", {}).get("action") != "discard":
            failures.append(f"/espgw/policies: quarantine is {policies.get('quarantine')}")

        # Both remote networks, one SA pair, every echo answered (the first included).
        for n, src in enumerate(("10.2.0.9", "10.3.0.9", "10.2.0.10", "10.3.0.200")):
            ident = 0x100 + n
            t.send(esp_from(t, src, ident))
            ok = t.receive_reply(ident, timeout=2.0)
            print(f"{'ok  ' if ok else 'FAIL'} echo from {src} answered through the one SA pair")
            if not ok:
                failures.append(f"no reply to the echo from {src}")

        # Outside the selectors: authenticated, but a policy violation (RFC 4301 §5.2).
        before = gw.sa(t.spi_in)["in"]
        t.send(esp_from(t, "10.4.0.9", 0x200))
        if t.receive_reply(0x200, timeout=0.5):
            failures.append("a packet from outside the selectors was delivered")
        try:
            wait_for(lambda: gw.sa(t.spi_in)["in"]["drops_by_reason"]["policy"]
                     == before["drops_by_reason"]["policy"] + 1, 5, "the policy drop")
            print("ok   echo from 10.4.0.9 (outside the selectors) dropped and counted as policy")
        except TimeoutError as e:
            failures.append(str(e))

        # The discard policy: the LAN host's packets to 10.66.0.0/16 go nowhere, counted.
        stats = gw.telemetry("/espgw/stats")
        discarded = gw.telemetry("/espgw/drops").get("discarded", 0)
        topo.run(lan, ["ping", "-c", "3", "-i", "0.2", "-W", "1", "10.66.0.5"], check=False)
        time.sleep(0.5)
        now = gw.telemetry("/espgw/drops").get("discarded", 0)
        after = gw.telemetry("/espgw/stats")
        print(f"{'ok  ' if now >= discarded + 3 else 'FAIL'} discard policy: discarded {discarded} -> {now}, "
              f"esp_out {stats['esp_out']} -> {after['esp_out']}")
        if now < discarded + 3:
            failures.append(f"discarded {discarded} -> {now}, 3 pings sent")
        if after["esp_out"] != stats["esp_out"]:
            failures.append("traffic for the discard policy was encrypted")

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
