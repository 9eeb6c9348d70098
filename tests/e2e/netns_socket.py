"""Sockets that live in another network namespace, used from this process.

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


def _in_ns(ns, make):
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    target = os.open(f"/run/netns/{ns}", os.O_RDONLY)
    try:
        _setns(target)
        return make()
    finally:
        _setns(home)
        os.close(home)
        os.close(target)


def udp_socket(ns, addr, port):
    """A UDP socket bound to (addr, port) inside namespace `ns` (IPv4, or IPv6 if addr has ':')."""
    def make():
        s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, port))
        return s
    return _in_ns(ns, make)


def raw_ipv6_socket(ns, addr, proto):
    """A raw IPv6 socket for IP protocol `proto` bound to addr inside `ns`: it sends and
    receives the payload after the IPv6 header (the kernel writes and strips that header)."""
    def make():
        s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, proto)
        s.bind((addr, 0))
        return s
    return _in_ns(ns, make)
