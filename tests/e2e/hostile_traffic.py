#!/usr/bin/python3
"""Sends a mix of hostile frames at a gateway's public port, as fast as this process can or
at a set rate, for a set time: what an outside tester throws at a VPN concentrator.

  hostile_traffic.py IFACE DST_MAC DST_IP SECONDS RATE_PPS SPI REPLAY_HEX

RATE_PPS 0: flat out. SPI: a real inbound SPI (for forged ICVs); REPLAY_HEX: one real
ESP-in-UDP payload (SPI onwards) that is replayed from random ports. The mix, in turn:
random UDP to 500 and 4500, unknown SPIs, the real SPI with garbage (ICV fails), truncated
ESP, keepalive floods, the non-ESP marker with junk, protocol-50 junk, incomplete IPv4
fragments from spoofed sources, replays. Prints how many frames of each kind were sent.
"""

import os
import random
import socket
import struct
import sys
import time


def checksum(header):
    s = sum(struct.unpack("!10H", header))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def ipv4(src, dst, proto, payload, ident=0, flags_offset=0):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, flags_offset, 64, proto, 0,
                      socket.inet_aton(src), socket.inet_aton(dst))
    return hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:] + payload


def udp(sport, dport, payload):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def main():
    iface, dst_mac, dst, seconds, rate, spi, replay = sys.argv[1:8]
    seconds, rate, spi, replay = float(seconds), int(rate), int(spi, 0), bytes.fromhex(replay)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    src_mac = bytes.fromhex(open(f"/sys/class/net/{iface}/address").read().strip().replace(":", ""))
    eth = bytes.fromhex(dst_mac.replace(":", "")) + src_mac + b"\x08\x00"
    rnd = random.Random(int.from_bytes(os.urandom(4), "big"))

    def src():
        return f"100.{64 + rnd.randrange(64)}.{rnd.randrange(256)}.{rnd.randrange(1, 255)}"

    kinds = {
        "udp500": lambda: ipv4(src(), dst, 17, udp(rnd.randrange(1, 65536), 500, rnd.randbytes(rnd.randrange(0, 200)))),
        "udp4500": lambda: ipv4(src(), dst, 17, udp(rnd.randrange(1, 65536), 4500, rnd.randbytes(rnd.randrange(0, 200)))),
        "unknown_spi": lambda: ipv4(src(), dst, 17, udp(4500, 4500, struct.pack("!II", rnd.randrange(0x10000, 1 << 32), 1)
                                                        + rnd.randbytes(80))),
        "bad_icv": lambda: ipv4(src(), dst, 17, udp(rnd.randrange(1024, 65536), 4500,
                                                    struct.pack("!II", spi, rnd.randrange(1, 1 << 32)) + rnd.randbytes(100))),
        "truncated": lambda: ipv4(src(), dst, 17, udp(4500, 4500, struct.pack("!I", spi) + rnd.randbytes(rnd.randrange(0, 12)))),
        "keepalive": lambda: ipv4(src(), dst, 17, udp(rnd.randrange(1024, 65536), 4500, b"\xff")),
        "marker_junk": lambda: ipv4(src(), dst, 17, udp(4500, 4500, b"\0\0\0\0" + rnd.randbytes(rnd.randrange(0, 100)))),
        "proto50": lambda: ipv4(src(), dst, 50, rnd.randbytes(rnd.randrange(0, 120))),
        "fragment": lambda: ipv4(src(), dst, 17, rnd.randbytes(64), rnd.randrange(65536), 0x2000 | rnd.randrange(0, 64) * 8),
        "replay": lambda: ipv4("192.0.2.254", dst, 17, udp(rnd.randrange(1024, 65536), 4500, replay)),
    }
    names = list(kinds)
    sent = dict.fromkeys(names, 0)
    start, n = time.monotonic(), 0
    while True:
        k = names[n % len(names)]
        s.send(eth + kinds[k]())
        sent[k] += 1
        n += 1
        if n % 100 == 0:
            elapsed = time.monotonic() - start
            if elapsed >= seconds:
                break
            if rate and n / rate > elapsed:
                time.sleep(n / rate - elapsed)
    print(" ".join(f"{k}={v}" for k, v in sent.items()), f"total={n}")


if __name__ == "__main__":
    main()
