// IKEv2 key derivation against published vectors: NIST CAVP's IKEv2 KDF test (SP 800-135,
// HMAC-SHA-1: SKEYSEED, the IKE SA's DKM, CHILD SA keying material with and without a new
// Diffie-Hellman secret, and the rekeyed SKEYSEED), and RFC 2202 / RFC 4231 test case 2 for
// each PRF's HMAC.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "espgw/ike/kdf.h"

using namespace espgw::ike;

namespace {

std::vector<uint8_t> hex(const std::string& h) {
    std::vector<uint8_t> b;
    for (size_t k = 0; k + 1 < h.size(); k += 2) b.push_back(static_cast<uint8_t>(std::stoi(h.substr(k, 2), nullptr, 16)));
    return b;
}

std::vector<uint8_t> bytes(const Secret& s) { return {s.bytes().begin(), s.bytes().end()}; }

std::vector<uint8_t> text(const std::string& s) { return {s.begin(), s.end()}; }

// NIST CAVP, IKEv2 KDF (SP 800-135), SHA-1, DKM length 1056 bits.
const auto kGir = hex("4b2c1f971981a8ad8d0abeafabf38cf75fc8349c148142465ed9c8b516b8be52");
const auto kGirNew = hex("863f3c9d06efd39d2b907b97f8699e5dd5251ef64a2a176f36ee40c87d4f9330");
const auto kNi = hex("32b50d5f4a3763f3");
const auto kNr = hex("9206a04b26564cb1");
constexpr uint64_t kSpiI = 0x34c9e7c188868785, kSpiR = 0x3ff77d760d2b2199;
const auto kSkeyseed = hex("a9a7b222b59f8f48645f28a1db5b5f5d7479cba7");
const auto kDkm = hex(
    "a14293677cc80ff8f9cc0eee30d895da9d8f405666e30ef0dfcb63c634a46002a2a63080e514a062768b76606f9fa5e992204fc5a670bde3"
    "f10d6b027113936a5c55b648a194ae587b0088d52204b702c979fa280870d2ed41efa9c549fd11198af1670b143d384bd275c5f594cf266b05"
    "ebadca855e4249520a441a81157435a7a56cc4");
const auto kDkmChild = hex(
    "8059e3ee8810e6c3a91bc8bcd2a7a41151b8d0e6ae239c7b38093ad85ef4c5811a8e7b5d1cdabd9560b2d5e092d1f24e2d4b85eccdf0ad0d"
    "c9abd94b51ee71814ca6dbc8bb51b6309f5b9545c7eb35cf5580b1e521a8fe20754a2d883ba0c2cf285f524aea6545b33106bc03e614296d"
    "319d41d4b50b3f510b1c0a22f3e664994d234cb4");
const auto kDkmChildDh = hex(
    "bb43244c1860ad65ee1e211ffe8bb3661750c8f89cb9f547df7f4fa61d37301628190e38c66232eab4b3ab14c400a5197dd3730ed4820a8a"
    "10394d51e1c0400052f63ebd36b0e7ef53aaed31eba4a5080d7d4b5666023a8bbb5ffb7857240f9a05884d1b7d2f933708450b7b3288f1fc"
    "863ab49fa901227cffc06e27899c7054d56fd74c");
const auto kSkeyseedRekey = hex("63e81194946ebd05df7df5ebf5d8750056bf1f1d");

}  // namespace

TEST(IkeKdf, NistCavpSha1) {
    const Secret s = skeyseed(Prf::hmac_sha1, kNi, kNr, kGir);
    EXPECT_EQ(bytes(s), kSkeyseed);
    const auto dkm = ike_sa_keymat(Prf::hmac_sha1, s.bytes(), kNi, kNr, kSpiI, kSpiR, kDkm.size());
    ASSERT_TRUE(dkm.has_value());
    EXPECT_EQ(bytes(*dkm), kDkm);
    const Secret sk_d = dkm->slice(0, prf_size(Prf::hmac_sha1));
    const auto child = child_sa_keymat(Prf::hmac_sha1, sk_d.bytes(), {}, kNi, kNr, kDkmChild.size());
    ASSERT_TRUE(child.has_value());
    EXPECT_EQ(bytes(*child), kDkmChild);
    const auto child_dh = child_sa_keymat(Prf::hmac_sha1, sk_d.bytes(), kGirNew, kNi, kNr, kDkmChildDh.size());
    ASSERT_TRUE(child_dh.has_value());
    EXPECT_EQ(bytes(*child_dh), kDkmChildDh);
    EXPECT_EQ(bytes(rekey_skeyseed(Prf::hmac_sha1, sk_d.bytes(), kGirNew, kNi, kNr)), kSkeyseedRekey);
}

// The seven keys are the DKM cut in RFC 7296 §2.14's order.
TEST(IkeKdf, IkeSaKeysAreTheKeymatInOrder) {
    const Secret s = skeyseed(Prf::hmac_sha1, kNi, kNr, kGir);
    const size_t h = 20, integ = 20, encr = 16;  // HMAC-SHA1-96 keys, AES-128-CBC keys
    const auto k = ike_sa_keys(Prf::hmac_sha1, s.bytes(), kNi, kNr, kSpiI, kSpiR, integ, encr);
    ASSERT_TRUE(k.has_value());
    const std::vector<uint8_t> want(kDkm.begin(), kDkm.begin() + static_cast<long>(3 * h + 2 * integ + 2 * encr));
    std::vector<uint8_t> got;
    for (const Secret* part : {&k->d, &k->ai, &k->ar, &k->ei, &k->er, &k->pi, &k->pr})
        got.insert(got.end(), part->bytes().begin(), part->bytes().end());
    EXPECT_EQ(got, want);
    EXPECT_EQ(k->ei.size(), encr);
    EXPECT_EQ(k->pr.size(), h);
}

// RFC 2202 test case 2 (HMAC-SHA-1) and RFC 4231 test case 2 (HMAC-SHA-256/384/512).
TEST(IkeKdf, PrfsAreTheRightHmacs) {
    const auto key = text("Jefe"), data = text("what do ya want for nothing?");
    EXPECT_EQ(bytes(prf(Prf::hmac_sha1, key, data)), hex("effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"));
    EXPECT_EQ(bytes(prf(Prf::hmac_sha256, key, data)),
              hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"));
    EXPECT_EQ(bytes(prf(Prf::hmac_sha384, key, data)),
              hex("af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649"));
    EXPECT_EQ(bytes(prf(Prf::hmac_sha512, key, data)),
              hex("164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fd"
                  "caeab1a34d4a6b4b636e070a38bce737"));
    EXPECT_EQ(prf_size(Prf::hmac_sha384), 48u);
}

// prf+ counts its rounds in one octet: 255 outputs at most.
TEST(IkeKdf, PrfPlusStopsAt255Rounds) {
    const auto key = text("k"), seed = text("s");
    EXPECT_TRUE(prf_plus(Prf::hmac_sha256, key, seed, 255 * 32).has_value());
    EXPECT_FALSE(prf_plus(Prf::hmac_sha256, key, seed, 255 * 32 + 1).has_value());
    // A prefix of a longer output is the shorter output.
    const std::vector<uint8_t> a = bytes(*prf_plus(Prf::hmac_sha256, key, seed, 100));
    const std::vector<uint8_t> b = bytes(*prf_plus(Prf::hmac_sha256, key, seed, 40));
    ASSERT_EQ(a.size(), 100u);
    EXPECT_EQ(std::vector<uint8_t>(a.begin(), a.begin() + 40), b);
}
