#!/usr/bin/python3
"""IKEv2 without NAT against strongSwan in a real Linux kernel: plain ESP (IP protocol 50).

strongSwan (charon 5.9, kernel-netlink: its CHILD SAs are XFRM states of a User-Mode Linux
guest kernel, since this host kernel has no ESP) negotiates with espgw over a plain router:

  uml ns (guest 198.51.100.2/24, default via 198.51.100.1)
    -- rtr ns (198.51.100.1 | 192.0.2.254, IPv4 forwarding, no NAT)
    -- gw ns (espgw on af_packet: public 192.0.2.1/24 via 192.0.2.254, protected 10.1.0.1/24,
              host tap carrying 192.0.2.1 and 10.1.0.1)
    -- lan ns (10.1.0.2/24, default via 10.1.0.1)

1. tunnel: alice@example.net, PSK, aes128gcm16-prfsha256-curve25519, a virtual IP from espgw's
   pool, child 10.1.0.0/24. espgw sees no NAT either way (nat_here/nat_there "no", the peer at
   its own address), installs the CHILD SA as plain ESP (encap "esp"), the guest kernel's XFRM
   states have no UDP encapsulation; every one of 20 pings from the virtual IP to the LAN host
   is answered, the first included; on the router's link to espgw tshark sees ESP as IP
   protocol 50 with exactly espgw's SPIs (inbound from the guest, outbound to it), no ESP in
   UDP, no NAT keepalives, and every ESP packet's ICV verifies with the keys charon installed
   in the guest kernel (ICMP echo inside). Then alice deletes her IKE SA and espgw drops it.
2. transport: bob@example.net, child mode transport (espgw: no local_ts, so its own address;
   strongSwan: the guest's address). espgw reports mode "transport", encap "esp"; the guest
   pings espgw's own address 192.0.2.1 (answered by the gw namespace's kernel through espgw's
   host tap) and sends it 1 MB over TCP; on the wire only ESP (protocol 50, the transport SPIs)
   between the two, no cleartext ICMP/TCP, no ESP in UDP; every ICV verifies (ICMP echo and
   TCP inside). Then bob deletes his IKE SA: espgw removes it, and the DELETE exchange stays
   cleartext IKE (not caught by the transport SA, which covers all traffic between the two).

IKE itself moves from port 500 to 4500 after IKE_SA_INIT although there is no NAT: strongSwan
does that whenever the peer supports NAT traversal (RFC 7296 2.23 allows it). Only ESP has to
stay out of UDP without a NAT, and that is what is checked.

Run as root: /usr/bin/python3 tests/e2e/test_strongswan_uml.py   (exit 0 = pass)
"""

import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from capture import Capture, tshark_esp_icv  # noqa: E402
from gateway import Gateway  # noqa: E402
from topology import Topology, wait_for  # noqa: E402
from uml_peer import UmlPeer  # noqa: E402
from report import Report  # noqa: E402
from uml_scenarios import ns_recv_guest_send, same_transfer  # noqa: E402
from uml_strongswan import GuestCharon, GuestConn  # noqa: E402

GUEST, RTR_IN, RTR_OUT, GW, LAN = "198.51.100.2", "198.51.100.1", "192.0.2.254", "192.0.2.1", "10.1.0.2"
PSK = "a-long-pre-shared-key-for-the-uml-guest"
POOL = "10.3.0.0/24"
PINGS = 20
XFER_BYTES = 1024 * 1024
GCM = "AES-GCM with 16 octet ICV [RFC4106]"

# "tr" comes first: espgw takes the first connection whose identities fit, and "*@example.net"
# would also take bob.
IKE_CONFIG = f'''
pools = ( {{ name = "rw"; range = "{POOL}"; }} );
connections = (
  {{ name = "tr"; local_id = "gw.example.net"; remote_id = "bob@example.net"; psk = "{PSK}";
    proposals = ["aes128gcm16-prfsha256-curve25519"];
    children = ( {{ name = "host"; mode = "transport"; esp_proposals = ["aes128gcm16"]; }} );
  }},
  {{ name = "rw"; local_id = "gw.example.net"; remote_id = "*@example.net"; psk = "{PSK}";
    proposals = ["aes128gcm16-prfsha256-curve25519", "aes256-sha256-modp2048"];
    pools = ["rw"];
    children = ( {{ name = "lan"; local_ts = ["10.1.0.0/24"]; esp_proposals = ["aes128gcm16", "aes256-sha256"]; }} );
  }}
);
keepalive_interval = 0;
'''


def tshark_fields(pcap, display_filter, fields):
    """Rows (lists of strings) of tshark -T fields for the packets matching display_filter."""
    argv = ["tshark", "-n", "-r", pcap, "-Y", display_filter, "-T", "fields", "-E", "occurrence=f"]
    for f in fields:
        argv += ["-e", f]
    res = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    if res.returncode != 0:
        raise RuntimeError(f"tshark failed: {res.stderr}")
    return [line.split("\t") for line in res.stdout.splitlines() if line.strip()]


def wire_summary(pcap):
    """One line per protocol mix: what was on the link at all (for the report)."""
    rows = tshark_fields(pcap, "ip", ["ip.src", "ip.dst", "ip.proto", "udp.srcport", "udp.dstport"])
    counts = {}
    for src, dst, proto, sport, dport in (r + [""] * (5 - len(r)) for r in rows):
        key = f"{src}->{dst} proto {proto}" + (f" udp {sport}->{dport}" if sport else "")
        counts[key] = counts.get(key, 0) + 1
    return "; ".join(f"{k}: {v}" for k, v in sorted(counts.items()))


def esp_on_wire(pcap, spi_in, spi_out, a, b):
    """Checks of the ESP between a (the guest) and b (espgw) in pcap. Returns (ok, detail, n_in, n_out)."""
    rows = tshark_fields(pcap, "esp", ["ip.src", "ip.dst", "ip.proto", "esp.spi", "udp.dstport"])
    to_gw = [r for r in rows if r[0] == a and r[1] == b]
    from_gw = [r for r in rows if r[0] == b and r[1] == a]
    proto50 = all(r[2] == "50" and (len(r) < 5 or not r[4]) for r in rows)
    spis_to = {int(r[3], 16) for r in to_gw}
    spis_from = {int(r[3], 16) for r in from_gw}
    ok = proto50 and spis_to == {spi_in} and spis_from == {spi_out} and len(rows) == len(to_gw) + len(from_gw)
    detail = (f"{len(to_gw)} ESP {a}->{b} SPIs {sorted(hex(s) for s in spis_to)}, {len(from_gw)} ESP {b}->{a} "
              f"SPIs {sorted(hex(s) for s in spis_from)}, all IP proto 50 without UDP: {proto50}")
    return ok, detail, len(to_gw), len(from_gw)


def no_esp_in_udp(pcap, min_ike):
    """(ok, detail): no UDP-encapsulated ESP and no NAT keepalive in pcap, every UDP packet is
    IKE on 500 or 4500 (strongSwan moves IKE to 4500 after IKE_SA_INIT even without a NAT, as
    RFC 7296 2.23 allows; only ESP must stay out of UDP), and at least min_ike IKE packets."""
    udp_esp = tshark_fields(pcap, "udp && esp", ["frame.number"])
    keepalives = tshark_fields(pcap, "udpencap.nat_keepalive", ["frame.number"])
    udp = tshark_fields(pcap, "udp", ["udp.srcport", "udp.dstport", "isakmp.exchangetype"])
    ike = {}
    other = 0
    for r in udp:
        if len(r) > 2 and r[2] and r[0] == r[1] and r[0] in ("500", "4500"):
            ike[r[0]] = ike.get(r[0], 0) + 1
        else:
            other += 1
    ok = not udp_esp and not keepalives and not other and sum(ike.values()) >= min_ike
    return ok, (f"{len(udp_esp)} ESP-in-UDP, {len(keepalives)} keepalives, IKE packets per port {ike}, "
                f"{other} other UDP")


def brief(entries, *keys):
    """The named fields of telemetry entries (SPIs in hex), for a check's detail."""
    return str([{k: (hex(e[k]) if k.startswith("spi") else e[k]) for k in keys if k in e} for e in entries])


def ping_seqs(text):
    return {int(m) for m in re.findall(r"icmp_seq=(\d+)", text)}


def main():
    report = Report()
    with Topology("esu") as topo:
        uml, rtr, gwns, lan = (topo.netns(r) for r in ("uml", "rtr", "gw", "lan"))
        ua, ub = topo.veth(uml, "ua", rtr, "ub")
        nw, gp = topo.veth(rtr, "nw", gwns, "gp")
        gl, ll = topo.veth(gwns, "gl", lan, "ll")
        topo.addr(rtr, ub, f"{RTR_IN}/24")
        topo.addr(rtr, nw, f"{RTR_OUT}/24")
        topo.forwarding(rtr)  # a router: no nftables at all in this namespace
        topo.addr(lan, ll, f"{LAN}/24")
        topo.route(lan, "default", via="10.1.0.1")
        topo.tx_csum_off(lan, ll)
        topo.tx_csum_off(rtr, nw)
        host_if = topo.ifname("gt")

        gw = Gateway(topo, gwns, gp, gl, public_gw=RTR_OUT, extra=IKE_CONFIG, host_if=host_if)
        res = gw.check_config()
        report.check(res.returncode == 0, "setup", "espgw --check accepts the IKE config",
                     (res.stdout + res.stderr).strip()[-300:])
        gw.start()
        # The gateway's own stack (host tap) reaches the guest's network through espgw.
        topo.run(gwns, f"ip route replace 198.51.100.0/24 dev {host_if} src {GW}")

        guest = UmlPeer(topo, uml, ua, f"{GUEST}/24", gateway=RTR_IN, encap_port=0)
        t0 = time.monotonic()
        guest.start()
        print(f"info: UML guest booted in {time.monotonic() - t0:.1f} s ({guest.run('uname -r').stdout.strip()})",
              flush=True)

        conns = [GuestConn("tun", GUEST, GW, "alice@example.net", PSK, vips="0.0.0.0", remote_ts="10.1.0.0/24"),
                 GuestConn("tr", GUEST, GW, "bob@example.net", PSK, mode="transport")]
        t0 = time.monotonic()
        sw = GuestCharon(guest, conns).start()
        print(f"info: charon started in the guest, configuration loaded in {time.monotonic() - t0:.1f} s", flush=True)

        def diag():
            print("---- espgw log tail ----")
            print(gw.read_log()[-3000:])
            try:
                print("drops:", {k: v for k, v in gw.telemetry("/espgw/drops").items() if v})
                print("ike:", gw.telemetry("/espgw/ike"))
            except Exception as exc:  # noqa: BLE001
                print("telemetry failed:", exc)
            print("---- charon log tail ----")
            print(sw.log()[-3000:])
            print("---- guest ip -s xfrm state ----")
            print(guest.run("ip -s xfrm state").stdout)
            print("------------------------", flush=True)

        def check(ok, label, what, detail=""):
            return report.check(ok, label, what, detail, diag)

        # ---- 1. tunnel mode with a virtual IP ------------------------------------------------
        cap = Capture(topo, rtr, nw, "not arp").start()
        t1 = time.monotonic()
        r = sw.initiate("tun")
        ok = check(r.returncode == 0, "tunnel", f"swanctl --initiate in the guest ({time.monotonic() - t1:.1f} s)",
                   "" if r.returncode == 0 else (r.stdout + r.stderr)[-1500:])
        vip = sw.vip()
        check(bool(vip) and vip.startswith("10.3.0."), "tunnel", "virtual IP from espgw's pool", str(vip))
        ike = [s for s in gw.listing("/espgw/ike_sas").values() if s.get("remote_id") == "alice@example.net"]
        print(f"info: /espgw/ike_sas (alice): {ike}", flush=True)
        check(len(ike) == 1 and ike[0]["state"] == "established" and ike[0]["nat_here"] == "no"
              and ike[0]["nat_there"] == "no" and ike[0]["remote"] in (f"{GUEST}:500", f"{GUEST}:4500"),
              "tunnel", "espgw: IKE SA established, nat_here no, nat_there no, peer seen at its own address",
              brief(ike, "state", "nat_here", "nat_there", "local", "remote"))
        kids = [c for c in gw.listing("/espgw/child_sas").values() if c.get("remote_id") == "alice@example.net"]
        print(f"info: /espgw/child_sas (alice): {kids}", flush=True)
        check(len(kids) == 1 and kids[0]["encap"] == "esp" and kids[0]["mode"] == "tunnel"
              and kids[0]["local_ts"] == "10.1.0.0/24" and kids[0]["remote_ts"] == f"{vip}/32",
              "tunnel", "espgw: CHILD SA 10.1.0.0/24 === vip/32, tunnel, encap esp",
              brief(kids, "local_ts", "remote_ts", "mode", "encap", "spi_in", "spi_out"))
        xfrm = guest.run("ip xfrm state").stdout
        spi_in = kids[0]["spi_in"] if kids else 0
        spi_out = kids[0]["spi_out"] if kids else 0
        check(f"spi {spi_in:#010x}" in xfrm and f"spi {spi_out:#010x}" in xfrm and "encap" not in xfrm,
              "tunnel", "guest kernel: XFRM states with espgw's SPIs, no UDP encapsulation",
              " | ".join(ln.strip() for ln in xfrm.splitlines() if ln.startswith("src") or "encap" in ln))

        if ok and vip:
            res = guest.run(f"ping -n -c {PINGS} -i 0.2 -W 2 -I {vip} {LAN}", timeout=30)
            missing = sorted(set(range(1, PINGS + 1)) - ping_seqs(res.stdout))
            summary = [ln for ln in res.stdout.splitlines() if "transmitted" in ln]
            check(not missing, "tunnel", f"ping {vip} -> {LAN}: every one of {PINGS} answered, the first included",
                  f"missing {missing}; {summary[0] if summary else res.stderr.strip()[-200:]}")
        pcap = cap.stop()
        print(f"info: on the wire ({nw}): {wire_summary(pcap)}", flush=True)
        ok, detail, n_to, n_from = esp_on_wire(pcap, spi_in, spi_out, GUEST, GW)
        check(ok and n_to >= PINGS and n_from >= PINGS, "tunnel",
              "tshark: ESP as IP protocol 50 with espgw's SPIs (in from the guest, out to it)", detail)
        ok, detail = no_esp_in_udp(pcap, 2)
        check(ok, "tunnel", "tshark: no ESP in UDP, no NAT keepalives; IKE only on 500/4500", detail)
        keys = sw.xfrm_keys()
        if spi_in in keys and spi_out in keys:
            rows, bad, err = tshark_esp_icv(pcap, [("IPv4", "*", "*", spi_in, GCM, keys[spi_in], "NULL", b""),
                                                   ("IPv4", "*", "*", spi_out, GCM, keys[spi_out], "NULL", b"")],
                                            fields=("icmp.type",))
            icmp = [r[2] for r in rows if len(r) > 2 and r[2]]
            check(len(rows) == n_to + n_from and not bad and sorted(set(icmp)) == ["0", "8"] and len(icmp) == len(rows),
                  "tunnel", "tshark decrypts every ESP packet with the guest's keys, ICV good, ICMP echo inside",
                  f"{len(rows)} packets, {len(bad)} bad, inner ICMP types {sorted(set(icmp))} in {len(icmp)}")
        else:
            check(False, "tunnel", "CHILD SA keys found in the guest's XFRM states", f"have {sorted(hex(k) for k in keys)}")

        # alice leaves: espgw removes her IKE SA and CHILD SA.
        sw.terminate("tun")
        try:
            wait_for(lambda: not any(s.get("remote_id") == "alice@example.net"
                                     for s in gw.listing("/espgw/ike_sas").values()), 10, "alice's IKE SA to go")
            gone = True
        except TimeoutError:
            gone = False
        check(gone, "tunnel", "alice terminates: espgw removed her IKE SA")

        # ---- 2. transport mode to espgw's own address ----------------------------------------
        cap = Capture(topo, rtr, nw, "not arp").start()
        t1 = time.monotonic()
        r = sw.initiate("tr")
        ok = check(r.returncode == 0, "transport", f"swanctl --initiate in the guest ({time.monotonic() - t1:.1f} s)",
                   "" if r.returncode == 0 else (r.stdout + r.stderr)[-1500:])
        ike = [s for s in gw.listing("/espgw/ike_sas").values() if s.get("remote_id") == "bob@example.net"]
        print(f"info: /espgw/ike_sas (bob): {ike}", flush=True)
        check(len(ike) == 1 and ike[0]["connection"] == "tr" and ike[0]["nat_here"] == "no"
              and ike[0]["nat_there"] == "no", "transport", "espgw: IKE SA on connection tr, no NAT either way",
              brief(ike, "connection", "nat_here", "nat_there", "remote"))
        kids = [c for c in gw.listing("/espgw/child_sas").values() if c.get("remote_id") == "bob@example.net"]
        print(f"info: /espgw/child_sas (bob): {kids}", flush=True)
        check(len(kids) == 1 and kids[0]["mode"] == "transport" and kids[0]["encap"] == "esp"
              and kids[0]["local_ts"] == f"{GW}/32" and kids[0]["remote_ts"] == f"{GUEST}/32",
              "transport", f"espgw: CHILD SA {GW}/32 === {GUEST}/32, transport, encap esp",
              brief(kids, "local_ts", "remote_ts", "mode", "encap", "spi_in", "spi_out"))
        t_in = kids[0]["spi_in"] if kids else 0
        t_out = kids[0]["spi_out"] if kids else 0
        xfrm = guest.run("ip xfrm state").stdout
        check(f"spi {t_in:#010x}" in xfrm and "mode transport" in xfrm and "encap" not in xfrm, "transport",
              "guest kernel: transport-mode XFRM states with espgw's SPIs, no UDP encapsulation",
              " | ".join(ln.strip() for ln in xfrm.splitlines() if ln.startswith("src") or "mode" in ln))
        if ok:
            res = guest.run(f"ping -n -c 10 -i 0.2 -W 2 {GW}", timeout=30)
            missing = sorted(set(range(1, 11)) - ping_seqs(res.stdout))
            summary = [ln for ln in res.stdout.splitlines() if "transmitted" in ln]
            check(not missing, "transport", f"ping {GUEST} -> espgw's own {GW}: every one of 10 answered",
                  f"missing {missing}; {summary[0] if summary else res.stderr.strip()[-200:]}")
            sent, got = ns_recv_guest_send(topo, gwns, guest, GW, 5301, XFER_BYTES, bind=GW)
            check(same_transfer(sent, got, XFER_BYTES), "transport",
                  f"TCP {XFER_BYTES} B guest -> service on espgw's host stack {GW}:5301",
                  f"sent [{sent.strip()[-100:]}] received [{got.strip()[-100:]}]")
        keys = sw.xfrm_keys()  # before the states go
        # bob leaves: the DELETE and espgw's answer must stay IKE in the clear, not be caught
        # by the transport SA that covers all traffic between the two addresses.
        sw.terminate("tr")
        try:
            wait_for(lambda: not gw.listing("/espgw/ike_sas"), 10, "bob's IKE SA to go")
            gone = True
        except TimeoutError:
            gone = False
        check(gone, "transport", "bob terminates: espgw removed his IKE SA")
        pcap = cap.stop()
        print(f"info: on the wire ({nw}): {wire_summary(pcap)}", flush=True)
        ok, detail, n_to, n_from = esp_on_wire(pcap, t_in, t_out, GUEST, GW)
        check(ok and n_to >= 10 and n_from >= 10, "transport",
              "tshark: ESP as IP protocol 50 with espgw's transport SPIs", detail)
        clear = tshark_fields(pcap, f"(icmp || tcp) && ip.addr == {GUEST} && ip.addr == {GW} && !esp",
                              ["frame.number"])
        check(not clear, "transport", "tshark: no cleartext ICMP/TCP between the guest and espgw",
              f"{len(clear)} cleartext packets")
        ok, detail = no_esp_in_udp(pcap, 6)
        check(ok, "transport", "tshark: no ESP in UDP, no NAT keepalives; all 6 IKE messages (with the DELETE "
                               "exchange) in the clear on 500/4500", detail)
        if t_in in keys and t_out in keys:
            rows, bad, err = tshark_esp_icv(pcap, [("IPv4", "*", "*", t_in, GCM, keys[t_in], "NULL", b""),
                                                   ("IPv4", "*", "*", t_out, GCM, keys[t_out], "NULL", b"")],
                                            fields=("icmp.type", "tcp.dstport", "udp.dstport"))
            inner = [r + [""] * (5 - len(r)) for r in rows]
            icmp = {r[2] for r in inner if r[2]}
            n_tcp = sum(1 for r in inner if r[3])
            n_other = sum(1 for r in inner if not r[2] and not r[3])
            check(rows and not bad and icmp == {"0", "8"} and n_tcp and not n_other, "transport",
                  "tshark decrypts every transport ESP packet with the guest's keys, ICV good, ICMP echo and TCP inside",
                  f"{len(rows)} packets, {len(bad)} bad, inner ICMP types {sorted(icmp)}, {n_tcp} TCP, "
                  f"{n_other} other")
        else:
            check(False, "transport", "CHILD SA keys found in the guest's XFRM states", f"have {sorted(hex(k) for k in keys)}")

        if gw.proc.poll() is not None:
            report.failures.append(f"espgw exited ({gw.proc.returncode})")
        else:
            print("info: /espgw/ike:", gw.telemetry("/espgw/ike"), flush=True)
            print("info: drops:", {k: v for k, v in gw.telemetry("/espgw/drops").items() if v}, flush=True)
        guest.stop()
    return report.verdict()


if __name__ == "__main__":
    sys.exit(main())
