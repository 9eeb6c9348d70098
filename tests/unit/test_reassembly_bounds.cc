// Outer-fragment reassembly under attack: fragments of datagrams that never complete must not
// take more than reassembly's share of the mbuf pool, nor one source more than its own share;
// they are freed on a timer with no further traffic; every fragment dropped is counted by
// reason; and a legitimate tunnel keeps decrypting throughout (issue: a stream of incomplete
// fragments used to drain the pool and stop both ports for good).
#include <gtest/gtest.h>
#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_ip_frag.h>
#include <rte_udp.h>

#include <chrono>
#include <random>
#include <cstring>
#include <thread>
#include <utility>
#include <vector>

#include "espgw/dp/fragments.h"
#include "support/standalone_datapath.h"

using namespace espgw;
using testing_dp = espgw::testing::StandaloneDatapath;
namespace T = espgw::testing;

namespace {

constexpr uint32_t kSpiIn = 0x1001;

rte_mbuf* ethernet(testing_dp& dp, uint16_t type, uint32_t l3_len) {
    rte_mbuf* m = rte_pktmbuf_alloc(dp.shared.pool);
    if (!m) return nullptr;
    auto* eth = reinterpret_cast<rte_ether_hdr*>(rte_pktmbuf_append(m, static_cast<uint16_t>(sizeof(rte_ether_hdr) + l3_len)));
    std::memset(eth, 0, sizeof(rte_ether_hdr) + l3_len);
    eth->ether_type = rte_cpu_to_be_16(type);
    return m;
}

// One IPv4 fragment of a UDP datagram to the gateway: `payload` bytes at offset8*8.
rte_mbuf* fragment4(testing_dp& dp, uint32_t src, uint16_t id, uint16_t offset8, bool more, uint16_t payload = 64) {
    rte_mbuf* m = ethernet(dp, RTE_ETHER_TYPE_IPV4, sizeof(rte_ipv4_hdr) + payload);
    if (!m) return nullptr;
    auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, sizeof(rte_ether_hdr));
    ip->version_ihl = 0x45;
    ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(sizeof(rte_ipv4_hdr) + payload));
    ip->packet_id = rte_cpu_to_be_16(id);
    ip->fragment_offset = rte_cpu_to_be_16(static_cast<uint16_t>(offset8 | (more ? RTE_IPV4_HDR_MF_FLAG : 0)));
    ip->time_to_live = 64;
    ip->next_proto_id = IPPROTO_UDP;
    ip->src_addr = rte_cpu_to_be_32(src);
    ip->dst_addr = rte_cpu_to_be_32(T::kGw);
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    return m;
}

// The same for IPv6 (RFC 8200 §4.5): an IPv6 header, a fragment header, then the payload.
rte_mbuf* fragment6(testing_dp& dp, const uint8_t src[16], uint32_t id, uint16_t offset8, bool more, uint16_t payload = 64) {
    const uint32_t l3 = sizeof(rte_ipv6_hdr) + sizeof(rte_ipv6_fragment_ext) + payload;
    rte_mbuf* m = ethernet(dp, RTE_ETHER_TYPE_IPV6, l3);
    if (!m) return nullptr;
    auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv6_hdr*, sizeof(rte_ether_hdr));
    ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
    ip->payload_len = rte_cpu_to_be_16(static_cast<uint16_t>(sizeof(rte_ipv6_fragment_ext) + payload));
    ip->proto = IPPROTO_FRAGMENT;
    ip->hop_limits = 64;
    std::memcpy(ip->src_addr, src, 16);
    std::memcpy(ip->dst_addr, T::kGw6, 16);
    auto* fh = reinterpret_cast<rte_ipv6_fragment_ext*>(ip + 1);
    fh->next_header = IPPROTO_UDP;
    fh->frag_data = rte_cpu_to_be_16(static_cast<uint16_t>(offset8 << 3 | (more ? 1 : 0)));
    fh->id = rte_cpu_to_be_32(id);
    return m;
}

// What an attacker sends: `datagrams` datagrams of `pieces` fragments each, all with MF set,
// so none ever completes; from sources src_of(k). Sent in bursts of 32.
template <typename Make>
uint64_t flood(testing_dp& dp, unsigned datagrams, unsigned pieces, Make make) {
    std::vector<rte_mbuf*> burst;
    uint64_t sent = 0;
    for (unsigned k = 0; k < datagrams; ++k)
        for (unsigned p = 0; p < pieces; ++p) {
            rte_mbuf* m = make(k, p);
            EXPECT_NE(m, nullptr) << "the test's own pool ran dry: reassembly kept what it should not";
            if (!m) return sent;
            burst.push_back(m);
            ++sent;
            if (burst.size() == 32) dp.rx_public(std::exchange(burst, {}));
        }
    if (!burst.empty()) dp.rx_public(burst);
    return sent;
}

uint64_t fragment_drops(const testing_dp& dp) {
    return dp.drops(dp::Drop::frag_no_room) + dp.drops(dp::Drop::frag_source_limit) +
           dp.drops(dp::Drop::frag_timeout) + dp.drops(dp::Drop::frag_invalid);
}

// A legitimate ESP-in-UDP packet from the peer, whole; the pipeline must decrypt and forward it.
void expect_tunnel_works(testing_dp& dp, sa::Sa& peer, const char* when) {
    dp.rx_public({dp.esp_frame(peer, 300)});
    auto lan = dp.take(dp::kProtected);
    EXPECT_EQ(lan.size(), 1u) << "a whole ESP packet " << when;
    T::free_all(lan);
}

// The same packet in three fragments from the peer (as its path would split it), in reverse order.
std::vector<rte_mbuf*> fragments_of_esp(testing_dp& dp, sa::Sa& peer) {
    rte_mbuf* esp = dp.esp_frame(peer, 1400);
    rte_pktmbuf_adj(esp, sizeof(rte_ether_hdr));
    rte_pktmbuf_mtod(esp, rte_ipv4_hdr*)->fragment_offset = 0;
    rte_mbuf* frags[4];
    const int n = rte_ipv4_fragment_packet(esp, frags, 4, 600, dp.shared.pool, dp.shared.indirect_pool);
    rte_pktmbuf_free(esp);
    std::vector<rte_mbuf*> in;
    for (int k = n - 1; k >= 0; --k) {
        rte_mbuf* f = dp::linearize(frags[k], dp.shared.pool);
        auto* e = reinterpret_cast<rte_ether_hdr*>(rte_pktmbuf_prepend(f, sizeof(rte_ether_hdr)));
        std::memset(e, 0, sizeof *e);
        e->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
        auto* ip = rte_pktmbuf_mtod_offset(f, rte_ipv4_hdr*, sizeof(rte_ether_hdr));
        ip->hdr_checksum = 0;
        ip->hdr_checksum = rte_ipv4_cksum(ip);
        in.push_back(f);
    }
    return in;
}

dp::ReassemblyLimits limits(uint32_t max_mbufs, uint32_t per_source, double timeout_s) {
    dp::ReassemblyLimits l;
    l.max_mbufs = max_mbufs;
    l.per_source = per_source;
    l.timeout_tsc = static_cast<uint64_t>(static_cast<double>(rte_get_tsc_hz()) * timeout_s);
    return l;
}

}  // namespace

// 2,000 datagrams x 7 fragments from 2,000 sources (14,000 mbufs, over three times the pool):
// reassembly holds at most its 256, the rest is dropped and counted, and the tunnel works.
TEST(ReassemblyBounds, AFloodFromManySourcesHoldsAtMostTheShare) {
    testing_dp dp;
    dp.set_reassembly(limits(256, 256, 60));
    dp.install(sa::Direction::inbound, kSpiIn);
    auto peer = dp.make_sa(sa::Direction::outbound, kSpiIn);
    const unsigned baseline = rte_mempool_avail_count(dp.shared.pool);
    unsigned lowest = baseline;
    const uint64_t sent = flood(dp, 2000, 7, [&](unsigned k, unsigned p) {
        lowest = std::min(lowest, rte_mempool_avail_count(dp.shared.pool));
        return fragment4(dp, 0xc6336400 + k, static_cast<uint16_t>(k), static_cast<uint16_t>(p * 8), true);
    });
    EXPECT_EQ(sent, 14000u);
    EXPECT_EQ(dp.worker.reassembly.held, 256u);
    EXPECT_GE(lowest + 256 + 32, baseline) << "reassembly took more of the pool than its share";
    EXPECT_EQ(dp.drops(dp::Drop::frag_no_room), sent - 256);
    EXPECT_EQ(fragment_drops(dp) + dp.worker.reassembly.held, sent) << "every fragment is held or counted";
    expect_tunnel_works(dp, *peer, "during the flood");
    dp.flush_reassembly();
    EXPECT_EQ(rte_mempool_avail_count(dp.shared.pool), baseline) << "mbufs leaked";
}

// One source floods; another peer's fragmented packet still gets through, as the flooder can
// hold only its per-source share.
TEST(ReassemblyBounds, OneSourceCannotCrowdOutAnother) {
    testing_dp dp;
    dp.set_reassembly(limits(256, 32, 60));
    dp.install(sa::Direction::inbound, kSpiIn);
    auto peer = dp.make_sa(sa::Direction::outbound, kSpiIn);
    const uint64_t sent = flood(dp, 500, 7, [&](unsigned k, unsigned p) {
        return fragment4(dp, 0xc6336401, static_cast<uint16_t>(k), static_cast<uint16_t>(p * 8), true);
    });
    EXPECT_EQ(dp.worker.reassembly.held, 32u);
    EXPECT_EQ(dp.drops(dp::Drop::frag_source_limit), sent - 32);
    EXPECT_EQ(dp.drops(dp::Drop::frag_no_room), 0u);
    dp.rx_public(fragments_of_esp(dp, *peer));
    auto lan = dp.take(dp::kProtected);
    EXPECT_EQ(lan.size(), 1u) << "the peer's fragmented packet, during the flood";
    T::free_all(lan);
    EXPECT_EQ(dp.counters.reassembled, 1u);
    EXPECT_EQ(dp.worker.reassembly.held, 32u) << "the reassembled datagram left the table's count";
    expect_tunnel_works(dp, *peer, "during the flood");
}

// Incomplete datagrams are freed when their time is up even if nothing else arrives (the
// table used to free one only when a later fragment touched its slot), and the pool is whole.
TEST(ReassemblyBounds, IncompleteDatagramsAreFreedOnATimerWithoutFurtherTraffic) {
    testing_dp dp;
    dp.set_reassembly(limits(256, 256, 0.02));
    dp.install(sa::Direction::inbound, kSpiIn);
    auto peer = dp.make_sa(sa::Direction::outbound, kSpiIn);
    const unsigned baseline = rte_mempool_avail_count(dp.shared.pool);
    flood(dp, 30, 5, [&](unsigned k, unsigned p) {
        return fragment4(dp, 0xc6336400 + k % 3, static_cast<uint16_t>(k), static_cast<uint16_t>(p * 8), true);
    });
    EXPECT_EQ(dp.worker.reassembly.held, 150u);
    EXPECT_EQ(dp.drops(dp::Drop::frag_timeout), 0u);
    std::this_thread::sleep_for(std::chrono::milliseconds(40));
    dp.worker.now = rte_rdtsc();
    dp::reassembly_sweep(dp.worker);  // what the worker loop does each turn, traffic or not
    EXPECT_EQ(dp.worker.reassembly.held, 0u);
    EXPECT_EQ(dp.drops(dp::Drop::frag_timeout), 150u);
    EXPECT_EQ(rte_mempool_avail_count(dp.shared.pool), baseline) << "expired fragments must go back to the pool";
    for (uint16_t s : dp.worker.reassembly.per_source) ASSERT_EQ(s, 0u) << "per-source counts back to zero";
    expect_tunnel_works(dp, *peer, "after the flood");
}

// Fragments that cannot make a datagram are dropped with all their siblings and counted as
// frag_invalid: a second first fragment, and more fragments than reassembly takes.
TEST(ReassemblyBounds, FragmentsThatMakeNoDatagramAreCountedAsInvalid) {
    testing_dp dp;
    const unsigned baseline = rte_mempool_avail_count(dp.shared.pool);
    dp.rx_public({fragment4(dp, 0xc6336401, 7, 0, true), fragment4(dp, 0xc6336401, 7, 0, true)});
    EXPECT_EQ(dp.drops(dp::Drop::frag_invalid), 2u);
    std::vector<rte_mbuf*> many;
    for (uint16_t p = 0; p < RTE_LIBRTE_IP_FRAG_MAX_FRAG + 2; ++p)
        many.push_back(fragment4(dp, 0xc6336401, 8, static_cast<uint16_t>(8 + p * 8), true));
    dp.rx_public(many);
    EXPECT_GT(dp.drops(dp::Drop::frag_invalid), 2u);
    EXPECT_EQ(fragment_drops(dp) + dp.worker.reassembly.held, 2u + many.size());
    dp.flush_reassembly();
    EXPECT_EQ(rte_mempool_avail_count(dp.shared.pool), baseline);
}

// IPv6 fragments are held within the same bounds.
TEST(ReassemblyBounds, AnIpv6FloodHoldsAtMostTheShare) {
    testing_dp dp;
    dp.enable_public_v6();
    dp.set_reassembly(limits(128, 64, 60));
    const unsigned baseline = rte_mempool_avail_count(dp.shared.pool);
    const uint64_t sent = flood(dp, 600, 6, [&](unsigned k, unsigned p) {
        uint8_t src[16];
        std::memcpy(src, T::kPeer6, 16);
        src[14] = static_cast<uint8_t>(k >> 8);
        src[15] = static_cast<uint8_t>(k);
        return fragment6(dp, src, k, static_cast<uint16_t>(p * 8), true);
    });
    EXPECT_EQ(dp.worker.reassembly.held, 128u);
    EXPECT_EQ(fragment_drops(dp) + dp.worker.reassembly.held, sent);
    EXPECT_GT(dp.drops(dp::Drop::frag_no_room), 0u);
    dp.flush_reassembly();
    EXPECT_EQ(rte_mempool_avail_count(dp.shared.pool), baseline);
}

// An hour-long flood in simulated time, as the soak sends it (random sources, identifiers and
// offsets, MF always set, 5,000 a second against a 2 s time-out): the share stays full, yet it
// turns over every time-out all along, so a fragment of a real datagram always finds room soon.
TEST(ReassemblyBounds, ALongFloodKeepsTurningOver) {
    testing_dp dp;
    const double tsc = static_cast<double>(rte_get_tsc_hz());
    dp.set_reassembly(limits(1023, 127, 2.0));
    const unsigned baseline = rte_mempool_avail_count(dp.shared.pool);
    std::mt19937 rnd(1);
    uint64_t now = rte_rdtsc();
    const uint64_t step = static_cast<uint64_t>(tsc / 5000);
    std::vector<rte_mbuf*> burst;
    uint64_t timed_out_before = 0;
    for (unsigned second = 1; second <= 600; ++second) {
        for (unsigned k = 0; k < 5000; ++k) {
            const uint32_t src = 0x64400000u | (rnd() & 0x3fffff);
            burst.push_back(fragment4(dp, src, static_cast<uint16_t>(rnd()), static_cast<uint16_t>((rnd() % 64) * 8), true));
            ASSERT_NE(burst.back(), nullptr) << "the test's pool ran dry at second " << second;
            now += step;
            if (burst.size() == 32) dp.rx_public_at(now, std::exchange(burst, {}));
        }
        if (second % 10 == 0) {
            // Ten seconds are five time-outs: each frees the whole share once.
            const uint64_t timed_out = dp.drops(dp::Drop::frag_timeout);
            ASSERT_GE(timed_out - timed_out_before, 4u * 1023) << "reassembly stopped expiring at second " << second;
            timed_out_before = timed_out;
        }
    }
    dp.rx_public_at(now + static_cast<uint64_t>(tsc * 2.1), std::move(burst));
    EXPECT_EQ(dp.worker.reassembly.held, 0u);
    EXPECT_EQ(rte_mempool_avail_count(dp.shared.pool), baseline);
}

// The worker's clock is the TSC, which a virtual machine may set back or read once far ahead.
// Datagrams stamped "in the future" must not freeze expiry: a step back frees all that is
// held (counted as timed out), and reassembly then runs on the clock as it now reads.
TEST(ReassemblyBounds, AClockThatStepsBackDoesNotFreezeExpiry) {
    testing_dp dp;
    const uint64_t hz = rte_get_tsc_hz();
    dp.set_reassembly(limits(256, 256, 2.0));
    dp.install(sa::Direction::inbound, kSpiIn);
    auto peer = dp.make_sa(sa::Direction::outbound, kSpiIn);
    const unsigned baseline = rte_mempool_avail_count(dp.shared.pool);
    const uint64_t t0 = uint64_t{1} << 50;
    // One fragment read while the clock was an hour ahead, then the clock back where it was.
    dp.rx_public_at(t0 + 3600 * hz, {fragment4(dp, 0xc6336401, 1, 8, true)});
    std::vector<rte_mbuf*> rest;
    for (uint16_t k = 0; k < 255; ++k) rest.push_back(fragment4(dp, 0xc6336500 + k, k, 8, true));
    dp.rx_public_at(t0, std::move(rest));
    EXPECT_EQ(dp.counters.clock_steps_back, 1u);
    EXPECT_EQ(dp.drops(dp::Drop::frag_timeout), 1u) << "the one stamped ahead is freed when the clock goes back";
    EXPECT_EQ(dp.worker.reassembly.held, 255u);
    // A time-out later on the clock as it reads now, all of it is freed.
    dp.rx_public_at(t0 + 2 * hz + hz / 10, {});
    EXPECT_EQ(dp.worker.reassembly.held, 0u);
    EXPECT_EQ(dp.drops(dp::Drop::frag_timeout), 256u);
    // The share full again, and the clock back by an hour: everything goes at once.
    std::vector<rte_mbuf*> full;
    for (uint16_t k = 0; k < 256; ++k) full.push_back(fragment4(dp, 0xc6336600 + k, k, 8, true));
    dp.rx_public_at(t0 + 10 * hz, std::move(full));
    EXPECT_EQ(dp.worker.reassembly.held, 256u);
    dp.rx_public_at(t0 + 10 * hz - 3600 * hz, {});
    EXPECT_EQ(dp.counters.clock_steps_back, 2u);
    EXPECT_EQ(dp.worker.reassembly.held, 0u);
    EXPECT_EQ(rte_mempool_avail_count(dp.shared.pool), baseline);
    // A peer's fragmented packet is put back together on the new clock.
    dp.rx_public_at(t0 + 10 * hz - 3600 * hz, fragments_of_esp(dp, *peer));
    auto lan = dp.take(dp::kProtected);
    EXPECT_EQ(lan.size(), 1u);
    T::free_all(lan);
    // Small jitter (less than a sweep interval) is not a step back.
    dp.rx_public_at(t0 + 10 * hz - 3600 * hz - hz / 1000, {fragment4(dp, 0xc6336401, 2, 8, true)});
    EXPECT_EQ(dp.counters.clock_steps_back, 2u);
    EXPECT_EQ(dp.worker.reassembly.held, 1u);
}
