#!/usr/bin/python3
"""A real Linux kernel (User-Mode Linux) as a fixed-key XFRM peer of espgw behind a NAT.

  uml ns (guest 198.51.100.2, inner 10.2.0.2 / 10.2.0.3 on a dummy)
    -- nat ns (198.51.100.1 | 192.0.2.254, nftables masquerade fully-random)
    -- gw ns (espgw on af_packet: public 192.0.2.1/24, protected 10.1.0.1/24)
    -- lan ns (10.1.0.2/24, default via 10.1.0.1)

One guest boot, one espgw holding two SA pairs (AES-128-GCM for inner 10.2.0.2, AES-128-CBC +
HMAC-SHA256-128 for inner 10.2.0.3). For each suite the guest's XFRM states and policies are
flushed and reinstalled, then: pings both ways; a TCP transfer each way with byte count and
SHA-256 compared. For GCM also: `conntrack -F` in the NAT during a transfer; the transfer must
complete intact and espgw must count a mapping change.

Run as root: /usr/bin/python3 tests/e2e/test_uml_peer.py   (exit 0 = pass)
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from esp_sa import EspSA  # noqa: E402
from gateway import Gateway, sa_entry  # noqa: E402
from topology import Topology  # noqa: E402
from report import Report  # noqa: E402
from uml_scenarios import (GUEST, GW, LAN, NAT_IN, NAT_OUT, build, diag,  # noqa: E402
                           guest_recv_ns_send, install_tunnel_pair, ns_recv_guest_send, ping_summary,
                           same_transfer, until_ok)

XFER_BYTES = 4 * 1024 * 1024
FLUSH_XFER_BYTES = 16 * 1024 * 1024


class Failed(Exception):
    pass


class Suite:
    """One SA pair between espgw and the guest, for one inner address of the guest."""

    def __init__(self, label, cipher, integrity, inner, spi_in, spi_out, reqid):
        self.label, self.cipher, self.integrity, self.inner = label, cipher, integrity, inner
        self.spi_in, self.spi_out = spi_in, spi_out  # espgw's inbound (guest -> gw) / outbound
        gcm = integrity is None
        klen = 20 if gcm else 16
        k_in, k_out = os.urandom(klen), os.urandom(klen)
        a_in, a_out = (None, None) if gcm else (os.urandom(32), os.urandom(32))
        # Guest's view: "to_gw" is its outbound state (espgw's inbound SA).
        self.to_gw = EspSA(spi_in, GUEST, GW, key=k_in, auth_key=a_in, encap=(4500, 4500), reqid=reqid)
        self.from_gw = EspSA(spi_out, GW, GUEST, key=k_out, auth_key=a_out, encap=(4500, 4500), reqid=reqid)

    def gw_sas(self, peer):
        common = dict(local_ts="10.1.0.0/24", remote_ts=f"{self.inner}/32", integrity=self.integrity)
        return [sa_entry(f"{self.label}-in", peer, "in", self.spi_in, self.cipher, self.to_gw.key,
                         auth_key=self.to_gw.auth_key, **common),
                sa_entry(f"{self.label}-out", peer, "out", self.spi_out, self.cipher, self.from_gw.key,
                         auth_key=self.from_gw.auth_key, **common)]

    def install(self, guest):
        # Traffic the guest originates toward the LAN leaves from this suite's inner address.
        install_tunnel_pair(guest, self.to_gw, self.from_gw, self.inner, f"via {NAT_IN}")


def xfer_guest_to_lan(topo, lan, guest, suite, nbytes, port, during=None):
    return ns_recv_guest_send(topo, lan, guest, LAN, port, nbytes, recv_timeout=150, during=during)


def xfer_lan_to_guest(topo, lan, guest, suite, nbytes, port, during=None):
    return guest_recv_ns_send(topo, lan, guest, suite.inner, port, nbytes, during=during)


def main():
    report = Report()
    suites = [Suite("gcm", "aes128-gcm", None, "10.2.0.2", 0x1001, 0x2001, 1),
              Suite("cbc", "aes128-cbc", "hmac-sha256-128", "10.2.0.3", 0x1002, 0x2002, 2)]
    with Topology("eum") as topo:
        uml, nat, gwns, lan, gp, gl, guest = build(topo, ["10.2.0.2/32", "10.2.0.3/32"])
        sas = []
        for s in suites:
            sas += s.gw_sas("uml")
        gw = Gateway(topo, gwns, gp, gl, peers=[{"name": "uml", "address": NAT_OUT, "port": 0}],
                     sas=sas, host_if=topo.ifname("gt"))
        gw.start()
        t0 = time.monotonic()
        guest.start()
        print(f"info: UML guest booted in {time.monotonic() - t0:.1f} s", flush=True)

        def guest_sas():
            return "guest xfrm: " + str({hex(k): v for k, v in guest.xfrm_stats().items()})

        def result(ok, suite, what, detail=""):
            spis = (suite.spi_in, suite.spi_out)
            report.check(ok, suite.label, what, detail, lambda: diag(topo, nat, gw, spis, guest_sas))

        port = 5100
        for suite in suites:
            suite.install(guest)
            # (1) pings, guest first: its packets teach espgw the NAT's port.
            ok, n, text = until_ok(
                lambda: guest.run(f"ping -c 3 -i 0.3 -W 2 -I {suite.inner} {LAN}", timeout=20), tries=10)
            result(ok, suite, f"ping guest {suite.inner} -> LAN {LAN}", f"batch {n}: {ping_summary(text)}")
            ok, n, text = until_ok(
                lambda: topo.run(lan, f"ping -c 3 -i 0.3 -W 2 {suite.inner}", check=False, timeout=20),
                tries=10)
            result(ok, suite, f"ping LAN {LAN} -> guest {suite.inner}", f"batch {n}: {ping_summary(text)}")
            if not ok:
                continue
            # (2) TCP both ways.
            for name, fn in (("guest -> LAN", xfer_guest_to_lan), ("LAN -> guest", xfer_lan_to_guest)):
                port += 1
                t1 = time.monotonic()
                sent, got = fn(topo, lan, guest, suite, XFER_BYTES, port)
                ok = same_transfer(sent, got, XFER_BYTES)
                result(ok, suite, f"TCP {XFER_BYTES} B {name} ({time.monotonic() - t1:.1f} s)",
                       f"sent [{sent.strip()[-120:]}] received [{got.strip()[-120:]}]")
            # (3) NAT rebinding in the middle of a transfer (GCM only).
            if suite is suites[0]:
                for name, fn in (("guest -> LAN", xfer_guest_to_lan), ("LAN -> guest", xfer_lan_to_guest)):
                    port += 1
                    before = gw.telemetry("/espgw/stats")["mapping_changes"]
                    old_peer = gw.sa(suite.spi_out)["out"].get("peer")

                    def flush(name=name):
                        # Early, so that most of the transfer comes after it: on a fast machine
                        # 8 MB took barely longer than a 1 s wait, and a flush after the last
                        # packet proves nothing.
                        time.sleep(0.3)
                        topo.conntrack_flush(nat)
                        if name == "LAN -> guest":
                            # The guest only receives: after the flush espgw keeps sending to
                            # the old port and the guest hears nothing, so sends nothing (a
                            # fixed-key kernel peer has no IKE daemon sending NAT keepalives).
                            # A ping from the guest stands in for the keepalive.
                            time.sleep(0.5)
                            guest.run(f"ping -c 2 -i 0.3 -W 2 -I {suite.inner} {LAN}", timeout=20)
                    t1 = time.monotonic()
                    sent, got = fn(topo, lan, guest, suite, FLUSH_XFER_BYTES, port, during=flush)
                    after = gw.telemetry("/espgw/stats")["mapping_changes"]
                    new_peer = gw.sa(suite.spi_out)["out"].get("peer")
                    ok = same_transfer(sent, got, FLUSH_XFER_BYTES) and after > before
                    result(ok, suite, f"conntrack -F during TCP {FLUSH_XFER_BYTES} B {name} "
                                      f"({time.monotonic() - t1:.1f} s)",
                           f"mapping_changes {before} -> {after}, peer {old_peer} -> {new_peer}; "
                           f"sent [{sent.strip()[-80:]}] received [{got.strip()[-80:]}]")

        if gw.proc.poll() is not None:
            report.failures.append(f"espgw exited ({gw.proc.returncode})")
        print("stats:", gw.telemetry("/espgw/stats") if gw.proc.poll() is None else "-")
        guest.stop()
    print("not done: transport mode, plain ESP (encap none)")
    return report.verdict()


if __name__ == "__main__":
    sys.exit(main())
