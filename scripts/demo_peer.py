#!/usr/bin/python3
"""The demo's road warrior: scapy encrypts pings from 10.2.0.2 to the LAN host 10.1.0.2 with the
keys of espgw's embedded default config, sends them through the NAT, and decrypts the replies.
Run inside the peer namespace (scripts/demo.sh does)."""

import socket
import sys

from scapy.layers.inet import ICMP, IP, UDP
from scapy.layers.ipsec import ESP, SecurityAssociation

GW, PEER = "192.0.2.1", "198.51.100.2"
to_gw = SecurityAssociation(ESP, spi=0x1001, crypt_algo="AES-GCM",
                            crypt_key=bytes(range(0x00, 0x14)),
                            tunnel_header=IP(src=PEER, dst=GW), nat_t_header=UDP(sport=4500, dport=4500))
from_gw = SecurityAssociation(ESP, spi=0x2001, crypt_algo="AES-GCM",
                              crypt_key=bytes(range(0x20, 0x34)), tunnel_header=IP(src=GW, dst=PEER))

sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind((PEER, 4500))
sock.settimeout(1.0)
answered = 0
count = int(sys.argv[1]) if len(sys.argv) > 1 else 5
for seq in range(1, count + 1):
    esp = to_gw.encrypt(IP(src="10.2.0.2", dst="10.1.0.2") / ICMP(id=7, seq=seq) / b"hello through espgw")
    sock.sendto(bytes(esp[ESP]), (GW, 4500))
    try:
        data, _ = sock.recvfrom(4096)
        inner = from_gw.decrypt(IP(bytes(IP(src=GW, dst=PEER) / UDP(sport=4500, dport=4500) / ESP(data))))
        print(f"road warrior: ESP reply {len(data)} bytes -> {inner[IP].src} > {inner[IP].dst} "
              f"ICMP echo reply seq {inner[ICMP].seq}")
        answered += 1
    except socket.timeout:
        print(f"road warrior: no reply to seq {seq} (the gateway learns the NAT port from the first packet)")
print(f"road warrior: {answered}/{count} pings answered through the tunnel")
sys.exit(0 if answered else 1)
