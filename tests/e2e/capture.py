"""Packet capture on an interface of a test namespace (dumpcap), read back with scapy."""

import os
import signal
import subprocess
import time

from topology import wait_for


class Capture:
    """dumpcap on `ifname` in `ns` with BPF filter `bpf`, writing a pcap in the run's tempdir.

        with Capture(topo, ns, "wn1234", "udp port 4500") as cap:
            ...traffic...
        packets = cap.packets()
    """

    def __init__(self, topo, ns, ifname, bpf=""):
        self.topo, self.ns, self.ifname, self.bpf = topo, ns, ifname, bpf
        workdir = topo.tempdir("cap")
        self.pcap = os.path.join(workdir, f"{ns}-{ifname}.pcap")
        self._log = os.path.join(workdir, "dumpcap.log")
        self.proc = None

    def start(self, timeout=10):
        """Start capturing; returns once dumpcap has opened the interface."""
        argv = ["dumpcap", "-q", "-P", "-i", self.ifname, "-w", self.pcap]
        if self.bpf:
            argv += ["-f", self.bpf]
        with open(self._log, "w") as log:
            self.proc = self.topo.spawn(self.ns, argv, stdin=subprocess.DEVNULL,
                                        stdout=log, stderr=subprocess.STDOUT)
        # Packets sent before dumpcap says "Capturing on" may be missed.
        wait_for(self._capturing, timeout, f"dumpcap on {self.ns}/{self.ifname}")
        return self

    def _capturing(self):
        with open(self._log) as f:
            text = f.read()
        if self.proc.poll() is not None:
            raise RuntimeError(f"dumpcap exited ({self.proc.returncode}): {text}")
        return "Capturing on" in text

    def stop(self, settle=0.3):
        """Stop capturing (after `settle` s for packets still in flight); returns the pcap path."""
        if self.proc and self.proc.poll() is None:
            time.sleep(settle)
            self.proc.send_signal(signal.SIGINT)  # dumpcap flushes and closes the file
            self.proc.wait(10)
        return self.pcap

    def packets(self):
        """The captured packets as a scapy PacketList (stops the capture first)."""
        # scapy is slow to import; only load it when needed. The layer modules must be loaded
        # before reading, or frames come back as Raw (they register Ethernet, IP, UDP -> ESP).
        import scapy.layers.inet  # noqa: F401
        import scapy.layers.ipsec  # noqa: F401
        import scapy.layers.l2  # noqa: F401
        from scapy.utils import rdpcap
        return rdpcap(self.stop())

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def tshark_esp_icv(pcap, sas, fields=(), options=()):
    """tshark, an independent decoder, authenticates the ESP in `pcap` with the given keys.

    sas: (family "IPv4" or "IPv6", src, dst, spi, tshark cipher name, key, tshark integrity
    name, auth key or b"") per SA; "*" matches any address. options: more tshark options (a
    dissector that throws on an inner payload keeps tshark from adding the ICV's verdict).
    Returns (rows, bad, stderr): rows are [spi, icv_good, *fields] for the packets of those
    SPIs, bad the rows without a good ICV.
    """
    uat = []
    for family, src, dst, spi, enc, key, auth, akey in sas:
        uat += ["-o", f'uat:esp_sa:"{family}","{src}","{dst}","{spi:#010x}","{enc}","0x{key.hex()}",'
                      f'"{auth}","{"0x" + akey.hex() if akey else ""}"']
    fargs = [a for f in ("esp.spi", "esp.icv_good", *fields) for a in ("-e", f)]
    res = subprocess.run(["tshark", "-r", pcap, "-o", "esp.enable_encryption_decode:TRUE",
                          "-o", "esp.enable_authentication_check:TRUE", *uat, *options,
                          "-Y", "esp", "-T", "fields", *fargs], capture_output=True, text=True, timeout=60)
    spis = {sa[3] for sa in sas}
    rows = [line.split("\t") for line in res.stdout.splitlines() if line.strip()]
    rows = [r for r in rows if int(r[0], 16) in spis]
    bad = [r for r in rows if len(r) < 2 or r[1] not in ("1", "True")]
    return rows, bad, res.stderr
