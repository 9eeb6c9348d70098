#!/usr/bin/python3
"""IKEv2 with X.509 certificates through espgw, against real strongSwan clients (charon 5.9,
userspace ESP) behind an nftables masquerade NAT; the PKI is made here with OpenSSL.

  client ns (198.51.100.2) -- NAT ns -- gw ns (espgw on af_packet) -- LAN ns (10.1.0.2)

1. RSA: the client's RSA-2048 certificate (SAN alice@rsa.example.net) and espgw's RSA one
   (SAN gw.example.net), both from one CA. The messages carrying them are bigger than the
   fragment size, so IKE_AUTH goes in RFC 7383 fragments both ways (counted by espgw).
2. ECDSA: P-256 client, P-384 gateway, another connection of the same espgw.
Each: established, a virtual IP, every ping answered, strongSwan's view of espgw's identity.
3. A client whose certificate comes from another CA is refused (AUTHENTICATION_FAILED).
"""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from gateway import Gateway, espgw_bin  # noqa: E402
from strongswan_client import StrongSwanClient  # noqa: E402
from report import Report, ping_missing  # noqa: E402
from topology import Topology  # noqa: E402

CLIENT, NAT_IN, NAT_OUT, GW, LAN = "198.51.100.2", "198.51.100.1", "192.0.2.254", "192.0.2.1", "10.1.0.2"


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, text=True)


def make_key(d, name, kind):
    spec = {"rsa": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
            "p256": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
            "p384": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"]}[kind]
    openssl("genpkey", *spec, "-out", f"{name}.key", cwd=d)


def make_ca(d, name, kind="rsa"):
    make_key(d, name, kind)
    openssl("req", "-x509", "-new", "-key", f"{name}.key", "-subj", f"/O=espgw test/CN={name}", "-days", "30",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-out", f"{name}.pem", cwd=d)


def make_cert(d, name, kind, ca, san):
    make_key(d, name, kind)
    openssl("req", "-new", "-key", f"{name}.key", "-subj", f"/O=espgw test/CN={name}", "-out", f"{name}.csr", cwd=d)
    with open(os.path.join(d, f"{name}.ext"), "w") as f:
        f.write(f"subjectAltName={san}\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n")
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key", "-CAcreateserial",
            "-days", "30", "-extfile", f"{name}.ext", "-out", f"{name}.pem", cwd=d)
    return os.path.join(d, f"{name}.pem"), os.path.join(d, f"{name}.key")


def main():
    report = Report()

    def check(ok, what):
        return report.check(ok, "certs", what)

    with Topology("ect") as topo:
        pki = topo.tempdir("pki")
        make_ca(pki, "ca")
        make_ca(pki, "other-ca")
        gw_rsa = make_cert(pki, "gw-rsa", "rsa", "ca", "DNS:gw.example.net")
        gw_ec = make_cert(pki, "gw-ec", "p384", "ca", "DNS:gw.example.net")
        alice = make_cert(pki, "alice", "rsa", "ca", "email:alice@rsa.example.net")
        bob = make_cert(pki, "bob", "p256", "ca", "email:bob@ec.example.net")
        eve = make_cert(pki, "eve", "rsa", "other-ca", "email:eve@rsa.example.net")
        ca = os.path.join(pki, "ca.pem")

        client, nat, gwns, lan = (topo.netns(r) for r in ("cli", "nat", "gw", "lan"))
        cn, nc = topo.veth(client, "cn", nat, "nc")
        nw, gp = topo.veth(nat, "nw", gwns, "gp")
        gl, ll = topo.veth(gwns, "gl", lan, "ll")
        topo.addr(client, cn, f"{CLIENT}/24")
        topo.route(client, "default", via=NAT_IN)
        topo.addr(nat, nc, f"{NAT_IN}/24")
        topo.addr(nat, nw, f"{NAT_OUT}/24")
        topo.forwarding(nat)
        topo.masquerade(nat, nw)
        topo.addr(lan, ll, f"{LAN}/24")
        topo.route(lan, "default", via="10.1.0.1")
        topo.tx_csum_off(lan, ll)
        topo.tx_csum_off(nat, nw)
        topo.tx_csum_off(client, cn)

        conns = ""
        for name, (cert, key), pattern, pool in (("rsa", gw_rsa, "*@rsa.example.net", "p1"),
                                                 ("ecdsa", gw_ec, "*@ec.example.net", "p2")):
            conns += f'''  {{ name = "{name}"; auth = "pubkey"; cert = "{cert}"; key = "{key}"; cacerts = ["{ca}"];
    local_id = "gw.example.net"; remote_id = "{pattern}"; pools = ["{pool}"];
    proposals = ["aes128gcm16-prfsha256-curve25519", "aes256-sha256-ecp256"];
    children = ( {{ name = "lan"; local_ts = ["10.1.0.0/24"]; esp_proposals = ["aes128gcm16"]; }} ); }},
'''
        extra = f'''pools = ( {{ name = "p1"; range = "10.3.0.0/24"; }}, {{ name = "p2"; range = "10.4.0.0/24"; }} );
connections = (
{conns.rstrip().rstrip(",")}
);
'''
        # config/road-warriors-certs.conf with the files it names (certs/ next to it): --check passes.
        import shutil
        example_dir = topo.tempdir("example")
        os.makedirs(os.path.join(example_dir, "certs"))
        shutil.copy(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "config",
                                 "road-warriors-certs.conf"), example_dir)
        shutil.copy(gw_ec[0], os.path.join(example_dir, "certs", "gw.pem"))
        shutil.copy(gw_ec[1], os.path.join(example_dir, "certs", "gw.key"))
        shutil.copy(ca, os.path.join(example_dir, "certs", "ca.pem"))
        res = topo.run(gwns, [espgw_bin(), "--check", "-c", os.path.join(example_dir, "road-warriors-certs.conf")], check=False)
        check(res.returncode != 0 and "local_id: not in our certificate" in res.stderr,
              f"config/road-warriors-certs.conf: a local_id not in the certificate is refused: {res.stderr.strip()[-200:]}")
        make_cert(pki, "vpn", "p384", "ca", "DNS:vpn.example.com")
        shutil.copy(os.path.join(pki, "vpn.pem"), os.path.join(example_dir, "certs", "gw.pem"))
        shutil.copy(os.path.join(pki, "vpn.key"), os.path.join(example_dir, "certs", "gw.key"))
        res = topo.run(gwns, [espgw_bin(), "--check", "-c", os.path.join(example_dir, "road-warriors-certs.conf")], check=False)
        check(res.returncode == 0, f"config/road-warriors-certs.conf with its files passes --check: {res.stdout.strip()}{res.stderr.strip()[-300:]}")

        gw = Gateway(topo, gwns, gp, gl, extra=extra)
        res = gw.check_config()
        check(res.returncode == 0, f"espgw --check accepts certificate connections {res.stdout.strip()}{res.stderr.strip()[-300:]}")
        gw.start()

        for label, (cert, key), my_id, pool in (("RSA", alice, "alice@rsa.example.net", "10.3.0."),
                                                 ("ECDSA", bob, "bob@ec.example.net", "10.4.0.")):
            before = gw.telemetry("/espgw/ike")
            c = StrongSwanClient(topo, client, label.lower(), CLIENT, GW, "", my_id, cert=cert, key=key, ca=ca).start()
            r = c.initiate()
            check(r.returncode == 0, f"{label}: IKE SA with certificates established" +
                  ("" if r.returncode == 0 else f"\n{r.stdout[-2500:]}\n{gw.read_log()[-2000:]}"))
            vip = c.vip()
            check(vip is not None and vip.startswith(pool), f"{label}: virtual IP from its connection's pool: {vip}")
            check("gw.example.net" in c.list_sas(), f"{label}: strongSwan authenticated espgw as gw.example.net")
            if vip:
                missing, _ = ping_missing(topo, client, vip, LAN, 10)
                check(not missing, f"{label}: every ping answered (missing {missing})")
            after = gw.telemetry("/espgw/ike")
            if label == "RSA":
                check(after["fragments_in"] > before["fragments_in"] and after["fragments_out"] > before["fragments_out"],
                      f"RSA: IKE_AUTH went in RFC 7383 fragments both ways (in {after['fragments_in']}, "
                      f"out {after['fragments_out']})")
            c.terminate()
            c.stop()

        # A certificate from a CA espgw does not trust.
        before = gw.telemetry("/espgw/ike")["auth_failed"]
        e = StrongSwanClient(topo, client, "eve", CLIENT, GW, "", "eve@rsa.example.net", cert=eve[0], key=eve[1],
                             ca=ca).start()
        r = e.initiate(timeout=10)
        after = gw.telemetry("/espgw/ike")["auth_failed"]
        check(r.returncode != 0 and after == before + 1, "a certificate from an untrusted CA is refused")
        check("not trusted" in gw.read_log(), "espgw's log says why (certificate not trusted)")
        print(gw.read_log()[-2000:])

    return report.verdict()


if __name__ == "__main__":
    sys.exit(main())
