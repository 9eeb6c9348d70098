#!/usr/bin/python3
"""Turns off TX checksum offload on the given interfaces (ETHTOOL_STXCSUM through SIOCETHTOOL;
no ethtool binary needed): a kernel then fills in TCP/UDP checksums itself instead of leaving
them to the "hardware". On a veth toward DPDK's af_packet there is no hardware, and frames
would leave with checksums never filled in.

    tx_csum_off.py IFACE...   (run inside the interface's network namespace)
"""
import ctypes
import fcntl
import socket
import struct
import sys

ETHTOOL_STXCSUM, SIOCETHTOOL = 0x17, 0x8946

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for dev in sys.argv[1:]:
    buf = bytearray(struct.pack("II", ETHTOOL_STXCSUM, 0))
    c = (ctypes.c_char * len(buf)).from_buffer(buf)
    fcntl.ioctl(s.fileno(), SIOCETHTOOL, struct.pack("16sP", dev.encode(), ctypes.addressof(c)))
