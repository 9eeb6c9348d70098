#!/usr/bin/python3
"""Records a real IKEv2 exchange between two strongSwan charons (5.9, Debian) for the unit
tests: IKE_SA_INIT request and response and the IKE_AUTH request, as they crossed a veth
between two namespaces (dumpcap), plus the secrets charon logs at `ike = 4` (the shared
Diffie-Hellman secret and the SK_* keys). Our key derivation must reproduce charon's keys
from the DH secret and the two messages, and our SK decryption must open its IKE_AUTH.
Writes tests/data/strongswan_auth_*. Run as root:

    /usr/bin/python3 tests/tools/record_strongswan_ike_auth.py
"""

import os
import re
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from strongswan_ns import (I_ADDR, R_ADDR, charon_dir, make_pair, remove_pair, sh, start_charon,  # noqa: E402
                          version, write_swanctl)

OUT = os.path.join(HERE, "..", "data")
PSK = "recorded-for-tests"


def udp_payloads(pcap):
    """(src, sport, dst, dport, payload) of each IPv4/UDP frame of an Ethernet pcap."""
    data = open(pcap, "rb").read()
    at, out = 24, []
    while at + 16 <= len(data):
        incl = struct.unpack("<I", data[at + 8:at + 12])[0]
        frame = data[at + 16:at + 16 + incl]
        at += 16 + incl
        if len(frame) < 42 or frame[12:14] != b"\x08\x00" or frame[23] != 17:
            continue
        ihl = (frame[14] & 0x0F) * 4
        udp = 14 + ihl
        src, dst = ".".join(map(str, frame[26:30])), ".".join(map(str, frame[30:34]))
        sport, dport, ulen = struct.unpack("!HHH", frame[udp:udp + 6])
        out.append((src, sport, dst, dport, frame[udp + 8:udp + ulen]))
    return out


def secrets(log):
    """charon's `NAME => N bytes @ ADDR` hexdumps, by NAME."""
    found, name, want, buf = {}, None, 0, b""
    for line in open(log, errors="replace"):
        m = re.search(r"\] (.+?) => (\d+) bytes @", line)
        if m:
            name, want, buf = m.group(1), int(m.group(2)), b""
            continue
        m = re.search(r"\]\s+\d+: ((?:[0-9A-F]{2} ){1,16})", line)
        if name and m:
            buf += bytes.fromhex(m.group(1).replace(" ", ""))
            if len(buf) >= want:
                found.setdefault(name, buf[:want])
                name = None
    return found


def main():
    di, dr = tempfile.mkdtemp(prefix="rec-ai-"), tempfile.mkdtemp(prefix="rec-ar-")
    ns_i, ns_r = None, None
    procs = []
    try:
        ns_i, ns_r, _, if_r = make_pair("reca")
        charon_dir(di, log_ike=4)
        charon_dir(dr)
        write_swanctl(di, I_ADDR, R_ADDR, PSK, local_ts="10.2.0.7/32")
        write_swanctl(dr, R_ADDR, None, PSK, initiator=False, local_ts="10.1.0.0/24", remote_ts="10.2.0.7/32")
        pcap = os.path.join(dr, "ike.pcap")
        cap = subprocess.Popen(["ip", "netns", "exec", ns_r, "dumpcap", "-q", "-P", "-i", if_r, "-f", "udp", "-w", pcap],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(cap)
        time.sleep(1.5)
        pr, _ = start_charon(ns_r, dr)
        procs.append(pr)
        pi, uri_i = start_charon(ns_i, di)
        procs.append(pi)
        sh("swanctl", "--initiate", "--uri", uri_i, "--child", "c", "--timeout", "10", check=False)
        time.sleep(1)
        for p in (pi, pr, cap):
            p.terminate()
            p.wait(10)
        # IKE on 500, and on 4500 after the non-ESP marker (charon floats there for MOBIKE).
        msgs = [m for m in udp_payloads(pcap) if 500 in (m[1], m[3])]
        msgs += [m[:4] + (m[4][4:],) for m in udp_payloads(pcap)
                 if 4500 in (m[1], m[3]) and len(m[4]) > 28 and m[4][:4] == bytes(4)]
        init_req = next(m for m in msgs if m[4][18] == 34 and not m[4][19] & 0x20)
        init_resp = next(m for m in msgs if m[4][18] == 34 and m[4][19] & 0x20)
        auth_req = next(m for m in msgs if m[4][18] == 35 and not m[4][19] & 0x20)
        keys = secrets(os.path.join(di, "charon.log"))
        need = ["shared Diffie Hellman secret", "Sk_d secret", "Sk_ei secret", "Sk_er secret", "Sk_pi secret", "Sk_pr secret"]
        missing = [n for n in need if n not in keys]
        if missing:
            raise RuntimeError(f"charon logged no {missing}; found {sorted(keys)}")
        os.makedirs(OUT, exist_ok=True)
        for name, m in (("init_request", init_req), ("init_response", init_resp), ("auth_request", auth_req)):
            with open(os.path.join(OUT, f"strongswan_auth_{name}.bin"), "wb") as f:
                f.write(m[4])
        with open(os.path.join(OUT, "strongswan_auth_secrets.txt"), "w") as f:
            f.write(f"# strongSwan {version()}: initiator {I_ADDR}, responder {R_ADDR}, PSK \"{PSK}\",\n"
                    f"# proposal aes128gcm16-prfsha256-ecp256; logged by the initiator's charon (ike = 4).\n"
                    f"# Recorded by tests/tools/record_strongswan_ike_auth.py.\n")
            for n in need:
                f.write(f"{n.replace(' secret', '').replace('shared Diffie Hellman', 'g_ir')} {keys[n].hex()}\n")
        print(f"recorded IKE_SA_INIT {len(init_req[4])}/{len(init_resp[4])} bytes, IKE_AUTH {len(auth_req[4])} bytes")
        return 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        if ns_i:
            remove_pair(ns_i, ns_r)
        subprocess.run(["rm", "-rf", di, dr])


if __name__ == "__main__":
    sys.exit(main())
