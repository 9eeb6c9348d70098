"""espgw under test: writes its config, runs it in a namespace, reads its telemetry.

The binary comes from ESPGW_BIN (set by meson), else build/src/espgw. Each run uses its own
DPDK file prefix, so its telemetry socket and runtime files never meet another run's.
"""

import json
import os
import shutil
import socket
import time

from topology import wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_BIN = os.path.join(HERE, "..", "..", "build", "src", "espgw")


def espgw_bin():
    return os.environ.get("ESPGW_BIN", DEFAULT_BIN)


def sa_entry(name, peer, direction, spi, cipher, key, local_ts=None, remote_ts=None,
             integrity=None, auth_key=None, mode="tunnel", encap="udp", replay_window=None, esn=False,
             policy=None):
    """One `sas` list element in libconfig syntax (policy: the name of a `policies` entry,
    instead of local_ts/remote_ts)."""
    fields = [f'name = "{name}"', f'peer = "{peer}"', f'direction = "{direction}"', f"spi = {spi:#x}",
              f'mode = "{mode}"', f'encap = "{encap}"', f'cipher = "{cipher}"', f'key = "0x{key.hex()}"']
    if integrity:
        fields += [f'integrity = "{integrity}"', f'auth_key = "0x{auth_key.hex()}"']
    if local_ts:
        fields += [f'local_ts = "{local_ts}"', f'remote_ts = "{remote_ts}"']
    if policy:
        fields.append(f'policy = "{policy}"')
    if replay_window:
        fields.append(f"replay_window = {replay_window}")
    if esn:
        fields.append("esn = true")
    return "{ " + "; ".join(fields) + "; }"


class Gateway:
    """One espgw process on af_packet ports `pub_if` and `lan_if` inside namespace `ns`.

    ESPGW_PUBLIC_PMD=pcap puts the public port on DPDK's pcap driver instead: it taps the veth
    without the kernel defragmentation that af_packet's fanout group brings, so outer
    fragments reach espgw's own reassembly."""

    def __init__(self, topo, ns, pub_if, lan_if, public="192.0.2.1/24", public_gw="192.0.2.254",
                 protected="10.1.0.1/24", peers=(), sas=(), extra="", host_if=None, protected6=None, public6=None,
                 workers=int(os.environ.get("ESPGW_WORKERS", "1"))):
        self.topo, self.ns = topo, ns
        self.prefix = f"espgw-{topo.prefix}"
        self.dir = topo.tempdir("gw")
        self.log_path = os.path.join(self.dir, "espgw.log")
        host = (f'host = {{ device = "net_tap0,iface={host_if}"; iface = "{host_if}"; }};'
                if host_if else "")
        peer_lines = ",\n  ".join(
            "{ " + "; ".join(f'{k} = "{v}"' if isinstance(v, str) else f"{k} = {v}" for k, v in p.items()) + "; }"
            for p in peers)
        sa_lines = ",\n  ".join(sas)
        v6 = f'address6 = "{protected6}";' if protected6 else ""
        pub6 = f'address6 = "{public6}";' if public6 else ""
        pub_device = (f"net_pcap0,iface={pub_if}" if os.environ.get("ESPGW_PUBLIC_PMD") == "pcap"
                      else f"net_af_packet0,iface={pub_if}")
        # More workers than the 2 CPUs here: lcores 2.. share CPU 1 (back-off polling makes it fair).
        lcore_map = (', "--lcores", "0@0,' + ",".join(f"{k}@1" for k in range(1, workers + 1)) + '"'
                     if workers > 1 else "")
        self.config = f"""
eal = ["--no-pci", "--no-huge", "-m", "512", "--file-prefix", "{self.prefix}", "--log-level", "lib.eal:error"{lcore_map}];
lcores = {{ control = 0; workers = [{", ".join(str(k) for k in range(1, workers + 1))}]; }};
polling = "backoff";
idle_sleep_max_us = 500;
{extra}
ports = {{
  public = {{ device = "{pub_device}"; address = "{public}"; gateway = "{public_gw}"; {pub6} }};
  protected = {{ device = "net_af_packet1,iface={lan_if}"; address = "{protected}"; {v6} }};
  {host}
}};
peers = (
  {peer_lines}
);
sas = (
  {sa_lines}
);
"""
        self.config_path = os.path.join(self.dir, "espgw.conf")
        with open(self.config_path, "w") as f:
            f.write(self.config)
        self.proc = None
        topo.on_cleanup(self._remove_runtime_dir)

    def check_config(self):
        return self.topo.run(self.ns, [espgw_bin(), "--check", "-c", self.config_path], check=False)

    def start(self, timeout=30):
        self.log = open(self.log_path, "w")
        self.proc = self.topo.spawn(self.ns, [espgw_bin(), "-c", self.config_path],
                                    stdout=self.log, stderr=subprocess_stdout())
        wait_for(lambda: "running:" in self.read_log() or self.proc.poll() is not None, timeout,
                 "espgw to start")
        if self.proc.poll() is not None:
            raise RuntimeError(f"espgw exited ({self.proc.returncode}):\n{self.read_log()}")
        wait_for(lambda: os.path.exists(self.socket_path()), 10, "the telemetry socket")
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except Exception:
                self.proc.kill()
        return self.proc.returncode if self.proc else None

    def read_log(self):
        try:
            with open(self.log_path) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def socket_path(self):
        return f"/var/run/dpdk/{self.prefix}/dpdk_telemetry.v2"

    def telemetry(self, cmd):
        """The JSON reply of one telemetry command, e.g. '/espgw/stats' or '/espgw/sa,4097'."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.connect(self.socket_path())
        s.recv(16384)  # greeting
        s.send(cmd.encode())
        reply = json.loads(s.recv(1 << 20).decode())
        s.close()
        return reply[cmd.split(",")[0]]

    PAGE_FIELDS = ("total", "offset", "count", "next_offset")

    def listing(self, cmd):
        """Every item of a paged list command ('/espgw/sas', '/espgw/peers', '/espgw/policies',
        '/espgw/ike_sas', '/espgw/child_sas'), page after page, without the page fields."""
        items, offset = {}, 0
        while True:
            page = self.telemetry(f"{cmd},{offset}" if offset else cmd)
            items.update({k: v for k, v in page.items() if k not in self.PAGE_FIELDS})
            if "next_offset" not in page:
                return items
            offset = page["next_offset"]

    def sa(self, spi):
        """Detail of the SA(s) with this SPI: {'in': {...}} and/or {'out': {...}}."""
        return self.telemetry(f"/espgw/sa,{spi:#x}")

    def _remove_runtime_dir(self):
        self.stop()
        shutil.rmtree(f"/var/run/dpdk/{self.prefix}", ignore_errors=True)


def subprocess_stdout():
    import subprocess
    return subprocess.STDOUT

