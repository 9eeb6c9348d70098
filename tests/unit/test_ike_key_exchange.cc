// IKEv2 Diffie-Hellman against published vectors: RFC 5903 §8.1 (ECP-256: the KE value is
// x | y, the shared secret x alone) and RFC 7748 §6.1 (X25519); MODP groups agree end to end
// with the secret padded to the prime's length; bad peer values are refused.
#include <gtest/gtest.h>
#include <openssl/bn.h>

#include <algorithm>

#include <string>
#include <vector>

#include "espgw/ike/key_exchange.h"

using namespace espgw::ike;

namespace {

std::vector<uint8_t> hex(std::string h) {
    std::string clean;
    for (char c : h)
        if (c != ' ') clean += c;
    std::vector<uint8_t> b;
    for (size_t k = 0; k + 1 < clean.size(); k += 2) b.push_back(static_cast<uint8_t>(std::stoi(clean.substr(k, 2), nullptr, 16)));
    return b;
}

std::vector<uint8_t> cat(std::vector<uint8_t> a, const std::vector<uint8_t>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

std::vector<uint8_t> bytes(const Secret& s) { return {s.bytes().begin(), s.bytes().end()}; }

}  // namespace

TEST(KeyExchange, Rfc5903Ecp256) {
    const auto i = hex("C88F01F5 10D9AC3F 70A292DA A2316DE5 44E9AAB8 AFE84049 C62A9C57 862D1433");
    const auto gi = cat(hex("DAD0B653 94221CF9 B051E1FE CA5787D0 98DFE637 FC90B9EF 945D0C37 72581180"),
                        hex("5271A046 1CDB8252 D61F1C45 6FA3E59A B1F45B33 ACCF5F58 389E0577 B8990BB3"));
    const auto r = hex("C6EF9C5D 78AE012A 011164AC B397CE20 88685D8F 06BF9BE0 B283AB46 476BEE53");
    const auto gr = cat(hex("D12DFB52 89C8D4F8 1208B702 70398C34 2296970A 0BCCB74C 736FC755 4494BF63"),
                        hex("56FBF3CA 366CC23E 8157854C 13C58D6A AC23F046 ADA30F83 53E74F33 039872AB"));
    const auto gir = hex("D6840F6B 42F6EDAF D13116E0 E1256520 2FEF8E9E CE7DCE03 812464D0 4B9442DE");
    auto initiator = KeyExchange::from_private(DhGroup::ecp256, i, gi);
    auto responder = KeyExchange::from_private(DhGroup::ecp256, r, gr);
    ASSERT_TRUE(initiator && responder);
    EXPECT_EQ(initiator->public_value(), gi);
    EXPECT_EQ(ke_size(DhGroup::ecp256), 64u);
    const auto s1 = initiator->shared(gr), s2 = responder->shared(gi);
    ASSERT_TRUE(s1 && s2);
    EXPECT_EQ(bytes(*s1), gir);
    EXPECT_EQ(bytes(*s2), gir);
    // A point off the curve, and a value of the wrong length, are refused.
    auto off = gr;
    off.back() ^= 1;
    EXPECT_FALSE(initiator->shared(off).has_value());
    EXPECT_FALSE(initiator->shared(std::vector<uint8_t>(gr.begin(), gr.end() - 1)).has_value());
}

TEST(KeyExchange, Rfc7748X25519) {
    const auto a = hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
    const auto a_pub = hex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
    const auto b = hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
    const auto b_pub = hex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
    const auto k = hex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
    auto alice = KeyExchange::from_private(DhGroup::curve25519, a);
    auto bob = KeyExchange::from_private(DhGroup::curve25519, b);
    ASSERT_TRUE(alice && bob);
    EXPECT_EQ(alice->public_value(), a_pub);
    EXPECT_EQ(bob->public_value(), b_pub);
    EXPECT_EQ(bytes(*alice->shared(b_pub)), k);
    EXPECT_EQ(bytes(*bob->shared(a_pub)), k);
    // A low-order point (here 0) gives an all-zero secret: refused (RFC 8031 §2).
    EXPECT_FALSE(alice->shared(std::vector<uint8_t>(32, 0)).has_value());
}

// Both ends of each group agree, with values of the group's KE length; MODP secrets keep
// their leading zeros (padded to the prime's length).
TEST(KeyExchange, EveryGroupAgreesEndToEnd) {
    for (DhGroup g : {DhGroup::modp2048, DhGroup::modp3072, DhGroup::ecp256, DhGroup::ecp384, DhGroup::curve25519}) {
        auto i = KeyExchange::generate(g), r = KeyExchange::generate(g);
        ASSERT_TRUE(i && r) << static_cast<int>(g);
        EXPECT_EQ(i->public_value().size(), ke_size(g)) << static_cast<int>(g);
        const auto s1 = i->shared(r->public_value()), s2 = r->shared(i->public_value());
        ASSERT_TRUE(s1 && s2) << static_cast<int>(g);
        EXPECT_EQ(bytes(*s1), bytes(*s2)) << static_cast<int>(g);
        const size_t want = g == DhGroup::ecp256 ? 32 : g == DhGroup::ecp384 ? 48 : g == DhGroup::curve25519 ? 32 : ke_size(g);
        EXPECT_EQ(s1->size(), want) << static_cast<int>(g);
    }
}

TEST(KeyExchange, BadModpValuesAreRefused) {
    auto i = KeyExchange::generate(DhGroup::modp2048);
    ASSERT_TRUE(i);
    std::vector<uint8_t> one(256, 0);
    one.back() = 1;  // y = 1: a trivial subgroup
    EXPECT_FALSE(i->shared(one).has_value());
    EXPECT_FALSE(i->shared(std::vector<uint8_t>(256, 0xff)).has_value()) << "y >= p";
    EXPECT_FALSE(i->shared(std::vector<uint8_t>(128, 0x42)).has_value()) << "wrong length";
}

// MODP-1024 (RFC 2409 §6.2, Oakley group 2), for legacy clients: both sides agree, the value
// is the prime's length, and the group is the RFC's (p starts FFFFFFFF FFFFFFFF C90FDAA2 and
// ends ...FFFFFFFF FFFFFFFF; g = 2): g^x with x = 1 is 2, and a peer value of p - 1 is refused.
TEST(KeyExchange, Modp1024ForLegacyClients) {
    auto a = KeyExchange::generate(DhGroup::modp1024);
    auto b = KeyExchange::generate(DhGroup::modp1024);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->public_value().size(), 128u);
    const auto s1 = a->shared(b->public_value()), s2 = b->shared(a->public_value());
    ASSERT_TRUE(s1 && s2);
    EXPECT_EQ(*s1, *s2);
    EXPECT_EQ(s1->size(), 128u);
    std::vector<uint8_t> p_starts = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xc9, 0x0f, 0xda, 0xa2};
    // The full prime from OpenSSL's RFC 2409 constant, checked at both ends by hand above.
    BIGNUM* p = BN_get_rfc2409_prime_1024(nullptr);
    std::vector<uint8_t> pb(128);
    BN_bn2binpad(p, pb.data(), 128);
    BN_free(p);
    EXPECT_TRUE(std::equal(p_starts.begin(), p_starts.end(), pb.begin()));
    EXPECT_EQ(pb[127], 0xff);
    pb[127] = 0xfe;  // p - 1: an element of order 2, refused
    EXPECT_FALSE(a->shared(pb));
    const std::vector<uint8_t> one_priv = {1};
    auto x1 = KeyExchange::from_private(DhGroup::modp1024, one_priv);
    if (x1) {  // OpenSSL may refuse a private key of 1 outright, which is fine too
        std::vector<uint8_t> two(128, 0);
        two[127] = 2;
        EXPECT_EQ(x1->public_value(), two);
    }
}
