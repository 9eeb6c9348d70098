// The worker pipeline toward peers reached over IPv6 (the outer header is IPv6): ESP in UDP
// and plain ESP both ways, the UDP checksum IPv6 requires, the tunnel MTU with the longer
// header, mapping-change events carrying the IPv6 source, and the public port's IPv6 upkeep
// (neighbour discovery to the control core, IKE and keepalives checked and handed on).
#include <gtest/gtest.h>
#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_cycles.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_ip_frag.h>
#include <rte_udp.h>

#include <algorithm>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "espgw/esp/esp_decap.h"
#include "espgw/esp/esp_encap.h"
#include "support/standalone_datapath.h"

using namespace espgw;
using testing_dp = espgw::testing::StandaloneDatapath;
namespace T = espgw::testing;

namespace {

constexpr uint32_t kSpiIn = 0x1001, kSpiOut = 0x2001;

using T::any_cpu;
using T::free_all;

sa::Sa* install6(testing_dp& dp, sa::Direction dir, uint32_t spi, sa::Encap encap = sa::Encap::udp) {
    auto sa = dp.make_sa(dir, spi, nullptr, /*outer6=*/true, dp.gw_peer(true));
    sa->params.encap = encap;
    std::string err;
    EXPECT_TRUE(dp.table().install(std::move(sa), err)) << err;
    return dp.table().find(dir, spi);
}

// What a peer over IPv6 sends: the peer's SA mirrors ours.
std::unique_ptr<sa::Sa> peer_sa(testing_dp& dp, uint32_t spi, sa::Encap encap = sa::Encap::udp) {
    auto sa = dp.make_sa(sa::Direction::outbound, spi, nullptr, /*outer6=*/true);
    sa->params.encap = encap;
    return sa;
}

const rte_ipv6_hdr* ip6_of_ip(const rte_mbuf* m) { return rte_pktmbuf_mtod(m, const rte_ipv6_hdr*); }

const rte_ipv6_hdr* ip6_of(const rte_mbuf* m) {
    return rte_pktmbuf_mtod_offset(m, const rte_ipv6_hdr*, sizeof(rte_ether_hdr));
}

// An IPv6 frame kPeer6 -> dst with next header proto and the given payload; UDP gets a
// correct checksum unless told otherwise.
rte_mbuf* ip6_frame(testing_dp& dp, const uint8_t dst[16], uint8_t proto, const std::vector<uint8_t>& payload,
                    bool good_checksum = true) {
    rte_mbuf* m = rte_pktmbuf_alloc(dp.shared.pool);
    const auto len = static_cast<uint16_t>(sizeof(rte_ether_hdr) + sizeof(rte_ipv6_hdr) + payload.size());
    auto* eth = reinterpret_cast<rte_ether_hdr*>(rte_pktmbuf_append(m, len));
    std::memset(eth, 0, sizeof *eth);
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);
    auto* ip = reinterpret_cast<rte_ipv6_hdr*>(eth + 1);
    ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
    ip->payload_len = rte_cpu_to_be_16(static_cast<uint16_t>(payload.size()));
    ip->proto = proto;
    ip->hop_limits = 255;
    std::memcpy(ip->src_addr, T::kPeer6, 16);
    std::memcpy(ip->dst_addr, dst, 16);
    std::memcpy(ip + 1, payload.data(), payload.size());
    if (proto == IPPROTO_UDP) {
        auto* udp = reinterpret_cast<rte_udp_hdr*>(ip + 1);
        udp->dgram_cksum = 0;
        udp->dgram_cksum = rte_ipv6_udptcp_cksum(ip, udp);
        if (!good_checksum) udp->dgram_cksum ^= 0x0100;
    }
    return m;
}

std::vector<uint8_t> udp_payload(uint16_t sport, uint16_t dport, const std::vector<uint8_t>& data) {
    const uint16_t len = static_cast<uint16_t>(8 + data.size());
    std::vector<uint8_t> v(len, 0);
    v[0] = static_cast<uint8_t>(sport >> 8), v[1] = static_cast<uint8_t>(sport);
    v[2] = static_cast<uint8_t>(dport >> 8), v[3] = static_cast<uint8_t>(dport);
    v[4] = static_cast<uint8_t>(len >> 8), v[5] = static_cast<uint8_t>(len);
    for (size_t k = 0; k < data.size(); ++k) v[8 + k] = data[k];
    return v;
}


}  // namespace

TEST(PipelineOuter6, EspInUdpFromAPeerOverIpv6IsDecryptedAndForwarded) {
    testing_dp dp;
    dp.enable_public_v6();
    install6(dp, sa::Direction::inbound, kSpiIn);
    auto peer = peer_sa(dp, kSpiIn);
    std::vector<rte_mbuf*> burst;
    for (int k = 0; k < 4; ++k) burst.push_back(dp.esp_frame(*peer, 300));
    dp.rx_public(burst);
    auto lan = dp.take(dp::kProtected);
    ASSERT_EQ(lan.size(), 4u);
    for (rte_mbuf* m : lan) {
        const auto* ip = rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, sizeof(rte_ether_hdr));
        EXPECT_EQ(rte_be_to_cpu_32(ip->src_addr), T::kInner);
        EXPECT_EQ(rte_be_to_cpu_32(ip->dst_addr), T::kLanHost);
        EXPECT_EQ(rte_be_to_cpu_16(ip->total_length), 300);
    }
    EXPECT_EQ(dp.counters.esp_in, 4u);
    free_all(lan);
    // No mapping change: the packets came from the SA's own peer address and port.
    dp::ControlEvent ev;
    EXPECT_NE(rte_ring_dequeue_elem(dp.shared.event_ring, &ev, sizeof ev), 0);
}

TEST(PipelineOuter6, PlainEspOverIpv6IsDecrypted) {
    testing_dp dp;
    dp.enable_public_v6();
    install6(dp, sa::Direction::inbound, kSpiIn, sa::Encap::none);
    auto peer = peer_sa(dp, kSpiIn, sa::Encap::none);
    rte_mbuf* frame = dp.esp_frame(*peer, 200);
    EXPECT_EQ(ip6_of(frame)->proto, IPPROTO_ESP);
    dp.rx_public({frame});
    auto lan = dp.take(dp::kProtected);
    EXPECT_EQ(lan.size(), 1u);
    free_all(lan);
}

TEST(PipelineOuter6, EncapToAPeerOverIpv6HasAValidUdpChecksum) {
    testing_dp dp;
    dp.enable_public_v6();
    install6(dp, sa::Direction::outbound, kSpiOut);
    auto mirror = dp.make_sa(sa::Direction::inbound, kSpiOut, nullptr, true);
    rte_mbuf* frame = dp.inner_frame(700, T::kLanHost, T::kInner);
    const std::vector<uint8_t> inner(rte_pktmbuf_mtod_offset(frame, const uint8_t*, sizeof(rte_ether_hdr)),
                                     rte_pktmbuf_mtod(frame, const uint8_t*) + rte_pktmbuf_data_len(frame));
    dp.rx_protected({frame});
    auto out = dp.take(dp::kPublic);
    ASSERT_EQ(out.size(), 1u);
    rte_mbuf* m = out[0];
    const auto* eth = rte_pktmbuf_mtod(m, const rte_ether_hdr*);
    EXPECT_EQ(rte_be_to_cpu_16(eth->ether_type), RTE_ETHER_TYPE_IPV6);
    EXPECT_EQ(eth->dst_addr.addr_bytes[5], 0x66);  // the IPv6 peer's neighbour entry
    const rte_ipv6_hdr* ip = ip6_of(m);
    EXPECT_EQ(rte_be_to_cpu_32(ip->vtc_flow) >> 28, 6u);
    EXPECT_EQ(ip->proto, IPPROTO_UDP);
    EXPECT_EQ(ip->hop_limits, 64);
    EXPECT_EQ(std::memcmp(ip->src_addr, T::kGw6, 16), 0);
    EXPECT_EQ(std::memcmp(ip->dst_addr, T::kPeer6, 16), 0);
    EXPECT_EQ(rte_be_to_cpu_16(ip->payload_len) + sizeof(rte_ipv6_hdr) + sizeof(rte_ether_hdr), rte_pktmbuf_data_len(m));
    const auto* udp = reinterpret_cast<const rte_udp_hdr*>(ip + 1);
    EXPECT_EQ(rte_be_to_cpu_16(udp->src_port), 4500);
    EXPECT_EQ(rte_be_to_cpu_16(udp->dst_port), 4500);
    EXPECT_NE(udp->dgram_cksum, 0) << "IPv6 forbids a zero UDP checksum here";
    EXPECT_EQ(rte_ipv6_udptcp_cksum_verify(ip, udp), 0);
    // And the ESP inside is what the peer can open.
    rte_pktmbuf_adj(m, sizeof(rte_ether_hdr) + sizeof(rte_ipv6_hdr) + sizeof(rte_udp_hdr));
    dp::Drop why{};
    ASSERT_TRUE(T::open_as_peer(dp.mgr, *mirror, m, nullptr, &why)) << dp::drop_name(why);
    ASSERT_EQ(rte_pktmbuf_data_len(m), inner.size());
    std::vector<uint8_t> got(rte_pktmbuf_mtod(m, const uint8_t*), rte_pktmbuf_mtod(m, const uint8_t*) + inner.size());
    EXPECT_EQ(got[8], inner[8] - 1);  // TTL
    got[8] = inner[8], got[10] = inner[10], got[11] = inner[11];
    EXPECT_EQ(got, inner);
    free_all(out);
}

TEST(PipelineOuter6, PlainEspToAPeerOverIpv6) {
    testing_dp dp;
    dp.enable_public_v6();
    install6(dp, sa::Direction::outbound, kSpiOut, sa::Encap::none);
    dp.rx_protected({dp.inner_frame(100, T::kLanHost, T::kInner)});
    auto out = dp.take(dp::kPublic);
    ASSERT_EQ(out.size(), 1u);
    const rte_ipv6_hdr* ip = ip6_of(out[0]);
    EXPECT_EQ(ip->proto, IPPROTO_ESP);
    uint32_t spi;
    std::memcpy(&spi, ip + 1, 4);
    EXPECT_EQ(rte_be_to_cpu_32(spi), kSpiOut);
    free_all(out);
}

TEST(PipelineOuter6, TunnelMtuAccountsForTheLongerHeader) {
    testing_dp dp;
    dp.enable_public_v6();
    sa::Sa* sa = install6(dp, sa::Direction::outbound, kSpiOut);
    const uint32_t fit = esp::esp_max_payload(*sa, 1500);
    auto v4 = dp.make_sa(sa::Direction::outbound, 0x3001);
    EXPECT_EQ(esp::esp_max_payload(*v4, 1500) - fit, 20u) << "the IPv6 header is 20 bytes longer";
    // One that fits goes out at most 1500 bytes long; one word more gets ICMP with `fit`.
    dp.rx_protected({dp.inner_frame(fit, T::kLanHost, T::kInner, /*df=*/true)});
    auto out = dp.take(dp::kPublic);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_LE(rte_pktmbuf_data_len(out[0]) - sizeof(rte_ether_hdr), 1500u);
    free_all(out);
    dp.rx_protected({dp.inner_frame(fit + 4, T::kLanHost, T::kInner, /*df=*/true)});
    EXPECT_TRUE(dp.take(dp::kPublic).empty());
    auto back = dp.take(dp::kProtected);
    ASSERT_EQ(back.size(), 1u);
    const auto* icmp = rte_pktmbuf_mtod_offset(back[0], const rte_icmp_hdr*, sizeof(rte_ether_hdr) + 20);
    EXPECT_EQ(icmp->icmp_type, 3);
    EXPECT_EQ(rte_be_to_cpu_16(icmp->icmp_seq_nb), fit);
    free_all(back);
}

TEST(PipelineOuter6, FragmentPolicyStillNeverFragmentsAnOuterIpv6Packet) {
    testing_dp dp;
    dp.shared.mtu_policy = dp::MtuPolicy::fragment;
    dp.enable_public_v6();
    sa::Sa* sa = install6(dp, sa::Direction::outbound, kSpiOut);
    auto mirror = dp.make_sa(sa::Direction::inbound, kSpiOut, nullptr, true);
    (void)mirror;
    // DF clear: the inner packet is split first, then each piece is encrypted whole.
    dp.rx_protected({dp.inner_frame(1480, T::kLanHost, T::kInner, /*df=*/false)});
    auto out = dp.take(dp::kPublic);
    ASSERT_EQ(out.size(), 2u);
    for (rte_mbuf* m : out) {
        EXPECT_LE(rte_pktmbuf_data_len(m) - sizeof(rte_ether_hdr), 1500u);
        EXPECT_EQ(ip6_of(m)->proto, IPPROTO_UDP) << "no IPv6 fragment header";
    }
    free_all(out);
    EXPECT_EQ(dp.drops(dp::Drop::too_big), 0u);
    (void)sa;
}

// An IPv6 peer heard from a new port, then from a new address: each moves the peer at once
// (the reply goes there), and the control core is told.
TEST(PipelineOuter6, ANewPortOrAddressMovesTheIpv6Peer) {
    testing_dp dp;
    dp.enable_public_v6();
    install6(dp, sa::Direction::inbound, kSpiIn);
    install6(dp, sa::Direction::outbound, kSpiOut);
    auto peer = peer_sa(dp, kSpiIn);
    sa::Peer& gw_peer = *dp.gw_peer(true);
    const auto reply_goes_to = [&](uint8_t addr[16]) {
        dp.rx_protected({dp.inner_frame(100, T::kLanHost, T::kInner)});
        auto out = dp.take(dp::kPublic);
        uint16_t port = 0;
        if (out.size() == 1) {
            std::memcpy(addr, ip6_of(out[0])->dst_addr, 16);
            port = rte_be_to_cpu_16(reinterpret_cast<const rte_udp_hdr*>(ip6_of(out[0]) + 1)->dst_port);
        }
        free_all(out);
        return port;
    };
    dp.rx_public({dp.seal_as_peer(*peer, dp.inner_frame(100, T::kInner, T::kLanHost), IPPROTO_IPIP, 31337)});
    auto lan = dp.take(dp::kProtected);
    EXPECT_EQ(lan.size(), 1u);
    free_all(lan);
    uint8_t to[16];
    EXPECT_EQ(reply_goes_to(to), 31337);
    EXPECT_EQ(std::memcmp(to, T::kPeer6, 16), 0);
    dp::ControlEvent ev;
    ASSERT_EQ(rte_ring_dequeue_elem(dp.shared.event_ring, &ev, sizeof ev), 0);
    EXPECT_EQ(ev.kind, dp::ControlEvent::peer_moved);
    EXPECT_EQ(ev.id, gw_peer.id);
    EXPECT_EQ(ev.port, 31337);
    gw_peer.move_reported.store(false);  // as the control core does when it takes the news

    // From another address (same port): moved there, with that address.
    rte_mbuf* moved = dp.seal_as_peer(*peer, dp.inner_frame(100, T::kInner, T::kLanHost), IPPROTO_IPIP, 31337);
    auto* ip = rte_pktmbuf_mtod_offset(moved, rte_ipv6_hdr*, sizeof(rte_ether_hdr));
    ip->src_addr[15] = 0x77;  // the UDP checksum is not checked for ESP; the ICV does not cover it
    dp.shared.neighbours->learn(net::IpAddr::v6(ip->src_addr), net::Mac{{2, 0, 0, 0, 0, 0x77}}, UINT64_MAX);
    dp.rx_public({moved});
    free_all(dp.take(dp::kProtected));
    EXPECT_EQ(reply_goes_to(to), 31337);
    EXPECT_EQ(to[15], 0x77);
    ASSERT_EQ(rte_ring_dequeue_elem(dp.shared.event_ring, &ev, sizeof ev), 0);
    EXPECT_EQ(ev.kind, dp::ControlEvent::peer_moved);
}

TEST(PipelineOuter6, AMoveWithinABurstIsSeen) {
    testing_dp dp;
    dp.enable_public_v6();
    install6(dp, sa::Direction::inbound, kSpiIn);
    auto peer = peer_sa(dp, kSpiIn);
    // The same SA and port, first from its own address, then from a new one, in one burst.
    rte_mbuf* a = dp.esp_frame(*peer, 100);
    rte_mbuf* b = dp.esp_frame(*peer, 100);
    rte_mbuf* moved = dp.esp_frame(*peer, 100);
    rte_pktmbuf_mtod_offset(moved, rte_ipv6_hdr*, sizeof(rte_ether_hdr))->src_addr[15] = 0x78;
    dp.rx_public({a, b, moved});
    auto lan = dp.take(dp::kProtected);
    EXPECT_EQ(lan.size(), 3u);
    free_all(lan);
    uint8_t now[16];
    dp.gw_peer(true)->load6(now);
    EXPECT_EQ(now[15], 0x78);
    dp::ControlEvent ev;
    ASSERT_EQ(rte_ring_dequeue_elem(dp.shared.event_ring, &ev, sizeof ev), 0);
    EXPECT_EQ(ev.kind, dp::ControlEvent::peer_moved);
}

// The control core moves an IPv6 peer (all its SAs) while workers send: every packet goes to
// the old address or the new one, never to a mix of the two (the seqlock in Peer).
TEST(PipelineOuter6, PeerAddressMovesWhileAWorkerSends) {
    testing_dp dp;
    dp.enable_public_v6();
    uint8_t a[16], b[16];
    std::memcpy(a, T::kPeer6, 16);
    std::memcpy(b, T::kPeer6, 16);
    for (int k = 0; k < 16; k += 2) b[k] = static_cast<uint8_t>(~a[k]);  // differs in every word
    dp.shared.v6[dp::kPublic].prefix_len = 0;  // so that both are on the link
    dp.shared.neighbours->learn(net::IpAddr::v6(b), net::Mac{{2, 0, 0, 0, 0, 0x67}}, UINT64_MAX);
    sa::Sa* sa = install6(dp, sa::Direction::outbound, kSpiOut);
    std::atomic<bool> stop{false};
    std::atomic<unsigned> moves{0};
    std::thread mover([&] {
        any_cpu();
        for (unsigned k = 0; !stop.load(); ++k) {
            sa->peer->move({0, 4500, true}, k & 1 ? b : a);
            moves.store(k + 1, std::memory_order_relaxed);
        }
    });
    while (moves.load() < 1000) std::this_thread::yield();  // the mover is running
    unsigned to_a = 0, to_b = 0, torn = 0;
    int round = 0;
    for (; round < 300 || ((to_a == 0 || to_b == 0) && round < 30000); ++round) {
        std::vector<rte_mbuf*> burst;
        for (int k = 0; k < 16; ++k) burst.push_back(dp.inner_frame(80, T::kLanHost, T::kInner));
        dp.rx_protected(burst);
        for (rte_mbuf* m : dp.take(dp::kPublic)) {
            const uint8_t* dst = ip6_of(m)->dst_addr;
            const uint8_t mac = rte_pktmbuf_mtod(m, const rte_ether_hdr*)->dst_addr.addr_bytes[5];
            if (std::memcmp(dst, a, 16) == 0 && mac == 0x66) ++to_a;
            else if (std::memcmp(dst, b, 16) == 0 && mac == 0x67) ++to_b;
            else ++torn;
            rte_pktmbuf_free(m);
        }
    }
    stop = true;
    mover.join();
    EXPECT_EQ(torn, 0u);
    EXPECT_EQ(to_a + to_b, static_cast<unsigned>(round) * 16);
    EXPECT_GT(to_a, 0u);
    EXPECT_GT(to_b, 0u);
}

TEST(PipelineOuter6, WrongAddressFamilyForTheSaIsRefused) {
    testing_dp dp;
    dp.enable_public_v6();
    install6(dp, sa::Direction::inbound, kSpiIn);  // the SA's peer is over IPv6
    auto peer4 = dp.make_sa(sa::Direction::outbound, kSpiIn);  // same key and SPI, over IPv4
    dp.rx_public({dp.esp_frame(*peer4, 100)});
    EXPECT_TRUE(dp.take(dp::kProtected).empty());
    EXPECT_EQ(dp.drops(dp::Drop::encap_mismatch), 1u);
}

TEST(PipelineOuter6, NeighbourDiscoveryGoesToTheControlCore) {
    testing_dp dp;
    dp.enable_public_v6();
    static constexpr uint8_t kSolicitedNode[16] = {0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 1};
    std::vector<uint8_t> ns(24, 0);
    ns[0] = 135;  // neighbour solicitation
    std::memcpy(ns.data() + 8, T::kGw6, 16);
    dp.rx_public({ip6_frame(dp, kSolicitedNode, IPPROTO_ICMPV6, ns)});
    void* got = nullptr;
    ASSERT_EQ(rte_ring_dequeue(dp.shared.slow_ring, &got), 0);
    auto* m = static_cast<rte_mbuf*>(got);
    EXPECT_EQ(m->port, dp::kPublic);
    EXPECT_EQ(rte_be_to_cpu_16(rte_pktmbuf_mtod(m, const rte_ether_hdr*)->ether_type), RTE_ETHER_TYPE_IPV6)
        << "handed over as the whole frame";
    rte_pktmbuf_free(m);
}

TEST(PipelineOuter6, IkeAndKeepalivesOverIpv6NeedAGoodUdpChecksum) {
    testing_dp dp;
    dp.enable_public_v6();
    std::vector<uint8_t> ike(4 + 28, 0);
    ike[4] = 0xab;
    dp.rx_public({ip6_frame(dp, T::kGw6, IPPROTO_UDP, udp_payload(4500, 4500, ike)),
                  ip6_frame(dp, T::kGw6, IPPROTO_UDP, udp_payload(4500, 4500, ike), /*good_checksum=*/false),
                  ip6_frame(dp, T::kGw6, IPPROTO_UDP, udp_payload(4501, 4500, {0xff})),
                  ip6_frame(dp, T::kGw6, IPPROTO_UDP, udp_payload(4501, 4500, {0xff}), false)});
    EXPECT_EQ(dp.drops(dp::Drop::malformed), 2u);
    void* got = nullptr;
    ASSERT_EQ(rte_ring_dequeue(dp.shared.ike_ring, &got), 0);
    auto* m = static_cast<rte_mbuf*>(got);
    EXPECT_EQ(m->l3_len, sizeof(rte_ipv6_hdr));
    EXPECT_EQ(m->l4_len, 12u);
    EXPECT_EQ(*rte_pktmbuf_mtod_offset(m, const uint8_t*, m->l3_len + m->l4_len), 0xab);
    rte_pktmbuf_free(m);
    EXPECT_NE(rte_ring_dequeue(dp.shared.ike_ring, &got), 0);
    EXPECT_EQ(dp.counters.keepalives, 1u);
    dp::ControlEvent ev;
    ASSERT_EQ(rte_ring_dequeue_elem(dp.shared.event_ring, &ev, sizeof ev), 0);
    EXPECT_EQ(ev.kind, dp::ControlEvent::keepalive);
    EXPECT_TRUE(ev.v6);
    EXPECT_EQ(ev.port, 4501);
    EXPECT_EQ(std::memcmp(ev.addr6, T::kPeer6, 16), 0);
}

TEST(PipelineOuter6, OtherIpv6IsDroppedAndCounted) {
    testing_dp dp;
    static constexpr uint8_t kElsewhere[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9};
    // With no IPv6 on the public port, every IPv6 frame is unsupported.
    dp.rx_public({ip6_frame(dp, T::kGw6, IPPROTO_UDP, udp_payload(4500, 4500, {0xff}))});
    EXPECT_EQ(dp.drops(dp::Drop::unsupported), 1u);
    dp.enable_public_v6();
    dp.rx_public({ip6_frame(dp, kElsewhere, IPPROTO_UDP, udp_payload(4500, 4500, {0xff})),
                  ip6_frame(dp, T::kGw6, IPPROTO_TCP, std::vector<uint8_t>(20, 0)),
                  ip6_frame(dp, T::kGw6, 0 /* hop-by-hop options */, std::vector<uint8_t>(40, 0))});
    EXPECT_EQ(dp.drops(dp::Drop::not_for_us), 1u);
    EXPECT_EQ(dp.drops(dp::Drop::unsupported), 3u);
    EXPECT_EQ(dp.counters.keepalives, 0u);
}

// Splits an IPv6 frame's payload into fragments of `chunk` bytes (a multiple of 8), each with
// its own IPv6 and fragment header (RFC 8200 §4.5), returned last first.
std::vector<rte_mbuf*> fragments6(testing_dp& dp, rte_mbuf* frame, uint32_t chunk, uint32_t id) {
    const auto* ip = ip6_of(frame);
    const auto* payload = reinterpret_cast<const uint8_t*>(ip + 1);
    const uint32_t len = rte_be_to_cpu_16(ip->payload_len);
    std::vector<rte_mbuf*> out;
    for (uint32_t off = 0; off < len; off += chunk) {
        const uint32_t n = std::min(chunk, len - off);
        rte_mbuf* m = rte_pktmbuf_alloc(dp.shared.pool);
        auto* eth = reinterpret_cast<rte_ether_hdr*>(
            rte_pktmbuf_append(m, static_cast<uint16_t>(sizeof(rte_ether_hdr) + sizeof(rte_ipv6_hdr) + 8 + n)));
        std::memcpy(eth, rte_pktmbuf_mtod(frame, const void*), sizeof(rte_ether_hdr) + sizeof(rte_ipv6_hdr));
        auto* fip = reinterpret_cast<rte_ipv6_hdr*>(eth + 1);
        fip->proto = 44;
        fip->payload_len = rte_cpu_to_be_16(static_cast<uint16_t>(8 + n));
        auto* fh = reinterpret_cast<uint8_t*>(fip + 1);
        fh[0] = ip->proto;
        fh[1] = 0;
        const uint16_t offset_flags = static_cast<uint16_t>(off | (off + n < len ? 1 : 0));  // off is 8-aligned
        fh[2] = static_cast<uint8_t>(offset_flags >> 8), fh[3] = static_cast<uint8_t>(offset_flags);
        const uint32_t id_be = rte_cpu_to_be_32(id);
        std::memcpy(fh + 4, &id_be, 4);
        std::memcpy(fh + 8, payload + off, n);
        out.insert(out.begin(), m);
    }
    rte_pktmbuf_free(frame);
    return out;
}

TEST(PipelineOuter6, FragmentedEspFromAPeerIsReassembled) {
    testing_dp dp;
    dp.enable_public_v6();
    install6(dp, sa::Direction::inbound, kSpiIn);
    auto peer = peer_sa(dp, kSpiIn);
    std::vector<rte_mbuf*> frags = fragments6(dp, dp.esp_frame(*peer, 1300), 512, 77);
    ASSERT_EQ(frags.size(), 3u);
    dp.rx_public(frags);  // out of order: last first
    auto lan = dp.take(dp::kProtected);
    ASSERT_EQ(lan.size(), 1u);
    const auto* ip = rte_pktmbuf_mtod_offset(lan[0], const rte_ipv4_hdr*, sizeof(rte_ether_hdr));
    EXPECT_EQ(rte_be_to_cpu_16(ip->total_length), 1300);
    EXPECT_EQ(dp.counters.reassembled, 1u);
    EXPECT_EQ(dp.counters.esp_in, 1u);
    free_all(lan);
    // One fragment alone stays in the table until its datagram times out: nothing delivered.
    std::vector<rte_mbuf*> partial = fragments6(dp, dp.esp_frame(*peer, 1300), 512, 78);
    dp.rx_public({partial[0]});
    rte_pktmbuf_free(partial[1]);
    rte_pktmbuf_free(partial[2]);
    EXPECT_TRUE(dp.take(dp::kProtected).empty());
    EXPECT_EQ(dp.counters.reassembled, 1u);
}

// Hostile IPv6 input: frames that start as a real ESP-in-UDP packet from the peer (or as one of
// its fragments) and then go wrong anywhere. Nothing may crash, leak or be delivered unless it
// is authentic.
TEST(PipelineOuter6, MalformedIpv6FramesAreDroppedAndCounted) {
    testing_dp dp;
    dp.enable_public_v6();
    install6(dp, sa::Direction::inbound, kSpiIn);
    auto peer = peer_sa(dp, kSpiIn);
    auto take_bytes = [](rte_mbuf* m) {
        std::vector<uint8_t> v = T::bytes_of(m);
        rte_pktmbuf_free(m);
        return v;
    };
    const std::vector<uint8_t> whole = take_bytes(dp.esp_frame(*peer, 300));
    std::vector<std::vector<uint8_t>> models = {whole};
    for (rte_mbuf* f : fragments6(dp, dp.esp_frame(*peer, 300), 128, 99)) models.push_back(take_bytes(f));
    const unsigned before_free = rte_mempool_avail_count(dp.shared.pool);
    const unsigned big_before = rte_mempool_avail_count(dp.shared.big_pool);
    constexpr unsigned kFrames = 12000;
    // Mostly in the headers (Ethernet, IPv6, fragment or UDP, ESP), sometimes anywhere.
    const uint64_t dropped = dp.rx_public_mutated(models, {kFrames, 3, true, 4, 88172645u});
    EXPECT_GT(dropped, kFrames / 2) << "most damaged frames must be refused";
    EXPECT_GT(dp.drops(dp::Drop::auth_failed), 0u);
    EXPECT_GT(dp.drops(dp::Drop::malformed), 0u);
    dp.flush_reassembly();  // fragments waiting for the rest hold mbufs
    EXPECT_EQ(rte_mempool_avail_count(dp.shared.pool), before_free) << "mbufs leaked";
    EXPECT_EQ(rte_mempool_avail_count(dp.shared.big_pool), big_before) << "reassembled datagrams leaked";
    EXPECT_GT(dp.counters.reassembled, 0u) << "intact fragment sets must still be put together";
}

// An IPv6 next hop not resolved yet: the packet waits at the control core (which solicits
// it) instead of being dropped, as IPv4 waits for ARP.
TEST(PipelineOuter6, PacketsForAnUnresolvedIpv6PeerAreHeld) {
    testing_dp dp;
    dp.enable_public_v6();
    sa::Sa* sa = install6(dp, sa::Direction::outbound, kSpiOut);
    uint8_t moved[16];
    std::memcpy(moved, T::kPeer6, 16);
    moved[15] = 0x55;  // not in the neighbour table
    sa->peer->move({0, 4500, true}, moved);  // as the control core moves a peer
    dp.rx_protected({dp.inner_frame(100, T::kLanHost, T::kInner), dp.inner_frame(100, T::kLanHost, T::kInner)});
    EXPECT_TRUE(dp.take(dp::kPublic).empty());
    EXPECT_EQ(dp.drops(dp::Drop::no_neighbour), 0u);
    for (int k = 0; k < 2; ++k) {
        dp::HeldPacket held;
        ASSERT_EQ(rte_ring_dequeue_elem(dp.shared.held_ring, &held, sizeof held), 0);
        EXPECT_EQ(held.role, dp::kPublic);
        EXPECT_EQ(held.next_hop, net::IpAddr::v6(moved));
        EXPECT_EQ(std::memcmp(ip6_of_ip(held.m)->dst_addr, moved, 16), 0);
        rte_pktmbuf_free(held.m);
    }
}
