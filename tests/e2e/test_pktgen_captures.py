#!/usr/bin/python3
"""The captures that Pktgen-DPDK replays against a deployed espgw (perf/pktgen/espgw_replay.lua,
written by `espgen --write-pcap`), put through espgw here by DPDK's own pcap driver, as Pktgen
would put them on the wire: the public capture into espgw's public port and the protected one
into its protected port, with the config `espgen --write-config --no-anti-replay` writes for
them (as perf/GENERATOR.md says). tshark, an independent decoder with the config's keys, reads
what went in and what came out:

- the public capture holds the ESP share espgen announced: that many ESP-in-UDP frames, each
  from the NAT address and port of the peer its SPI belongs to, ICV good, inner packet from that
  peer's tunnel address; the rest NAT keepalives and IKE (on 500, and behind the non-ESP marker
  on 4500), some of each;
- espgw's counters: every frame received, every ESP frame decrypted, every keepalive and IKE
  message taken as such, every plain packet encrypted, nothing dropped;
- espgw's protected side sent exactly the decrypted packets: per tunnel address as many as the
  capture carried on that peer's SA, IPv4 header checksum good;
- espgw's public side sent one ESP frame per plain packet: on the outbound SA of the peer the
  packet is for, to that peer's NAT address and port, ICV good, the inner packet to the peer's
  tunnel address, sequence numbers 1, 2, 3... on each SA.
"""

import os
import re
import socket
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict

from capture import tshark_esp_icv

ESPGW = os.environ.get("ESPGW_BIN", "build/src/espgw")
ESPGEN = os.environ.get("ESPGEN_BIN", "build/perf/espgen")
GCM = "AES-GCM with 16 octet ICV [RFC4106]"
PEERS, PACKETS, SIZE = 40, 2000, 512
GW = "192.0.2.1"
# espgen's inner packets are UDP 5000 -> 5001 with a payload that tshark's heuristics may take
# for some protocol (R-GOOSE/CLTP did) and throw on, which leaves the ESP dissector without its
# ICV verdict for that packet: the payload is decoded as plain data.
QUIET_INNER = ("-d", "udp.port==5000,data", "-d", "udp.port==5001,data")


def read_config(path):
    """Peers {name: (address, port)} and SAs [(name, peer, direction, spi, key, remote_ts)]."""
    text = open(path).read()
    peers = {m[1]: (m[2], int(m[3])) for m in
             re.finditer(r'name = "([^"]+)"; address = "([^"]+)"; port = (\d+);', text)}
    sas = [(m[1], m[2], m[3], int(m[4], 16), bytes.fromhex(m[5]), m[6].split("/")[0]) for m in
           re.finditer(r'name = "([^"]+)"; peer = "([^"]+)"; direction = "(in|out)"; spi = (0x[0-9a-f]+);'
                        r' cipher = "aes128-gcm"; key = "0x([0-9a-f]+)";.*?remote_ts = "([^"]+)"', text)]
    return peers, sas


def tshark_fields(pcap, fields, *opts):
    res = subprocess.run(["tshark", "-n", "-r", pcap, *opts, "-T", "fields", "-E", "separator=|", "-E", "occurrence=f",
                          *[a for f in fields for a in ("-e", f)]],
                         capture_output=True, text=True, timeout=120)
    return [line.split("|") for line in res.stdout.splitlines() if line.strip()]


def telemetry(prefix, cmd):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(f"/var/run/dpdk/{prefix}/dpdk_telemetry.v2")
    s.recv(16384)
    s.send(cmd.encode())
    reply = json.loads(s.recv(1 << 20).decode())
    s.close()
    return reply[cmd]


def main():
    problems = []
    with tempfile.TemporaryDirectory(prefix="pktgen-captures-") as work:
        cap, conf = os.path.join(work, "bench"), os.path.join(work, "gw.conf")
        out_pub, out_lan = os.path.join(work, "out-public.pcap"), os.path.join(work, "out-protected.pcap")
        prefix = f"espgw-captures-{os.getpid()}"
        common = ["--peers", str(PEERS), "--per-nat", "8", "--seed", "7", "--cipher", "aes128-gcm"]
        said = subprocess.run([ESPGEN, "--write-pcap", cap, "--size", str(SIZE), "--packets", str(PACKETS)] + common,
                              check=True, capture_output=True, text=True).stdout
        print(said, end="")
        share = re.search(r"ESP share (\d+)/(\d+)", said)
        if not share:
            return print(f"FAILED: espgen announced no ESP share: {said}") or 1
        n_esp, n_frames = int(share[1]), int(share[2])
        subprocess.run([ESPGEN, "--write-config", conf, "--no-anti-replay", "--gw-mbufs", "4095", "--gw-eal",
                        f'"--no-huge", "-m", "512", "--no-pci", "--file-prefix", "{prefix}"',
                        "--gw-public-dev", f"net_pcap0,rx_pcap={cap}-public.pcap,tx_pcap={out_pub}",
                        "--gw-inside-dev", f"net_pcap1,rx_pcap={cap}-protected.pcap,tx_pcap={out_lan}"] + common,
                       check=True, stdout=subprocess.DEVNULL)
        peers, sas = read_config(conf)
        sa_in = {spi: (peer, ts, key) for _, peer, d, spi, key, ts in sas if d == "in"}
        sa_out = {spi: (peer, ts, key) for _, peer, d, spi, key, ts in sas if d == "out"}
        out_of_ts = {ts: spi for spi, (_, ts, _) in sa_out.items()}
        if len(peers) != PEERS or len(sa_in) != PEERS or len(sa_out) != PEERS:
            return print(f"FAILED: config has {len(peers)} peers, {len(sa_in)}/{len(sa_out)} SAs") or 1

        # What Pktgen would send, read by tshark.
        rows = tshark_fields(f"{cap}-public.pcap", ["_ws.col.Protocol", "ip.src", "udp.srcport", "udp.dstport",
                                                    "esp.spi"])
        kinds = Counter(r[0] for r in rows)
        print(f"public capture: {dict(kinds)}")
        if len(rows) != n_frames or kinds["ESP"] != n_esp or n_esp != PACKETS:
            problems.append(f"public capture: {len(rows)} frames, {kinds['ESP']} ESP; espgen said {n_esp}/{n_frames}")
        if not kinds["UDPENCAP"] or not kinds["ISAKMP"] or kinds["UDPENCAP"] + kinds["ISAKMP"] != n_frames - n_esp:
            problems.append(f"public capture: {kinds['UDPENCAP']} keepalives and {kinds['ISAKMP']} IKE messages, "
                            f"expected {n_frames - n_esp} together and some of each")
        ike_ports = Counter(r[3] for r in rows if r[0] == "ISAKMP")
        if set(ike_ports) != {"500", "4500"}:
            problems.append(f"public capture: IKE on ports {dict(ike_ports)}, expected 500 and 4500")
        esp_per_spi = Counter()
        for _, src, sport, _, spi in (r for r in rows if r[0] == "ESP"):
            spi = int(spi, 16)
            if spi not in sa_in or peers[sa_in[spi][0]] != (src, int(sport)):
                problems.append(f"public capture: ESP spi {spi:#x} from {src}:{sport}, not its peer's NAT mapping")
                break
            esp_per_spi[spi] += 1
        icv_rows, bad, err = tshark_esp_icv(f"{cap}-public.pcap", [
            ("IPv4", "*", GW, spi, GCM, key, "NULL", b"") for spi, (_, _, key) in sa_in.items()], fields=("ip.src",), options=QUIET_INNER)
        wrong_inner = [r for r in icv_rows if r[2].split(",")[-1] != sa_in[int(r[0], 16)][1]]
        if len(icv_rows) != n_esp or bad or wrong_inner:
            problems.append(f"public capture: tshark authenticated {len(icv_rows) - len(bad)} of {n_esp} ESP "
                            f"frames, {len(wrong_inner)} with an inner source not the SA's: {err[-300:]}")

        # espgw reads both captures once, through the pcap driver.
        log_path = os.path.join(work, "espgw.log")
        with open(log_path, "w") as log:
            gw = subprocess.Popen([ESPGW, "-c", conf], stdout=log, stderr=subprocess.STDOUT)
        stats = {}
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and gw.poll() is None:
                try:
                    stats = telemetry(prefix, "/espgw/stats")
                except (OSError, ValueError, KeyError):
                    stats = {}
                if stats.get("public_rx") == n_frames and stats.get("protected_rx") == PACKETS and \
                        stats.get("public_tx", 0) + stats.get("drops", 0) >= PACKETS and \
                        stats.get("protected_tx", 0) + stats.get("drops", 0) >= n_esp:
                    break
                time.sleep(0.2)
        finally:
            gw.terminate()  # the pcap driver writes its files out as the ports close
            try:
                gw.wait(timeout=20)
            except subprocess.TimeoutExpired:
                gw.kill()
        print(f"espgw: {stats}")
        want = {"public_rx": n_frames, "esp_in": n_esp, "keepalives_in": kinds["UDPENCAP"],
                "ike_in": kinds["ISAKMP"], "protected_tx": n_esp, "protected_rx": PACKETS, "esp_out": PACKETS,
                "public_tx": PACKETS, "drops": 0}
        for key, value in want.items():
            if stats.get(key) != value:
                problems.append(f"espgw counter {key} = {stats.get(key)}, expected {value}")
        if gw.returncode != 0:
            problems.append(f"espgw exited {gw.returncode}: {open(log_path).read()[-2000:]}")

        # What espgw sent to the protected side: the decrypted packets, per peer as many as sent.
        lan = tshark_fields(out_lan, ["ip.src", "ip.dst", "ip.len", "ip.checksum.status"], "-o", "ip.check_checksum:TRUE")
        per_src = Counter(r[0] for r in lan)
        expect_src = Counter({sa_in[spi][1]: k for spi, k in esp_per_spi.items()})
        if len(lan) != n_esp or per_src != expect_src:
            problems.append(f"protected side: {len(lan)} packets, expected {n_esp}, per tunnel address as on the SAs")
        if any(r[2] != str(SIZE) or r[3] != "1" for r in lan):
            problems.append(f"protected side: packets not {SIZE} bytes or with a bad header checksum: "
                            f"{[r for r in lan if r[2] != str(SIZE) or r[3] != '1'][:3]}")

        # What espgw sent to the peers: one ESP frame per plain packet, on the right SA and path.
        plain = Counter(r[0] for r in tshark_fields(f"{cap}-protected.pcap", ["ip.dst"]))
        pub = tshark_fields(out_pub, ["_ws.col.Protocol", "ip.src", "ip.dst", "udp.srcport", "udp.dstport",
                                      "esp.spi", "esp.sequence"])
        seqs = defaultdict(list)
        for proto, src, dst, sport, dport, spi, seq in pub:
            spi = int(spi, 16) if spi else None
            if proto != "ESP" or spi not in sa_out or src != GW or sport != "4500" or \
                    peers[sa_out[spi][0]] != (dst, int(dport)):
                problems.append(f"public side: {proto} {src}:{sport} -> {dst}:{dport} spi {spi}: not ESP on an "
                                f"outbound SA to its peer's NAT mapping")
                break
            seqs[spi].append(int(seq))
        if {spi: len(s) for spi, s in seqs.items()} != {out_of_ts[ts]: k for ts, k in plain.items()}:
            problems.append(f"public side: {len(pub)} ESP frames, not one per plain packet on its peer's SA")
        if any(s != list(range(1, len(s) + 1)) for s in seqs.values()):
            problems.append("public side: sequence numbers not 1, 2, 3... on every SA")
        icv_rows, bad, err = tshark_esp_icv(out_pub, [
            ("IPv4", GW, "*", spi, GCM, key, "NULL", b"") for spi, (_, _, key) in sa_out.items()], fields=("ip.dst",), options=QUIET_INNER)
        wrong_inner = [r for r in icv_rows if r[2].split(",")[-1] != sa_out[int(r[0], 16)][1]]
        if len(icv_rows) != PACKETS or bad or wrong_inner:
            problems.append(f"public side: tshark authenticated {len(icv_rows) - len(bad)} of {PACKETS} ESP frames, "
                            f"{len(wrong_inner)} with an inner destination not the SA's: {err[-300:]}")
    if problems:
        print("FAILED:\n  " + "\n  ".join(problems))
        return 1
    print(f"PASS: the Pktgen captures through espgw: {n_esp} ESP frames decrypted and {PACKETS} plain packets "
          f"encrypted, each on its peer's SA and path, keepalives and IKE taken apart, tshark agreeing")
    return 0


if __name__ == "__main__":
    sys.exit(main())
