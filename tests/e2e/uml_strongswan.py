"""strongSwan (charon-systemd 5.9 with kernel-netlink) inside a User-Mode Linux guest (UmlPeer).

The guest kernel has XFRM and ESP, so charon installs its CHILD SAs in a real kernel: plain ESP
(IP protocol 50) when no NAT is on the path, transport mode too; neither is possible with the
kernel-libipsec client of strongswan_client.py. The guest's root is the host's / read-only:
the configuration and charon's log live in a directory under the guest's writable hostfs dir
(same path on both sides, so the host reads the log directly); the vici socket is kept on the
guest's tmpfs /run, so swanctl runs inside the guest too.

charon binds UDP 500 and 4500 itself: start the guest with UmlPeer(..., encap_port=0). swanctl
reads the same strongswan.conf, whose `swanctl { load = ... }` keeps it off the af-alg plugin
(probing the guest kernel's crypto API through AF_ALG costs a cold guest 10-30 s per swanctl).

    sw = GuestCharon(peer, conns=[GuestConn("a", "198.51.100.2", "192.0.2.1", "alice@example.net",
                                            PSK, vips="0.0.0.0", remote_ts="10.1.0.0/24")])
    sw.start()
    sw.initiate("a")
"""

import os
import re

from topology import wait_for

# No kernel-libipsec: the guest kernel does ESP. kdf is needed by 5.9 for the PRF+.
PLUGINS = ("random nonce openssl aes sha1 sha2 hmac gcm pem pkcs1 x509 pubkey gmp curve25519 kdf "
           "kernel-netlink socket-default vici")
CERT_DIRS = ("x509", "x509ca", "x509aa", "x509ac", "x509crl", "x509ocsp", "private", "rsa", "ecdsa", "bliss",
             "pubkey", "pkcs8", "pkcs12")


class GuestConn:
    """One swanctl connection with one child of the same name."""

    def __init__(self, name, local, remote, my_id, psk, gw_id="gw.example.net",
                 proposals="aes128gcm16-prfsha256-curve25519", esp="aes128gcm16", vips=None,
                 remote_ts=None, mode="tunnel"):
        self.name, self.local, self.remote, self.my_id, self.psk = name, local, remote, my_id, psk
        self.gw_id, self.proposals, self.esp = gw_id, proposals, esp
        self.vips, self.remote_ts, self.mode = vips, remote_ts, mode

    def swanctl(self):
        ike = ["version = 2", f"local_addrs = {self.local}", f"remote_addrs = {self.remote}",
               f"proposals = {self.proposals}"]
        if self.vips:
            ike.append(f"vips = {self.vips}")
        child = [f"esp_proposals = {self.esp}", f"mode = {self.mode}"]
        if self.remote_ts:
            child.append(f"remote_ts = {self.remote_ts}")
        return (f"  {self.name} {{\n    " + "\n    ".join(ike) + "\n"
                f"    local {{\n      auth = psk\n      id = {self.my_id}\n    }}\n"
                f"    remote {{\n      auth = psk\n      id = {self.gw_id}\n    }}\n"
                f"    children {{\n      {self.name} {{\n        " + "\n        ".join(child) +
                "\n      }\n    }\n  }\n")


class GuestCharon:
    """charon-systemd in UML guest `peer` (started), with connections `conns` (GuestConn)."""

    def __init__(self, peer, conns):
        if peer.encap_port:
            raise ValueError("charon binds UDP 4500 itself: start the guest with encap_port=0")
        self.peer, self.conns = peer, list(conns)
        self.dir = os.path.join(peer.dir, "strongswan")
        for sub in CERT_DIRS:
            os.makedirs(os.path.join(self.dir, "swanctl", sub), exist_ok=True)
        self.conf = os.path.join(self.dir, "strongswan.conf")
        self.swanctl_conf = os.path.join(self.dir, "swanctl", "swanctl.conf")
        self.log_path = os.path.join(self.dir, "charon.log")
        self.uri = "unix:///run/charon.vici"  # the guest's tmpfs, not hostfs
        with open(self.conf, "w") as f:
            f.write(f"""charon-systemd {{
  load = {PLUGINS}
  install_routes = yes
  plugins {{
    vici {{
      socket = {self.uri}
    }}
  }}
  journal {{
    default = -1
  }}
  filelog {{
    log {{
      path = {self.log_path}
      flush_line = yes
      time_format = %H:%M:%S
      default = 1
      ike = 2
      cfg = 2
      knl = 2
      chd = 2
    }}
  }}
}}
# swanctl reads this file too (STRONGSWAN_CONF): without a load list it takes every plugin,
# and af-alg's probing of the guest kernel's crypto API costs it half a minute.
swanctl {{
  load = pem pkcs1 x509 pubkey
}}
""")
        secrets = "".join(f"  ike-{c.name} {{\n    id-1 = {c.my_id}\n    id-2 = {c.gw_id}\n"
                          f"    secret = \"{c.psk}\"\n  }}\n" for c in self.conns)
        with open(self.swanctl_conf, "w") as f:
            f.write("connections {\n" + "".join(c.swanctl() for c in self.conns) + "}\n"
                    "secrets {\n" + secrets + "}\n")

    def start(self, timeout=30):
        """Start charon in the guest and load the configuration."""
        out = os.path.join(self.dir, "charon.out")
        self.peer.run(f"STRONGSWAN_CONF={self.conf} setsid /usr/sbin/charon-systemd "
                      f"</dev/null >{out} 2>&1 &", check=True)
        last = []

        def loaded():
            res = self.swanctl("--load-all", "--file", self.swanctl_conf)
            last[:] = [res]
            return res.returncode == 0

        try:
            wait_for(loaded, timeout, "charon in the guest to load its configuration", interval=0.3)
        except TimeoutError as exc:
            res = last[0] if last else None
            raise RuntimeError(f"{exc}: {res.stdout + res.stderr if res else ''}\n"
                               f"--- charon log ---\n{self.log()[-3000:]}") from None
        return self

    def swanctl(self, *args, timeout=30):
        """swanctl in the guest: `swanctl ARGS[0] --uri URI ARGS[1:]`; CompletedProcess."""
        cmd = " ".join([f"STRONGSWAN_CONF={self.conf}", "swanctl", args[0], "--uri", self.uri, *args[1:]])
        return self.peer.run(cmd, timeout=timeout)

    def initiate(self, child, timeout=30):
        return self.swanctl("--initiate", "--child", child, "--timeout", str(timeout), timeout=timeout + 10)

    def terminate(self, ike, timeout=10):
        return self.swanctl("--terminate", "--ike", ike, "--timeout", str(timeout), timeout=timeout + 10)

    def list_sas(self):
        return self.swanctl("--list-sas").stdout

    def vip(self):
        """The virtual IP charon installed (from its log), or None."""
        m = re.findall(r"installing new virtual IP (\S+)", self.log())
        return m[-1] if m else None

    def xfrm_keys(self):
        """{spi: AEAD key (with its 4-byte salt)} of the guest kernel's ESP states right now,
        i.e. the keys charon installed, for tshark's ICV check of a capture."""
        return parse_xfrm_aead_keys(self.peer.run("ip xfrm state", check=True).stdout)

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""


def parse_xfrm_aead_keys(text):
    """{spi: key bytes} from `ip xfrm state` output: each state's `proto esp spi 0x...` line
    and its `aead NAME 0xKEY ICVBITS` line."""
    keys, spi = {}, None
    for line in text.splitlines():
        m = re.search(r"proto esp spi (0x[0-9a-f]+)", line)
        if m:
            spi = int(m.group(1), 16)
            continue
        m = re.match(r"\s*aead \S+ 0x([0-9a-f]+) \d+", line)
        if m and spi is not None:
            keys[spi] = bytes.fromhex(m.group(1))
    return keys
