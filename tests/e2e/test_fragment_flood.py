#!/usr/bin/python3
"""Issue 10, defect 1: a flood of outer fragments that never complete must not stop the gateway.

  peer ns (scapy tunnel) -- NAT ns (also the attacker) -- espgw (public port on net_pcap) -- LAN ns

The public port is on DPDK's pcap driver, so fragments reach espgw's own reassembly as they
would from a NIC (af_packet's fanout group would have the kernel reassemble them first). The
pool is small (4,095 mbufs) so that an unbounded reassembly would empty it within seconds, as
it did: 6,000 datagrams x 7 fragments at 3-12 kpps stopped both ports for good.

Checked, as the tunnel's user feels it:
  1. many spoofed sources: every echo through the tunnel during the flood is answered; the
     fragments held never pass reassembly's share; refusals are counted and logged;
  2. when the flood ends, the held fragments are freed by the timer and the pool is whole;
  3. one source flooding cannot crowd out another: fragmented ESP packets from the peer are
     reassembled and decrypted during it;
  4. afterwards the tunnel works and espgw is alive.
"""

import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ["ESPGW_PUBLIC_PMD"] = "pcap"  # before Gateway reads it

from gateway import Gateway  # noqa: E402
from netns_socket import udp_socket  # noqa: E402
from report import Report  # noqa: E402
from test_scapy_peer import GW, PEER, SUITES, Tunnel, nat_topology  # noqa: E402
from topology import Topology, wait_for  # noqa: E402

FLOOD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fragment_flood.py")
MBUFS = 4095
TIMEOUT_MS = 1000


def mac_of(topo, ns, dev):
    return topo.run(ns, ["cat", f"/sys/class/net/{dev}/address"]).stdout.strip()


class Sampler(threading.Thread):
    """Reads /espgw/bounds every 100 ms while a flood runs: the most reassembly ever held."""

    def __init__(self, gw):
        super().__init__(daemon=True)
        self.gw, self.stop, self.most_held, self.least_available = gw, threading.Event(), 0, None

    def run(self):
        while not self.stop.is_set():
            b = self.gw.telemetry("/espgw/bounds")
            self.most_held = max(self.most_held, b["reassembly"]["held_mbufs"])
            a = b["mbufs"]["available"]
            self.least_available = a if self.least_available is None else min(self.least_available, a)
            time.sleep(0.1)


def main():
    r = Report()
    t = Tunnel(0, SUITES[0])
    with Topology("eff") as topo:
        peer, nat, gwns, lan, nw, gp, gl, ll = nat_topology(topo)
        p, sas = t.config()
        gw = Gateway(topo, gwns, gp, gl, peers=[p], sas=sas,
                     extra=f"mbufs = {MBUFS}; reassembly_timeout_ms = {TIMEOUT_MS};").start()
        t.sock = udp_socket(peer, PEER, t.port)
        r.check(t.ping(0x100), "baseline", "an echo through the tunnel")
        bounds = gw.telemetry("/espgw/bounds")
        limit, per_source = bounds["reassembly"]["limit_mbufs"], bounds["reassembly"]["limit_per_source"]
        baseline = bounds["mbufs"]["available"]
        print(f"reassembly: {limit} mbufs, {per_source} per source, of a pool of {MBUFS}; {baseline} free at rest")
        gw_mac = mac_of(topo, gwns, gp)

        def flood(datagrams, source, rate=10000):
            return topo.spawn(nat, ["/usr/bin/python3", FLOOD, nw, gw_mac, GW, str(datagrams), "7", str(rate), source],
                              stdout=open(os.devnull, "w"))

        # 1. Many spoofed sources, 42,000 fragments at 10 kpps: ten times the pool.
        sampler = Sampler(gw)
        sampler.start()
        attacker = flood(6000, "many")
        answered, asked, ident = 0, 0, 0x200
        while attacker.poll() is None:
            ident += 1
            asked += 1
            t.send(t.esp_bytes(ident))
            answered += t.receive_reply(ident, timeout=2.0)
            time.sleep(0.05)
        sampler.stop.set()
        sampler.join()
        r.check(asked >= 20 and answered == asked, "flood, many sources", "every echo through the tunnel answered",
                f"{answered} of {asked}")
        b = gw.telemetry("/espgw/bounds")["reassembly"]
        r.check(sampler.most_held <= limit, "flood, many sources", "reassembly held at most its share",
                f"most held {sampler.most_held} of {limit}; pool at least {sampler.least_available} free")
        r.check(b["refused_full"] > 0, "flood, many sources", "fragments past the share refused and counted",
                f"refused_full {b['refused_full']}")
        r.check("limit reached: reassembly full (reassembly_mbufs = " in gw.read_log(), "flood, many sources",
                "a log line names the bound and its setting")

        # 2. Recovery without further traffic: the timer frees what waits.
        def recovered():
            bb = gw.telemetry("/espgw/bounds")
            return bb["reassembly"]["held_mbufs"] == 0 and bb["mbufs"]["available"] >= baseline - 64 and bb
        try:
            bb = wait_for(recovered, TIMEOUT_MS / 1000 + 5, "reassembly to empty and the pool to refill")
            r.check(True, "after the flood", "held fragments freed by the timer, pool back to its baseline",
                    f"{bb['mbufs']['available']} free (baseline {baseline}), timed out {bb['reassembly']['timed_out']}")
        except TimeoutError as e:
            r.check(False, "after the flood", str(e), str(gw.telemetry("/espgw/bounds")))

        # 3. One source floods; the peer's fragmented ESP still gets through. The NAT's public
        # MTU of 1000 splits the peer's 1.4 KB datagram (sent without DF).
        topo.run(nat, ["ip", "link", "set", nw, "mtu", "1000"])
        t.sock.setsockopt(socket.IPPROTO_IP, 10, 0)  # IP_MTU_DISCOVER = IP_PMTUDISC_DONT
        attacker = flood(6000, "203.0.113.9", rate=5000)
        wait_for(lambda: gw.telemetry("/espgw/bounds")["reassembly"]["refused_per_source"] > 0, 10,
                 "the flooding source to reach its share")
        before = gw.sa(t.spi_in)["in"]["packets"]
        for k in range(5):  # the replies do not fit back through the NAT's MTU: count decryptions
            t.send(t.esp_bytes(0x300 + k, size=1300))
            time.sleep(0.3)
        during = attacker.poll() is None
        try:
            wait_for(lambda: gw.sa(t.spi_in)["in"]["packets"] >= before + 5, 5, "five fragmented packets decrypted")
        except TimeoutError:
            pass
        got = gw.sa(t.spi_in)["in"]["packets"] - before
        attacker.wait(60)
        b = gw.telemetry("/espgw/bounds")["reassembly"]
        r.check(got == 5 and during, "flood, one source",
                "every fragmented ESP packet from the peer reassembled and decrypted during the flood",
                f"{got} of 5; flood still on: {during}; refused_per_source {b['refused_per_source']}")
        reassembled = sum(v["reassembled"] for v in gw.telemetry("/espgw/workers").values())
        r.check(reassembled >= 5, "flood, one source", "espgw itself reassembled them", f"reassembled {reassembled}")
        topo.run(nat, ["ip", "link", "set", nw, "mtu", "1500"])

        # 4. Afterwards.
        try:
            wait_for(recovered, TIMEOUT_MS / 1000 + 5, "reassembly to empty again")
            r.check(True, "after both floods", "reassembly empty, pool whole")
        except TimeoutError as e:
            r.check(False, "after both floods", str(e), str(gw.telemetry("/espgw/bounds")))
        r.check(all(t.ping(0x400 + k, tries=1) for k in range(5)), "after both floods", "five echoes, each answered")
        r.check(gw.proc.poll() is None, "espgw", "still running")
        drops = {k: v for k, v in gw.telemetry("/espgw/drops").items() if v}
        print(f"drops: {drops}")
        if r.failures:
            print(gw.read_log()[-3000:])
        return r.verdict()


if __name__ == "__main__":
    sys.exit(main())
