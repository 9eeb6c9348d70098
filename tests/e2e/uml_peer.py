"""A real Linux kernel (User-Mode Linux) as the ESP peer, booted inside a test namespace.

The host kernel here has no ESP, so the peer's IPsec is done by a UML guest kernel: its network
card `vec0` is a raw socket on a veth of the namespace, its root is the host's / read-only, and
a command server in the guest (uml_guest.py, started by uml_init.sh) runs commands that the host
hands over as files in a shared directory. Booting takes a few seconds.

    peer = UmlPeer(topo, ns, veth, "198.51.100.2/24", gateway="198.51.100.1",
                   inner="10.1.0.1/24", routes=["10.2.0.0/24 via 198.51.100.1 src 10.1.0.1"])
    peer.start()
    peer.run(sa.xfrm_state(), check=True)
    print(peer.run("ping -c 1 10.2.0.1").stdout)
"""

import itertools
import json
import os
import subprocess

from esp_sa import parse_xfrm_stats
from topology import wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
UML = "/usr/bin/linux.uml"
GUEST_IF = "vec0"  # name of the guest's network card
_shim_lib = None  # path of the built uml_xstate_shim.so (see UmlPeer._xstate_shim)
SLACK = 10  # seconds on top of a command's own timeout: the guest polls, and UML is slow


class GuestDied(RuntimeError):
    pass


class UmlPeer:
    """One UML guest attached to interface `ifname` of namespace `ns`."""

    def __init__(self, topo, ns, ifname, address, gateway=None, inner=(), routes=(),
                 name="peer", mem="256M", encap_port=4500):
        """address: the guest's CIDR on vec0 (IPv6, e.g. "2001:db8::2/64", turns IPv6 on in
        the guest); inner: CIDR(s) put on a dummy interface (tunnel traffic sources); routes:
        `ip route add` arguments; encap_port: UDP port on which the guest decapsulates
        ESP-in-UDP (0: none, e.g. when an IKE daemon in the guest binds it)."""
        self.topo, self.ns, self.ifname, self.name = topo, ns, ifname, name
        self.address, self.gateway = address, gateway
        self.inner = [inner] if isinstance(inner, str) else list(inner)
        self.routes = list(routes)
        self.mem, self.encap_port = mem, encap_port
        self.ipv6 = ":" in address
        self.dir = self.proc = None
        self._ids = itertools.count(1)

    # ---- life cycle --------------------------------------------------------------------------

    def start(self, timeout=60):
        """Boot the guest, wait until its command server answers, configure its network."""
        self.dir = self.topo.tempdir(f"uml-{self.name}")
        os.makedirs(self.jobs_dir)
        # The guest answers for its address on this veth; the namespace itself must not.
        self.topo.run(self.ns, ["ip", "addr", "flush", "dev", self.ifname])
        argv = ["env", f"LD_PRELOAD={self._xstate_shim()}", UML, f"mem={self.mem}", f"umid={self.topo.prefix}-{self.name}",
                f"uml_dir={self.dir}", "rootfstype=hostfs", "rootflags=/", "ro",
                f"init={HERE}/uml_init.sh", "con0=fd:0,fd:1", "con=null",
                f"{GUEST_IF}:transport=raw,ifname={self.ifname},gro=1",
                # IPv6 is a module in this kernel, loaded on demand: modprobe takes this option
                # from the command line. No IPv6 keeps captures to what the tests set up,
                # unless the guest's own address is IPv6.
                *([] if self.ipv6 else ["ipv6.disable=1"]),
                f"EGW_DIR={self.dir}", f"EGW_ENCAP_PORT={self.encap_port}", f"EGW_IPV6={int(self.ipv6)}"]
        with open(self.console_path, "w") as log:
            # stdin is a pipe we never write to: the console then neither sees EOF nor a tty.
            self.proc = self.topo.spawn(self.ns, argv, stdin=subprocess.PIPE, stdout=log,
                                        stderr=subprocess.STDOUT)
        self.topo.on_cleanup(self.stop)
        wait_for(lambda: self._check_alive() and os.path.exists(os.path.join(self.dir, "ready")),
                 timeout, f"UML guest {self.name} to boot")
        self.run(self._network_script(), timeout=30, check=True)

    def _xstate_shim(self):
        """uml_xstate_shim.c built with gcc into a directory of this run: preloaded into the UML
        kernel, it lets Debian's UML 6.1 boot on hosts whose XSAVE area is larger than UML
        handles (Intel with AMX: 11008 bytes; the guest otherwise dies at boot with "ptrace set
        fp regs failed, errno = 14"). Elsewhere it changes nothing (see the file)."""
        global _shim_lib
        if _shim_lib is None or not os.path.exists(_shim_lib):
            lib = os.path.join(self.topo.tempdir("umlshim"), "uml_xstate_shim.so")
            subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-o", lib,
                            os.path.join(HERE, "uml_xstate_shim.c"), "-ldl"],
                           check=True, capture_output=True, text=True, timeout=60)
            _shim_lib = lib
        return _shim_lib

    def _network_script(self):
        # gso_max_segs 1: the guest sends wire-sized frames, not 64 KB TSO frames, to the veth.
        lines = ["set -e", f"ip link set {GUEST_IF} gso_max_segs 1", f"ip link set {GUEST_IF} up"]
        if self.ipv6:
            lines += ["sysctl -qw net.ipv6.conf.all.accept_ra=0", f"ip addr add {self.address} dev {GUEST_IF} nodad"]
        else:
            lines.append(f"ip addr add {self.address} dev {GUEST_IF}")
        if self.gateway:
            lines.append(f"ip route add default via {self.gateway}")
        if self.inner:
            lines += ["ip link add inner0 type dummy", "ip link set inner0 up"]
            lines += [f"ip addr add {cidr} dev inner0" for cidr in self.inner]
        lines += [f"ip route add {route}" for route in self.routes]
        return "\n".join(lines)

    def stop(self, timeout=10):
        """Power the guest off cleanly; kill it if it does not go. Safe to call twice."""
        if not self.proc or self.proc.poll() is not None:
            return
        try:
            self._submit({"op": "poweroff"})
            self.proc.wait(timeout)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait(5)

    # ---- commands ----------------------------------------------------------------------------

    def run(self, cmd, timeout=30, check=False):
        """Run shell command `cmd` in the guest; CompletedProcess (rc 124 on timeout)."""
        return self.run_async(cmd, timeout).wait(check=check)

    def run_async(self, cmd, timeout=30):
        """Start `cmd` in the guest and return at once; GuestJob.wait() collects the result."""
        return GuestJob(self, cmd, timeout, self._submit({"cmd": cmd, "timeout": timeout}))

    def xfrm_stats(self):
        """{spi: {'bytes', 'packets', 'replay', 'failed', ...}} from `ip -s xfrm state`."""
        return parse_xfrm_stats(self.run("ip -s xfrm state", check=True).stdout)

    def console(self):
        """Everything the guest printed on its console (boot log, init errors)."""
        with open(self.console_path, errors="replace") as f:
            return f.read()

    # ---- internals ---------------------------------------------------------------------------

    @property
    def jobs_dir(self):
        return os.path.join(self.dir, "jobs")

    @property
    def console_path(self):
        return os.path.join(self.dir, "console.log")

    def _submit(self, job):
        self._check_alive()
        job_id = f"{next(self._ids):06d}"
        tmp = os.path.join(self.jobs_dir, f".{job_id}.tmp")
        with open(tmp, "w") as f:
            json.dump(job, f)
        os.rename(tmp, os.path.join(self.jobs_dir, f"{job_id}.job"))  # appears whole
        return job_id

    def _check_alive(self):
        if self.proc.poll() is not None:
            tail = "".join(self.console().splitlines(keepends=True)[-30:])
            raise GuestDied(f"UML guest {self.name} exited ({self.proc.returncode}); "
                            f"console tail:\n{tail}")
        return True


class GuestJob:
    """A command started in the guest."""

    def __init__(self, peer, cmd, timeout, job_id):
        self.peer, self.cmd, self.timeout, self.id = peer, cmd, timeout, job_id
        self._result = None

    def _file(self, ext):
        return os.path.join(self.peer.jobs_dir, f"{self.id}.{ext}")

    def done(self):
        """True once the command has finished."""
        return self._result is not None or os.path.exists(self._file("rc"))

    def wait(self, check=False):
        """Wait for the command; CompletedProcess(args, returncode, stdout, stderr)."""
        if self._result is None:
            self._result = self._collect()
        if check and self._result.returncode != 0:
            res = self._result
            raise RuntimeError(f"guest command failed ({res.returncode}): {self.cmd}\n"
                               f"{res.stdout}{res.stderr}")
        return self._result

    def _collect(self):
        wait_for(lambda: self.peer._check_alive() and self.done(), self.timeout + SLACK,
                 f"guest command {self.cmd!r}")
        with open(self._file("rc")) as f:
            rc = int(f.read())
        with open(self._file("out"), errors="replace") as f:
            out = f.read()
        with open(self._file("err"), errors="replace") as f:
            err = f.read()
        for ext in ("job", "out", "err", "rc"):  # keeps the guest's directory scan short
            os.unlink(self._file(ext))
        return subprocess.CompletedProcess(self.cmd, rc, out, err)
