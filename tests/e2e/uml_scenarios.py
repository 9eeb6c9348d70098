"""What the tests with a User-Mode Linux peer of espgw share: the network, pings, TCP transfers.

  uml ns (guest GUEST, inner addresses on a dummy)
    -- nat ns (NAT_IN | NAT_OUT, nftables masquerade fully-random)
    -- gw ns (espgw on af_packet: public GW/24 on gp, protected 10.1.0.1/24 on gl)
    -- lan ns (LAN/24, default via 10.1.0.1)
"""

import os
import signal
import socket
import subprocess
import time

import netns_socket
import tcp_xfer
from uml_peer import UmlPeer

GUEST, NAT_IN, NAT_OUT, GW, LAN = "198.51.100.2", "198.51.100.1", "192.0.2.254", "192.0.2.1", "10.1.0.2"


def build(topo, inner, nat_except=None):
    """The four namespaces above and the (not yet started) guest with `inner` (CIDRs) on its
    dummy; the NAT leaves packets from `nat_except` (an address) alone.
    Returns (uml, nat, gwns, lan, gp, gl, guest): gp/gl are espgw's public/protected ports."""
    uml, nat, gwns, lan = (topo.netns(r) for r in ("uml", "nat", "gw", "lan"))
    ua, ub = topo.veth(uml, "ua", nat, "ub")
    nw, gp = topo.veth(nat, "nw", gwns, "gp")
    gl, ll = topo.veth(gwns, "gl", lan, "ll")
    topo.addr(nat, ub, f"{NAT_IN}/24")
    topo.addr(nat, nw, f"{NAT_OUT}/24")
    topo.masquerade(nat, nw, except_src=nat_except)
    topo.addr(lan, ll, f"{LAN}/24")
    topo.route(lan, "default", via="10.1.0.1")
    topo.tx_csum_off(lan, ll)
    topo.tx_csum_off(nat, nw)
    guest = UmlPeer(topo, uml, ua, f"{GUEST}/24", gateway=NAT_IN, inner=inner)
    return uml, nat, gwns, lan, gp, gl, guest


def install_tunnel_pair(guest, to_gw, from_gw, inner, route, lan="10.1.0.0/24"):
    """Replace the guest's XFRM states and policies with one tunnel-mode SA pair (EspSA
    to_gw / from_gw) between its address `inner` and `lan`; `route` is how the guest reaches
    lan (`ip route replace LAN ROUTE`), with `inner` as the source of what it sends there."""
    guest.run("\n".join([
        "set -e",
        "ip xfrm state flush",
        "ip xfrm policy flush",
        to_gw.xfrm_state(),
        from_gw.xfrm_state(),
        to_gw.xfrm_policy(f"{inner}/32", lan, "out"),
        from_gw.xfrm_policy(lan, f"{inner}/32", "in"),
        f"ip route replace {lan} {route} src {inner}",
    ]), check=True)


def until_ok(fn, tries):
    """fn() runs one batch (a ping) and returns its CompletedProcess; called until it exits 0,
    at most `tries` times. Returns (ok, attempts, stdout + stderr of the last batch)."""
    res = None
    for i in range(1, tries + 1):
        res = fn()
        if res.returncode == 0:
            return True, i, res.stdout + res.stderr
    return False, tries, res.stdout + res.stderr


def ping_summary(text):
    lines = [ln for ln in text.splitlines() if "packets transmitted" in ln]
    return lines[-1].strip() if lines else text.strip()[-200:]


def nat_port(topo, nat, src=GUEST, sport=4500):
    """The NAT's current public port for UDP from src:sport (conntrack's reply tuple:
    `src=GW dst=NAT_OUT sport=4500 dport=PORT`), or None when it has no such mapping."""
    for line in topo.conntrack_list(nat).splitlines():
        # Original tuple first, then the reply tuple: src= dst= sport= dport= each.
        tuples = [f for f in line.split() if f.startswith(("src=", "dst=", "sport=", "dport="))]
        if len(tuples) < 8:
            continue
        o = dict(f.split("=", 1) for f in tuples[:4])
        r = dict(f.split("=", 1) for f in tuples[4:8])
        if o["src"] == src and o["sport"] == str(sport):
            return int(r["dport"])
    return None


def icmp_socket(ns):
    """A raw ICMP socket inside namespace `ns`: recv() returns a copy (IPv4 header included)
    of every ICMP packet that namespace receives, e.g. the echo requests of a tunnel ping
    arriving at the LAN host (whose kernel answers them itself)."""
    return netns_socket._in_ns(  # noqa: SLF001 (same harness; netns_socket has no raw ICMP maker)
        ns, lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP))


def echo_request_seq(packet):
    """icmp_seq of an IPv4 ICMP echo request as read from a raw socket, else None."""
    ihl = (packet[0] & 0x0F) * 4
    if len(packet) < ihl + 8 or packet[ihl] != 8:
        return None
    return int.from_bytes(packet[ihl + 6:ihl + 8], "big")


def same_transfer(sent, got, nbytes):
    """Both ends of a tcp_xfer transfer report the same byte count and SHA-256, and `nbytes`."""
    try:
        s, g = tcp_xfer.parse_result(sent), tcp_xfer.parse_result(got)
    except ValueError:
        return False
    return s == g and s[0] == nbytes


def kill_group(proc):
    """The command runs under sh -c: kill its whole process group (spawn gives it its own)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def ns_recv_guest_send(topo, ns, guest, dst, port, nbytes, bind="0.0.0.0", recv_timeout=30,
                       during=None):
    """TCP transfer: receiver in namespace `ns` bound to `bind`, sender in the guest toward
    dst:port; during() (if given) runs while it goes on. Returns (sender's, receiver's output)."""
    receiver = topo.spawn(ns, tcp_xfer.recv_cmd(port, bind), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    time.sleep(0.3)
    sender = guest.run_async(tcp_xfer.send_cmd(dst, port, nbytes, seed=port), timeout=150)
    if during:
        during()
    sent = sender.wait()
    try:
        got, _ = receiver.communicate(timeout=recv_timeout)
    except subprocess.TimeoutExpired:
        kill_group(receiver)
        got, _ = receiver.communicate()
    return sent.stdout + sent.stderr, got


def guest_recv_ns_send(topo, ns, guest, dst, port, nbytes, timeout=150, during=None):
    """TCP transfer: receiver in the guest, sender in namespace `ns` toward dst:port; during()
    (if given) runs while it goes on. Returns (sender's, receiver's output)."""
    receiver = guest.run_async(tcp_xfer.recv_cmd(port), timeout=timeout)
    time.sleep(0.5)
    sender = topo.spawn(ns, tcp_xfer.send_cmd(dst, port, nbytes, seed=port),
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if during:
        during()
    try:
        sent, _ = sender.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(sender)
        sent, _ = sender.communicate()
    got = receiver.wait()
    return sent, got.stdout + got.stderr


def diag(topo, nat, gw, spis, guest_sas):
    """Print what explains a failed check: espgw's log tail, drops, stats and SAs `spis`, the
    guest's SAs (guest_sas() returns the text), the NAT's mappings."""
    print("---- espgw log tail ----")
    print(gw.read_log()[-3000:])
    try:
        print("drops:", {k: v for k, v in gw.telemetry("/espgw/drops").items() if v})
        print("stats:", gw.telemetry("/espgw/stats"))
        for spi in spis:
            print(f"sa {spi:#x}:", gw.sa(spi))
    except Exception as exc:  # noqa: BLE001
        print("telemetry failed:", exc)
    try:
        print(guest_sas())
    except Exception as exc:  # noqa: BLE001
        print("guest xfrm failed:", exc)
    print("conntrack:", topo.conntrack_list(nat).strip())
    print("------------------------", flush=True)
