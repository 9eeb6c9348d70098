#!/usr/bin/python3
"""IKEv2 road warriors through espgw, against real strongSwan clients (charon 5.9, userspace
ESP) behind an nftables masquerade NAT with random ports:

  client ns a (198.51.100.2), b (198.51.101.2) -- NAT ns (198.51.100.1, 198.51.101.1 | 192.0.2.254)
  -- gw ns (espgw on
  af_packet: public 192.0.2.1/24, protected 10.1.0.1/24) -- LAN ns (10.1.0.2)

1. PSK, AES-GCM-128 + Curve25519: IKE_SA_INIT, NAT detected, IKE_AUTH, a virtual IP from
   espgw's pool, the CHILD SA installed in espgw's data plane as ESP in UDP; then every one
   of the pings to the LAN host (the first included) is answered, and a multi-MB TCP transfer
   goes through whole both ways.
2. A second client behind the same NAT at the same time: its own virtual IP and traffic.
3. The client rekeys its CHILD SA (make-before-break) during a ping: no echo lost; then its
   IKE SA: the CHILD SA moves to the new IKE SA and traffic goes on.
4. The client deletes its IKE SA: espgw removes the IKE SA, the CHILD SAs and the peer.
5. A client with a wrong PSK is refused (AUTHENTICATION_FAILED), nothing installed.
"""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from capture import Capture  # noqa: E402
from gateway import Gateway  # noqa: E402
from strongswan_client import StrongSwanClient  # noqa: E402
from tcp_xfer import parse_result, recv_cmd, send_cmd  # noqa: E402
from report import Report, ping_missing, ping_replies  # noqa: E402
from topology import Topology, wait_for  # noqa: E402

CLIENT_A, CLIENT_B, NAT_IN, NAT_OUT, GW, LAN = "198.51.100.2", "198.51.101.2", "198.51.100.1", "192.0.2.254", \
    "192.0.2.1", "10.1.0.2"
PSK = "a-long-pre-shared-key-for-the-road-warriors"
POOL = "10.3.0.0/24"

IKE_CONFIG = f'''
pools = ( {{ name = "rw"; range = "{POOL}"; }} );
connections = (
  {{ name = "rw"; local_id = "gw.example.net"; remote_id = "*@example.net"; psk = "{PSK}";
    proposals = ["aes128gcm16-prfsha256-curve25519", "aes256-sha256-modp2048"];
    pools = ["rw"]; dns = ["10.1.0.53"]; dpd_delay = 30;
    children = ( {{ name = "lan"; local_ts = ["10.1.0.0/24"]; esp_proposals = ["aes128gcm16", "aes256-sha256"]; }} );
  }}
);
'''


def new_sa_after_delete(pcap, gw, client, spi):
    """From a capture between the NAT and espgw: (ok, what) for 'the first ESP packet espgw
    sent with `spi` follows the client's INFORMATIONAL request that came after espgw's
    CREATE_CHILD_SA response'."""
    res = subprocess.run(["tshark", "-n", "-r", pcap, "-T", "fields", "-E", "occurrence=f", "-e", "frame.number",
                          "-e", "ip.src", "-e", "isakmp.exchangetype", "-e", "isakmp.flag_r", "-e", "esp.spi"],
                         capture_output=True, text=True, timeout=60)
    answer = delete = first_new = None
    old_after_answer = 0
    for line in res.stdout.splitlines():
        f = (line.split("\t") + [""] * 5)[:5]
        frame, src, exch, resp, esp_spi = int(f[0]), f[1], f[2], f[3], f[4]
        if src == gw and exch == "36" and resp in ("1", "True") and answer is None:
            answer = frame
        elif src == client and exch == "37" and resp not in ("1", "True") and answer and delete is None:
            delete = frame
        elif src == gw and esp_spi:
            if int(esp_spi, 16) == spi:
                first_new = first_new or frame
            elif answer and first_new is None:
                old_after_answer += 1
    what = (f"CREATE_CHILD_SA answer in frame {answer}, client's INFORMATIONAL in {delete}, first ESP on the new "
            f"SA in {first_new}, {old_after_answer} ESP packets on the old SA after the answer")
    ok = answer is not None and delete is not None and first_new is not None and first_new > delete
    return ok, what if res.returncode == 0 else what + f" (tshark: {res.stderr.strip()[-300:]})"


def main():
    report = Report()

    def check(ok, what):
        return report.check(ok, "ikev2", what)

    with Topology("eik") as topo:
        client, client_b, nat, gwns, lan = (topo.netns(r) for r in ("cli", "clib", "nat", "gw", "lan"))
        cn, nc = topo.veth(client, "cn", nat, "nc")
        cbn, ncb = topo.veth(client_b, "cb", nat, "nb")
        nw, gp = topo.veth(nat, "nw", gwns, "gp")
        gl, ll = topo.veth(gwns, "gl", lan, "ll")
        topo.addr(client, cn, f"{CLIENT_A}/24")
        topo.route(client, "default", via=NAT_IN)
        topo.addr(client_b, cbn, f"{CLIENT_B}/24")
        topo.route(client_b, "default", via="198.51.101.1")
        topo.addr(nat, nc, f"{NAT_IN}/24")
        topo.addr(nat, ncb, "198.51.101.1/24")
        topo.addr(nat, nw, f"{NAT_OUT}/24")
        topo.forwarding(nat)
        topo.masquerade(nat, nw)
        topo.addr(lan, ll, f"{LAN}/24")
        topo.route(lan, "default", via="10.1.0.1")
        # Kernels sending toward espgw's af_packet ports fill in their checksums themselves.
        topo.tx_csum_off(lan, ll)
        topo.tx_csum_off(nat, nw)
        topo.tx_csum_off(client, cn)
        topo.tx_csum_off(client_b, cbn)

        gw = Gateway(topo, gwns, gp, gl, extra=IKE_CONFIG + "keepalive_interval = 0;")
        res = gw.check_config()
        check(res.returncode == 0, f"espgw --check accepts the IKE config {res.stdout.strip()[-200:]}{res.stderr.strip()[-300:]}")
        gw.start()

        a = StrongSwanClient(topo, client, "a", CLIENT_A, GW, PSK, "alice@example.net").start()
        r = a.initiate()
        check(r.returncode == 0, "client a: IKE SA and CHILD SA established" +
              ("" if r.returncode == 0 else f"\n{r.stdout[-2000:]}\n{a.log()[-3000:]}\n{gw.read_log()[-3000:]}"))
        vip_a = a.vip()
        check(vip_a is not None and vip_a.startswith("10.3.0."), f"client a got a virtual IP from the pool: {vip_a}")
        ike_sas = gw.listing("/espgw/ike_sas")
        print(f"/espgw/ike_sas: {ike_sas}")
        mine = [s for s in ike_sas.values() if s.get("remote_id") == "alice@example.net"]
        check(len(mine) == 1 and mine[0]["state"] == "established" and mine[0]["nat_there"] == "yes"
              and mine[0]["virtual_ips"] == vip_a, "espgw: one established IKE SA for alice, NAT in front of her, her virtual IP")
        children = gw.listing("/espgw/child_sas")
        print(f"/espgw/child_sas: {children}")
        check(any(c.get("encap") == "udp" and c.get("remote_ts") == f"{vip_a}/32" and c.get("local_ts") == "10.1.0.0/24"
                  for c in children.values()), "espgw: CHILD SA 10.1.0.0/24 === vip/32 in UDP")

        if vip_a:
            missing, summary = ping_missing(topo, client, vip_a, LAN, 20)
            check(not missing, f"client a: all 20 pings answered, the first included (missing: {missing}) {summary}")
            # Multi-MB TCP both ways.
            for direction, (rx_ns, rx_bind, tx_ns, dst) in {
                    "client -> LAN": (lan, LAN, client, LAN), "LAN -> client": (client, vip_a, lan, vip_a)}.items():
                rx = topo.spawn(rx_ns, ["sh", "-c", recv_cmd(5001, rx_bind)], stdout=subprocess.PIPE, text=True)
                tx = topo.run(tx_ns, ["sh", "-c", send_cmd(dst, 5001, 8 * 1024 * 1024)], check=False, timeout=120)
                out, _ = rx.communicate(timeout=120)
                ok = tx.returncode == 0 and out and parse_result(out) == parse_result(tx.stdout)
                check(ok, f"TCP {direction}: 8 MiB arrived whole ({tx.stdout.strip()} / {out.strip() if out else ''})")

        # A second client behind the same NAT.
        b = StrongSwanClient(topo, client_b, "b", CLIENT_B, GW, PSK, "bob@example.net").start()
        r = b.initiate()
        check(r.returncode == 0, "client b: established" + ("" if r.returncode == 0 else f"\n{b.log()[-2000:]}"))
        vip_b = b.vip()
        check(vip_b is not None and vip_b != vip_a, f"client b has its own virtual IP: {vip_b}")
        if vip_b and vip_a:
            for who, ns, vip in (("a", client, vip_a), ("b", client_b, vip_b)):
                missing, summary = ping_missing(topo, ns, vip, LAN, 10)
                check(not missing, f"client {who} with both connected: all 10 pings answered ({missing}) {summary}")

        # CHILD SA rekey by the client during a ping every 2 ms, so that packets cross every
        # step of the exchange (a reply sent on the new SA before the client has read our
        # answer would be lost): nothing lost.
        if vip_a:
            n = 1500
            cap = Capture(topo, nat, nw, "udp port 4500").start()
            pinger = topo.spawn(client, ["ping", "-n", "-q", "-c", str(n), "-i", "0.002", "-W", "2", "-I", vip_a, LAN],
                                stdout=subprocess.PIPE, text=True)
            time.sleep(1.0)
            rk = a.swanctl("--rekey", "--child", "a", check=False)
            out, _ = pinger.communicate(timeout=30)
            pcap = cap.stop()
            sent, got, _ = ping_replies(out)
            missing = [] if sent == n and got == n else [f"{got} of {sent} answered"]
            stats = gw.telemetry("/espgw/ike")
            check(rk.returncode == 0 and stats.get("child_rekeys", 0) >= 1,
                  f"client a rekeyed its CHILD SA; espgw counted it ({stats.get('child_rekeys')})")
            check(not missing, f"none of {n} pings (one every 2 ms) lost across the rekey {missing}")
            time.sleep(0.5)
            kids = [c for c in gw.listing("/espgw/child_sas").values() if c.get("remote_ts") == f"{vip_a}/32"]
            check(len(kids) == 1, f"the old CHILD SA was deleted after the rekey ({len(kids)} left for a)")
            # On the wire (tshark): espgw, the rekey's responder, sends nothing on its new
            # outbound SA until the client has deleted the old one, i.e. has read our answer.
            if len(kids) == 1:
                new_out = kids[0]["spi_out"]
                ok, what = new_sa_after_delete(pcap, GW, NAT_OUT, new_out)
                check(ok, f"espgw sent on its new outbound SA {new_out:#010x} only after the client's DELETE: {what}")

        # The client rekeys its IKE SA: the CHILD SA stays and carries on.
        if vip_a:
            rk = a.swanctl("--rekey", "--ike", "a", check=False)
            try:
                wait_for(lambda: gw.telemetry("/espgw/ike").get("ike_rekeys", 0) >= 1, 5, "the IKE SA rekey")
                wait_for(lambda: len([x for x in gw.listing("/espgw/ike_sas").values()
                                      if x.get("remote_id") == "alice@example.net"]) == 1, 5, "the old IKE SA to go")
                ok = rk.returncode == 0
            except TimeoutError:
                ok = False
            check(ok, "client a rekeyed its IKE SA; espgw has one IKE SA for alice again")
            missing, summary = ping_missing(topo, client, vip_a, LAN, 10)
            check(not missing, f"after the IKE SA rekey: all 10 pings answered ({missing}) {summary}")
            r = a.swanctl("--list-sas", "--ike", "a", check=False)
            check("ESTABLISHED" in r.stdout and "INSTALLED" in r.stdout,
                  "strongSwan lists the new IKE SA ESTABLISHED with its CHILD SA INSTALLED")

        # The client leaves: everything of it goes.
        a.terminate()
        try:
            wait_for(lambda: not any(s.get("remote_id") == "alice@example.net"
                                     for s in gw.listing("/espgw/ike_sas").values()), 5, "alice's IKE SA to go")
            ok = not any(c.get("remote_id") == "alice@example.net" for c in gw.listing("/espgw/child_sas").values())
            check(ok, "client a deleted its IKE SA: espgw removed it and its CHILD SAs")
        except TimeoutError as e:
            check(False, str(e))

        # A wrong key (from a's namespace: a's charon goes first, it holds the IKE ports there).
        a.stop()
        bad = StrongSwanClient(topo, client, "c", CLIENT_A, GW, "not-the-right-key-at-all-no", "mallory@example.net").start()
        r = bad.initiate(timeout=10)
        before = gw.telemetry("/espgw/ike")
        check(r.returncode != 0 and before.get("auth_failed", 0) >= 1,
              f"a client with the wrong PSK is refused (auth_failed {before.get('auth_failed')})")
        check(not any(s.get("remote_id") == "mallory@example.net" for s in gw.listing("/espgw/ike_sas").values()),
              "nothing kept for the refused client")
        print(gw.read_log()[-2500:])

    return report.verdict()


if __name__ == "__main__":
    sys.exit(main())
