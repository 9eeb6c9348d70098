"""A strongSwan road warrior (charon-systemd 5.9 from Debian, userspace ESP through the
kernel-libipsec plugin since this kernel has no ESP) in a namespace of a Topology: its own
config directory, vici socket and file log; swanctl drives it from outside."""

import os
import re
import subprocess
import time

PLUGINS = ("random nonce openssl aes sha1 sha2 hmac gcm pem pkcs1 pkcs8 x509 pubkey gmp curve25519 kdf "
           "kernel-libipsec kernel-netlink socket-default vici updown")


class StrongSwanClient:
    def __init__(self, topo, ns, name, local, remote, psk, my_id, gw_id="gw.example.net",
                 proposals="aes128gcm16-prfsha256-curve25519", esp="aes128gcm16", remote_ts="10.1.0.0/24",
                 vips="0.0.0.0", dpd_delay=0, cert=None, key=None, ca=None, swanctl_conf=None):
        """psk, or with cert/key/ca (PEM files) certificate authentication both ways;
        swanctl_conf: the whole swanctl.conf instead (e.g. a responder)."""
        self.topo, self.ns, self.name = topo, ns, name
        self.dir = topo.tempdir(f"sw-{name}")
        for sub in ("x509", "x509ca", "private", "rsa", "ecdsa", "pubkey", "x509crl", "x509aa", "x509ac",
                    "pkcs12", "pkcs8"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        self.uri = f"unix://{self.dir}/charon.vici"
        self.log_path = os.path.join(self.dir, "charon.log")
        with open(os.path.join(self.dir, "strongswan.conf"), "w") as f:
            f.write(f"""charon-systemd {{
  load = {PLUGINS}
  install_routes = yes
  plugins {{ vici {{ socket = {self.uri} }} }}
  journal {{ default = -1 }}
  filelog {{ log {{ path = {self.log_path}
    flush_line = yes
    default = 1
    ike = 2
    cfg = 2 }} }}
}}
""")
        vip_line = f"\n    vips = {vips}" if vips else ""
        if cert:
            import shutil
            shutil.copy(cert, os.path.join(self.dir, "x509", "me.pem"))
            shutil.copy(key, os.path.join(self.dir, "private", "me.key"))
            shutil.copy(ca, os.path.join(self.dir, "x509ca", "ca.pem"))
            local_auth = "auth = pubkey\n      certs = me.pem"
            remote_auth = "auth = pubkey"
            secrets = ""
        else:
            local_auth = remote_auth = "auth = psk"
            secrets = f"""secrets {{ ike-1 {{ id-1 = {my_id}
  secret = "{psk}" }} }}
"""
        dpd_line = f"\n    dpd_delay = {dpd_delay}s" if dpd_delay else ""
        if swanctl_conf:
            with open(os.path.join(self.dir, "swanctl.conf"), "w") as f:
                f.write(swanctl_conf)
            self.proc = None
            return
        with open(os.path.join(self.dir, "swanctl.conf"), "w") as f:
            f.write(f"""connections {{ {name} {{ version = 2
    local_addrs = {local}
    remote_addrs = {remote}
    proposals = {proposals}{vip_line}{dpd_line}
    local {{ {local_auth}
      id = {my_id} }}
    remote {{ {remote_auth}
      id = {gw_id} }}
    children {{ {name} {{ remote_ts = {remote_ts}
      esp_proposals = {esp} }} }} }} }}
{secrets}""")
        self.proc = None

    def start(self):
        env = dict(os.environ, STRONGSWAN_CONF=os.path.join(self.dir, "strongswan.conf"))
        self.proc = self.topo.spawn(self.ns, ["/usr/sbin/charon-systemd"], env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        last = None
        for _ in range(100):  # the socket file appears before charon listens on it
            last = self.swanctl("--load-all", "--file", os.path.join(self.dir, "swanctl.conf"), check=False)
            if last.returncode == 0:
                return self
            time.sleep(0.1)
        raise RuntimeError(f"charon in {self.ns} did not come up: {last.stdout}{last.stderr}")

    def stop(self):
        """charon goes (its sockets on 500/4500 with it, so another may start in the namespace)."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except Exception:
                self.proc.kill()
                self.proc.wait(5)

    def swanctl(self, *args, check=True, timeout=60):
        argv = ["swanctl", args[0], "--uri", self.uri, *args[1:]]
        res = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        if check and res.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed:\n{res.stdout}{res.stderr}\n--- charon log ---\n{self.log()[-3000:]}")
        return res

    def initiate(self, timeout=20):
        return self.swanctl("--initiate", "--child", self.name, "--timeout", str(timeout), check=False,
                            timeout=timeout + 10)

    def terminate(self):
        return self.swanctl("--terminate", "--ike", self.name, "--timeout", "10", check=False)

    def list_sas(self):
        return self.swanctl("--list-sas", check=False).stdout

    def vip(self):
        """The virtual IP charon installed (from its log), or None."""
        m = re.findall(r"installing new virtual IP (\S+)", self.log())
        return m[-1] if m else None

    def log(self):
        try:
            with open(self.log_path) as f:
                return f.read()
        except FileNotFoundError:
            return ""
