"""Throw-away test networks made of network namespaces, torn down on every exit path.

Every name carries this run's PID, so runs (and leftovers of earlier runs) never collide, and
cleanup only ever touches what this run created. Cleanup runs from `with Topology()`, from
atexit, and on SIGTERM/SIGINT/SIGHUP (the handler turns the signal into SystemExit so `finally`
blocks run too); it is idempotent.

Veths are created directly inside namespaces, never in the host namespace, so deleting the
namespaces removes them; processes are killed first because a process inside a namespace keeps it
alive after `ip netns del`.

A SIGKILLed test cannot clean up, so a watchdog child (this file run with --watchdog, in its
own session) is told every namespace and directory as it is made and removes what is left when
the test's end of the pipe closes, however the test ended.

One Topology per process at a time: names derive from the PID.
"""

import atexit
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

IFNAMSIZ = 15  # longest Linux interface name
PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36


def wait_for(predicate, timeout, what, interval=0.05):
    """Poll predicate() until it returns a true value (returned); TimeoutError naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


class Topology:
    """Namespaces, veths, addresses, NAT and processes of one test run."""

    def __init__(self, tag="egw"):
        self.suffix = str(os.getpid())
        self.prefix = tag + self.suffix
        self._namespaces = []  # only namespaces this run created
        self._procs = []
        self._dirs = []
        self._callbacks = []
        self._cleaning = False
        self._cleaned = False
        self._deferred_signal = None
        # Children of our children (UML forks dozens) that outlive their parent become ours
        # rather than PID 1's, so cleanup can reap them instead of leaving zombies behind.
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1)
        self._watchdog = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--watchdog"], stdin=subprocess.PIPE,
            text=True, start_new_session=True)
        atexit.register(self.cleanup)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._on_signal)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()

    # ---- names -------------------------------------------------------------------------------

    def ifname(self, base):
        """Interface name `base` + run suffix; base must leave room within 15 characters."""
        name = base + self.suffix
        if len(name) > IFNAMSIZ:
            raise ValueError(f"interface name {name!r} is longer than {IFNAMSIZ} characters")
        return name

    # ---- namespaces and links ----------------------------------------------------------------

    def netns(self, role):
        """Create namespace '<prefix>-<role>' with lo up and IPv6 off; returns its name."""
        name = f"{self.prefix}-{role}"
        if os.path.exists(f"/run/netns/{name}"):
            # Not ours (a leftover of a killed run with the same PID): never reuse or delete it.
            raise RuntimeError(f"namespace {name} already exists; remove it by hand "
                               f"(ip netns del {name}) if no test is using it")
        _host(["ip", "netns", "add", name])
        self._namespaces.append(name)
        self._tell_watchdog("ns", name)
        # IPv6 off before any link exists, so no link-local addresses or router solicitations
        # appear in captures (and IKE daemons see no new addresses).
        self.run(name, ["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
                        "net.ipv6.conf.default.disable_ipv6=1"])
        self.run(name, ["ip", "link", "set", "lo", "up"])
        return name

    def veth(self, ns_a, base_a, ns_b, base_b, gso=False):
        """Veth pair with one end in each namespace, both up; returns (name_a, name_b).

        gso=False (default) makes the pair behave like a wire: no frame longer than the MTU.
        Otherwise a kernel TCP sender hands 64 KB TSO frames to the veth, and a packet socket
        on the other end (DPDK af_packet, UML's vector driver) receives them whole. Where a
        kernel sends toward DPDK af_packet, also call tx_csum_off() on the sending end.
        """
        a, b = self.ifname(base_a), self.ifname(base_b)
        self.run(ns_a, ["ip", "link", "add", a, "type", "veth", "peer", "name", b, "netns", ns_b])
        for ns, dev in ((ns_a, a), (ns_b, b)):
            if not gso:
                self.no_gso(ns, dev)
            self.run(ns, ["ip", "link", "set", dev, "up"])
        return a, b

    def no_gso(self, ns, dev):
        """Make the kernel segment in software everything it sends on `dev` (no ethtool here:
        one segment per GSO packet has the same effect as tso/gso off)."""
        self.run(ns, ["ip", "link", "set", dev, "gso_max_segs", "1"])

    def tx_csum_off(self, ns, *devs):
        """Make the kernel fill in TCP/UDP checksums in software on `devs` of `ns`.

        A kernel sender leaves them to the veth ("hardware"); a packet socket on the other end
        (DPDK af_packet) then forwards frames whose L4 checksum was never filled in, and their
        receiver drops them. Needed on every link on which a kernel sends toward the gateway.
        """
        self.run(ns, ["/usr/bin/python3", _TX_CSUM_OFF, *devs])

    def addr(self, ns, dev, cidr):
        """Add address `cidr` (e.g. '192.0.2.1/24') to `dev` in `ns`."""
        self.run(ns, ["ip", "addr", "add", cidr, "dev", dev])

    def route(self, ns, dst, via=None, dev=None, src=None):
        """Add a route to `dst` ('default' or a prefix) in `ns`."""
        cmd = ["ip", "route", "add", dst]
        for key, value in (("via", via), ("dev", dev), ("src", src)):
            if value:
                cmd += [key, value]
        self.run(ns, cmd)

    def forwarding(self, ns, on=True):
        """Turn IPv4 forwarding on or off in `ns`."""
        self.run(ns, ["sysctl", "-qw", f"net.ipv4.ip_forward={int(on)}"])

    def masquerade(self, ns, out_dev, except_src=None):
        """Source-NAT everything leaving `out_dev` of `ns`, with random ports (a hostile NAT);
        packets from address `except_src` (if given) pass unchanged, as through a router.

        fully-random makes the NAT pick an arbitrary source port even for 500/4500, as many
        carrier-grade NATs do, so the gateway cannot rely on ports being kept.
        """
        self.forwarding(ns)
        match = f" ip saddr != {except_src}" if except_src else ""
        ruleset = ("table ip nat {\n"
                   " chain postrouting {\n"
                   "  type nat hook postrouting priority srcnat; policy accept;\n"
                   f'  oifname "{out_dev}"{match} masquerade fully-random\n'
                   " }\n"
                   "}\n")
        self.run(ns, ["nft", "-f", "-"], input=ruleset)

    def conntrack_flush(self, ns):
        """Forget all NAT mappings of `ns`: the next packet gets a new port (a NAT rebinding)."""
        self.run(ns, ["conntrack", "-F"])

    def conntrack_list(self, ns, proto="udp"):
        """Current conntrack entries of `ns` as text (one per line)."""
        return self.run(ns, ["conntrack", "-L", "-p", proto]).stdout

    def send_udp(self, ns, src, sport, dst, dport, payload):
        """Send one UDP datagram with `payload` (bytes) from src:sport to dst:dport in `ns`
        (e.g. ESP built by scapy, sent from port 4500 so that a NAT maps it back)."""
        code = ("import socket, sys\n"
                "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
                "s.bind((sys.argv[1], int(sys.argv[2])))\n"
                "s.sendto(bytes.fromhex(sys.argv[5]), (sys.argv[3], int(sys.argv[4])))\n")
        self.run(ns, ["/usr/bin/python3", "-c", code, src, str(sport), dst, str(dport),
                      payload.hex()])

    # ---- commands and processes --------------------------------------------------------------

    def run(self, ns, cmd, check=True, timeout=30, input=None):
        """Run `cmd` (list, or str for sh -c) in namespace `ns`; CompletedProcess with text."""
        argv = _in_ns(ns, cmd)
        res = subprocess.run(argv, input=input, capture_output=True, text=True, timeout=timeout)
        if check and res.returncode != 0:
            raise RuntimeError(f"command failed ({res.returncode}) in {ns}: {' '.join(argv)}\n"
                               f"{res.stdout}{res.stderr}")
        return res

    def spawn(self, ns, cmd, **popen_kwargs):
        """Start `cmd` in the background in `ns`, in its own process group; killed at cleanup,
        and by the kernel if this test process dies without cleaning up (SIGKILL)."""
        proc = subprocess.Popen(_in_ns(ns, cmd), start_new_session=True,
                                preexec_fn=_die_with_parent, **popen_kwargs)
        self._procs.append(proc)
        return proc

    def tempdir(self, tag):
        """A fresh directory for files of this run; removed at cleanup."""
        path = tempfile.mkdtemp(prefix=f"{self.prefix}-{tag}-")
        self._dirs.append(path)
        self._tell_watchdog("dir", path)
        return path

    def on_cleanup(self, fn):
        """Call fn() at cleanup, before processes are killed (last registered runs first)."""
        self._callbacks.append(fn)

    # ---- teardown ----------------------------------------------------------------------------

    def _tell_watchdog(self, kind, value):
        self._watchdog.stdin.write(f"{kind} {value}\n")
        self._watchdog.stdin.flush()

    def _on_signal(self, signum, _frame):
        if self._cleaning:
            self._deferred_signal = signum  # finish tearing down first
            return
        raise SystemExit(128 + signum)

    def cleanup(self):
        """Undo everything this run created. Safe to call more than once."""
        if self._cleaned or self._cleaning:
            return
        self._cleaning = True
        try:
            for fn in reversed(self._callbacks):
                _quietly(fn)
            for proc in self._procs:
                _quietly(_kill_group, proc)
            for ns in reversed(self._namespaces):
                # Anything still inside our namespaces was started by this run (e.g. children
                # that left the process group); it would keep the namespace alive.
                _quietly(_kill_ns_pids, ns)
                _quietly(_host, ["ip", "netns", "del", ns])
            for path in self._dirs:
                shutil.rmtree(path, ignore_errors=True)
            self._watchdog.stdin.close()  # nothing left for it to do: it exits
            _quietly(self._watchdog.wait, 10)
            _reap_orphans()
        finally:
            self._cleaned = True
            self._cleaning = False
        if self._deferred_signal is not None:
            raise SystemExit(128 + self._deferred_signal)


# SIOCETHTOOL (0x8946) with ETHTOOL_STXCSUM (0x17), data 0: tx checksum offload off, per device
# named on the command line (there is no ethtool here).
_TX_CSUM_OFF = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "tx_csum_off.py")


def _in_ns(ns, cmd):
    argv = ["sh", "-c", cmd] if isinstance(cmd, str) else list(cmd)
    return ["ip", "netns", "exec", ns] + argv if ns else argv


def _die_with_parent():
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _host(argv):
    subprocess.run(argv, check=True, capture_output=True, text=True, timeout=30)


def _kill_group(proc, grace=2.0):
    """SIGTERM the process group, SIGKILL whatever is left after `grace` seconds."""
    if proc.poll() is None:
        _signal_group(proc.pid, signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            pass
        # The leader may be gone while its group lives on: finish the group off. (A leader
        # that died earlier is left alone: its pid may be reused; stragglers inside our
        # namespaces are swept by _kill_ns_pids.)
        _signal_group(proc.pid, signal.SIGKILL)
        proc.wait(grace)
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream:
            stream.close()


def _signal_group(pgid, sig):
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def _kill_ns_pids(ns):
    pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True,
                          timeout=10).stdout.split()
    for pid in pids:
        try:
            os.kill(int(pid), signal.SIGKILL)
        except ProcessLookupError:
            pass
    wait_for(lambda: not subprocess.run(["ip", "netns", "pids", ns], capture_output=True,
                                        text=True, timeout=10).stdout.strip(),
             5, f"processes in {ns} to die")


def _reap_orphans():
    """Collect exit statuses of dead orphans handed to us as subreaper (all are dead by now)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _quietly(fn, *args):
    """Cleanup must go on past one failing step; report it but do not stop."""
    try:
        fn(*args)
    except Exception as exc:  # noqa: BLE001 - teardown reports and continues
        print(f"cleanup: {getattr(fn, '__name__', fn)}: {exc}", flush=True)


def _watchdog():
    """Remove the namespaces and directories named on stdin once stdin closes."""
    namespaces, dirs = [], []
    for line in sys.stdin:
        kind, _, value = line.rstrip("\n").partition(" ")
        (namespaces if kind == "ns" else dirs).append(value)
    for ns in reversed(namespaces):
        if os.path.exists(f"/run/netns/{ns}"):
            _quietly(_kill_ns_pids, ns)
            _quietly(_host, ["ip", "netns", "del", ns])
    for path in dirs:
        shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__" and sys.argv[1:] == ["--watchdog"]:
    _watchdog()
