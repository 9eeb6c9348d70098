#!/usr/bin/python3
"""/espgw/sas (and /espgw/policies) with more than one telemetry reply holds: a concentrator's worth.

  espgw (af_packet) with 170 road warriors' SA pairs (340 SAs, a /32 each in 10.100-10.101.x.y)

DPDK's reply buffer (16 KB) used to cut the list silently after about 138 SAs. Now every page
says total, offset and count, and next_offset while there is more; walking the pages from 0
finds every SA exactly once, with its name, and /espgw/sa,<spi> still gives one in detail.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from gateway import Gateway, sa_entry  # noqa: E402
from test_scapy_peer import NAT_OUT, nat_topology  # noqa: E402
from topology import Topology  # noqa: E402

PAIRS = 170


def main():
    failures = []
    key = bytes(range(20))
    sas, expected = [], {}
    for k in range(PAIRS):
        remote = f"10.{100 + k // 128}.{(k * 2) % 256}.{k % 250 + 1}/32"
        for direction, spi in (("in", 0x10000 + k), ("out", 0x20000 + k)):
            name = f"rw{k}-{direction}"
            sas.append(sa_entry(name, "site", direction, spi, "aes128-gcm", key,
                                local_ts="10.1.0.0/24", remote_ts=remote))
            expected[(direction, spi)] = name
    with Topology("ets") as topo:
        peer, nat, gwns, lan, nw, gp, gl, ll = nat_topology(topo)
        gw = Gateway(topo, gwns, gp, gl, peers=[{"name": "site", "address": NAT_OUT, "port": 0}], sas=sas,
                     extra="max_sas = 1024;")
        gw.start()
        stats = gw.telemetry("/espgw/stats")
        if stats.get("sas") != 2 * PAIRS:
            failures.append(f"/espgw/stats sas = {stats.get('sas')}, configured {2 * PAIRS}")

        seen, offset, pages = {}, 0, 0
        while True:
            page = gw.telemetry(f"/espgw/sas,{offset}" if offset else "/espgw/sas")
            pages += 1
            entries = {k: v for k, v in page.items() if isinstance(v, dict)}
            if page.get("total") != 2 * PAIRS or page.get("offset") != offset or page.get("count") != len(entries):
                failures.append(f"page {pages}: total {page.get('total')} offset {page.get('offset')} "
                                f"count {page.get('count')} with {len(entries)} entries")
                break
            for v in entries.values():
                k = (v["direction"], v["spi"])
                if k in seen:
                    failures.append(f"SA {k} on two pages")
                seen[k] = v.get("name")
            if "next_offset" not in page:
                break
            if page["next_offset"] != offset + len(entries) or not entries or pages > 50:
                failures.append(f"page {pages}: next_offset {page['next_offset']} after {offset} + {len(entries)}")
                break
            offset = page["next_offset"]
        print(f"/espgw/sas: {len(seen)} SAs in {pages} pages")
        if seen != expected:
            missing = set(expected) - set(seen)
            wrong = {k: (seen[k], expected[k]) for k in set(seen) & set(expected) if seen[k] != expected[k]}
            failures.append(f"walked {len(seen)} SAs of {len(expected)}: missing {sorted(missing)[:5]}..., "
                            f"wrong names {list(wrong.items())[:5]}")
        if pages < 2:
            failures.append("one page held every SA: the test no longer crosses the reply limit")
        # The other lists page the same way: a policy per outbound SA, over more than one page.
        first = gw.telemetry("/espgw/policies")
        policies = gw.listing("/espgw/policies")
        spis = sorted(v.get("outbound_spi", 0) for v in policies.values())
        if "next_offset" not in first or first.get("total") != PAIRS:
            failures.append(f"/espgw/policies first page: total {first.get('total')}, next_offset "
                            f"{first.get('next_offset')} (expected {PAIRS} over several pages)")
        if spis != [0x20000 + k for k in range(PAIRS)]:
            failures.append(f"/espgw/policies walked: {len(policies)} policies, outbound SPIs {spis[:5]}...")
        print(f"/espgw/policies: {len(policies)} policies, first page {first.get('count')}")
        peers = gw.listing("/espgw/peers")
        if list(peers) != ["site"] or peers["site"].get("sas") != 2 * PAIRS:
            failures.append(f"/espgw/peers: {peers}")
        detail = gw.sa(0x20000 + PAIRS - 1).get("out", {})
        if detail.get("name") != f"rw{PAIRS - 1}-out" or "selectors" not in detail:
            failures.append(f"/espgw/sa detail: {detail}")
        gw.stop()

    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
