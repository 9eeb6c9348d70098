#!/usr/bin/python3
"""A TCP bulk transfer whose content both ends can vouch for (standard library only).

Runs the same way in a namespace and inside the UML guest:
    tcp_xfer.py recv PORT [BIND_ADDR]        accept one connection, read to EOF
    tcp_xfer.py send HOST PORT NBYTES [SEED] send NBYTES of seeded pseudo-random data
Each prints "NBYTES SHA256HEX" of what it moved; equal lines on both ends mean the data arrived
whole and unchanged. The sender retries connecting, so it may start before the receiver.

From a test: run recv_cmd(...) and send_cmd(...) where they belong, then compare
parse_result() of the two outputs.
"""

import hashlib
import os
import random
import shlex
import socket
import sys
import time

SCRIPT = os.path.abspath(__file__)
CHUNK = 64 * 1024
TIMEOUT = 120  # seconds without progress before giving up


def recv_cmd(port, bind="0.0.0.0"):
    """Shell command line of a receiver on `port`."""
    return shlex.join(["/usr/bin/python3", SCRIPT, "recv", str(port), bind])


def send_cmd(host, port, nbytes, seed=1):
    """Shell command line of a sender of `nbytes` to host:port."""
    return shlex.join(["/usr/bin/python3", SCRIPT, "send", host, str(port), str(nbytes),
                       str(seed)])


def parse_result(text):
    """(nbytes, sha256hex) from a receiver's or sender's output."""
    nbytes, digest = text.split()[-2:]
    return int(nbytes), digest


def receive(port, bind):
    with socket.create_server((bind, port)) as srv:
        srv.settimeout(TIMEOUT)
        conn, _ = srv.accept()
    total, digest = 0, hashlib.sha256()
    with conn:
        conn.settimeout(TIMEOUT)
        while data := conn.recv(CHUNK):
            total += len(data)
            digest.update(data)
    return total, digest.hexdigest()


def send(host, port, nbytes, seed):
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            conn = socket.create_connection((host, port), timeout=5)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    rng, total, digest = random.Random(seed), 0, hashlib.sha256()
    with conn:
        conn.settimeout(TIMEOUT)
        while total < nbytes:
            data = rng.randbytes(min(CHUNK, nbytes - total))
            conn.sendall(data)
            digest.update(data)
            total += len(data)
        conn.shutdown(socket.SHUT_WR)
        conn.recv(1)  # wait for the receiver to close: it has then read everything
    return total, digest.hexdigest()


def main(argv):
    if len(argv) >= 2 and argv[0] == "recv":
        result = receive(int(argv[1]), argv[2] if len(argv) > 2 else "0.0.0.0")
    elif len(argv) >= 4 and argv[0] == "send":
        result = send(argv[1], int(argv[2]), int(argv[3]), int(argv[4]) if len(argv) > 4 else 1)
    else:
        sys.exit(__doc__)
    print(*result)


if __name__ == "__main__":
    main(sys.argv[1:])
