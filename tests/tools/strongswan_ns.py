"""What the strongSwan recording tools share: two network namespaces joined by a veth (IPv6
off, so charon sends nothing but what is asked), and charon-systemd started in one of them
with its own config directory and vici socket."""

import os
import subprocess
import time

I_ADDR, R_ADDR = "198.51.100.2", "198.51.100.1"
PLUGINS = "random nonce openssl aes sha1 sha2 hmac gcm pem pkcs1 x509 pubkey gmp curve25519 kdf kernel-netlink socket-default vici"


def sh(*args, check=True):
    return subprocess.run(list(args), check=check, capture_output=True, text=True)


def make_pair(tag):
    """Namespaces (initiator, responder) with I_ADDR and R_ADDR on a veth; returns their names
    and the two interface names."""
    ns_i, ns_r = f"{tag}-i-{os.getpid()}", f"{tag}-r-{os.getpid()}"
    if_i, if_r = f"{tag}i"[:15], f"{tag}r"[:15]
    for ns in (ns_i, ns_r):
        sh("ip", "netns", "add", ns)
        sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
        sh("ip", "-n", ns, "link", "set", "lo", "up")
    sh("ip", "link", "add", if_i, "netns", ns_i, "type", "veth", "peer", if_r, "netns", ns_r)
    sh("ip", "-n", ns_i, "addr", "add", f"{I_ADDR}/24", "dev", if_i)
    sh("ip", "-n", ns_r, "addr", "add", f"{R_ADDR}/24", "dev", if_r)
    sh("ip", "-n", ns_i, "link", "set", if_i, "up")
    sh("ip", "-n", ns_r, "link", "set", if_r, "up")
    return ns_i, ns_r, if_i, if_r


def remove_pair(ns_i, ns_r):
    for ns in (ns_i, ns_r):
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def charon_dir(d, log_ike=1):
    """strongswan.conf (file log at d/charon.log, `ike` at level log_ike) and the empty
    credential directories swanctl looks for, in d."""
    for sub in ("x509", "x509ca", "private", "rsa", "ecdsa", "pubkey", "x509crl", "x509aa", "x509ac", "pkcs12", "pkcs8"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    with open(os.path.join(d, "strongswan.conf"), "w") as f:
        f.write(f"""charon-systemd {{
  load = {PLUGINS}
  plugins {{ vici {{ socket = unix://{d}/charon.vici }} }}
  journal {{ default = -1 }}
  filelog {{ log {{ path = {d}/charon.log
    default = 1
    ike = {log_ike} }} }}
}}
""")


def start_charon(ns, d):
    """charon-systemd in ns with d's config, d/swanctl.conf loaded; (process, vici URI)."""
    env = dict(os.environ, STRONGSWAN_CONF=os.path.join(d, "strongswan.conf"))
    p = subprocess.Popen(["ip", "netns", "exec", ns, "setsid", "/usr/sbin/charon-systemd"], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    uri = f"unix://{d}/charon.vici"
    for _ in range(50):  # the socket file appears before charon listens on it
        res = sh("swanctl", "--load-all", "--uri", uri, "--file", os.path.join(d, "swanctl.conf"), check=False)
        if res.returncode == 0:
            return p, uri
        time.sleep(0.2)
    p.kill()
    raise RuntimeError(f"charon in {ns} did not come up: {res.stdout}{res.stderr}")


def version():
    return sh("dpkg-query", "-W", "-f=${Version}", "charon-systemd", check=False).stdout.strip()


def write_swanctl(d, local, remote, psk, proposals="aes128gcm16-prfsha256-ecp256", initiator=True,
                  local_ts=None, remote_ts="10.1.0.0/24"):
    """d/swanctl.conf: one IKEv2 connection with PSK auth between client@example.net (the
    initiator) and gw.example.net, and a CHILD SA toward remote_ts. remote None: a responder
    that takes anyone."""
    me, them = ("client@example.net", "gw.example.net") if initiator else ("gw.example.net", "client@example.net")
    remote_line = f"\n    remote_addrs = {remote}" if remote else ""
    local_ts_line = f"local_ts = {local_ts}\n      " if local_ts else ""
    with open(os.path.join(d, "swanctl.conf"), "w") as f:
        f.write(f"""connections {{ c {{ version = 2
    local_addrs = {local}{remote_line}
    proposals = {proposals}
    local {{ auth = psk
      id = {me} }}
    remote {{ auth = psk
      id = {them} }}
    children {{ c {{ {local_ts_line}remote_ts = {remote_ts}
      esp_proposals = aes128gcm16 }} }} }} }}
secrets {{ ike-1 {{ id-1 = client@example.net
  id-2 = gw.example.net
  secret = "{psk}" }} }}
""")
