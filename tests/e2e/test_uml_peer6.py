#!/usr/bin/python3
"""A real Linux kernel (User-Mode Linux, fixed-key XFRM) as a peer of espgw over IPv6.

  uml ns (guest 2001:db8:ff::2, inner 10.2.0.6 / 10.2.0.7 on a dummy)
    -- gw ns (espgw on af_packet: public 192.0.2.1/24 and 2001:db8:ff::1/64, protected 10.1.0.1/24)
    -- lan ns (10.1.0.2/24, default via 10.1.0.1)

One guest boot, one espgw holding two SA pairs with the guest's IPv6 address as the outer
destination, IPv4 inside: AES-128-GCM in UDP (the guest's kernel checks the UDP checksum that
IPv6 makes mandatory) for inner 10.2.0.6, and AES-128-CBC + HMAC-SHA256-128 as plain ESP (IP
protocol 50, as between IPv6 sites without a NAT) for inner 10.2.0.7. For each: pings both ways,
then a TCP transfer each way with byte count and SHA-256 compared. The two find each other with
neighbour discovery (the guest asks for espgw's address, espgw asks for the guest's).

Run as root: /usr/bin/python3 tests/e2e/test_uml_peer6.py   (exit 0 = pass)
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from esp_sa import EspSA  # noqa: E402
from gateway import Gateway, sa_entry  # noqa: E402
from topology import Topology  # noqa: E402
from uml_peer import UmlPeer  # noqa: E402
from report import Report  # noqa: E402
from uml_scenarios import (LAN, guest_recv_ns_send, install_tunnel_pair,  # noqa: E402
                           ns_recv_guest_send, ping_summary, same_transfer, until_ok)

GUEST6, GW6 = "2001:db8:ff::2", "2001:db8:ff::1"
XFER_BYTES = 4 * 1024 * 1024


class Suite:
    """One SA pair between espgw and the guest over IPv6, for one inner address of the guest."""

    def __init__(self, label, cipher, integrity, inner, encap, spi_in, spi_out, reqid):
        self.label, self.cipher, self.integrity, self.inner = label, cipher, integrity, inner
        self.encap = encap  # "udp" or "none"
        self.spi_in, self.spi_out = spi_in, spi_out  # espgw's inbound (guest -> gw) / outbound
        gcm = integrity is None
        klen = 20 if gcm else 16
        k_in, k_out = os.urandom(klen), os.urandom(klen)
        a_in, a_out = (None, None) if gcm else (os.urandom(32), os.urandom(32))
        ports = (4500, 4500) if encap == "udp" else None
        # Guest's view: "to_gw" is its outbound state (espgw's inbound SA).
        # IPv4 inside IPv6: the states need IPv4 selectors of their own.
        self.to_gw = EspSA(spi_in, GUEST6, GW6, key=k_in, auth_key=a_in, encap=ports, reqid=reqid,
                           sel=f"src {inner}/32 dst 10.1.0.0/24")
        self.from_gw = EspSA(spi_out, GW6, GUEST6, key=k_out, auth_key=a_out, encap=ports, reqid=reqid,
                             sel=f"src 10.1.0.0/24 dst {inner}/32")

    def gw_sas(self, peer):
        common = dict(local_ts="10.1.0.0/24", remote_ts=f"{self.inner}/32", integrity=self.integrity,
                      encap=self.encap)
        return [sa_entry(f"{self.label}-in", peer, "in", self.spi_in, self.cipher, self.to_gw.key,
                         auth_key=self.to_gw.auth_key, **common),
                sa_entry(f"{self.label}-out", peer, "out", self.spi_out, self.cipher, self.from_gw.key,
                         auth_key=self.from_gw.auth_key, **common)]

    def install(self, guest):
        # IPv4 inside, IPv6 outside: the LAN is "on" vec0 only for the route lookup that
        # precedes the policy; what leaves is the ESP packet over IPv6.
        install_tunnel_pair(guest, self.to_gw, self.from_gw, self.inner, "dev vec0")


def main():
    report = Report()
    suites = [Suite("gcm6-udp", "aes128-gcm", None, "10.2.0.6", "udp", 0x1061, 0x2061, 1),
              Suite("cbc6-plain", "aes128-cbc", "hmac-sha256-128", "10.2.0.7", "none", 0x1062, 0x2062, 2)]
    with Topology("eu6") as topo:
        uml, gwns, lan = (topo.netns(r) for r in ("uml", "gw", "lan"))
        ua, gp = topo.veth(uml, "ua", gwns, "gp")
        gl, ll = topo.veth(gwns, "gl", lan, "ll")
        topo.addr(lan, ll, f"{LAN}/24")
        topo.route(lan, "default", via="10.1.0.1")
        topo.tx_csum_off(lan, ll)
        guest = UmlPeer(topo, uml, ua, f"{GUEST6}/64", inner=["10.2.0.6/32", "10.2.0.7/32"])
        sas = []
        for s in suites:
            sas += s.gw_sas("uml6")
        gw = Gateway(topo, gwns, gp, gl, peers=[{"name": "uml6", "address": GUEST6}], sas=sas,
                     public6=f"{GW6}/64")
        gw.start()
        t0 = time.monotonic()
        guest.start()
        print(f"info: UML guest booted in {time.monotonic() - t0:.1f} s", flush=True)

        def diag(suite):
            print("---- espgw log tail ----")
            print(gw.read_log()[-2500:])
            try:
                print("drops:", {k: v for k, v in gw.telemetry("/espgw/drops").items() if v})
                for spi in (suite.spi_in, suite.spi_out):
                    print(f"sa {spi:#x}:", gw.sa(spi))
                print("neighbours:", gw.telemetry("/espgw/neighbours"))
                print("guest xfrm:", {hex(k): v for k, v in guest.xfrm_stats().items()})
                print("guest:", guest.run("ip -6 neigh; ip -6 addr; ip route").stdout)
            except Exception as exc:  # noqa: BLE001
                print("diagnostics failed:", exc)
            print("------------------------", flush=True)

        def result(ok, suite, what, detail=""):
            report.check(ok, suite.label, what, detail, lambda: diag(suite))

        port = 5600
        for suite in suites:
            suite.install(guest)
            ok, n, text = until_ok(
                lambda: guest.run(f"ping -c 3 -i 0.3 -W 2 -I {suite.inner} {LAN}", timeout=20), tries=10)
            result(ok, suite, f"ping guest {suite.inner} -> LAN {LAN} over IPv6", f"batch {n}: {ping_summary(text)}")
            if not ok:
                continue
            ok, n, text = until_ok(
                lambda: topo.run(lan, ["ping", "-c", "3", "-i", "0.3", "-W", "2", suite.inner], check=False), tries=5)
            result(ok, suite, f"ping LAN {LAN} -> guest {suite.inner} over IPv6", f"batch {n}: {ping_summary(text)}")
            for name, fn in (("guest -> LAN", lambda p: ns_recv_guest_send(topo, lan, guest, LAN, p, XFER_BYTES,
                                                                              recv_timeout=150)),
                             ("LAN -> guest", lambda p: guest_recv_ns_send(topo, lan, guest, suite.inner, p,
                                                                              XFER_BYTES))):
                port += 1
                t1 = time.monotonic()
                sent, got = fn(port)
                ok = same_transfer(sent, got, XFER_BYTES)
                result(ok, suite, f"TCP {XFER_BYTES} B {name} over IPv6 ({time.monotonic() - t1:.1f} s)",
                       f"sent [{sent.strip()[-100:]}] received [{got.strip()[-100:]}]")
            stats = guest.xfrm_stats()
            bad = {hex(spi): s for spi, s in stats.items() if s["failed"] or s["replay"]}
            result(not bad and all(stats.get(spi, {}).get("packets") for spi in (suite.spi_in, suite.spi_out)),
                   suite, "guest kernel: both SAs carried traffic, no integrity or replay failures",
                   str({hex(k): (v["packets"], v["failed"]) for k, v in stats.items()}))

        if gw.proc.poll() is not None:
            report.failures.append(f"espgw exited ({gw.proc.returncode})")
        guest.stop()
    return report.verdict()


if __name__ == "__main__":
    sys.exit(main())
