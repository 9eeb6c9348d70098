#!/usr/bin/python3
"""espgw as the initiator of a site-to-site tunnel, against a real strongSwan responder
(charon 5.9, userspace ESP) for the other site; espgw itself sits behind an nftables NAT:

  LAN ns (10.1.0.2) -- gw ns (espgw: public 192.0.2.1, protected 10.1.0.1)
     -- NAT ns (192.0.2.254 | 198.51.100.1, masquerade) -- site ns (strongSwan 198.51.100.2, net 10.2.0.1/24)

1. start_action = start: espgw initiates by itself; NAT detected on OUR side (nat_here),
   the CHILD SA 10.1.0.0/24 === 10.2.0.0/24 in UDP; every ping both ways answered, the first
   included; espgw rekeys the CHILD SA (rekey_time 6 s, PFS) and the IKE SA (ike_rekey_time
   9 s) itself under a steady ping with nothing lost; it keeps its NAT mapping alive with keepalives although none are configured.
2. The site deletes the IKE SA: espgw notices, removes everything and brings the tunnel up
   again by itself; traffic flows again.
   A second connection (start_action = trap) to the site's lab network waits for traffic: the
   LAN's first packets to it bring that tunnel up on demand.
3. The site's charon dies: espgw's liveness check (dpd_delay 2 s, dpd_timeout 6 s) gives the
   peer up in time and removes its SAs; when the site comes back, espgw reconnects.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from gateway import Gateway  # noqa: E402
from strongswan_client import StrongSwanClient  # noqa: E402
from report import Report, ping_missing  # noqa: E402
from topology import Topology, wait_for  # noqa: E402

SITE, NAT_OUTSIDE, NAT_INSIDE, GW, LAN, SITE_NET = "198.51.100.2", "198.51.100.1", "192.0.2.254", "192.0.2.1", \
    "10.1.0.2", "10.2.0.1"
PSK = "a-long-pre-shared-key-for-the-sites"

ESPGW_IKE = f'''
connections = (
  {{ name = "to-b"; remote_host = "{SITE}"; start_action = "start";
    local_id = "a.example.net"; remote_id = "b.example.net"; psk = "{PSK}";
    proposals = ["aes256gcm16-prfsha384-curve25519"]; dpd_delay = 2; dpd_timeout = 6; ike_rekey_time = 9;
    children = ( {{ name = "nets"; local_ts = ["10.1.0.0/24"]; remote_ts = ["10.2.0.0/24"];
                    esp_proposals = ["aes256gcm16-curve25519"]; rekey_time = 6; life_time = 120; }} ); }},
  {{ name = "lab"; remote_host = "{SITE}"; start_action = "trap";
    local_id = "a-lab.example.net"; remote_id = "b.example.net"; psk = "{PSK}";
    proposals = ["aes128gcm16-prfsha256-curve25519"]; dpd_delay = 2; dpd_timeout = 6;
    children = ( {{ name = "lab"; local_ts = ["10.1.0.0/24"]; remote_ts = ["10.5.0.0/24"];
                    esp_proposals = ["aes128gcm16"]; }} ); }}
);
'''

SITE_SWANCTL = f'''connections {{ lab {{ version = 2
    local_addrs = {SITE}
    proposals = aes128gcm16-prfsha256-curve25519
    local {{ auth = psk
      id = b.example.net }}
    remote {{ auth = psk
      id = a-lab.example.net }}
    children {{ lab {{ local_ts = 10.5.0.0/24
      remote_ts = 10.1.0.0/24
      esp_proposals = aes128gcm16 }} }} }}
  b {{ version = 2
    local_addrs = {SITE}
    proposals = aes256gcm16-prfsha384-curve25519
    local {{ auth = psk
      id = b.example.net }}
    remote {{ auth = psk
      id = a.example.net }}
    children {{ b {{ local_ts = 10.2.0.0/24
      remote_ts = 10.1.0.0/24
      esp_proposals = aes256gcm16-curve25519 }} }} }} }}
secrets {{ ike-1 {{ id-1 = a.example.net
  id-2 = b.example.net
  id-3 = a-lab.example.net
  secret = "{PSK}" }} }}
'''


def established(gw):
    return [s for s in gw.listing("/espgw/ike_sas").values() if s.get("state") == "established"]


def established_to_b(gw):
    return [s for s in established(gw) if s.get("connection") == "to-b"]


def main():
    report = Report()

    def check(ok, what):
        return report.check(ok, "site", what)

    with Topology("esi") as topo:
        site, nat, gwns, lan = (topo.netns(r) for r in ("site", "nat", "gw", "lan"))
        sn, ns_ = topo.veth(site, "sn", nat, "ns")
        nw, gp = topo.veth(nat, "nw", gwns, "gp")
        gl, ll = topo.veth(gwns, "gl", lan, "ll")
        topo.addr(site, sn, f"{SITE}/24")
        topo.addr(site, "lo", f"{SITE_NET}/24")  # the site's network (no dummy devices in this kernel)
        topo.addr(site, "lo", "10.5.0.1/24")      # its lab network, reached on demand
        topo.addr(nat, ns_, f"{NAT_OUTSIDE}/24")
        topo.addr(nat, nw, f"{NAT_INSIDE}/24")
        topo.forwarding(nat)
        topo.masquerade(nat, ns_)  # espgw's side is the inside of this NAT
        topo.addr(lan, ll, f"{LAN}/24")
        topo.route(lan, "default", via="10.1.0.1")
        topo.tx_csum_off(lan, ll)
        topo.tx_csum_off(nat, nw)
        topo.tx_csum_off(site, sn)

        def start_site():
            return StrongSwanClient(topo, site, "b", SITE, GW, PSK, "b.example.net", swanctl_conf=SITE_SWANCTL).start()

        sw = start_site()
        gw = Gateway(topo, gwns, gp, gl, extra=ESPGW_IKE)
        res = gw.check_config()
        check(res.returncode == 0, f"espgw --check accepts the site connection {res.stdout.strip()}{res.stderr[-300:]}")
        gw.start()

        # 1. Up by itself.
        try:
            wait_for(lambda: established(gw) and gw.listing("/espgw/child_sas"), 15, "espgw to bring the tunnel up")
        except TimeoutError as e:
            check(False, f"{e}\n{gw.read_log()[-2500:]}\n{sw.log()[-2500:]}")
            return 1
        s = established(gw)[0]
        # (nat_there is "yes" too: strongSwan's userspace ESP always claims a NAT, faking its NAT-D.)
        check(s["nat_here"] == "yes" and s["remote_id"] == "b.example.net",
              f"espgw initiated; NAT detected on its own side: {s}")
        peers = list(gw.listing("/espgw/peers").values())
        check(len(peers) == 1 and peers[0]["follows"] == "no",
              f"espgw does not follow the peer's address (we are the NATed side, RFC 7296 2.23): {peers}")
        kids = list(gw.listing("/espgw/child_sas").values())
        check(len(kids) == 1 and kids[0]["local_ts"] == "10.1.0.0/24" and kids[0]["remote_ts"] == "10.2.0.0/24"
              and kids[0]["encap"] == "udp", f"CHILD SA 10.1.0.0/24 === 10.2.0.0/24 in UDP: {kids}")
        missing, _ = ping_missing(topo, lan, LAN, SITE_NET, 10)
        check(not missing, f"LAN -> site: every ping answered, the first included (missing {missing})")
        missing, _ = ping_missing(topo, site, SITE_NET, LAN, 10)
        check(not missing, f"site -> LAN: every ping answered (missing {missing})")
        # espgw rekeys its CHILD SA every ~6 s (rekey_time, with PFS): a steady ping across rekeys.
        before = gw.telemetry("/espgw/ike")["child_rekeys"]
        missing, _ = ping_missing(topo, lan, LAN, SITE_NET, 60)
        rekeys = gw.telemetry("/espgw/ike")["child_rekeys"] - before
        ike_rekeys = gw.telemetry("/espgw/ike")["ike_rekeys"]
        check(rekeys >= 1 and ike_rekeys >= 1 and not missing,
              f"{rekeys} CHILD SA and {ike_rekeys} IKE SA rekey(s) started by espgw during a 12 s ping, "
              f"none lost (missing {missing})")
        listed = sw.swanctl("--list-sas", check=False).stdout
        check(listed.count("ESTABLISHED") == 1, f"strongSwan holds exactly one IKE SA after the rekeys:\n{listed}")
        kids = list(gw.listing("/espgw/child_sas").values())
        check(len(kids) == 1, f"old CHILD SAs deleted after each rekey ({len(kids)} left)")
        try:
            wait_for(lambda: gw.telemetry("/espgw/stats")["keepalives_sent"] > 0, 25, "a NAT keepalive from espgw")
            check(True, "espgw sends NAT keepalives on its own (it is the NATed side)")
        except TimeoutError as e:
            check(False, str(e))

        # On demand (start_action = trap): nothing for the lab until the LAN sends it traffic;
        # the first packets start the IKE SA (they are dropped meanwhile), the rest go through.
        check(not any(x.get("connection") == "lab" for x in gw.listing("/espgw/ike_sas").values()),
              "the on-demand connection waits for traffic")
        missing, _ = ping_missing(topo, lan, LAN, "10.5.0.1", 15)
        lab = [x for x in gw.listing("/espgw/ike_sas").values() if x.get("connection") == "lab"]
        check(lab and lab[0]["state"] == "established" and len(missing) <= 5 and 15 not in missing,
              f"traffic to the lab brought its tunnel up on demand (lost while it came up: icmp_seq {missing})")
        missing, _ = ping_missing(topo, lan, LAN, "10.5.0.1", 5)
        check(not missing, f"lab: then every ping answered (missing {missing})")

        # 2. The site deletes the IKE SA: espgw comes back by itself.
        before = gw.telemetry("/espgw/ike")["initiated"]
        sw.swanctl("--terminate", "--ike", "b", "--timeout", "10", check=False)
        try:
            wait_for(lambda: gw.telemetry("/espgw/ike")["initiated"] > before and established_to_b(gw)
                     and gw.listing("/espgw/child_sas"), 20, "espgw to reconnect")
            check(True, "after the site deleted the IKE SA espgw reconnected by itself")
        except TimeoutError as e:
            check(False, f"{e}\n{gw.read_log()[-2000:]}")
        missing, _ = ping_missing(topo, lan, LAN, SITE_NET, 10)
        check(not missing, f"after the reconnect: every ping answered (missing {missing})")

        # 3. The site dies: DPD gives it up within dpd_delay + dpd_timeout; then it comes back.
        sw.proc.kill()  # no goodbye: SIGKILL (SIGTERM would delete its SAs politely)
        sw.proc.wait(5)
        t0 = time.time()
        try:
            wait_for(lambda: not established(gw) and not gw.listing("/espgw/child_sas"), 15, "espgw to give the peer up")
            took = time.time() - t0
            check(took < 12 and gw.telemetry("/espgw/ike")["dead_peers"] >= 1,
                  f"dead site detected and its SAs removed in {took:.1f} s (dpd 2 s + 6 s)")
        except TimeoutError as e:
            check(False, f"{e}\n{gw.read_log()[-2000:]}")
        sw = start_site()
        try:
            wait_for(lambda: established(gw) and gw.listing("/espgw/child_sas"), 25, "espgw to reconnect to the new site")
            missing, _ = ping_missing(topo, lan, LAN, SITE_NET, 10)
            check(not missing, f"the site is back: espgw reconnected, every ping answered (missing {missing})")
        except TimeoutError as e:
            check(False, f"{e}\n{gw.read_log()[-2000:]}")
        print(gw.read_log()[-2500:])

    return report.verdict()


if __name__ == "__main__":
    sys.exit(main())
