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
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from esp_sa import EspSA  # noqa: E402
from gateway import Gateway, sa_entry  # noqa: E402
from topology import Topology  # noqa: E402
import tcp_xfer  # noqa: E402
from uml_peer import UmlPeer  # noqa: E402

GUEST, NAT_IN, NAT_OUT, GW, LAN = "198.51.100.2", "198.51.100.1", "192.0.2.254", "192.0.2.1", "10.1.0.2"
XFER_BYTES = 4 * 1024 * 1024
FLUSH_XFER_BYTES = 8 * 1024 * 1024


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
        script = "\n".join([
            "set -e",
            "ip xfrm state flush",
            "ip xfrm policy flush",
            self.to_gw.xfrm_state(),
            self.from_gw.xfrm_state(),
            self.to_gw.xfrm_policy(f"{self.inner}/32", "10.1.0.0/24", "out"),
            self.from_gw.xfrm_policy("10.1.0.0/24", f"{self.inner}/32", "in"),
            # Traffic the guest originates toward the LAN leaves from this suite's inner address.
            f"ip route replace 10.1.0.0/24 via {NAT_IN} src {self.inner}",
        ])
        guest.run(script, check=True)


TX_CSUM_OFF = """
import fcntl, socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for dev in sys.argv[1:]:
    # SIOCETHTOOL with ETHTOOL_STXCSUM (0x17), data 0: checksum in software (no ethtool here)
    buf = bytearray(struct.pack("II", 0x17, 0))
    ifr = struct.pack("16sP", dev.encode(), (ctypes := __import__("ctypes")).addressof(
        (c := (ctypes.c_char * len(buf)).from_buffer(buf))))
    fcntl.ioctl(s.fileno(), 0x8946, ifr)
"""


def tx_csum_off(topo, ns, *devs):
    """A kernel sender leaves TCP/UDP checksums to the veth ("hardware"); a packet socket on the
    other end (DPDK af_packet) then forwards frames whose L4 checksum was never filled in, and
    the guest drops them. Checksum in software on links toward the gateway."""
    topo.run(ns, ["/usr/bin/python3", "-c", TX_CSUM_OFF, *devs])


def build(topo):
    uml, nat, gwns, lan = (topo.netns(r) for r in ("uml", "nat", "gw", "lan"))
    ua, ub = topo.veth(uml, "ua", nat, "ub")
    nw, gp = topo.veth(nat, "nw", gwns, "gp")
    gl, ll = topo.veth(gwns, "gl", lan, "ll")
    topo.addr(nat, ub, f"{NAT_IN}/24")
    topo.addr(nat, nw, f"{NAT_OUT}/24")
    topo.masquerade(nat, nw)
    topo.addr(lan, ll, f"{LAN}/24")
    topo.route(lan, "default", via="10.1.0.1")
    tx_csum_off(topo, lan, ll)
    tx_csum_off(topo, nat, nw)
    guest = UmlPeer(topo, uml, ua, f"{GUEST}/24", gateway=NAT_IN, inner=["10.2.0.2/32", "10.2.0.3/32"])
    return uml, nat, gwns, lan, gp, gl, guest


def ping_until_reply(fn, tries=10):
    """fn() runs one ping batch and returns its CompletedProcess; returns (ok, attempts, text)."""
    text = ""
    for i in range(1, tries + 1):
        res = fn()
        text = res.stdout + res.stderr
        if res.returncode == 0:
            return True, i, text
    return False, tries, text


def ping_summary(text):
    lines = [ln for ln in text.splitlines() if "packets transmitted" in ln]
    return lines[-1].strip() if lines else text.strip()[-200:]


def xfer_guest_to_lan(topo, lan, guest, suite, nbytes, port, during=None):
    receiver = topo.spawn(lan, tcp_xfer.recv_cmd(port), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    time.sleep(0.3)
    sender = guest.run_async(tcp_xfer.send_cmd(LAN, port, nbytes, seed=port), timeout=150)
    if during:
        during()
    sent = sender.wait()
    try:
        got, _ = receiver.communicate(timeout=150)
    except Exception:
        receiver.kill()
        got, _ = receiver.communicate()
    return sent.stdout + sent.stderr, got


def xfer_lan_to_guest(topo, lan, guest, suite, nbytes, port, during=None):
    receiver = guest.run_async(tcp_xfer.recv_cmd(port), timeout=150)
    time.sleep(0.5)
    sender = topo.spawn(lan, tcp_xfer.send_cmd(suite.inner, port, nbytes, seed=port),
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if during:
        during()
    try:
        sent, _ = sender.communicate(timeout=150)
    except Exception:
        sender.kill()
        sent, _ = sender.communicate()
    got = receiver.wait()
    return sent, got.stdout + got.stderr


def same_transfer(sent, got, nbytes):
    try:
        s, g = tcp_xfer.parse_result(sent), tcp_xfer.parse_result(got)
    except ValueError:
        return False
    return s == g and s[0] == nbytes


def main():
    started = time.monotonic()
    suites = [Suite("gcm", "aes128-gcm", None, "10.2.0.2", 0x1001, 0x2001, 1),
              Suite("cbc", "aes128-cbc", "hmac-sha256-128", "10.2.0.3", 0x1002, 0x2002, 2)]
    failures = []
    with Topology("eum") as topo:
        uml, nat, gwns, lan, gp, gl, guest = build(topo)
        sas = []
        for s in suites:
            sas += s.gw_sas("uml")
        gw = Gateway(topo, gwns, gp, gl, peers=[{"name": "uml", "address": NAT_OUT, "port": 0}],
                     sas=sas, host_if=topo.ifname("gt"))
        gw.start()
        t0 = time.monotonic()
        guest.start()
        print(f"info: UML guest booted in {time.monotonic() - t0:.1f} s", flush=True)

        def diag(suite):
            print("---- espgw log tail ----")
            print(gw.read_log()[-3000:])
            try:
                print("drops:", {k: v for k, v in gw.telemetry("/espgw/drops").items() if v})
                print("stats:", gw.telemetry("/espgw/stats"))
                print(f"sa {suite.spi_in:#x}:", gw.sa(suite.spi_in))
                print(f"sa {suite.spi_out:#x}:", gw.sa(suite.spi_out))
            except Exception as exc:  # noqa: BLE001
                print("telemetry failed:", exc)
            try:
                print("guest xfrm:", {hex(k): v for k, v in guest.xfrm_stats().items()})
            except Exception as exc:  # noqa: BLE001
                print("guest xfrm failed:", exc)
            print("conntrack:", topo.conntrack_list(nat).strip())
            print("------------------------", flush=True)

        def result(ok, suite, what, detail=""):
            t = time.monotonic() - started
            print(f"{'ok  ' if ok else 'FAIL'} [{t:5.1f}s] {suite.label}: {what}{': ' + detail if detail else ''}",
                  flush=True)
            if not ok:
                failures.append(f"{suite.label}: {what}")
                diag(suite)

        port = 5100
        for suite in suites:
            suite.install(guest)
            # (1) pings, guest first: its packets teach espgw the NAT's port.
            ok, n, text = ping_until_reply(
                lambda: guest.run(f"ping -c 3 -i 0.3 -W 2 -I {suite.inner} {LAN}", timeout=20))
            result(ok, suite, f"ping guest {suite.inner} -> LAN {LAN}", f"batch {n}: {ping_summary(text)}")
            ok, n, text = ping_until_reply(
                lambda: topo.run(lan, f"ping -c 3 -i 0.3 -W 2 {suite.inner}", check=False, timeout=20))
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
                        time.sleep(1.0)
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
            failures.append(f"espgw exited ({gw.proc.returncode})")
        print("stats:", gw.telemetry("/espgw/stats") if gw.proc.poll() is None else "-")
        guest.stop()
    print("not done: transport mode, plain ESP (encap none)")
    total = time.monotonic() - started
    if failures:
        print(f"FAILED ({total:.1f} s):\n  " + "\n  ".join(failures))
        return 1
    print(f"PASS ({total:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
