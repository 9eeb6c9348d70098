// IKE datagrams in and out of the control core: the packets workers hand over become
// ike::Datagram (addresses, ports, the non-ESP marker, the message) and back.
#include <gtest/gtest.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include <cstring>

#include "espgw/control/ike_io.h"
#include "support/standalone_datapath.h"

using namespace espgw;
using testing_dp = espgw::testing::StandaloneDatapath;
namespace T = espgw::testing;

namespace {

ike::Datagram sample(bool v6, bool marker) {
    ike::Datagram d;
    d.src = v6 ? net::IpAddr::v6(T::kGw6) : net::IpAddr::v4(T::kGw);
    d.dst = v6 ? net::IpAddr::v6(T::kPeer6) : net::IpAddr::v4(T::kPeer);
    d.sport = marker ? 4500 : 500;
    d.dport = 31337;
    d.non_esp_marker = marker;
    for (int k = 0; k < 300; ++k) d.message.push_back(static_cast<uint8_t>(k * 13 + 5));
    return d;
}

// As a worker hands IKE over: l3_len, and l4_len covering the marker if there is one.
void mark_as_received(rte_mbuf* m, bool v6, bool marker) {
    m->l3_len = v6 ? sizeof(rte_ipv6_hdr) : sizeof(rte_ipv4_hdr);
    m->l4_len = sizeof(rte_udp_hdr) + (marker ? 4 : 0);
}

}  // namespace

class IkeIo : public ::testing::TestWithParam<std::tuple<bool, bool>> {};

TEST_P(IkeIo, RoundTripWithValidChecksums) {
    testing_dp dp;
    const auto [v6, marker] = GetParam();
    const ike::Datagram d = sample(v6, marker);
    rte_mbuf* m = control::packet_from_datagram(dp.shared.pool, d);
    ASSERT_NE(m, nullptr);
    const uint8_t* head = rte_pktmbuf_mtod(m, const uint8_t*);
    const uint32_t l3 = v6 ? sizeof(rte_ipv6_hdr) : sizeof(rte_ipv4_hdr);
    EXPECT_EQ(rte_pktmbuf_data_len(m), l3 + 8 + (marker ? 4 : 0) + d.message.size());
    if (v6) {
        const auto* ip = reinterpret_cast<const rte_ipv6_hdr*>(head);
        EXPECT_EQ(rte_ipv6_udptcp_cksum_verify(ip, head + l3), 0);
    } else {
        const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(head);
        EXPECT_EQ(rte_ipv4_cksum(ip), 0);
        EXPECT_EQ(rte_ipv4_udptcp_cksum_verify(ip, head + l3), 0);
    }
    if (marker) {
        EXPECT_EQ(std::memcmp(head + l3 + 8, "\0\0\0\0", 4), 0);
    }
    mark_as_received(m, v6, marker);
    const auto back = control::datagram_from_packet(m);
    rte_pktmbuf_free(m);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->src, d.src);
    EXPECT_EQ(back->dst, d.dst);
    EXPECT_EQ(back->sport, d.sport);
    EXPECT_EQ(back->dport, d.dport);
    EXPECT_EQ(back->non_esp_marker, marker);
    EXPECT_EQ(back->message, d.message);
}

INSTANTIATE_TEST_SUITE_P(Families, IkeIo, ::testing::Combine(::testing::Bool(), ::testing::Bool()));

TEST(IkeIoRejects, MalformedPacketsAndMixedFamilies) {
    testing_dp dp;
    ike::Datagram mixed = sample(false, false);
    mixed.dst = net::IpAddr::v6(T::kPeer6);
    EXPECT_EQ(control::packet_from_datagram(dp.shared.pool, mixed), nullptr);

    auto parse_mutated = [&](auto mutate) {
        rte_mbuf* m = control::packet_from_datagram(dp.shared.pool, sample(false, true));
        mark_as_received(m, false, true);
        mutate(m, rte_pktmbuf_mtod_offset(m, rte_udp_hdr*, sizeof(rte_ipv4_hdr)));
        const bool ok = control::datagram_from_packet(m).has_value();
        rte_pktmbuf_free(m);
        return ok;
    };
    EXPECT_TRUE(parse_mutated([](rte_mbuf*, rte_udp_hdr*) {})) << "the unmutated packet parses";
    EXPECT_FALSE(parse_mutated([](rte_mbuf*, rte_udp_hdr* u) { u->dgram_len = rte_cpu_to_be_16(4000); }));
    EXPECT_FALSE(parse_mutated([](rte_mbuf*, rte_udp_hdr* u) { u->dgram_len = rte_cpu_to_be_16(6); }));
    EXPECT_FALSE(parse_mutated([](rte_mbuf*, rte_udp_hdr* u) { reinterpret_cast<uint8_t*>(u + 1)[2] = 1; }))
        << "a marker that is not four zeros";
    EXPECT_FALSE(parse_mutated([](rte_mbuf* m, rte_udp_hdr*) { m->l4_len = 4; }));
    EXPECT_FALSE(parse_mutated([](rte_mbuf* m, rte_udp_hdr*) { m->l3_len = 500; }));
    EXPECT_FALSE(parse_mutated([](rte_mbuf* m, rte_udp_hdr*) { rte_pktmbuf_mtod(m, uint8_t*)[0] = 0x55; }));
}
