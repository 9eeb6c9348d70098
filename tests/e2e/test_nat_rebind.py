#!/usr/bin/python3
"""Not one packet lost when espgw learns a peer's NAT port, when the NAT rebinds, or when a
peer over IPv6 moves to a new address: a real Linux kernel (User-Mode Linux, fixed-key XFRM,
AES-128-GCM in UDP) pings the LAN host through espgw every 100 ms, and every echo request must
be answered.

  v4: uml ns (guest 198.51.100.2, inner 10.2.0.2 and 10.2.0.3)
        -- nat ns (198.51.100.1 | 192.0.2.254, nftables masquerade fully-random)
        -- gw ns (espgw: public 192.0.2.1/24, protected 10.1.0.1/24) -- lan ns (10.1.0.2)
      Two peers behind that NAT (uml-a for inner 10.2.0.2, uml-b for 10.2.0.3), each with
      port = 0 (learned) and its own SA pair.
      1. Port learning: for each peer in turn, the very first echo request through the tunnel
         is answered (icmp_seq=1), and all others. uml-a learns on a gateway that has carried
         nothing yet, uml-b on one whose every path is warm (as on a running gateway).
      2. 20 NAT rebindings (`conntrack -F` in the NAT) during a steady ping of uml-a: none
         lost; espgw counts the mapping changes and ends up sending to the NAT's current port.
  v6: uml ns (guest 2001:db8:ff::2, inner 10.2.0.6) -- gw ns (public 2001:db8:ff::1/64) -- lan ns
      3. The guest moves to a new IPv6 address 5 times during a steady ping (address added,
         XFRM states made again for it with the same keys, the outbound one going on from the
         old one's sequence number, old address removed): none lost; espgw ends up sending to
         the last address.

Only the tunnel is tested: neighbours are resolved before the pings (the guest pings the NAT,
the NAT and the LAN host ask for espgw's addresses, and on a move the guest solicits espgw's
IPv6 address from its new one), and each rebinding or move happens while no packet is in
flight (the flush right after a request has reached the LAN host and been answered; the guest
pauses its ping with SIGSTOP around a move). A lost packet is then espgw's.

Run as root: /usr/bin/python3 tests/e2e/test_nat_rebind.py [--only v4|v6] [--no-neighbour-warmup]
(exit 0 = pass; --no-neighbour-warmup leaves neighbour resolution to the first tunnel packets,
for diagnosis: espgw holds IPv4 packets while ARP resolves, but drops IPv6 ones while NDP does).
"""

import argparse
import dataclasses
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from esp_sa import EspSA  # noqa: E402
from gateway import Gateway, sa_entry  # noqa: E402
from topology import Topology, wait_for  # noqa: E402
from uml_peer import UmlPeer  # noqa: E402
from report import Report, ping_replies  # noqa: E402
from uml_scenarios import (GUEST, GW, LAN, NAT_IN, NAT_OUT, build, diag,  # noqa: E402
                           echo_request_seq, icmp_socket, install_tunnel_pair, nat_port, ping_summary)

INTERVAL = 0.1         # the steady ping: one echo request every 100 ms
FIRST_PINGS = 20       # (1) per peer
FLUSHES = 20           # (2) NAT rebindings
FLUSH_EVERY = 6        # echo requests between two flushes (~0.6 s)
FLUSH_SETTLE = 0.02    # s after a request reached the LAN host: its reply has passed the NAT
FLUSH_LATE = 0.08      # a flush finished later than this after its request may meet the next one
MOVES = 5              # (3) IPv6 address moves
MOVE_EVERY = 15        # echo requests between two moves
PAUSE_GAP = 0.25       # s between two requests that tells the ping was paused (0.1 s otherwise)
FIRST_TRIGGER = 10     # seq of the request after which the first flush / move happens

# IPv4: (peer name, inner address, espgw's inbound SPI, its outbound SPI, reqid in the guest)
PEERS4 = [("uml-a", "10.2.0.2", 0x1001, 0x2001, 1), ("uml-b", "10.2.0.3", 0x1002, 0x2002, 2)]
GUEST6, GW6, INNER6, SPI6_IN, SPI6_OUT = "2001:db8:ff::2", "2001:db8:ff::1", "10.2.0.6", 0x1061, 0x2061
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)


def gcm_pair(spi_in, spi_out, peer, gw, reqid=1, inner=None):
    """The guest's two states (to_gw = espgw's inbound SA, from_gw = its outbound SA), fresh
    keys. inner: the guest's inner address when it differs in family from the outer ones."""
    sel_out = f"src {inner}/32 dst 10.1.0.0/24" if inner else None
    sel_in = f"src 10.1.0.0/24 dst {inner}/32" if inner else None
    return (EspSA(spi_in, peer, gw, key=os.urandom(20), encap=(4500, 4500), reqid=reqid, sel=sel_out),
            EspSA(spi_out, gw, peer, key=os.urandom(20), encap=(4500, 4500), reqid=reqid, sel=sel_in))


def gw_sas(name, peer, to_gw, from_gw, inner):
    common = dict(local_ts="10.1.0.0/24", remote_ts=f"{inner}/32")
    return [sa_entry(f"{name}-in", peer, "in", to_gw.spi, "aes128-gcm", to_gw.key, **common),
            sa_entry(f"{name}-out", peer, "out", from_gw.spi, "aes128-gcm", from_gw.key, **common)]


def steady_ping(count, inner):
    return f"ping -n -i {INTERVAL} -c {count} -W 2 -I {inner} {LAN}"


def mapping_changes(gw):
    return gw.telemetry("/espgw/stats")["mapping_changes"]


def neighbours_known(gw, *addrs):
    """True once espgw has a live MAC for every address (telemetry keys spell '.'/':' as '_')."""
    table = gw.telemetry("/espgw/neighbours")
    return all(table.get(a.replace(".", "_").replace(":", "_"), "unresolved") != "unresolved" for a in addrs)


def wait_neighbours(gw, *addrs):
    try:
        return wait_for(lambda: neighbours_known(gw, *addrs), 5, "espgw's neighbours")
    except TimeoutError:
        return False


def losses(text, firsts=()):
    """(ok, detail) for one steady ping: every request answered? firsts: the seqs of the first
    requests after each rebinding or move, to tell which losses follow one."""
    sent, got, seqs = ping_replies(text)
    if sent is None:
        return False, f"no ping summary: {text.strip()[-300:]}"
    missing = sorted(set(range(1, sent + 1)) - seqs)
    detail = f"{ping_summary(text)}; missing icmp_seq {missing or 'none'}"
    if firsts:
        after = [s for s in missing if s in set(firsts)]
        detail += (f" (of them the first request after a rebinding/move: {after or 'none'}; "
                   f"those first requests: {list(firsts)})")
    return sent == got and not missing, detail


def xfrm_failures(guest):
    return {hex(spi): s for spi, s in guest.xfrm_stats().items() if s["failed"] or s["replay"]}


class LanWatch:
    """The echo requests of the guest's ping as they reach the LAN host, with the kernel's
    arrival time (a raw ICMP socket in the LAN namespace; the LAN kernel answers them)."""

    def __init__(self, lan, inner):
        self.sock = icmp_socket(lan)
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.sock.settimeout(0.2)
        self.src = socket.inet_aton(inner)

    def next(self):
        """(seq, arrival time on the time.time() clock) of the next request; None after 0.2 s."""
        while True:
            try:
                data, anc, _, _ = self.sock.recvmsg(2048, 64)
            except socket.timeout:
                return None
            seq = echo_request_seq(data)
            if seq is None or data[12:16] != self.src:
                continue
            arrived = time.time()
            for level, kind, raw in anc:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(raw) >= 16:
                    sec, nsec = struct.unpack("qq", raw[:16])
                    arrived = sec + nsec / 1e9
            return seq, arrived

    def close(self):
        self.sock.close()


def stats_and_drops(gw, label):
    print(f"info: {label} stats:", gw.telemetry("/espgw/stats"), flush=True)
    print(f"info: {label} drops:", {k: v for k, v in gw.telemetry("/espgw/drops").items() if v}, flush=True)


# ---- IPv4 behind the NAT: port learning and rebinding ---------------------------------------

def scenario_v4(report, warmup):
    with Topology("nrb") as topo:
        uml, nat, gwns, lan, gp, gl, guest = build(topo, [f"{inner}/32" for _, inner, *_ in PEERS4])
        pairs = [gcm_pair(spi_in, spi_out, GUEST, GW, reqid) for _, _, spi_in, spi_out, reqid in PEERS4]
        sas = []
        for (name, inner, *_), (to_gw, from_gw) in zip(PEERS4, pairs):
            sas += gw_sas(name, name, to_gw, from_gw, inner)
        gw = Gateway(topo, gwns, gp, gl, sas=sas,
                     peers=[{"name": name, "address": NAT_OUT, "port": 0} for name, *_ in PEERS4])
        gw.start()
        t0 = time.monotonic()
        guest.start()
        print(f"info: v4 guest booted in {time.monotonic() - t0:.1f} s", flush=True)
        lines = ["set -e", "ip xfrm state flush", "ip xfrm policy flush"]
        for (_, inner, *_), (to_gw, from_gw) in zip(PEERS4, pairs):
            lines += [to_gw.xfrm_state(), from_gw.xfrm_state(),
                      to_gw.xfrm_policy(f"{inner}/32", "10.1.0.0/24", "out"),
                      from_gw.xfrm_policy("10.1.0.0/24", f"{inner}/32", "in")]
        lines.append(f"ip route replace 10.1.0.0/24 via {NAT_IN}")  # each ping picks its source (-I)
        guest.run("\n".join(lines), check=True)
        spis = [spi for _, _, spi_in, spi_out, _ in PEERS4 for spi in (spi_in, spi_out)]

        def guest_sas():
            return "guest xfrm: " + str({hex(k): v for k, v in guest.xfrm_stats().items()})

        diagnosed = set()

        def check(ok, label, what, detail=""):
            # espgw's state once per group of checks (it is long).
            def once():
                if label not in diagnosed:
                    diagnosed.add(label)
                    diag(topo, nat, gw, spis, guest_sas)
            return report.check(ok, label, what, detail, once)

        if warmup:
            # Neighbours only, nothing through the tunnel: the guest and the NAT, the NAT and
            # espgw (espgw learns whoever asks for its address), the LAN host and espgw.
            guest.run(f"ping -n -c 1 -W 1 {NAT_IN}", timeout=10)
            topo.run(nat, ["ping", "-n", "-c", "1", "-W", "1", GW], check=False)
            topo.run(lan, ["ping", "-n", "-c", "1", "-W", "1", "10.1.0.1"], check=False)
            check(wait_neighbours(gw, LAN, NAT_OUT), "v4 warm-up",
                  "espgw has resolved the LAN host and the NAT (ARP) before the first tunnel packet",
                  str(gw.telemetry("/espgw/neighbours")))

        # (1) Port learning, per peer: the first packet espgw gets from it carries the echo
        # request; the reply needs the port that very packet has taught.
        for (name, inner, _, spi_out, _), when in zip(PEERS4, ("gateway cold", "gateway warm")):
            label = f"v4 port learning {name} ({when})"
            before = mapping_changes(gw)
            res = guest.run(steady_ping(FIRST_PINGS, inner), timeout=FIRST_PINGS * INTERVAL + 30)
            text = res.stdout + res.stderr
            _, _, seqs = ping_replies(text)
            out_sa = gw.sa(spi_out)["out"]
            learned = (f"mapping_changes {before} -> {mapping_changes(gw)}, outbound SA peer "
                       f"{out_sa.get('peer')}, NAT port {nat_port(topo, nat)}")
            check(1 in seqs, label, "the very first echo request through the tunnel is answered (icmp_seq=1)",
                  f"{ping_summary(text)}; {learned}")
            ok, detail = losses(text)
            check(ok, label, f"all {FIRST_PINGS} echo requests answered", detail)
            guest_in = guest.xfrm_stats().get(spi_out, {})
            drops = {k: v for k, v in out_sa.get("drops_by_reason", {}).items() if v}
            print(f"info: {name}: espgw's outbound SA: seq_out {out_sa.get('seq_out')}, packets "
                  f"{out_sa.get('packets')}, drops {drops or 0}; the guest decrypted {guest_in.get('packets')}",
                  flush=True)

        # (2) NAT rebindings (uml-a): flush the NAT's mappings right after a request has been
        # answered, so that the next request leaves the NAT from a new port.
        name, inner, _, spi_out, _ = PEERS4[0]
        before = mapping_changes(gw)
        count = FIRST_TRIGGER + FLUSHES * FLUSH_EVERY
        watch = LanWatch(lan, inner)
        job = guest.run_async(steady_ping(count, inner), timeout=count * INTERVAL + 40)
        flushes = []  # (seq of the request before the flush, s from its arrival to the flush's end)
        next_at = FIRST_TRIGGER
        while not job.done():
            got = watch.next()
            if not got or len(flushes) == FLUSHES or got[0] < next_at:
                continue
            seq, arrived = got
            time.sleep(max(0.0, arrived + FLUSH_SETTLE - time.time()))
            topo.conntrack_flush(nat)
            flushes.append((seq, time.time() - arrived))
            next_at = seq + FLUSH_EVERY
        watch.close()
        res = job.wait()
        text = res.stdout + res.stderr
        late = [(s, round(d, 3)) for s, d in flushes if d > FLUSH_LATE]
        check(len(flushes) == FLUSHES and not late, "v4 rebinding harness",
              f"{FLUSHES} flushes, each between a reply and the next request",
              f"{len(flushes)} flushes after icmp_seq {[s for s, _ in flushes]}, slowest "
              f"{max((d for _, d in flushes), default=0) * 1000:.0f} ms after its request; late: {late}")
        ok, detail = losses(text, [s + 1 for s, _ in flushes])
        check(ok, "v4 rebinding", f"{name}: no echo request lost over {len(flushes)} NAT rebindings "
              "(conntrack -F)", detail)
        after = mapping_changes(gw)
        check(after - before >= len(flushes), "v4 rebinding", "espgw counted a mapping change per rebinding",
              f"mapping_changes {before} -> {after}")
        port = nat_port(topo, nat)
        peer = gw.sa(spi_out)["out"].get("peer")
        check(peer == f"{NAT_OUT}:{port}", "v4 rebinding", "espgw's outbound SA goes to the NAT's current mapping",
              f"SA peer {peer}, NAT mapping {NAT_OUT}:{port}")
        bad = xfrm_failures(guest)
        check(not bad, "v4", "guest kernel: no integrity or replay failures", str(bad or ""))

        if gw.proc.poll() is not None:
            report.failures.append(f"v4: espgw exited ({gw.proc.returncode})")
        else:
            stats_and_drops(gw, "v4")
        guest.stop()


# ---- IPv6: the peer moves to a new address --------------------------------------------------

def move_script(old, new, to_gw, from_gw, ping_pid_file, warmup):
    """Guest shell script moving the tunnel from address `old` to `new` with the ping paused.
    XFRM states cannot change address, so they are made again with the same keys, and the
    outbound one (espgw's inbound SA) goes on from the old one's sequence number.
    Returns (script, new to_gw, new from_gw)."""
    new_to, new_from = dataclasses.replace(to_gw, src=new), dataclasses.replace(from_gw, dst=new)
    lines = [
        f"P=$(cat {ping_pid_file})",
        "kill -STOP $P || exit 3",
        "trap 'kill -CONT $P' EXIT",
        "sleep 0.2  # the reply to the last request before the pause arrives",
        "set -e",
        f"ip -6 addr add {new}/64 dev vec0 nodad",
    ]
    if warmup:
        # Solicit espgw's address from the new one: espgw learns the new address's MAC from
        # the solicitation (it drops the echo itself; only the NDP exchange matters).
        lines += [f"ip -6 neigh del {GW6} dev vec0 || true",
                  f"ping -6 -n -c 1 -W 0.3 -I {new} {GW6} >/dev/null 2>&1 || true"]
    lines += [
        f"O=$(ip -s xfrm state get src {old} dst {GW6} proto esp spi {to_gw.spi:#x}"
        " | sed -n 's/.*oseq 0x\\([0-9a-f]*\\).*/\\1/p')",
        '[ -n "$O" ]',
        f"ip xfrm state delete src {old} dst {GW6} proto esp spi {to_gw.spi:#x}",
        f"ip xfrm state delete src {GW6} dst {old} proto esp spi {from_gw.spi:#x}",
        f"{new_to.xfrm_state()} replay-oseq $((0x$O))",
        new_from.xfrm_state(),
        new_to.xfrm_policy(f"{INNER6}/32", "10.1.0.0/24", "out").replace("policy add", "policy update"),
        new_from.xfrm_policy("10.1.0.0/24", f"{INNER6}/32", "in").replace("policy add", "policy update"),
        f"ip -6 addr del {old}/64 dev vec0",
        'echo "oseq 0x$O"',
    ]
    return "\n".join(lines), new_to, new_from


def scenario_v6(report, warmup):
    with Topology("nr6") as topo:
        uml, gwns, lan = (topo.netns(r) for r in ("uml", "gw", "lan"))
        ua, gp = topo.veth(uml, "ua", gwns, "gp")
        gl, ll = topo.veth(gwns, "gl", lan, "ll")
        topo.addr(lan, ll, f"{LAN}/24")
        topo.route(lan, "default", via="10.1.0.1")
        topo.tx_csum_off(lan, ll)
        guest = UmlPeer(topo, uml, ua, f"{GUEST6}/64", inner=[f"{INNER6}/32"], name="peer6")
        to_gw, from_gw = gcm_pair(SPI6_IN, SPI6_OUT, GUEST6, GW6, inner=INNER6)
        gw = Gateway(topo, gwns, gp, gl, peers=[{"name": "uml6", "address": GUEST6}],
                     sas=gw_sas("gcm6", "uml6", to_gw, from_gw, INNER6), public6=f"{GW6}/64")
        gw.start()
        t0 = time.monotonic()
        guest.start()
        print(f"info: v6 guest booted in {time.monotonic() - t0:.1f} s", flush=True)
        install_tunnel_pair(guest, to_gw, from_gw, INNER6, "dev vec0")

        def diag6():
            print("---- espgw log tail ----")
            print(gw.read_log()[-3000:])
            try:
                print("drops:", {k: v for k, v in gw.telemetry("/espgw/drops").items() if v})
                print("stats:", gw.telemetry("/espgw/stats"))
                for spi in (SPI6_IN, SPI6_OUT):
                    print(f"sa {spi:#x}:", gw.sa(spi))
                print("neighbours:", gw.telemetry("/espgw/neighbours"))
                print("guest xfrm:", {hex(k): v for k, v in guest.xfrm_stats().items()})
                print("guest:", guest.run("ip -6 addr show dev vec0; ip -6 neigh; ip xfrm policy").stdout)
            except Exception as exc:  # noqa: BLE001
                print("diagnostics failed:", exc)
            print("------------------------", flush=True)

        diagnosed = set()

        def check(ok, label, what, detail=""):
            def once():  # espgw's state once per group of checks (it is long)
                if label not in diagnosed:
                    diagnosed.add(label)
                    diag6()
            return report.check(ok, label, what, detail, once)

        if warmup:
            guest.run(f"ping -6 -n -c 1 -W 0.5 {GW6}", timeout=10)  # NDP both ways; espgw drops the echo
            topo.run(lan, ["ping", "-n", "-c", "1", "-W", "1", "10.1.0.1"], check=False)
            check(wait_neighbours(gw, LAN, GUEST6), "v6 warm-up",
                  "espgw has resolved the LAN host (ARP) and the guest (NDP) before the first tunnel packet",
                  str(gw.telemetry("/espgw/neighbours")))

        # (3) Moves during a steady ping, after every MOVE_EVERY requests.
        before = mapping_changes(gw)
        count = FIRST_TRIGGER + MOVES * MOVE_EVERY
        pid_file = "/run/steady-ping.pid"  # the guest's tmpfs
        watch = LanWatch(lan, INNER6)
        job = guest.run_async(f"{steady_ping(count, INNER6)} & echo $! > {pid_file}; wait $!",
                              timeout=count * INTERVAL + 60)
        moves = []  # [new address, seq of the first request after the move, (rc, guest output)]
        addr, next_at, cur_to, cur_from = GUEST6, FIRST_TRIGGER, to_gw, from_gw
        prev = None  # arrival time of the previous request
        while not job.done():
            got = watch.next()
            if not got:
                continue
            seq, arrived = got
            # The ping pauses for a move: the first request after a gap is the first after it.
            if moves and moves[-1][1] is None and prev and arrived - prev > PAUSE_GAP:
                moves[-1][1] = seq
            prev = arrived
            if len(moves) == MOVES or seq < next_at:
                continue
            new = f"2001:db8:ff::{0x10 + len(moves):x}"
            script, cur_to, cur_from = move_script(addr, new, cur_to, cur_from, pid_file, warmup)
            res = guest.run(script, timeout=30)
            moves.append([new, None, (res.returncode, (res.stdout + res.stderr).strip())])
            addr, next_at = new, seq + MOVE_EVERY
        watch.close()
        res = job.wait()
        text = res.stdout + res.stderr
        failed = [(a, out) for a, _, out in moves if out[0] != 0]
        check(len(moves) == MOVES and not failed and all(s for _, s, _ in moves), "v6 move harness",
              f"{MOVES} moves of the guest, each followed by echo requests",
              str([(a, s, out[1]) for a, s, out in moves]))
        ok, detail = losses(text, [s for _, s, _ in moves if s])
        check(ok, "v6 move", f"no echo request lost over {len(moves)} moves of the peer to a new IPv6 address",
              detail)
        after = mapping_changes(gw)
        check(after - before >= len(moves), "v6 move", "espgw counted a mapping change per move",
              f"mapping_changes {before} -> {after}")
        peer = gw.sa(SPI6_OUT)["out"].get("peer")
        check(peer == f"[{addr}]:4500", "v6 move", "espgw's outbound SA goes to the guest's last address",
              f"SA peer {peer}, guest at [{addr}]:4500")
        bad = xfrm_failures(guest)
        check(not bad, "v6", "guest kernel: no integrity or replay failures", str(bad or ""))

        if gw.proc.poll() is not None:
            report.failures.append(f"v6: espgw exited ({gw.proc.returncode})")
        else:
            stats_and_drops(gw, "v6")
        guest.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=("v4", "v6"), help="run one scenario")
    parser.add_argument("--no-neighbour-warmup", action="store_true",
                        help="let the first tunnel packets resolve the neighbours (diagnosis)")
    args = parser.parse_args()
    report = Report()
    if args.only in (None, "v4"):
        scenario_v4(report, not args.no_neighbour_warmup)
    if args.only in (None, "v6"):
        scenario_v6(report, not args.no_neighbour_warmup)
    return report.verdict()


if __name__ == "__main__":
    sys.exit(main())
