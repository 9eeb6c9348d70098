#!/usr/bin/python3
"""Records the IKE_SA_INIT request of a real strongSwan (charon 5.9, from Debian) for the unit
tests: charon in one namespace initiates IKEv2 toward an address in another, where a UDP
socket on port 500 takes the first datagram. Only kernel-netlink: with kernel-libipsec charon
fakes a NAT (a random NAT_DETECTION_SOURCE_IP) to force UDP encapsulation. Writes the message and where it came from/went
to (tests/data/strongswan_ike_sa_init.{bin,txt}). Run as root:

    /usr/bin/python3 tests/tools/record_strongswan_init.py
"""

import os
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from strongswan_ns import (I_ADDR, R_ADDR, charon_dir, make_pair, remove_pair, sh, start_charon,  # noqa: E402
                          version, write_swanctl)

OUT = os.path.join(HERE, "..", "data")


def main():
    d = tempfile.mkdtemp(prefix="rec-ss-")
    NS_I = NS_R = None
    charon = None
    try:
        NS_I, NS_R, _, _ = make_pair("recs")
        charon_dir(d)
        write_swanctl(d, I_ADDR, R_ADDR, "recorded-for-tests",
                      proposals="aes128gcm16-prfsha256-ecp256,aes256-sha256-modp2048")
        rx = subprocess.Popen(["ip", "netns", "exec", NS_R, "/usr/bin/python3", "-c", f"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("{R_ADDR}", 500))
s.settimeout(20)
data, src = s.recvfrom(65535)
sys.stdout.write(f"{{src[0]}} {{src[1]}}\\n" + data.hex() + "\\n")
"""], stdout=subprocess.PIPE, text=True)
        charon, uri = start_charon(NS_I, d)
        subprocess.Popen(["swanctl", "--initiate", "--uri", uri, "--child", "c", "--timeout", "5"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        out, _ = rx.communicate(timeout=30)
        charon.terminate()
        charon.wait(10)
        src, msg = out.strip().split("\n")
        src_addr, src_port = src.split()
        os.makedirs(OUT, exist_ok=True)
        with open(os.path.join(OUT, "strongswan_ike_sa_init.bin"), "wb") as f:
            f.write(bytes.fromhex(msg))
        with open(os.path.join(OUT, "strongswan_ike_sa_init.txt"), "w") as f:
            f.write(f"# IKE_SA_INIT request of strongSwan {version()} "
                    f"(charon-systemd, Debian), recorded by tests/tools/record_strongswan_init.py\n"
                    f"# proposals aes128gcm16-prfsha256-ecp256, aes256-sha256-modp2048; no NAT in between\n"
                    f"from {src_addr} {src_port}\nto {R_ADDR} 500\n")
        print(f"recorded {len(msg) // 2} bytes from {src_addr}:{src_port}")
        return 0
    finally:
        if charon and charon.poll() is None:
            charon.kill()
        subprocess.run(["rm", "-rf", d])
        if NS_I:
            remove_pair(NS_I, NS_R)


if __name__ == "__main__":
    sys.exit(main())
