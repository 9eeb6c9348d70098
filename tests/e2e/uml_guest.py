"""Command server inside the User-Mode Linux guest (PID 1, exec'd by uml_init.sh).

The host and the guest share one directory, JOBS = <dir>/jobs (hostfs, read-write). The host
drops '<id>.job' files (JSON {"cmd": str, "timeout": s} or {"op": "poweroff"}), written under a
dot-name and renamed so they appear whole. For each, this server runs `sh -c cmd` with stdout and
stderr going straight to '<id>.out' / '<id>.err', and when the shell exits writes '<id>.rc'
(again via rename): the host reads the rc file last, so out and err are complete by then (hostfs
writes through to the host file at once). Jobs run concurrently, so a long command (a TCP
receiver) does not block others.

It also holds the UDP socket with UDP_ENCAP_ESPINUDP on EGW_ENCAP_PORT: without such a socket
the kernel does not decapsulate ESP-in-UDP arriving on that port. With EGW_IPV6=1 a second,
IPv6 one does the same for ESP-in-UDP over IPv6.
"""

import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import time
import traceback

UDP_ENCAP = 100
UDP_ENCAP_ESPINUDP = 2
RB_POWER_OFF = 0x4321FEDC
TIMED_OUT = 124  # as timeout(1)


def open_encap_socket(port, family=socket.AF_INET):
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(("::", port))
    else:
        sock.bind(("0.0.0.0", port))
    sock.setsockopt(socket.IPPROTO_UDP, UDP_ENCAP, UDP_ENCAP_ESPINUDP)
    return sock  # never read: ESP is taken by the kernel, anything else just queues


def write_atomically(path, text):
    tmp = os.path.join(os.path.dirname(path), "." + os.path.basename(path) + ".tmp")
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def power_off():
    os.sync()
    ctypes.CDLL(None, use_errno=True).reboot(RB_POWER_OFF)


class Server:
    def __init__(self, jobs_dir):
        self.jobs_dir = jobs_dir
        self.seen = set()
        self.running = {}  # pid -> (job id, deadline, Popen)

    def path(self, job_id, ext):
        return os.path.join(self.jobs_dir, f"{job_id}.{ext}")

    def start_new_jobs(self):
        for name in sorted(os.listdir(self.jobs_dir)):
            job_id, _, ext = name.partition(".")
            if ext != "job" or not job_id or job_id in self.seen:
                continue
            self.seen.add(job_id)
            with open(self.path(job_id, "job")) as f:
                job = json.load(f)
            if job.get("op") == "poweroff":
                power_off()
            with open(self.path(job_id, "out"), "w") as out, \
                    open(self.path(job_id, "err"), "w") as err:
                proc = subprocess.Popen(["/bin/sh", "-c", job["cmd"]], stdin=subprocess.DEVNULL,
                                        stdout=out, stderr=err, start_new_session=True)
            self.running[proc.pid] = (job_id, time.monotonic() + job["timeout"], proc)

    def reap(self):
        # As PID 1 we inherit every orphan (commands ending in '&'): reap all children here
        # rather than through Popen, and match the ones that are jobs.
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            entry = self.running.pop(pid, None)
            if entry:
                job_id, deadline, proc = entry
                proc.returncode = rc = os.waitstatus_to_exitcode(status)
                if deadline is None:
                    rc = TIMED_OUT
                write_atomically(self.path(job_id, "rc"), f"{rc}\n")

    def kill_overdue(self):
        now = time.monotonic()
        for pid, (job_id, deadline, proc) in list(self.running.items()):
            if deadline is not None and now > deadline:
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.running[pid] = (job_id, None, proc)  # None marks "timed out"

    def serve(self):
        while True:
            self.start_new_jobs()
            self.reap()
            self.kill_overdue()
            time.sleep(0.05)


def main():
    top = sys.argv[1]
    jobs_dir = os.path.join(top, "jobs")
    os.makedirs(jobs_dir, exist_ok=True)
    port = int(os.environ.get("EGW_ENCAP_PORT", "4500"))
    encap = open_encap_socket(port) if port else None  # noqa: F841 - kept open for the kernel
    ipv6 = os.environ.get("EGW_IPV6") == "1"
    encap6 = open_encap_socket(port, socket.AF_INET6) if port and ipv6 else None  # noqa: F841
    write_atomically(os.path.join(top, "ready"), os.uname().release + "\n")
    try:
        Server(jobs_dir).serve()
    except BaseException:
        traceback.print_exc()  # to the console log the host keeps
        sys.stdout.flush()
    power_off()  # PID 1 must not exit: that would be a kernel panic


if __name__ == "__main__":
    main()
