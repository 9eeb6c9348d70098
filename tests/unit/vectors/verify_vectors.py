#!/usr/bin/python3
"""Verify the known-answer vectors in tests/unit/vectors/*.h.

The headers are the product; this script parses them (plain C aggregate
initializers of hex string literals, integers and booleans) and checks every
vector cryptographically with the `cryptography` module:

  esp_gcm_vectors.h  AES-GCM decrypt + re-encrypt, AAD == SPI||seq(_hi||_lo),
                     ESP trailer, and consistency with the published ESP packet
  esp_cbc_vectors.h  AES-CBC encrypt + decrypt, ESP header == SPI||seq, ESP
                     trailer, consistency with the published ESP message
  hmac_vectors.h     HMAC recomputed (cryptography and Python's hmac module),
                     published value == full output or its documented prefix
  chacha_vectors.h   ChaCha20-Poly1305 decrypt + re-encrypt, ESP AAD

Run with the system interpreter:  /usr/bin/python3 verify_vectors.py
Prints "OK <file> <vector>" for each vector; exits non-zero on any failure.
"""

import hashlib
import hmac as py_hmac
import os
import re
import sys

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as c_hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

HERE = os.path.dirname(os.path.abspath(__file__))

# Published complete ESP packets (draft-mcgrew-gcm-test-01 "packet" lines:
# SPI || low 32 bits of seq || IV || ciphertext || tag), used only as an
# independent cross-check of the header fields.
GCM_PACKETS = {
    1: "00004321000000004956ed7e3b244cfefecf537e729d5b07dc30df528dd22b768d1b98736696a6fd"
       "348509fa13ceac34cfa2436f14a3f3cf65925bf1f4a13c5d15b21e1884f5ff6247aeabb786b93bce"
       "61bc17d768fd9732459018148f6cbe722fd04796562dfdb4",
    2: "0000a5f80000000afacedbaddecaf888deb22cd9b07c72c16e3a65beeb8df304a5a5897d33ae530f"
       "1ba76d5d114d2a5c3de81827c10e9a4f51330d0eec416642cfbb85a5b47e48a4ec3b9ba95d918bd1"
       "83b70d3aa8bc6ee4c309e9d85a41ad4a",
    3: "4a2cbfe3000000020102030405060708ff425c9b724599df7a3bcd510194e00d6a78107f1b0b1cbf"
       "06efae9d65a5d763748a637985771d347f0545659f14e99def842d8eb335f4eecfdbf831824b4c49"
       "15956c96",
    4: "000000000000000100000000000000004688daf2f973a392732909c331d56d60f694abaa414b5e7f"
       "f5fdcdfff5e9a284456476492719ffb64de7d9dca1e1d894bc3bd57873ed4d181d19d4d5c8c18af3"
       "f821d496eeb096e98ad2b69e4799c71d",
    5: "42f67e3f101010104e280000a2fca1a3fba2caa4853cf9f0f22cb10d86dd83b0fec75691cf1a04b0"
       "0d1138ec9c35791765acbd8701ad79845bf9fe3fba487bc91755e6662b4c8d0d1f5e22739530320a"
       "e0d731cc978ecafaeae88f00e80d6e48",
    6: "42f67e3f101010104e280000a2fca1a3fba2ca845e5df9f0f22c3e6e86dd831e1fc65792cd1af913"
       "0e1379ed369f071f35e034be95f112e4e7d05d35",
    8: "0000010000000001cafedebaceface7418a6fd42f72cbf4ab2a2ea901f73d814e3e7f243d95412e1"
       "c349c1d2fbec168f9190feebaf2cb01984e65863965d7472b79da345e0e780191f0d2f0e0f496c22"
       "6f2127b27db35724e7845d68651f57e65f354f75ff17015769623436",
    9: "17405e67dd0db99b616e640169766563f2d69ecdbd5a0d5b8d5ef38bad4da58d1f278fde98ef6754"
       "9d524a3018d9a57ff4d3a31ce673119e451626c2415771e3b7eebca614c89b35",
    10: "42f67e3f101010104e280000a2fca1a3fba2cad12fc1f9f00d3cebf305410db83d7784b607323d22"
        "0f24b0a97d54182800cadb0f68d99ef0e0c0c89ae9bea8884e52d65bc1afd0740f742444747b5b39"
        "ab533163aad4550ee5160975cdb608c5769189609763b8e18caa81e2",
    11: "17405e67dd0db99b616e640169766563d4b7ed86a1777f2ea13d6973d324c69e7b43f826fb568312"
        "26508bebd2dceb18d0a6df10e5487df074113e14c641024e3e6773d91a62ee429b043a10e3efe6b0"
        "12a49363412364f8c0cac587f249e56b11e24f30e44ccc76",
    12: "335467aeffffffff43457e9182443bc6437f866bcb3f699fe9b0822bac961c4504bef270",
    13: "0000010000000001cafedebaceface7429c9fc69a197d038ccdd14e2ddfcaa054333216441250352"
        "4303ed3c6c5f283843af8c3e",
    14: "796b6963ffffffff333021696765746df97ab2aa356d8edce17644ac8c78e25dd24dedbb29ebf1b6"
        "4a274b39b49c3a864cd3d78ca4ae68a32b42458fb57dbe821dcc63b9d0937ba2945f669368661a32"
        "9fb4c053",
    15: "00004321000000070000000000000000"
        "45000030da3a00008001df3bc0a80005c0a800010800c6cd02000700616263646566676869"
        "6a6b6c6d6e6f707172737401020201f2a9a836e155106aa8dcd618e4099aaa",
    16: "3f7ef642101010104e280000a2fca1a3fba2caa8c6c5f9f0f22ca54a061210ad3f6e5791cf1aca21"
        "0d117cec9c35791765acbd8701ad79845bf9fe3fba487bc96321930684eecadb56912546e7a95c97"
        "40d7cb05",
    17: "00004321000000074855ec7d3a234bfd74752e8aeb5d873cd7c0f4acc36c4bff84b7d7b98f0ca8b6"
        "acda6894bc619069ef9cbc28fe1b56a7c4e0d58c86cd2bc0",
}

# RFC 3602 cases 5-8 as complete ESP messages (SPI || Seq || IV || encrypted data).
CBC_MESSAGES = {
    5: "0000432100000001e96e8c08ab465763fd098d45dd3ff893f663c25d325c18c6a9453e194e120849"
       "a4870b66cc6b9965330013b4898dc856a4699e523a55db080b59ec3a8e4b7e52775b07d1db34ed9c"
       "538ab50c551b874aa269add047ad2d5913ac19b7cfbad4a6",
    6: "000043210000000869d08df7d203329db093fc4924e5bd80f51995881ec4e0c4488987ce742e8109"
       "689bb379d2d750c0d915dca346a89f75",
    7: "0000876500000002f4e765244f6407adf13dc1380f673f37773b5241a4c449225e4f3ce5ed611b0c"
       "237ca96cf74a93013c1b0ea1a0cf70f8e4ecaec78ac53aad7a0f022b859243c647752e94a859352b"
       "8a4d4d2decd136e5c177f132ad3fbfb2201ac9904c74ee0a109e0ca1e4dfe9d5a100b842f1c22f0d",
    8: "000087650000000585d47224b5f3dd5d2101d4ea8dffab2215b92683819596a8047232cc00f7048f"
       "e45318e11f8a0f62ede3c3fc61203bb50f980a08c9843fd3a1b06d5c07ff9639b7eb7dfb3512e5de"
       "435e7207ed971ef3d2726d9b5ef6affc6d17a0decbb13892",
}

EXPECTED_COUNTS = {
    "kEspGcmVectors": 15,
    "kEspGmacVectors": 1,
    "kCbcVectors": 8,
    "kHmacVectors": 71,
    "kChachaVectors": 2,
}

# ----------------------------------------------------------------- parsing

TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|0[xX][0-9a-fA-F]+[uUlL]*|\d+[uUlL]*|true|false|[{},]')


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def parse_struct(text, struct_name):
    m = re.search(r"struct\s+%s\s*\{(.*?)\};" % struct_name, text, re.S)
    if not m:
        raise ValueError("struct %s not found" % struct_name)
    fields = re.findall(r"(const\s+char\s*\*|uint32_t|uint64_t|bool|int)\s+(\w+)\s*;", m.group(1))
    return [(re.sub(r"\s+", "", t), n) for t, n in fields]


def parse_value(tok, ctype):
    if tok.startswith('"'):
        if ctype != "constchar*":
            raise ValueError("string for %s field" % ctype)
        return tok[1:-1]
    if tok in ("true", "false"):
        if ctype != "bool":
            raise ValueError("bool for %s field" % ctype)
        return tok == "true"
    if ctype not in ("uint32_t", "uint64_t", "int"):
        raise ValueError("integer for %s field" % ctype)
    v = int(tok.rstrip("uUlL"), 0)
    limit = {"uint32_t": 1 << 32, "uint64_t": 1 << 64, "int": 1 << 31}[ctype]
    if not 0 <= v < limit:
        raise ValueError("integer %s out of range for %s" % (tok, ctype))
    return v


def parse_array(path, struct_name, array_name):
    raw = open(path).read()
    text = strip_comments(raw)
    fields = parse_struct(text, struct_name)
    m = re.search(r"inline\s+constexpr\s+%s\s+%s\s*\[\s*\]\s*=\s*\{(.*?)\n\};" % (struct_name, array_name),
                  text, re.S)
    if not m:
        raise ValueError("%s: array %s not found" % (path, array_name))
    toks = TOKEN.findall(m.group(1))
    entries, cur, depth, vals = [], None, 0, []
    pending_str = None
    for t in toks:
        if t == "{":
            depth += 1
            vals, pending_str = [], None
        elif t == "}":
            if pending_str is not None:
                vals.append(pending_str)
                pending_str = None
            depth -= 1
            entries.append(vals)
        elif t == ",":
            if depth == 1 and pending_str is not None:
                vals.append(pending_str)
                pending_str = None
        elif depth == 1:
            if t.startswith('"') and pending_str is not None:
                pending_str = pending_str[:-1] + t[1:]  # adjacent literal concatenation
            elif t.startswith('"'):
                pending_str = t
            else:
                vals.append(t)
    out = []
    for vals in entries:
        if len(vals) != len(fields):
            raise ValueError("%s: %s entry has %d values, struct has %d fields" %
                             (path, array_name, len(vals), len(fields)))
        out.append({n: parse_value(v, t) for (t, n), v in zip(fields, vals)})
    return out, fields


# ----------------------------------------------------------------- helpers

class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def hx(s, what, lengths=None):
    check(re.fullmatch(r"(?:[0-9a-f]{2})*", s) is not None, "%s is not lowercase even-length hex" % what)
    b = bytes.fromhex(s)
    if lengths is not None:
        check(len(b) in lengths, "%s has %d bytes, expected %s" % (what, len(b), lengths))
    return b


def esp_trailer(pt, what):
    check(len(pt) >= 2, "%s: plaintext shorter than the ESP trailer" % what)
    pad_len, nh = pt[-2], pt[-1]
    check(pad_len <= len(pt) - 2, "%s: pad length %d exceeds payload" % (what, pad_len))
    inner = len(pt) - 2 - pad_len
    pad = pt[inner:-2]
    check(pad == bytes(range(1, pad_len + 1)),
          "%s: padding is not the RFC 4303 default 1,2,3,..." % what)
    return inner, pad_len, nh


def case_no(name):
    return int(re.search(r"case (\d+)", name).group(1))


# ----------------------------------------------------------------- GCM

def verify_gcm(v):
    n = v["name"]
    check(re.fullmatch(r"draft-mcgrew-gcm-test-01 case \d+", n) is not None, "bad name %r" % n)
    key = hx(v["key"], "key", (16, 32))
    salt = hx(v["salt"], "salt", (4,))
    iv = hx(v["iv"], "iv", (8,))
    pt = hx(v["plaintext"], "plaintext")
    aad = hx(v["aad"], "aad")
    ct = hx(v["ciphertext"], "ciphertext")
    tag = hx(v["tag"], "tag", (16,))
    check(len(pt) > 0 and len(ct) == len(pt), "ciphertext length %d != plaintext length %d" % (len(ct), len(pt)))
    spi, seq = v["spi"], v["seq"]
    if v["esn"]:
        check(aad == spi.to_bytes(4, "big") + seq.to_bytes(8, "big"), "ESN aad != SPI||seq_hi||seq_lo")
    else:
        check(seq < 1 << 32, "non-ESN seq does not fit 32 bits")
        check(aad == spi.to_bytes(4, "big") + seq.to_bytes(4, "big"), "aad != SPI||seq")
    nonce = salt + iv
    got = AESGCM(key).decrypt(nonce, ct + tag, aad)
    check(got == pt, "AES-GCM decryption does not give the plaintext")
    check(AESGCM(key).encrypt(nonce, pt, aad) == ct + tag, "AES-GCM encryption does not give ciphertext||tag")
    esp_trailer(pt, n)
    pkt = bytes.fromhex(GCM_PACKETS[case_no(n)])
    check(pkt == spi.to_bytes(4, "big") + (seq & 0xffffffff).to_bytes(4, "big") + iv + ct + tag,
          "fields do not reassemble into the published ESP packet")


def verify_gmac(v):
    n = v["name"]
    key = hx(v["key"], "key", (16, 32))
    salt = hx(v["salt"], "salt", (4,))
    iv = hx(v["iv"], "iv", (8,))
    check(v["plaintext"] == "" and v["ciphertext"] == "", "GMAC vector must have empty plaintext/ciphertext")
    aad = hx(v["aad"], "aad")
    tag = hx(v["tag"], "tag", (16,))
    check(not v["esn"], "GMAC case is not ESN")
    check(aad[:16] == v["spi"].to_bytes(4, "big") + v["seq"].to_bytes(4, "big") + iv,
          "GMAC aad does not start with SPI||seq||IV")
    check(AESGCM(key).encrypt(salt + iv, b"", aad) == tag, "AES-GMAC tag mismatch")
    AESGCM(key).decrypt(salt + iv, tag, aad)
    esp_trailer(aad[16:], n)
    check(bytes.fromhex(GCM_PACKETS[case_no(n)]) == aad + tag, "fields do not reassemble into the published packet")


# ----------------------------------------------------------------- CBC

def verify_cbc(v):
    n = v["name"]
    key = hx(v["key"], "key", (16, 24, 32))
    iv = hx(v["iv"], "iv", (16,))
    pt = hx(v["plaintext"], "plaintext")
    ct = hx(v["ciphertext"], "ciphertext")
    check(len(pt) % 16 == 0 and len(pt) == len(ct) and pt, "bad plaintext/ciphertext lengths")
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    check(enc.update(pt) + enc.finalize() == ct, "AES-CBC encryption does not give the ciphertext")
    dec = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    check(dec.update(ct) + dec.finalize() == pt, "AES-CBC decryption does not give the plaintext")
    if v["is_esp"]:
        hdr = hx(v["esp_header_hex"], "esp_header_hex", (8,))
        check(hdr == v["spi"].to_bytes(4, "big") + v["seq"].to_bytes(4, "big"), "ESP header != SPI||seq")
        esp_trailer(pt, n)
        check(bytes.fromhex(CBC_MESSAGES[case_no(n)]) == hdr + iv + ct,
              "fields do not reassemble into the published ESP message")
    else:
        check(v["esp_header_hex"] == "" and v["spi"] == 0 and v["seq"] == 0, "non-ESP case with ESP fields")


# ----------------------------------------------------------------- HMAC

HASHES = {1: (hashes.SHA1, hashlib.sha1), 256: (hashes.SHA256, hashlib.sha256),
          384: (hashes.SHA384, hashlib.sha384), 512: (hashes.SHA512, hashlib.sha512)}
FULL = {1: 20, 256: 32, 384: 48, 512: 64}


def verify_hmac(v):
    n = v["name"]
    bits = v["sha_bits"]
    check(bits in HASHES, "unknown sha_bits %d" % bits)
    key = hx(v["key"], "key")
    data = hx(v["data"], "data")
    mac = hx(v["mac"], "mac")
    c_alg, py_alg = HASHES[bits]
    h = c_hmac.HMAC(key, c_alg())
    h.update(data)
    full = h.finalize()
    check(full == py_hmac.new(key, data, py_alg).digest(), "cryptography and hmac module disagree")
    truncated = "truncated" in n
    if truncated:
        check(len(mac) < FULL[bits], "name says truncated but mac is full length")
        expect_len = {"128 bits": 16, "96 bits": 12}.get(re.search(r"(\d+ bits)", n).group(1)) \
            if re.search(r"\d+ bits", n) else {256: 16, 384: 24, 512: 32}[bits]
        check(len(mac) == expect_len, "truncated mac has %d bytes, expected %d" % (len(mac), expect_len))
    else:
        check(len(mac) == FULL[bits], "mac has %d bytes, expected full %d" % (len(mac), FULL[bits]))
    check(full[:len(mac)] == mac, "HMAC-SHA-%d mismatch: computed %s" % (bits, full[:len(mac)].hex()))


# ----------------------------------------------------------------- ChaCha

def verify_chacha(v):
    key = hx(v["key"], "key", (32,))
    salt = hx(v["salt"], "salt", (4,))
    iv = hx(v["iv"], "iv", (8,))
    pt = hx(v["plaintext"], "plaintext")
    aad = hx(v["aad"], "aad")
    ct = hx(v["ciphertext"], "ciphertext")
    tag = hx(v["tag"], "tag", (16,))
    check(len(ct) == len(pt), "ciphertext/plaintext length mismatch")
    aead = ChaCha20Poly1305(key)
    check(aead.decrypt(salt + iv, ct + tag, aad) == pt, "ChaCha20-Poly1305 decryption does not give the plaintext")
    check(aead.encrypt(salt + iv, pt, aad) == ct + tag, "ChaCha20-Poly1305 encryption does not give ciphertext||tag")
    if v["is_esp"]:
        if v["esn"]:
            check(aad == v["spi"].to_bytes(4, "big") + v["seq"].to_bytes(8, "big"), "ESN aad != SPI||seq_hi||seq_lo")
        else:
            check(v["seq"] < 1 << 32 and aad == v["spi"].to_bytes(4, "big") + v["seq"].to_bytes(4, "big"),
                  "aad != SPI||seq")
        esp_trailer(pt, v["name"])
    else:
        check(v["spi"] == 0 and v["seq"] == 0 and not v["esn"], "non-ESP vector with ESP fields")


# ----------------------------------------------------------------- main

JOBS = [
    ("esp_gcm_vectors.h", "EspGcmVector", "kEspGcmVectors", verify_gcm),
    ("esp_gcm_vectors.h", "EspGcmVector", "kEspGmacVectors", verify_gmac),
    ("esp_cbc_vectors.h", "CbcVector", "kCbcVectors", verify_cbc),
    ("hmac_vectors.h", "HmacVector", "kHmacVectors", verify_hmac),
    ("chacha_vectors.h", "ChachaVector", "kChachaVectors", verify_chacha),
]


def main():
    failures = 0
    total = 0
    for fname, struct, array, fn in JOBS:
        path = os.path.join(HERE, fname)
        text = open(path).read()
        for needle in ("#pragma once", "#include <cstdint>"):
            if needle not in text:
                print("FAIL %s: missing %s" % (fname, needle))
                failures += 1
        vectors, _ = parse_array(path, struct, array)
        names = [v["name"] for v in vectors]
        if len(set(names)) != len(names):
            print("FAIL %s %s: duplicate vector names" % (fname, array))
            failures += 1
        if len(vectors) != EXPECTED_COUNTS[array]:
            print("FAIL %s %s: %d vectors, expected %d" % (fname, array, len(vectors), EXPECTED_COUNTS[array]))
            failures += 1
        for v in vectors:
            total += 1
            try:
                fn(v)
            except Exception as e:  # noqa: BLE001 - report every failure
                failures += 1
                msg = str(e) if isinstance(e, Fail) else "%s %s" % (type(e).__name__, e)
                print("FAIL %s %s: %s" % (fname, v.get("name"), msg.strip()))
            else:
                print("OK %s %s" % (fname, v["name"]))
    print("%d vectors checked, %d failures" % (total, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
