#!/usr/bin/python3
"""espgw's IKE engine against a real strongSwan initiator (charon 5.9, Debian), no mocks:
charon in one namespace initiates IKEv2 with a PSK; in the other, ike_responder_probe (our
lib/ike: codec, proposal choice, Diffie-Hellman, NAT detection, key derivation, SK
decryption, PSK AUTH) answers IKE_SA_INIT and must open and authenticate charon's IKE_AUTH.
Once directly, once through an nftables masquerade NAT that picks a random source port
(then the probe must see the NAT in front of the peer, and charon floats to 4500).
"""

import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
from strongswan_ns import I_ADDR, R_ADDR, charon_dir, make_pair, remove_pair, sh, start_charon, write_swanctl  # noqa: E402

PROBE = os.environ.get("IKE_PROBE_BIN", os.path.join(HERE, "..", "..", "build", "tests", "e2e", "ike_responder_probe"))
PSK = "a-psk-for-the-probe"


def run(nat):
    d = tempfile.mkdtemp(prefix="ikeprobe-")
    ns_i = ns_r = None
    procs = []
    try:
        ns_i, ns_r, if_i, if_r = make_pair("ikp")
        local = I_ADDR
        if nat:
            # The initiator moves behind a NAT namespace: 10.9.0.2 -> masquerade -> 198.51.100.2.
            ns_n = ns_i
            ns_i = f"ikp-h-{os.getpid()}"
            sh("ip", "netns", "add", ns_i)
            sh("ip", "netns", "exec", ns_i, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
            sh("ip", "-n", ns_i, "link", "set", "lo", "up")
            sh("ip", "link", "add", "ikph", "netns", ns_i, "type", "veth", "peer", "ikpn", "netns", ns_n)
            sh("ip", "-n", ns_i, "addr", "add", "10.9.0.2/24", "dev", "ikph")
            sh("ip", "-n", ns_n, "addr", "add", "10.9.0.1/24", "dev", "ikpn")
            sh("ip", "-n", ns_i, "link", "set", "ikph", "up")
            sh("ip", "-n", ns_n, "link", "set", "ikpn", "up")
            sh("ip", "-n", ns_i, "route", "add", "default", "via", "10.9.0.1")
            sh("ip", "netns", "exec", ns_n, "sysctl", "-qw", "net.ipv4.ip_forward=1")
            rules = ("table ip nat {\n chain postrouting {\n"
                     "  type nat hook postrouting priority srcnat; policy accept;\n"
                     f'  oifname "{if_i}" masquerade fully-random\n }}\n}}\n')
            subprocess.run(["ip", "netns", "exec", ns_n, "nft", "-f", "-"], input=rules, text=True, check=True)
            local = "10.9.0.2"
        charon_dir(d)
        write_swanctl(d, local, R_ADDR, PSK)
        probe = subprocess.Popen(["ip", "netns", "exec", ns_r, PROBE, R_ADDR, PSK, "aes128gcm16-prfsha256-ecp256"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(probe)
        charon, uri = start_charon(ns_i, d)
        procs.append(charon)
        subprocess.Popen(["swanctl", "--initiate", "--uri", uri, "--child", "c", "--timeout", "15"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        out, errs = probe.communicate(timeout=40)
        result = json.loads(out.strip().splitlines()[-1]) if out.strip() else {"error": errs}
        return probe.returncode, result
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        if ns_i:
            remove_pair(ns_i, ns_r)
            if nat:
                subprocess.run(["ip", "netns", "del", f"ikp-i-{os.getpid()}"], capture_output=True)
        subprocess.run(["rm", "-rf", d])


def main():
    failures = []
    for nat in (False, True):
        rc, r = run(nat)
        label = "through a NAT" if nat else "direct"
        print(f"{label}: {r}")
        if rc != 0:
            failures.append(f"{label}: probe failed: {r}")
        if r.get("idi") != "client@example.net":
            failures.append(f"{label}: IDi {r.get('idi')!r}")
        if r.get("nat_there") != nat:
            failures.append(f"{label}: NAT in front of the peer seen as {r.get('nat_there')}")
        if r.get("nat_here"):
            failures.append(f"{label}: a NAT in front of us seen where there is none")
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
