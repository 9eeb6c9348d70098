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
OUT = os.path.join(HERE, "..", "data")
NS_I, NS_R = f"rec-i-{os.getpid()}", f"rec-r-{os.getpid()}"
I_ADDR, R_ADDR = "198.51.100.2", "198.51.100.1"


def sh(*args, check=True):
    return subprocess.run(list(args), check=check, capture_output=True, text=True)


def main():
    d = tempfile.mkdtemp(prefix="rec-ss-")
    try:
        for ns in (NS_I, NS_R):
            sh("ip", "netns", "add", ns)
            sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "link", "add", "reci", "netns", NS_I, "type", "veth", "peer", "recr", "netns", NS_R)
        sh("ip", "-n", NS_I, "addr", "add", f"{I_ADDR}/24", "dev", "reci")
        sh("ip", "-n", NS_R, "addr", "add", f"{R_ADDR}/24", "dev", "recr")
        sh("ip", "-n", NS_I, "link", "set", "reci", "up")
        sh("ip", "-n", NS_R, "link", "set", "recr", "up")
        for sub in ("x509", "x509ca", "private", "rsa", "ecdsa", "pubkey", "x509crl", "x509aa", "x509ac", "pkcs12", "pkcs8"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        with open(os.path.join(d, "strongswan.conf"), "w") as f:
            f.write(f"""charon-systemd {{
  load = random nonce openssl aes sha1 sha2 hmac gcm pem pkcs1 x509 pubkey gmp curve25519 kdf kernel-netlink socket-default vici
  plugins {{ vici {{ socket = unix://{d}/charon.vici }} }}
  journal {{ default = -1 }}
  filelog {{ log {{ path = {d}/charon.log
    default = 1 }} }}
}}
""")
        with open(os.path.join(d, "swanctl.conf"), "w") as f:
            f.write(f"""connections {{
  rec {{
    version = 2
    local_addrs = {I_ADDR}
    remote_addrs = {R_ADDR}
    proposals = aes128gcm16-prfsha256-ecp256,aes256-sha256-modp2048
    local {{ auth = psk
      id = client@example.net }}
    remote {{ auth = psk
      id = gw.example.net }}
    children {{ c {{ remote_ts = 10.1.0.0/24
      esp_proposals = aes128gcm16 }} }}
  }}
}}
secrets {{ ike-1 {{ secret = "recorded-for-tests" }} }}
""")
        rx = subprocess.Popen(["ip", "netns", "exec", NS_R, "/usr/bin/python3", "-c", f"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("{R_ADDR}", 500))
s.settimeout(20)
data, src = s.recvfrom(65535)
sys.stdout.write(f"{{src[0]}} {{src[1]}}\\n" + data.hex() + "\\n")
"""], stdout=subprocess.PIPE, text=True)
        env = dict(os.environ, STRONGSWAN_CONF=os.path.join(d, "strongswan.conf"))
        charon = subprocess.Popen(["ip", "netns", "exec", NS_I, "setsid", "/usr/sbin/charon-systemd"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            if os.path.exists(os.path.join(d, "charon.vici")):
                break
            time.sleep(0.1)
        uri = f"unix://{d}/charon.vici"
        for _ in range(50):  # the socket file appears before charon listens on it
            res = sh("swanctl", "--load-all", "--uri", uri, "--file", os.path.join(d, "swanctl.conf"), check=False)
            if res.returncode == 0:
                break
            time.sleep(0.2)
        else:
            raise RuntimeError(f"swanctl --load-all: {res.stdout}{res.stderr}")
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
            version = sh("dpkg-query", "-W", "-f=${Version}", "charon-systemd", check=False).stdout.strip()
            f.write(f"# IKE_SA_INIT request of strongSwan {version} "
                    f"(charon-systemd, Debian), recorded by tests/tools/record_strongswan_init.py\n"
                    f"# proposals aes128gcm16-prfsha256-ecp256, aes256-sha256-modp2048; no NAT in between\n"
                    f"from {src_addr} {src_port}\nto {R_ADDR} 500\n")
        print(f"recorded {len(msg) // 2} bytes from {src_addr}:{src_port}")
        return 0
    finally:
        subprocess.run(["rm", "-rf", d])
        for ns in (NS_I, NS_R):
            subprocess.run(["ip", "netns", "pids", ns], capture_output=True)
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


if __name__ == "__main__":
    sys.exit(main())
