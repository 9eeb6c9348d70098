"""UDP sockets that live in another network namespace, used from this process.

A socket belongs to the namespace its creator was in when it was made: switch this thread
into the namespace, create the socket, switch back.
"""

import ctypes
import os
import socket

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns failed")


def udp_socket(ns, addr, port):
    """A UDP socket bound to (addr, port) inside namespace `ns`."""
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    target = os.open(f"/run/netns/{ns}", os.O_RDONLY)
    try:
        _setns(target)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, port))
    finally:
        _setns(home)
        os.close(home)
        os.close(target)
    return s
