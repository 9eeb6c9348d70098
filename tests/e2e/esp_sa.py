"""One fixed-key ESP SA, described once and rendered for each tool that needs it.

The same EspSA gives the `ip xfrm state add` line for a kernel peer and the scapy
SecurityAssociation that decrypts (or forges) its packets in a capture, so a test cannot give
the two sides different keys by mistake.
"""

import re
import shlex
from dataclasses import dataclass


@dataclass(frozen=True)
class EspSA:
    """One direction of an ESP SA.

    key: with auth_key None, AES-GCM with a 16-byte ICV and `key` = AES key + 4-byte salt
    (20 bytes: AES-128, 36: AES-256), as RFC 4106 keying material; with auth_key, AES-CBC with
    `key` as the cipher key and HMAC-SHA-256-128 keyed by auth_key (32 bytes).
    encap: (sport, dport) for ESP-in-UDP (RFC 3948), None for plain ESP.
    sel: the state's own selector ("src 10.2.0.6/32 dst 10.1.0.0/24"), needed when the inner
    address family is not the outer one (the kernel's default selector has the outer family).
    """
    spi: int
    src: str
    dst: str
    key: bytes
    auth_key: bytes = None
    mode: str = "tunnel"
    encap: tuple = None
    reqid: int = 1
    replay_window: int = 32
    sel: str = None

    def xfrm_state(self):
        """Shell command installing this SA in a Linux kernel."""
        cmd = (f"ip xfrm state add src {self.src} dst {self.dst} proto esp spi {self.spi:#010x}"
               f" reqid {self.reqid} mode {self.mode} replay-window {self.replay_window}")
        if self.auth_key is None:
            cmd += f" aead {shlex.quote('rfc4106(gcm(aes))')} 0x{self.key.hex()} 128"
        else:
            cmd += (f" enc {shlex.quote('cbc(aes)')} 0x{self.key.hex()}"
                    f" auth-trunc {shlex.quote('hmac(sha256)')} 0x{self.auth_key.hex()} 128")
        if self.sel:
            cmd += f" sel {self.sel}"
        if self.encap:
            # The last field is the NAT's original address (NAT-OA), unused by the kernel here.
            cmd += f" encap espinudp {self.encap[0]} {self.encap[1]} {'::' if ':' in self.src else '0.0.0.0'}"
        return cmd

    def xfrm_policy(self, src_net, dst_net, direction):
        """Shell command sending traffic src_net -> dst_net through this SA (direction: 'out',
        or 'in'/'fwd' for the inbound SA, whose src is then the remote end)."""
        return (f"ip xfrm policy add src {src_net} dst {dst_net} dir {direction}"
                f" tmpl src {self.src} dst {self.dst} proto esp reqid {self.reqid}"
                f" mode {self.mode}")

    def scapy(self):
        """scapy SecurityAssociation with the same algorithm, keys, mode and encapsulation."""
        # Imported here: scapy takes about a second to load and most helpers do not need it.
        from scapy.layers.inet import IP, UDP
        from scapy.layers.inet6 import IPv6
        from scapy.layers.ipsec import ESP, SecurityAssociation
        kw = {"spi": self.spi}
        if self.auth_key is None:
            kw.update(crypt_algo="AES-GCM", crypt_key=self.key)
        else:
            kw.update(crypt_algo="AES-CBC", crypt_key=self.key,
                      auth_algo="SHA2-256-128", auth_key=self.auth_key)
        if self.mode == "tunnel":
            kw["tunnel_header"] = (IPv6 if ":" in self.src else IP)(src=self.src, dst=self.dst)
        if self.encap:
            kw["nat_t_header"] = UDP(sport=self.encap[0], dport=self.encap[1])
        return SecurityAssociation(ESP, **kw)


_SPI = re.compile(r"proto esp spi 0x([0-9a-f]+)")
_LIFETIME = re.compile(r"(\d+)\(bytes\), (\d+)\(packets\)")
_STATS = re.compile(r"replay-window (\d+) replay (\d+) failed (\d+)")


def parse_xfrm_stats(text):
    """{spi: {'src', 'dst', 'bytes', 'packets', 'replay', 'failed'}} from `ip -s xfrm state`.

    'bytes'/'packets' are the kernel's lifetime counters (packets that passed the SA);
    'replay' counts replayed packets dropped, 'failed' integrity failures.
    """
    result = {}
    # Each state starts with an unindented "src A dst B" line.
    for block in re.split(r"^(?=src )", text, flags=re.M):
        spi = _SPI.search(block)
        if not spi:
            continue
        src, dst = block.split()[1], block.split()[3]
        entry = {"src": src, "dst": dst}
        # "lifetime current:" is followed by the byte/packet counters; the config section
        # above it has "(INF)(bytes)" limits that the regex does not match.
        current = block.split("lifetime current:", 1)[-1]
        life = _LIFETIME.search(current)
        stats = _STATS.search(block.split("stats:", 1)[-1])
        entry.update(bytes=int(life.group(1)) if life else 0,
                     packets=int(life.group(2)) if life else 0,
                     replay=int(stats.group(2)) if stats else 0,
                     failed=int(stats.group(3)) if stats else 0)
        result[int(spi.group(1), 16)] = entry
    return result
