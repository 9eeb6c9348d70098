// Prefixes as the data plane matches selectors with them: every IPv4 prefix length against
// addresses just inside and just outside, and IPv6 lengths that end inside a byte.
#include <gtest/gtest.h>

#include "espgw/net/prefix.h"

using espgw::net::parse_prefix;
using espgw::net::Prefix;

TEST(Prefix, Ipv4EveryLength) {
    const uint32_t base = 0xc0a85a00;  // 192.168.90.0
    for (unsigned len = 0; len <= 32; ++len) {
        const uint32_t mask = len == 0 ? 0 : 0xffffffffu << (32 - len);
        const Prefix p = Prefix::v4(base & mask, static_cast<uint8_t>(len));
        EXPECT_TRUE(p.contains_v4(base & mask)) << len;
        EXPECT_TRUE(p.contains_v4((base & mask) | ~mask)) << len;  // last address inside
        if (len > 0) {
            EXPECT_FALSE(p.contains_v4((base & mask) ^ (1u << (32 - len)))) << len;  // the neighbour prefix
        }
    }
    EXPECT_TRUE(Prefix::v4(0, 0).contains_v4(0xffffffff));
    EXPECT_FALSE(Prefix::v4(0x0a000001, 32).contains_v4(0x0a000002));
}

TEST(Prefix, FamiliesDoNotMix) {
    const Prefix v6 = *parse_prefix("::/0");
    EXPECT_FALSE(v6.contains_v4(0x0a000001));
    const Prefix v4 = *parse_prefix("0.0.0.0/0");
    const uint8_t a[16] = {};
    EXPECT_FALSE(v4.contains_v6(a));
}

TEST(Prefix, Ipv6LengthsInsideAByte) {
    const Prefix p = *parse_prefix("2001:db8:ab00::/41");  // 41 bits: ends inside byte 5
    uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8, 0xab, 0x7f, 0xff};
    EXPECT_TRUE(p.contains_v6(a));
    a[5] = 0x80;  // bit 41 set: outside
    EXPECT_FALSE(p.contains_v6(a));
    EXPECT_FALSE(parse_prefix("2001:db8::/129").has_value());
    EXPECT_FALSE(parse_prefix("10.0.0.0/33").has_value());
}
