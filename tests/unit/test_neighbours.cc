// ARP, NDP and the neighbour resolver they share, on the control core: frames in as workers
// hand them over (slow ring), frames out as worker 0 would send them (tx ring), the neighbour
// table in between. Time is passed in, so retries and give-ups are exact.
#include <gtest/gtest.h>
#include <rte_arp.h>
#include <rte_ether.h>
#include <rte_ip.h>

#include <rte_errno.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "espgw/control/arp.h"
#include "espgw/control/ndp.h"
#include "espgw/control/neighbour_resolver.h"
#include "support/standalone_datapath.h"

using namespace espgw;
using testing_dp = espgw::testing::StandaloneDatapath;
namespace T = espgw::testing;

namespace {

constexpr uint64_t kHz = 1000000;  // the tests' clock: 1 tick = 1 us
const net::Mac kPublicMac{{0x02, 0xaa, 0, 0, 0, 1}};
const net::Mac kLanMac{{0x02, 0xaa, 0, 0, 0, 2}};
const uint8_t kHostMac[6] = {0x02, 0xbb, 0, 0, 0, 9};

struct Sent {
    unsigned role;
    std::vector<uint8_t> frame;
    uint16_t type() const { return static_cast<uint16_t>(frame[12] << 8 | frame[13]); }
    const rte_arp_hdr* arp() const { return reinterpret_cast<const rte_arp_hdr*>(frame.data() + 14); }
    const rte_ipv6_hdr* ip6() const { return reinterpret_cast<const rte_ipv6_hdr*>(frame.data() + 14); }
    const uint8_t* icmp6() const { return frame.data() + 14 + sizeof(rte_ipv6_hdr); }
};

struct Resolving {
    explicit Resolving(testing_dp& dp)
        : dp(dp),
          env{dp.shared, *dp.shared.neighbours, control::TxPath(dp.shared.tx_ring), stats, kHz, 60},
          resolver(env, [this](unsigned role, const net::IpAddr& a) { arp.request(role, a.v4()); },
                   [this](unsigned role, const net::IpAddr& a) { ndp.solicit(role, a); }),
          arp(env, resolver),
          ndp(env, resolver) {
        dp.shared.port_mac[dp::kPublic] = kPublicMac;
        dp.shared.port_mac[dp::kProtected] = kLanMac;
    }
    ~Resolving() { (void)sent(); }

    // What went to the TX ring since the last call (frames copied, mbufs freed).
    std::vector<Sent> sent() {
        std::vector<Sent> out;
        dp::TxRequest r;
        while (rte_ring_dequeue_elem(dp.shared.tx_ring, &r, sizeof r) == 0) {
            EXPECT_EQ(r.kind, dp::TxRequest::frame);
            out.push_back({r.role, T::bytes_of(r.m)});
            rte_pktmbuf_free(r.m);
        }
        return out;
    }
    rte_mbuf* frame(unsigned role, const std::vector<uint8_t>& bytes) {
        rte_mbuf* m = rte_pktmbuf_alloc(dp.shared.pool);
        std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(bytes.size())), bytes.data(), bytes.size());
        m->port = static_cast<uint16_t>(role);
        return m;
    }
    // An IP packet for next_hop, as a worker holds it (data at the IP header).
    dp::HeldPacket held(unsigned role, const net::IpAddr& next_hop, uint8_t tag) {
        rte_mbuf* m = rte_pktmbuf_alloc(dp.shared.pool);
        auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, 60));
        std::memset(p, tag, 60);
        p[0] = next_hop.is_v4() ? 0x45 : 0x60;
        return {m, next_hop, static_cast<uint8_t>(role)};
    }

    testing_dp& dp;
    control::NeighbourStats stats;
    control::NeighbourEnv env;
    control::NeighbourResolver resolver;
    control::Arp arp;
    control::Ndp ndp;
};

std::vector<uint8_t> arp_frame(uint16_t op, const uint8_t sha[6], uint32_t sip, uint32_t tip,
                               const uint8_t* dst_mac = nullptr) {
    std::vector<uint8_t> f(sizeof(rte_ether_hdr) + sizeof(rte_arp_hdr));
    auto* eth = reinterpret_cast<rte_ether_hdr*>(f.data());
    std::memset(&eth->dst_addr, 0xff, 6);
    if (dst_mac) std::memcpy(&eth->dst_addr, dst_mac, 6);
    std::memcpy(&eth->src_addr, sha, 6);
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
    auto* arp = reinterpret_cast<rte_arp_hdr*>(eth + 1);
    arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
    arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
    arp->arp_hlen = 6;
    arp->arp_plen = 4;
    arp->arp_opcode = rte_cpu_to_be_16(op);
    std::memcpy(&arp->arp_data.arp_sha, sha, 6);
    arp->arp_data.arp_sip = rte_cpu_to_be_32(sip);
    arp->arp_data.arp_tip = rte_cpu_to_be_32(tip);
    return f;
}

// A neighbour solicitation (135) or advertisement (136) with a link-layer address option.
std::vector<uint8_t> nd_frame(uint8_t type, const uint8_t src_mac[6], const uint8_t src[16], const uint8_t dst[16],
                              const uint8_t target[16], uint8_t hop_limit = 255) {
    std::vector<uint8_t> f(sizeof(rte_ether_hdr) + sizeof(rte_ipv6_hdr) + 32);
    auto* eth = reinterpret_cast<rte_ether_hdr*>(f.data());
    std::memset(&eth->dst_addr, 0x33, 6);
    std::memcpy(&eth->src_addr, src_mac, 6);
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);
    auto* ip = reinterpret_cast<rte_ipv6_hdr*>(eth + 1);
    ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
    ip->payload_len = rte_cpu_to_be_16(32);
    ip->proto = IPPROTO_ICMPV6;
    ip->hop_limits = hop_limit;
    std::memcpy(ip->src_addr, src, 16);
    std::memcpy(ip->dst_addr, dst, 16);
    uint8_t* icmp = reinterpret_cast<uint8_t*>(ip + 1);
    icmp[0] = type;
    if (type == 136) icmp[4] = 0x40 | 0x20;
    std::memcpy(icmp + 8, target, 16);
    icmp[24] = type == 135 ? 1 : 2;
    icmp[25] = 1;
    std::memcpy(icmp + 26, src_mac, 6);
    const uint16_t sum = rte_ipv6_udptcp_cksum(ip, icmp);
    std::memcpy(icmp + 2, &sum, 2);
    return f;
}

// A mempool that scribbles over a buffer the moment it is freed (no per-lcore cache, so every
// free reaches it): code that reads a frame after freeing it reads 0xdb. That is how the ARP
// use-after-free (issue 7, defect 2) shows without a sanitizer that knows DPDK's pools.
int scrub_alloc(rte_mempool* mp) {
    const std::string name = std::string("scrub_") + mp->name;
    rte_ring* r = rte_ring_create(name.c_str(), rte_align32pow2(mp->size + 1), mp->socket_id, 0);
    mp->pool_data = r;
    return r ? 0 : -rte_errno;
}
void scrub_free(rte_mempool* mp) { rte_ring_free(static_cast<rte_ring*>(mp->pool_data)); }
int scrub_enqueue(rte_mempool* mp, void* const* objs, unsigned n) {
    for (unsigned k = 0; k < n; ++k)  // the data room follows the mbuf header (no private area)
        std::memset(static_cast<uint8_t*>(objs[k]) + sizeof(rte_mbuf), 0xdb, mp->elt_size - sizeof(rte_mbuf));
    return rte_ring_enqueue_bulk(static_cast<rte_ring*>(mp->pool_data), objs, n, nullptr) == n ? 0 : -ENOBUFS;
}
int scrub_dequeue(rte_mempool* mp, void** objs, unsigned n) {
    return rte_ring_dequeue_bulk(static_cast<rte_ring*>(mp->pool_data), objs, n, nullptr) == n ? 0 : -ENOENT;
}
unsigned scrub_count(const rte_mempool* mp) { return rte_ring_count(static_cast<const rte_ring*>(mp->pool_data)); }
rte_mempool_ops scrub_ops = {"espgw_scrub", scrub_alloc, scrub_free, scrub_enqueue, scrub_dequeue, scrub_count,
                             nullptr, nullptr, nullptr, nullptr};
RTE_MEMPOOL_REGISTER_OPS(scrub_ops);

bool resolved(testing_dp& dp, const net::IpAddr& a, net::Mac& mac) { return dp.shared.neighbours->lookup(a, 1, mac); }

constexpr uint32_t kHost = 0x0a010033;  // 10.1.0.51, on the LAN, not in the table

}  // namespace

TEST(Arp, ARequestForUsIsAnsweredAndTheAskerLearned) {
    testing_dp dp;
    Resolving r(dp);
    r.arp.receive(r.frame(dp::kProtected, arp_frame(RTE_ARP_OP_REQUEST, kHostMac, kHost, T::kGwLan)), 1);
    auto out = r.sent();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].role, dp::kProtected);
    EXPECT_EQ(out[0].type(), RTE_ETHER_TYPE_ARP);
    EXPECT_EQ(std::memcmp(out[0].frame.data(), kHostMac, 6), 0) << "unicast back to the asker";
    EXPECT_EQ(std::memcmp(out[0].frame.data() + 6, kLanMac.b, 6), 0);
    const rte_arp_hdr* a = out[0].arp();
    EXPECT_EQ(rte_be_to_cpu_16(a->arp_opcode), RTE_ARP_OP_REPLY);
    EXPECT_EQ(std::memcmp(&a->arp_data.arp_sha, kLanMac.b, 6), 0);
    EXPECT_EQ(rte_be_to_cpu_32(a->arp_data.arp_sip), T::kGwLan);
    EXPECT_EQ(rte_be_to_cpu_32(a->arp_data.arp_tip), kHost);
    net::Mac mac;
    ASSERT_TRUE(resolved(dp, net::IpAddr::v4(kHost), mac));
    EXPECT_EQ(std::memcmp(mac.b, kHostMac, 6), 0);
    EXPECT_EQ(r.stats.arp_replies_sent.load(), 1u);
}

// The request is read before its frame is freed: the frame comes from a pool that scribbles
// over freed buffers, and the reply must still be right.
TEST(Arp, AFrameIsReadBeforeItIsFreed) {
    testing_dp dp;
    Resolving r(dp);
    rte_mempool* scrub = rte_pktmbuf_pool_create_by_ops("arp_scrub", 63, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0, "espgw_scrub");
    ASSERT_NE(scrub, nullptr);
    const auto bytes = arp_frame(RTE_ARP_OP_REQUEST, kHostMac, kHost, T::kGwLan);
    rte_mbuf* m = rte_pktmbuf_alloc(scrub);
    ASSERT_NE(m, nullptr);
    std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(bytes.size())), bytes.data(), bytes.size());
    m->port = dp::kProtected;
    r.arp.receive(m, 1);
    EXPECT_EQ(rte_mempool_avail_count(scrub), 63u) << "the frame was freed";
    auto out = r.sent();
    ASSERT_EQ(out.size(), 1u) << "a reply, from what the request said";
    EXPECT_EQ(rte_be_to_cpu_16(out[0].arp()->arp_opcode), RTE_ARP_OP_REPLY);
    EXPECT_EQ(rte_be_to_cpu_32(out[0].arp()->arp_data.arp_tip), kHost);
    EXPECT_EQ(std::memcmp(&out[0].arp()->arp_data.arp_tha, kHostMac, 6), 0);
    rte_mempool_free(scrub);
}

// Packets waiting for a neighbour leave, in order and as complete frames, when it answers.
TEST(Arp, HeldPacketsLeaveWhenTheNeighbourAnswers) {
    testing_dp dp;
    Resolving r(dp);
    const auto host = net::IpAddr::v4(kHost);
    r.resolver.hold(r.held(dp::kProtected, host, 0x11), 10);
    r.resolver.hold(r.held(dp::kProtected, host, 0x22), 11);
    EXPECT_EQ(r.resolver.held(host), 2u);
    r.resolver.tick(12);
    auto out = r.sent();
    ASSERT_EQ(out.size(), 1u) << "one request";
    EXPECT_EQ(rte_be_to_cpu_16(out[0].arp()->arp_opcode), RTE_ARP_OP_REQUEST);
    EXPECT_EQ(rte_be_to_cpu_32(out[0].arp()->arp_data.arp_tip), kHost);
    EXPECT_EQ(rte_be_to_cpu_32(out[0].arp()->arp_data.arp_sip), T::kGwLan);
    r.resolver.tick(13);
    EXPECT_TRUE(r.sent().empty()) << "not again before a second has passed";

    r.arp.receive(r.frame(dp::kProtected, arp_frame(RTE_ARP_OP_REPLY, kHostMac, kHost, T::kGwLan, kLanMac.b)), 20);
    out = r.sent();
    ASSERT_EQ(out.size(), 2u);
    for (size_t k = 0; k < 2; ++k) {
        EXPECT_EQ(out[k].role, dp::kProtected);
        EXPECT_EQ(std::memcmp(out[k].frame.data(), kHostMac, 6), 0) << k;
        EXPECT_EQ(std::memcmp(out[k].frame.data() + 6, kLanMac.b, 6), 0) << k;
        EXPECT_EQ(out[k].type(), RTE_ETHER_TYPE_IPV4) << k;
        EXPECT_EQ(out[k].frame[15], k ? 0x22 : 0x11) << "in the order held";
    }
    EXPECT_EQ(r.resolver.pending(), 0u);
    EXPECT_EQ(r.stats.held_sent.load(), 2u);
    // Once known, a held packet (one that was on its way meanwhile) leaves at once.
    r.resolver.hold(r.held(dp::kProtected, host, 0x33), 21);
    out = r.sent();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].frame[15], 0x33);
}

TEST(Arp, AFullQueueKeepsTheNewest) {
    testing_dp dp;
    Resolving r(dp);
    const auto host = net::IpAddr::v4(kHost);
    const unsigned avail = rte_mempool_avail_count(dp.shared.pool);
    for (uint8_t k = 1; k <= 5; ++k) r.resolver.hold(r.held(dp::kProtected, host, k), k);
    EXPECT_EQ(r.resolver.held(host), 3u);
    EXPECT_EQ(r.stats.held_dropped.load(), 2u);
    r.arp.receive(r.frame(dp::kProtected, arp_frame(RTE_ARP_OP_REPLY, kHostMac, kHost, T::kGwLan, kLanMac.b)), 9);
    auto out = r.sent();
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out[0].frame[15], 3);
    EXPECT_EQ(out[2].frame[15], 5);
    EXPECT_EQ(rte_mempool_avail_count(dp.shared.pool), avail) << "mbufs leaked";
}

// Traffic to many silent addresses (a scan of the LAN through a tunnel) holds at most
// kMaxHeld mbufs in all, not three per address; they all come back when the addresses are
// given up.
TEST(Arp, QueuesForManySilentNeighboursHoldABoundedNumberOfMbufs) {
    testing_dp dp;
    Resolving r(dp);
    const unsigned avail = rte_mempool_avail_count(dp.shared.pool);
    constexpr unsigned kAddresses = 1000;
    unsigned lowest = avail;
    for (unsigned k = 0; k < kAddresses; ++k)
        for (uint8_t j = 0; j < 3; ++j) {
            r.resolver.hold(r.held(dp::kProtected, net::IpAddr::v4(0x0a011000 + k), j), 0);
            lowest = std::min(lowest, rte_mempool_avail_count(dp.shared.pool));
        }
    EXPECT_EQ(r.resolver.held_total(), control::NeighbourResolver::kMaxHeld);
    EXPECT_GE(lowest + control::NeighbourResolver::kMaxHeld, avail) << "held more than the bound";
    EXPECT_EQ(r.stats.held_full.load(), 3 * kAddresses - control::NeighbourResolver::kMaxHeld);
    for (uint64_t t = 0; t <= 10 * kHz; t += kHz / 10) {
        r.resolver.tick(t);
        (void)r.sent();
    }
    EXPECT_EQ(r.resolver.held_total(), 0u);
    EXPECT_EQ(rte_mempool_avail_count(dp.shared.pool), avail) << "mbufs leaked";
}

TEST(Arp, ANeighbourThatNeverAnswersIsGivenUp) {
    testing_dp dp;
    Resolving r(dp);
    const auto host = net::IpAddr::v4(kHost);
    const unsigned avail = rte_mempool_avail_count(dp.shared.pool);
    r.resolver.hold(r.held(dp::kProtected, host, 1), 0);
    unsigned requests = 0;
    for (uint64_t t = 0; t <= 10 * kHz; t += kHz / 10) {
        r.resolver.tick(t);
        requests += static_cast<unsigned>(r.sent().size());
    }
    EXPECT_EQ(requests, control::NeighbourResolver::kTriesV4);
    EXPECT_EQ(r.resolver.pending(), 0u);
    EXPECT_EQ(r.stats.held_dropped.load(), 1u);
    EXPECT_EQ(rte_mempool_avail_count(dp.shared.pool), avail) << "mbufs leaked";
}

// A reply nobody asked for, from a host that did not ask for us, teaches nothing (no cache
// poisoning by gratuitous replies); malformed ARP is dropped without an answer or a leak.
TEST(Arp, UnaskedRepliesAndMalformedFramesTeachNothing) {
    testing_dp dp;
    Resolving r(dp);
    const unsigned avail = rte_mempool_avail_count(dp.shared.pool);
    r.arp.receive(r.frame(dp::kProtected, arp_frame(RTE_ARP_OP_REPLY, kHostMac, kHost, T::kGwLan, kLanMac.b)), 1);
    net::Mac mac;
    EXPECT_FALSE(resolved(dp, net::IpAddr::v4(kHost), mac));
    auto bad_len = arp_frame(RTE_ARP_OP_REQUEST, kHostMac, kHost, T::kGwLan);
    bad_len.resize(30);
    r.arp.receive(r.frame(dp::kProtected, bad_len), 2);
    auto bad_hlen = arp_frame(RTE_ARP_OP_REQUEST, kHostMac, kHost, T::kGwLan);
    reinterpret_cast<rte_arp_hdr*>(bad_hlen.data() + 14)->arp_hlen = 8;
    r.arp.receive(r.frame(dp::kProtected, bad_hlen), 3);
    auto bad_proto = arp_frame(RTE_ARP_OP_REQUEST, kHostMac, kHost, T::kGwLan);
    reinterpret_cast<rte_arp_hdr*>(bad_proto.data() + 14)->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);
    r.arp.receive(r.frame(dp::kProtected, bad_proto), 4);
    // Off the link: answered? no, not learned either.
    r.arp.receive(r.frame(dp::kProtected, arp_frame(RTE_ARP_OP_REQUEST, kHostMac, 0x0b000001, T::kGwLan)), 5);
    EXPECT_FALSE(resolved(dp, net::IpAddr::v4(0x0b000001), mac));
    auto out = r.sent();
    EXPECT_EQ(out.size(), 1u) << "only the off-link asker gets a reply (as Linux answers)";
    EXPECT_FALSE(resolved(dp, net::IpAddr::v4(kHost), mac));
    EXPECT_EQ(rte_mempool_avail_count(dp.shared.pool), avail) << "mbufs leaked";
}

TEST(Ndp, ASolicitationForUsIsAdvertisedAndTheAskerLearned) {
    testing_dp dp;
    dp.enable_public_v6();
    Resolving r(dp);
    uint8_t asker[16];
    std::memcpy(asker, T::kPeer6, 16);
    asker[15] = 0x42;
    r.ndp.receive(r.frame(dp::kPublic, nd_frame(135, kHostMac, asker, T::kGw6, T::kGw6)), 1);
    auto out = r.sent();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].role, dp::kPublic);
    EXPECT_EQ(out[0].type(), RTE_ETHER_TYPE_IPV6);
    EXPECT_EQ(std::memcmp(out[0].frame.data(), kHostMac, 6), 0);
    const rte_ipv6_hdr* ip = out[0].ip6();
    EXPECT_EQ(ip->hop_limits, 255);
    EXPECT_EQ(std::memcmp(ip->dst_addr, asker, 16), 0);
    EXPECT_EQ(std::memcmp(ip->src_addr, T::kGw6, 16), 0);
    const uint8_t* icmp = out[0].icmp6();
    EXPECT_EQ(icmp[0], 136);
    EXPECT_EQ(icmp[4] & 0x60, 0x60) << "solicited, override";
    EXPECT_EQ(std::memcmp(icmp + 8, T::kGw6, 16), 0);
    EXPECT_EQ(icmp[24], 2) << "target link-layer address";
    EXPECT_EQ(std::memcmp(icmp + 26, kPublicMac.b, 6), 0);
    EXPECT_EQ(rte_ipv6_udptcp_cksum_verify(ip, icmp), 0) << "ICMPv6 checksum";
    net::Mac mac;
    ASSERT_TRUE(resolved(dp, net::IpAddr::v6(asker), mac));
    EXPECT_EQ(std::memcmp(mac.b, kHostMac, 6), 0);
}

// A peer over IPv6 at an address not resolved yet: its packets wait, a solicitation goes to
// the solicited-node group, the advertisement releases them as IPv6 frames.
TEST(Ndp, HeldPacketsLeaveWhenTheNeighbourAdvertises) {
    testing_dp dp;
    dp.enable_public_v6();
    Resolving r(dp);
    uint8_t moved[16];
    std::memcpy(moved, T::kPeer6, 16);
    moved[13] = 0xab, moved[14] = 0xcd, moved[15] = 0xef;
    const auto addr = net::IpAddr::v6(moved);
    r.resolver.hold(r.held(dp::kPublic, addr, 0x61), 1);
    r.resolver.tick(2);
    auto out = r.sent();
    ASSERT_EQ(out.size(), 1u);
    const uint8_t group_mac[6] = {0x33, 0x33, 0xff, 0xab, 0xcd, 0xef};
    EXPECT_EQ(std::memcmp(out[0].frame.data(), group_mac, 6), 0);
    const uint8_t group[16] = {0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xab, 0xcd, 0xef};
    EXPECT_EQ(std::memcmp(out[0].ip6()->dst_addr, group, 16), 0);
    EXPECT_EQ(out[0].icmp6()[0], 135);
    EXPECT_EQ(std::memcmp(out[0].icmp6() + 8, moved, 16), 0);
    EXPECT_EQ(rte_ipv6_udptcp_cksum_verify(out[0].ip6(), out[0].icmp6()), 0);

    // An advertisement with hop limit 64 is not from the link: ignored.
    r.ndp.receive(r.frame(dp::kPublic, nd_frame(136, kHostMac, moved, T::kGw6, moved, 64)), 3);
    EXPECT_TRUE(r.sent().empty());
    r.ndp.receive(r.frame(dp::kPublic, nd_frame(136, kHostMac, moved, T::kGw6, moved)), 4);
    out = r.sent();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].type(), RTE_ETHER_TYPE_IPV6);
    EXPECT_EQ(std::memcmp(out[0].frame.data(), kHostMac, 6), 0);
    EXPECT_EQ(out[0].frame[15], 0x61);
}

TEST(Ndp, ANeighbourThatNeverAdvertisesIsGivenUpAfterThreeSolicitations) {
    testing_dp dp;
    dp.enable_public_v6();
    Resolving r(dp);
    uint8_t gone[16];
    std::memcpy(gone, T::kPeer6, 16);
    gone[15] = 0x99;
    r.resolver.hold(r.held(dp::kPublic, net::IpAddr::v6(gone), 1), 0);
    unsigned solicitations = 0;
    for (uint64_t t = 0; t <= 10 * kHz; t += kHz / 10) {
        r.resolver.tick(t);
        solicitations += static_cast<unsigned>(r.sent().size());
    }
    EXPECT_EQ(solicitations, control::NeighbourResolver::kTriesV6);
    EXPECT_EQ(r.resolver.pending(), 0u);
    EXPECT_EQ(r.stats.held_dropped.load(), 1u);
}

// Neighbours close to expiry are asked again before they expire (no stall on re-resolution);
// a fresh one is left alone.
TEST(NeighbourResolver, RefreshAsksAgainBeforeExpiry) {
    testing_dp dp;
    Resolving r(dp);
    const uint64_t now = 1000 * kHz;
    dp.shared.neighbours->learn(net::IpAddr::v4(kHost), net::Mac{{2, 0, 0, 0, 0, 7}}, now + 3 * kHz);
    dp.shared.neighbours->learn(net::IpAddr::v4(kHost + 1), net::Mac{{2, 0, 0, 0, 0, 8}}, now + 50 * kHz);
    r.resolver.refresh(now);
    r.resolver.tick(now);
    auto out = r.sent();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(rte_be_to_cpu_32(out[0].arp()->arp_data.arp_tip), kHost);
    EXPECT_EQ(out[0].role, dp::kProtected);
}
