// The worker pipeline with IPv6 inside the tunnel (outer IPv4/UDP): decap to an IPv6 LAN host,
// encap of IPv6 LAN traffic, hop limits, and ICMPv6 "packet too big" (RFC 4443 §3.2) for
// packets the tunnel cannot carry, since IPv6 packets are never fragmented on the way.
#include <gtest/gtest.h>
#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include <cstring>
#include <vector>

#include "espgw/esp/esp_decap.h"
#include "espgw/esp/esp_encap.h"
#include "support/standalone_datapath.h"

using namespace espgw;
using testing_dp = espgw::testing::StandaloneDatapath;
namespace T = espgw::testing;

namespace {

constexpr uint32_t kSpiIn = 0x1001, kSpiOut = 0x2001;

using T::bytes_of;
using T::free_all;

sa::Sa* install6(testing_dp& dp, sa::Direction dir, uint32_t spi) {
    std::string err;
    EXPECT_TRUE(dp.table().install(dp.make_sa6(dir, spi), err)) << err;
    return dp.table().find(dir, spi);
}

constexpr uint32_t kHopLimitOffset = 7;  // in the IPv6 header

}  // namespace

TEST(PipelineIpv6, DecapDeliversToTheLanHostWithHopLimitDecremented) {
    testing_dp dp;
    dp.enable_v6();
    install6(dp, sa::Direction::inbound, kSpiIn);
    auto peer = dp.make_sa6(sa::Direction::outbound, kSpiIn);
    rte_mbuf* original = dp.inner_frame6(400, T::kInner6, T::kLanHost6);
    std::vector<uint8_t> want = bytes_of(original, sizeof(rte_ether_hdr));
    rte_pktmbuf_free(original);
    want[kHopLimitOffset] -= 1;

    dp.rx_public({dp.esp_frame6(*peer, 400)});
    auto lan = dp.take(dp::kProtected);
    ASSERT_EQ(lan.size(), 1u);
    const auto* eth = rte_pktmbuf_mtod(lan[0], const rte_ether_hdr*);
    EXPECT_EQ(rte_be_to_cpu_16(eth->ether_type), RTE_ETHER_TYPE_IPV6);
    EXPECT_EQ(eth->dst_addr.addr_bytes[5], 6);  // the IPv6 LAN host's neighbour entry
    EXPECT_EQ(bytes_of(lan[0], sizeof(rte_ether_hdr)), want);
    free_all(lan);
}

TEST(PipelineIpv6, DecapRefusesAnInnerSourceOutsideTheSelectors) {
    testing_dp dp;
    dp.enable_v6();
    install6(dp, sa::Direction::inbound, kSpiIn);
    auto peer = dp.make_sa6(sa::Direction::outbound, kSpiIn);
    // Authentic, but from an address the SA does not cover: a peer may not spoof others.
    peer->params.remote_ts = *net::parse_prefix("2001:db8:99::/48");
    static constexpr uint8_t kForeign[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7};
    rte_mbuf* inner = dp.inner_frame6(200, kForeign, T::kLanHost6);
    // Through the peer SA by hand: esp_frame6 always uses kInner6 as the source.
    dp.rx_public({dp.seal_as_peer(*peer, inner, IPPROTO_IPV6)});
    EXPECT_TRUE(dp.take(dp::kProtected).empty());
    EXPECT_EQ(dp.drops(dp::Drop::policy), 1u);
}

TEST(PipelineIpv6, EncapCarriesTheLanPacketWithHopLimitDecremented) {
    testing_dp dp;
    dp.enable_v6();
    install6(dp, sa::Direction::outbound, kSpiOut);
    auto mirror = dp.make_sa6(sa::Direction::inbound, kSpiOut);
    rte_mbuf* frame = dp.inner_frame6(600, T::kLanHost6, T::kInner6);
    std::vector<uint8_t> want = bytes_of(frame, sizeof(rte_ether_hdr));
    want[kHopLimitOffset] -= 1;
    dp.rx_protected({frame});
    auto out = dp.take(dp::kPublic);
    ASSERT_EQ(out.size(), 1u);
    // Outer IPv4/UDP to the peer, then ESP with next header IPv6.
    rte_mbuf* m = out[0];
    rte_pktmbuf_adj(m, sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr) + sizeof(rte_udp_hdr));
    uint8_t next_header = 0;
    dp::Drop why{};
    ASSERT_TRUE(T::open_as_peer(dp.mgr, *mirror, m, &next_header, &why)) << dp::drop_name(why);
    EXPECT_EQ(next_header, IPPROTO_IPV6);
    EXPECT_EQ(bytes_of(m), want);
    free_all(out);
}

TEST(PipelineIpv6, HopLimitOneIsDroppedNotTunnelled) {
    testing_dp dp;
    dp.enable_v6();
    install6(dp, sa::Direction::outbound, kSpiOut);
    dp.rx_protected({dp.inner_frame6(200, T::kLanHost6, T::kInner6, /*hop_limit=*/1)});
    EXPECT_TRUE(dp.take(dp::kPublic).empty());
    EXPECT_EQ(dp.drops(dp::Drop::ttl_expired), 1u);
}

TEST(PipelineIpv6, TooBigGetsPacketTooBigWithTheTunnelMtu) {
    testing_dp dp;
    dp.enable_v6();
    sa::Sa* sa = install6(dp, sa::Direction::outbound, kSpiOut);
    constexpr uint32_t kLen = 1480;
    dp.rx_protected({dp.inner_frame6(kLen, T::kLanHost6, T::kInner6)});
    EXPECT_TRUE(dp.take(dp::kPublic).empty());
    EXPECT_EQ(dp.drops(dp::Drop::too_big), 1u);
    auto back = dp.take(dp::kProtected);
    ASSERT_EQ(back.size(), 1u);
    const auto* ip = rte_pktmbuf_mtod_offset(back[0], const rte_ipv6_hdr*, sizeof(rte_ether_hdr));
    EXPECT_EQ(ip->proto, IPPROTO_ICMPV6);
    EXPECT_EQ(std::memcmp(ip->src_addr, T::kGwLan6, 16), 0);
    EXPECT_EQ(std::memcmp(ip->dst_addr, T::kLanHost6, 16), 0);
    const uint32_t payload = rte_be_to_cpu_16(ip->payload_len);
    // RFC 4443 §2.4 (c): the error, quote included, fits the IPv6 minimum MTU.
    EXPECT_LE(sizeof(rte_ipv6_hdr) + payload, 1280u);
    EXPECT_EQ(rte_pktmbuf_data_len(back[0]), sizeof(rte_ether_hdr) + sizeof(rte_ipv6_hdr) + payload);
    const auto* icmp = reinterpret_cast<const uint8_t*>(ip + 1);
    EXPECT_EQ(icmp[0], 2);  // packet too big
    EXPECT_EQ(icmp[1], 0);
    uint32_t mtu_be;
    std::memcpy(&mtu_be, icmp + 4, 4);
    const uint32_t mtu = rte_be_to_cpu_32(mtu_be);
    EXPECT_EQ(mtu, esp::esp_max_payload(*sa, 1500));
    EXPECT_LE(mtu + esp::esp_overhead(*sa, mtu), 1500u);          // a packet of that size fits
    EXPECT_GT(mtu + 4 + esp::esp_overhead(*sa, mtu + 4), 1500u);  // and the next word does not
    // The quote starts with the offending packet's own header; the checksum is right.
    EXPECT_EQ(icmp[8] >> 4, 6);
    EXPECT_EQ(std::memcmp(icmp + 8 + 8, T::kLanHost6, 16), 0);
    EXPECT_EQ(rte_ipv6_udptcp_cksum_verify(ip, icmp), 0);
    free_all(back);
}

TEST(PipelineIpv6, IgnoredWhenTheProtectedPortHasNoIpv6) {
    testing_dp dp;  // no enable_v6()
    install6(dp, sa::Direction::outbound, kSpiOut);
    dp.rx_protected({dp.inner_frame6(200, T::kLanHost6, T::kInner6)});
    EXPECT_TRUE(dp.take(dp::kPublic).empty());
    EXPECT_EQ(dp.drops(dp::Drop::unsupported), 1u);
}
