#!/usr/bin/python3
"""perf/pktgen/espgw_replay.lua run by a real Lua interpreter against a stand-in for Pktgen's
Lua API (fake_pktgen/Pktgen.lua: two ports through a pretend gateway of known capacity), since
Pktgen-DPDK is not in Debian and this machine has no NIC. The script must sweep every rate step
in both directions, report each step's sent, expected, received and loss as the capacity
implies, and name as its result the highest step whose loss is at or under 0.1 % (RFC 2544
style), including a step whose loss is just under the limit."""

import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "..", "perf", "pktgen", "espgw_replay.lua")
RATES = [5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]
LINE = 10_000_000          # packets per second at 100 %
SHARE = 64 / 67            # the ESP share the script is written for (espgen's default mix)
DECAP_CAP = 3_500_000      # loss from 40 % on
ENCAP_CAP = 4_996_000      # 50 % loses 0.08 %: still under the limit; 60 % loses more


def expected(rate, cap, share):
    sent = LINE * rate // 100 * 10
    got = min(int(sent * share), cap * 10)
    expect = sent * share
    return sent, got, max(0.0, (expect - got) / expect)


def main():
    env = dict(os.environ, FAKE_LINE_PPS=str(LINE), FAKE_DECAP_PPS=str(DECAP_CAP), FAKE_ENCAP_PPS=str(ENCAP_CAP),
               FAKE_DECAP_SHARE=repr(SHARE))
    res = subprocess.run(["lua5.4", SCRIPT], cwd=os.path.join(HERE, "fake_pktgen"), env=env,
                         capture_output=True, text=True, timeout=60)
    print(res.stdout + res.stderr)
    problems = []
    if res.returncode != 0:
        problems.append(f"lua5.4 exited {res.returncode}")
    steps = re.findall(r"^(decap|encap)\s+rate\s+(\d+)%: sent\s+(\d+), expected out\s+(\d+), out\s+(\d+) "
                       r"\(([\d.]+) Mpps\), loss ([\d.]+)%$", res.stdout, re.M)
    for direction, cap, share in (("decap", DECAP_CAP, SHARE), ("encap", ENCAP_CAP, 1.0)):
        mine = [s for s in steps if s[0] == direction]
        if [int(s[1]) for s in mine] != RATES:
            problems.append(f"{direction}: steps {[s[1] for s in mine]}, expected {RATES}")
            continue
        for _, rate, sent, expect, got, mpps, loss in mine:
            want_sent, want_got, want_loss = expected(int(rate), cap, share)
            if int(sent) != want_sent or int(got) != want_got or int(expect) != int(want_sent * share) or \
                    abs(float(loss) - want_loss * 100) > 1e-4 or abs(float(mpps) - want_got / 10 / 1e6) > 1e-3:
                problems.append(f"{direction} {rate}%: sent {sent}, expected {expect}, out {got}, loss {loss}%; "
                                f"wanted {want_sent}, {int(want_sent * share)}, {want_got}, {want_loss * 100:.4f}%")
        best = max(r for r in RATES if expected(r, cap, share)[2] <= 0.001)
        found = re.search(rf"^{direction}\s+highest rate with loss <= 0.10%: (\d+)% of line rate$", res.stdout, re.M)
        if not found or int(found[1]) != best:
            problems.append(f"{direction}: result {found[1] if found else 'missing'}, expected {best}%")
    calls = re.search(r"^FAKE-CALLS (.*)$", res.stdout, re.M)
    calls = calls[1].split(";") if calls else []
    if calls[:2] != ["screen off", "pcap all on"] or calls[-1:] != ["quit"]:
        problems.append(f"calls: {calls[:2]} ... {calls[-1:]}, expected screen off, pcap all on ... quit")
    # Each step clears the counters, then sends from one port only: decap from 0, encap from 1.
    starts = [c for c in calls if c.startswith("start")]
    if starts != ["start 0"] * len(RATES) + ["start 1"] * len(RATES) or calls.count("clr") != 2 * len(RATES):
        problems.append(f"calls: {starts.count('start 0')} decap and {starts.count('start 1')} encap starts, "
                        f"{calls.count('clr')} clears")
    if problems:
        print("FAILED:\n  " + "\n  ".join(problems))
        return 1
    print("PASS: espgw_replay.lua swept both directions and found the highest rate under 0.1 % loss")
    return 0


if __name__ == "__main__":
    sys.exit(main())
