// The public port's RFC 3948 demultiplexing as the workers run it: IKE on port 500 and behind
// the non-ESP marker on port 4500 goes to the control core's ring (marker accounted for in
// l4_len), NAT keepalives are counted and reported, and a full ring costs a counted drop,
// never a stalled worker or a lost mbuf.
#include <gtest/gtest.h>
#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include <cstring>
#include <vector>

#include "support/standalone_datapath.h"

using namespace espgw;
using testing_dp = espgw::testing::StandaloneDatapath;
namespace T = espgw::testing;

namespace {

// An Ethernet frame kPeer:sport -> kGw:dport carrying payload over UDP.
rte_mbuf* udp_frame(testing_dp& dp, uint16_t sport, uint16_t dport, const std::vector<uint8_t>& payload) {
    rte_mbuf* m = rte_pktmbuf_alloc(dp.shared.pool);
    const auto len = static_cast<uint16_t>(sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr) + sizeof(rte_udp_hdr) +
                                           payload.size());
    auto* eth = reinterpret_cast<rte_ether_hdr*>(rte_pktmbuf_append(m, len));
    std::memset(eth, 0, len);
    eth->src_addr.addr_bytes[0] = 0x02;
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(len - sizeof(rte_ether_hdr)));
    ip->time_to_live = 64;
    ip->next_proto_id = IPPROTO_UDP;
    ip->src_addr = rte_cpu_to_be_32(T::kPeer);
    ip->dst_addr = rte_cpu_to_be_32(T::kGw);
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    auto* udp = reinterpret_cast<rte_udp_hdr*>(ip + 1);
    udp->src_port = rte_cpu_to_be_16(sport);
    udp->dst_port = rte_cpu_to_be_16(dport);
    udp->dgram_len = rte_cpu_to_be_16(static_cast<uint16_t>(sizeof(rte_udp_hdr) + payload.size()));
    std::memcpy(udp + 1, payload.data(), payload.size());
    return m;
}

// An IKE header's worth of bytes (28) starting with a recognisable SPI byte.
std::vector<uint8_t> ike_message(uint8_t tag) {
    std::vector<uint8_t> v(28, 0);
    v[0] = tag;
    return v;
}

std::vector<rte_mbuf*> drain(rte_ring* r) {
    std::vector<rte_mbuf*> out;
    void* m;
    while (rte_ring_dequeue(r, &m) == 0) out.push_back(static_cast<rte_mbuf*>(m));
    return out;
}

}  // namespace

TEST(PipelineNatt, IkeOnBothPortsReachesTheControlCoreWithItsStart) {
    testing_dp dp;
    std::vector<uint8_t> marked = {0, 0, 0, 0};
    const std::vector<uint8_t> ike = ike_message(0xa5);
    marked.insert(marked.end(), ike.begin(), ike.end());
    dp.rx_public({udp_frame(dp, 500, 500, ike_message(0x5a)), udp_frame(dp, 4500, 4500, marked)});
    std::vector<rte_mbuf*> got = drain(dp.shared.ike_ring);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(dp.counters.ike, 2u);
    // Data at the IPv4 header; the IKE message starts at l3_len + l4_len.
    const uint8_t first[2] = {0x5a, 0xa5};
    for (int k = 0; k < 2; ++k) {
        rte_mbuf* m = got[k];
        EXPECT_EQ(rte_pktmbuf_mtod(m, const rte_ipv4_hdr*)->version_ihl, RTE_IPV4_VHL_DEF);
        EXPECT_EQ(m->l3_len, 20u);
        EXPECT_EQ(m->l4_len, k == 0 ? 8u : 12u) << "the non-ESP marker is not part of the message";
        EXPECT_EQ(*rte_pktmbuf_mtod_offset(m, const uint8_t*, m->l3_len + m->l4_len), first[k]);
        rte_pktmbuf_free(m);
    }
}

TEST(PipelineNatt, KeepaliveIsCountedReportedAndConsumed) {
    testing_dp dp;
    const unsigned free_before = rte_mempool_avail_count(dp.shared.pool);
    dp.rx_public({udp_frame(dp, 31000, 4500, {0xff})});
    EXPECT_EQ(dp.counters.keepalives, 1u);
    EXPECT_TRUE(drain(dp.shared.ike_ring).empty());
    for (unsigned r = 0; r < dp::kRoles; ++r) EXPECT_TRUE(dp.take(r).empty());
    dp::ControlEvent ev;
    ASSERT_EQ(rte_ring_dequeue_elem(dp.shared.event_ring, &ev, sizeof ev), 0);
    EXPECT_EQ(ev.kind, dp::ControlEvent::keepalive);
    EXPECT_EQ(ev.addr, T::kPeer);
    EXPECT_EQ(ev.port, 31000);
    EXPECT_EQ(rte_mempool_avail_count(dp.shared.pool), free_before);
}

TEST(PipelineNatt, ShortOrTruncatedNattPayloadsAreMalformed) {
    testing_dp dp;
    std::vector<rte_mbuf*> burst = {
        udp_frame(dp, 4500, 4500, {0xfe}),              // one octet, not 0xff
        udp_frame(dp, 4500, 4500, {0, 0, 0}),           // shorter than a marker
        udp_frame(dp, 4500, 4500, {0, 0, 0, 0, 1, 2}),  // marker, then no IKE header
        udp_frame(dp, 4500, 4500, {1, 2, 3, 4, 5, 6}),  // an SPI, then nothing to decrypt
    };
    // A UDP length that claims more than the packet holds.
    rte_mbuf* lying = udp_frame(dp, 4500, 4500, ike_message(1));
    rte_pktmbuf_mtod_offset(lying, rte_udp_hdr*, sizeof(rte_ether_hdr) + 20)->dgram_len = rte_cpu_to_be_16(400);
    burst.push_back(lying);
    dp.rx_public(burst);
    EXPECT_EQ(dp.drops(dp::Drop::malformed), 5u);
    EXPECT_TRUE(drain(dp.shared.ike_ring).empty());
    EXPECT_EQ(dp.counters.keepalives, 0u);
}

TEST(PipelineNatt, FullIkeRingDropsAndCountsWithoutBlocking) {
    testing_dp dp;
    const unsigned free_before = rte_mempool_avail_count(dp.shared.pool);
    rte_ring* roomy = dp.shared.ike_ring;
    rte_ring* tiny = rte_ring_create("natt_tiny", 4, 0, 0);  // holds 3
    ASSERT_NE(tiny, nullptr);
    dp.shared.ike_ring = tiny;
    std::vector<rte_mbuf*> burst;
    for (uint8_t k = 0; k < 5; ++k) burst.push_back(udp_frame(dp, 500, 500, ike_message(k)));
    dp.rx_public(burst);  // returns: a worker never waits for the control core
    EXPECT_EQ(dp.counters.ike, 3u);
    EXPECT_EQ(dp.drops(dp::Drop::ring_full), 2u);
    std::vector<rte_mbuf*> got = drain(tiny);
    ASSERT_EQ(got.size(), 3u);
    for (size_t k = 0; k < got.size(); ++k) {
        EXPECT_EQ(*rte_pktmbuf_mtod_offset(got[k], const uint8_t*, 28), k) << "the first three, in order";
        rte_pktmbuf_free(got[k]);
    }
    dp.shared.ike_ring = roomy;
    rte_ring_free(tiny);
    EXPECT_EQ(rte_mempool_avail_count(dp.shared.pool), free_before) << "dropped IKE must be freed";
}

// Nearly every ESP-in-UDP frame takes the public port's fast path; the ones that do not have
// its exact shape must still be classified as they always were: with IPv4 options or
// Ethernet padding they are decrypted and forwarded; to another address, or plain ESP with
// the reserved SPI 0 (first in its burst, where the decap path's last-SPI memo starts), they
// are dropped and counted.
TEST(PipelineNatt, FramesOffTheFastPathAreClassifiedAsBefore) {
    testing_dp dp;
    dp.install(sa::Direction::inbound, 0x1000);
    auto peer = dp.make_sa(sa::Direction::outbound, 0x1000);
    rte_mbuf* padded = dp.esp_frame(*peer, 100);
    std::memset(rte_pktmbuf_append(padded, 10), 0, 10);
    rte_mbuf* elsewhere = dp.esp_frame(*peer, 100);
    rte_pktmbuf_mtod_offset(elsewhere, rte_ipv4_hdr*, sizeof(rte_ether_hdr))->dst_addr = rte_cpu_to_be_32(T::kGw + 1);
    // Plain ESP (IP protocol 50) with SPI 0: an ESP-in-UDP frame with the UDP header taken out.
    rte_mbuf* spi0 = dp.esp_frame(*peer, 100);
    {
        auto* f = rte_pktmbuf_mtod(spi0, uint8_t*);
        const uint16_t len = rte_pktmbuf_data_len(spi0);
        std::memmove(f + 34, f + 42, len - 42);
        std::memset(f + 34, 0, 4);
        rte_pktmbuf_trim(spi0, 8);
        auto* ip = reinterpret_cast<rte_ipv4_hdr*>(f + 14);
        ip->next_proto_id = IPPROTO_ESP;
        ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(len - 8 - 14));
    }
    std::vector<rte_mbuf*> burst = {spi0, T::with_ip_options(dp, dp.esp_frame(*peer, 100)), padded, elsewhere,
                                    dp.esp_frame(*peer, 100)};
    dp.rx_public(burst);
    auto lan = dp.take(dp::kProtected);
    EXPECT_EQ(lan.size(), 3u);
    for (rte_mbuf* m : lan) EXPECT_EQ(rte_pktmbuf_data_len(m), sizeof(rte_ether_hdr) + 100u);
    EXPECT_EQ(dp.drops(dp::Drop::no_sa), 1u);
    EXPECT_EQ(dp.drops(dp::Drop::not_for_us), 1u);
    EXPECT_EQ(dp.counters.esp_in, 3u);
    T::free_all(lan);
}
