#!/usr/bin/python3
"""espgw between two memif ports and the traffic generator (perf/gen/espgen, a separate DPDK
process whose ESP is OpenSSL's, not espgw's), for every cipher: 64 peers behind 8 NAT
addresses, peers picked at random, 64-byte, 1420-byte and IMIX packets, both directions,
at a rate espgw carries easily. Every packet must come back exactly once and verify:
in the decap direction the inner packet as sent, in the encap direction ESP that OpenSSL
decrypts, from the right SA, to the peer's NAT address and port. Once more with plain ESP
(no UDP, one address per peer: the traffic perf/secgw_compare.sh gives both gateways). It also proves the memif
ports, the config that espgen writes, and the generator the benchmarks rely on."""

import json
import os
import subprocess
import sys
import tempfile
import time

ESPGW = os.environ.get("ESPGW_BIN", "build/src/espgw")
ESPGEN = os.environ.get("ESPGEN_BIN", "build/perf/espgen")
CIPHERS = ["aes128-gcm", "aes256-gcm", "aes128-cbc", "chacha20-poly1305"]


def run_one(cipher, work, encap="udp"):
    sock = f"/espgw-test-{os.getpid()}"
    common = ["--peers", "64", "--per-nat", "8", "--cipher", cipher, "--socket-dir", sock, "--seed", "7",
              "--encap", encap]
    name = f"{cipher}-{encap}"
    conf = os.path.join(work, f"{name}.conf")
    out = os.path.join(work, f"{name}.json")
    subprocess.run([ESPGEN, "--write-config", conf, "--gw-mbufs", "4095", "--gw-eal",
                    '"--no-huge", "-m", "512", "--no-pci", "--file-prefix", "espgw-gentest"'] + common, check=True)
    gen = subprocess.Popen([ESPGEN, "--eal", "--no-huge -m 512 --no-pci", "--lcore", "0", "--size", "64,1420,imix",
                            "--dir", "decap,encap", "--rate", "20000", "--seconds", "0.5", "--max-mb", "64",
                            "--wait", "30", "--json", out] + common,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    # espgw is the memif client and connects once, at start: the generator's (abstract)
    # sockets must be listening first.
    deadline = time.monotonic() + 30
    while not all(f"@{sock}/{side}.sock" in open("/proc/net/unix").read() for side in ("public", "inside")):
        if time.monotonic() > deadline or gen.poll() is not None:
            gen.kill()
            return [f"espgen never listened on {sock}/*.sock: {gen.communicate()[0]}"]
        time.sleep(0.1)
    log = open(os.path.join(work, f"{name}.espgw.log"), "w")
    gw = subprocess.Popen([ESPGW, "-c", conf], stdout=log, stderr=subprocess.STDOUT)
    try:
        text, _ = gen.communicate(timeout=180)
    finally:
        gw.terminate()
        try:
            gw.wait(timeout=20)
        except subprocess.TimeoutExpired:
            gw.kill()
    print(text, flush=True)
    problems = []
    if gen.returncode != 0:
        problems.append(f"espgen exited {gen.returncode}")
    if not os.path.exists(out):
        with open(log.name) as f:
            return problems + ["no results; espgw's log:\n" + f.read()[-3000:]]
    rows = json.load(open(out))["results"]
    if len(rows) != 6:
        problems.append(f"{len(rows)} results, expected 6 (2 directions x 3 sizes)")
    for r in rows:
        what = f"{cipher} ({encap}) {r['direction']} {r['size']}"
        if r["sent"] < 1000:
            problems.append(f"{what}: only {r['sent']} packets sent")
        if r["received"] != r["sent"] or r["lost"]:
            problems.append(f"{what}: {r['received']} of {r['sent']} received")
        if r["invalid"] or r["duplicates"]:
            problems.append(f"{what}: {r['invalid']} invalid, {r['duplicates']} duplicates")
    return problems


def main():
    problems = []
    with tempfile.TemporaryDirectory(prefix="espgen-") as work:
        for cipher in CIPHERS:
            problems += run_one(cipher, work)
        problems += run_one("aes128-gcm", work, "none")
    if problems:
        print("FAILED:\n  " + "\n  ".join(problems))
        return 1
    print("PASS: every packet of every cipher, size and direction (and of plain ESP) came back once and verified")
    return 0


if __name__ == "__main__":
    sys.exit(main())
