// Checksums: RFC 1624 incremental update, and the NAT-OA fix-up of transport-mode segments
// (RFC 3948 §3.1.2) checked against checksums computed from scratch.
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <cstring>
#include <vector>

#include "espgw/esp/transport_mode.h"
#include "espgw/net/checksum.h"

using namespace espgw;

// RFC 1624 §4: HC = 0xDD2F, m = 0x5555 -> m' = 0x3285 gives HC' = 0x0000.
TEST(Checksum, Rfc1624Example) { EXPECT_EQ(net::checksum_update16(0xdd2f, 0x5555, 0x3285), 0x0000); }

namespace {

// TCP/UDP checksum with the IPv4 pseudo-header, from scratch.
uint16_t l4_checksum(uint8_t proto, uint32_t src, uint32_t dst, std::vector<uint8_t> seg, size_t off) {
    seg[off] = seg[off + 1] = 0;
    uint8_t pseudo[12];
    const uint32_t s = htonl(src), d = htonl(dst);
    std::memcpy(pseudo, &s, 4);
    std::memcpy(pseudo + 4, &d, 4);
    pseudo[8] = 0;
    pseudo[9] = proto;
    pseudo[10] = static_cast<uint8_t>(seg.size() >> 8);
    pseudo[11] = static_cast<uint8_t>(seg.size());
    uint32_t sum = net::ones_sum(pseudo, 12);
    sum = net::ones_sum(seg.data(), seg.size(), sum);
    return static_cast<uint16_t>(~net::fold(sum));
}

std::vector<uint8_t> segment(uint8_t proto, size_t len) {
    std::vector<uint8_t> seg(len);
    for (size_t k = 0; k < len; ++k) seg[k] = static_cast<uint8_t>(k * 37 + 11);
    if (proto == IPPROTO_UDP) {
        seg[4] = static_cast<uint8_t>(len >> 8);
        seg[5] = static_cast<uint8_t>(len);
    }
    return seg;
}

void put16(std::vector<uint8_t>& v, size_t off, uint16_t x) {
    v[off] = static_cast<uint8_t>(x >> 8);
    v[off + 1] = static_cast<uint8_t>(x);
}

uint16_t get16(const std::vector<uint8_t>& v, size_t off) { return static_cast<uint16_t>(v[off] << 8 | v[off + 1]); }

}  // namespace

TEST(Checksum, NatOaFixupMatchesRecomputedTcpAndUdp) {
    const uint32_t oa_peer = 0x0a090002;   // 10.9.0.2, the peer's private address
    const uint32_t nat_pub = 0xc000022e;   // 192.0.2.46, the NAT's public address
    const uint32_t gw = 0xc0000201;        // 192.0.2.1
    for (uint8_t proto : {uint8_t{IPPROTO_TCP}, uint8_t{IPPROTO_UDP}}) {
        const size_t off = proto == IPPROTO_TCP ? 16 : 6;
        for (size_t len : {size_t{20}, size_t{21}, size_t{333}, size_t{1400}}) {
            auto seg = segment(proto, len);
            put16(seg, off, l4_checksum(proto, oa_peer, gw, seg, off));  // as the peer sent it
            esp::fix_l4_checksum(proto, seg.data(), static_cast<uint32_t>(len), oa_peer, nat_pub, gw, gw);
            EXPECT_EQ(get16(seg, off), l4_checksum(proto, nat_pub, gw, seg, off)) << int{proto} << "/" << len;
        }
    }
}

TEST(Checksum, NatOaFixupBothEnds) {
    // Both sides NATed: the peer used its own private address and our private address.
    const uint32_t oa_peer = 0x0a090002, oa_local = 0xac100001;
    const uint32_t nat_pub = 0xc000022e, gw = 0xc0000201;
    auto seg = segment(IPPROTO_TCP, 60);
    put16(seg, 16, l4_checksum(IPPROTO_TCP, oa_peer, oa_local, seg, 16));
    esp::fix_l4_checksum(IPPROTO_TCP, seg.data(), 60, oa_peer, nat_pub, oa_local, gw);
    EXPECT_EQ(get16(seg, 16), l4_checksum(IPPROTO_TCP, nat_pub, gw, seg, 16));
}

TEST(Checksum, UdpZeroChecksumStaysZero) {
    auto seg = segment(IPPROTO_UDP, 40);
    put16(seg, 6, 0);
    esp::fix_l4_checksum(IPPROTO_UDP, seg.data(), 40, 1, 2, 3, 4);
    EXPECT_EQ(get16(seg, 6), 0);
}

TEST(Checksum, Ipv4HeaderChecksumFromFieldsMatchesRfc1071) {
    uint8_t hdr[20];
    uint32_t x = 12345;
    for (int round = 0; round < 1000; ++round) {
        for (uint8_t& b : hdr) b = static_cast<uint8_t>(x = x * 1103515245 + 12345, x >> 16);
        if (round % 3 == 0) std::memset(hdr + 12, 0xff, 8);  // carries galore
        hdr[10] = hdr[11] = 0;
        hdr[0] = 0x45;  // version 4, no options (the field form assumes it)
        const uint16_t from_fields = net::ipv4_header_checksum(
            hdr[1], static_cast<uint16_t>(hdr[2] << 8 | hdr[3]), static_cast<uint16_t>(hdr[4] << 8 | hdr[5]),
            static_cast<uint16_t>(hdr[6] << 8 | hdr[7]), hdr[8], hdr[9],
            uint32_t{hdr[12]} << 24 | hdr[13] << 16 | hdr[14] << 8 | hdr[15],
            uint32_t{hdr[16]} << 24 | hdr[17] << 16 | hdr[18] << 8 | hdr[19]);
        EXPECT_EQ(from_fields, net::checksum(hdr, 20)) << round;
    }
}

// A forwarded header whose TTL went down by one still sums to all ones, for every starting
// checksum value (including those next to the carry and the two zeros).
TEST(Checksum, TtlDecrementKeepsHeaderValid) {
    uint8_t hdr[20];
    uint32_t x = 777;
    for (int round = 0; round < 20000; ++round) {
        for (uint8_t& b : hdr) b = static_cast<uint8_t>(x = x * 1103515245 + 12345, x >> 16);
        hdr[0] = 0x45;
        if (hdr[8] < 2) hdr[8] = 2;
        if (round % 4 == 0) std::memset(hdr + 12, 0xff, 8);
        hdr[10] = hdr[11] = 0;
        const uint16_t hc = net::checksum(hdr, 20);
        hdr[10] = static_cast<uint8_t>(hc >> 8), hdr[11] = static_cast<uint8_t>(hc);
        --hdr[8];
        const uint16_t updated = net::checksum_after_ttl_decrement(hc);
        hdr[10] = static_cast<uint8_t>(updated >> 8), hdr[11] = static_cast<uint8_t>(updated);
        ASSERT_EQ(net::fold(net::ones_sum(hdr, 20)), 0xffff) << round;
        // The same value as the RFC 1624 update, up to the sign of zero.
        const uint16_t rfc1624 = net::checksum_update16(hc, static_cast<uint16_t>((hdr[8] + 1) << 8 | hdr[9]),
                                                        static_cast<uint16_t>(hdr[8] << 8 | hdr[9]));
        if (!((updated == 0 || updated == 0xffff) && (rfc1624 == 0 || rfc1624 == 0xffff))) {
            ASSERT_EQ(updated, rfc1624) << round;
        }
    }
}
