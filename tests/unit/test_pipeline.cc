// The worker pipeline end to end in memory: public RX (RFC 3948 demux, SA lookup, replay,
// decrypt, selectors, forwarding) and protected RX (SA by destination, MTU handling,
// encrypt), with packets built by a second, peer-side SA.
#include <gtest/gtest.h>
#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_ip_frag.h>
#include <rte_udp.h>

#include <atomic>
#include <cstring>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include "espgw/dp/fragments.h"
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

const rte_ipv4_hdr* ip_of(const rte_mbuf* m) {
    return rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, sizeof(rte_ether_hdr));
}

// Decrypts an ESP-in-UDP frame the gateway sent with a copy of its outbound SA.
std::vector<uint8_t> decrypt_sent(testing_dp& dp, sa::Sa& mirror, rte_mbuf* frame) {
    rte_pktmbuf_adj(frame, sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr) + sizeof(rte_udp_hdr));
    dp::Drop why{};
    EXPECT_TRUE(T::open_as_peer(dp.mgr, mirror, frame, nullptr, &why)) << dp::drop_name(why);
    return bytes_of(frame);
}

}  // namespace

TEST(Pipeline, DecapForwardsToTheLanAndDropsReplays) {
    testing_dp dp;
    dp.install(sa::Direction::inbound, kSpiIn);
    auto peer = dp.make_sa(sa::Direction::outbound, kSpiIn);
    rte_mbuf* original = dp.inner_frame(300, T::kInner, T::kLanHost);
    const std::vector<uint8_t> want = bytes_of(original, sizeof(rte_ether_hdr));
    rte_pktmbuf_free(original);

    rte_mbuf* esp = dp.esp_frame(*peer, 300);
    rte_mbuf* copy = rte_pktmbuf_copy(esp, dp.shared.pool, 0, UINT32_MAX);
    dp.rx_public({esp});
    auto lan = dp.take(dp::kProtected);
    ASSERT_EQ(lan.size(), 1u);
    std::vector<uint8_t> got = bytes_of(lan[0], sizeof(rte_ether_hdr));
    ASSERT_EQ(got.size(), want.size());
    EXPECT_EQ(got[8], want[8] - 1);  // TTL decremented
    got[8] = want[8];
    got[10] = want[10], got[11] = want[11];  // header checksum follows the TTL
    EXPECT_EQ(got, want);
    EXPECT_EQ(rte_ipv4_cksum(ip_of(lan[0])), 0) << "header checksum must stay valid (sums to all ones)";
    const auto* eth = rte_pktmbuf_mtod(lan[0], const rte_ether_hdr*);
    EXPECT_EQ(eth->dst_addr.addr_bytes[5], 2);  // the LAN host's static neighbour
    free_all(lan);

    dp.rx_public({copy});  // the same packet again
    EXPECT_TRUE(dp.take(dp::kProtected).empty());
    EXPECT_EQ(dp.drops(dp::Drop::replayed), 1u);
}

// Decrypted packets of one burst for two LAN hosts, one of them not yet resolved, and the
// gateway's own LAN address: each goes to its own MAC, the unresolved one waits for ARP.
TEST(Pipeline, DecapMixedBurstReachesEachHost) {
    testing_dp dp;
    constexpr uint32_t kHost2 = 0x0a010003, kUnresolved = 0x0a010009;
    dp.install(sa::Direction::inbound, kSpiIn);
    auto peer = dp.make_sa(sa::Direction::outbound, kSpiIn);
    dp.shared.neighbours->learn(net::IpAddr::v4(kHost2), net::Mac{{2, 0, 0, 0, 0, 4}}, UINT64_MAX);
    const uint32_t dsts[] = {T::kLanHost, T::kLanHost, kHost2, kUnresolved, T::kLanHost, kHost2, T::kLanHost};
    std::vector<rte_mbuf*> in;
    for (uint32_t d : dsts) in.push_back(dp.esp_frame(*peer, 100, 4500, d));
    dp.rx_public(in);
    auto lan = dp.take(dp::kProtected);
    ASSERT_EQ(lan.size(), 6u);
    size_t k = 0;
    for (uint32_t d : dsts) {
        if (d == kUnresolved) continue;
        const auto* eth = rte_pktmbuf_mtod(lan[k], const rte_ether_hdr*);
        EXPECT_EQ(rte_be_to_cpu_32(ip_of(lan[k])->dst_addr), d) << k;
        EXPECT_EQ(eth->dst_addr.addr_bytes[5], d == kHost2 ? 4 : 2) << k;
        ++k;
    }
    EXPECT_EQ(dp.counters.held, 1u);  // handed to the control core until ARP answers
    free_all(lan);
}

// A burst interleaving six peers' SAs (more than the per-burst SPI memo holds) and an SPI
// nobody owns: every packet is decrypted under its own SA and counted there.
TEST(Pipeline, DecapBurstInterleavingManySas) {
    testing_dp dp;
    constexpr unsigned kSas = 6;
    std::vector<std::unique_ptr<sa::Sa>> peers;
    for (unsigned k = 0; k < kSas; ++k) {
        dp.install(sa::Direction::inbound, kSpiIn + k);
        peers.push_back(dp.make_sa(sa::Direction::outbound, kSpiIn + k));
    }
    auto stranger = dp.make_sa(sa::Direction::outbound, 0x7777);
    std::vector<rte_mbuf*> in, again;
    for (unsigned round = 0; round < 4; ++round)
        for (unsigned k = 0; k < kSas; ++k) in.push_back(dp.esp_frame(*peers[(k * 5 + round) % kSas], 100));
    in.push_back(dp.esp_frame(*stranger, 100));
    // A forged packet (bad ICV) of the first SA in the middle, and a copy of every packet.
    rte_mbuf* forged = dp.esp_frame(*peers[0], 100);
    rte_pktmbuf_mtod(forged, uint8_t*)[rte_pktmbuf_data_len(forged) - 1] ^= 1;
    in.insert(in.begin() + 7, forged);
    for (rte_mbuf* m : in) again.push_back(rte_pktmbuf_copy(m, dp.shared.pool, 0, UINT32_MAX));
    // In the replayed burst, one new packet per SA after its replays must still get through.
    for (unsigned k = 0; k < kSas; ++k) again.push_back(dp.esp_frame(*peers[k], 100));
    dp.rx_public(in);
    auto lan = dp.take(dp::kProtected);
    EXPECT_EQ(lan.size(), 4u * kSas);
    EXPECT_EQ(dp.drops(dp::Drop::no_sa), 1u);
    EXPECT_EQ(dp.drops(dp::Drop::auth_failed), 1u);
    for (unsigned k = 0; k < kSas; ++k)
        EXPECT_EQ(dp.table().find(sa::Direction::inbound, kSpiIn + k)->totals().packets, 4u) << k;
    free_all(lan);

    dp.rx_public(again);
    lan = dp.take(dp::kProtected);
    EXPECT_EQ(lan.size(), kSas);
    EXPECT_EQ(dp.drops(dp::Drop::replayed), 4u * kSas);
    EXPECT_EQ(dp.drops(dp::Drop::auth_failed), 2u);
    for (unsigned k = 0; k < kSas; ++k)
        EXPECT_EQ(dp.table().find(sa::Direction::inbound, kSpiIn + k)->totals().packets, 5u) << k;
    free_all(lan);
}

// Bursts spread over more SAs than the per-burst memo holds: after the first such burst the
// worker looks the next bursts' SPIs up together and prefetches their SAs (prelookup). Every
// packet must still be decrypted under its own SA: SPIs that share a memo slot, an SPI
// nobody owns, IKE (the non-ESP marker) and a keepalive mixed in.
TEST(Pipeline, BurstsOverManySasAreLookedUpTogether) {
    testing_dp dp;
    constexpr unsigned kSas = 40;
    std::vector<std::unique_ptr<sa::Sa>> peers;
    for (unsigned k = 0; k < kSas; ++k) {
        dp.install(sa::Direction::inbound, kSpiIn + k);
        peers.push_back(dp.make_sa(sa::Direction::outbound, kSpiIn + k));
    }
    auto stranger = dp.make_sa(sa::Direction::outbound, 0x7777);
    std::vector<unsigned> sent(kSas, 0);
    uint64_t expect_no_sa = 0;
    for (unsigned burst = 0; burst < 4; ++burst) {
        std::vector<rte_mbuf*> in;
        for (unsigned k = 0; k < 29; ++k) {
            const unsigned which = (k * 7 + burst * 13) % kSas;
            in.push_back(dp.esp_frame(*peers[which], 100));
            ++sent[which];
        }
        in.push_back(dp.esp_frame(*stranger, 100));
        ++expect_no_sa;
        rte_mbuf* ike = dp.inner_frame(60, T::kPeer, T::kGw);  // reshaped below into UDP 4500 + marker
        auto* ip = rte_pktmbuf_mtod_offset(ike, rte_ipv4_hdr*, sizeof(rte_ether_hdr));
        ip->next_proto_id = IPPROTO_UDP;
        ip->hdr_checksum = 0;
        ip->hdr_checksum = rte_ipv4_cksum(ip);
        auto* udp = reinterpret_cast<rte_udp_hdr*>(ip + 1);
        udp->src_port = udp->dst_port = rte_cpu_to_be_16(4500);
        udp->dgram_len = rte_cpu_to_be_16(40);
        udp->dgram_cksum = 0;
        std::memset(udp + 1, 0, 4);
        in.insert(in.begin() + 5, ike);
        dp.rx_public(in);
        if (burst == 0) {
            EXPECT_GT(dp.worker.spi_spread, 2u) << "the next bursts should be looked up together";
        }
        auto lan = dp.take(dp::kProtected);
        for (unsigned k = 0; k < kSas; ++k)
            ASSERT_EQ(dp.table().find(sa::Direction::inbound, kSpiIn + k)->totals().packets, sent[k])
                << "SA " << k << " after burst " << burst;
        EXPECT_EQ(dp.drops(dp::Drop::no_sa), expect_no_sa);
        EXPECT_EQ(dp.drops(dp::Drop::auth_failed), 0u);
        EXPECT_EQ(dp.counters.ike, burst + 1);
        free_all(lan);
        dp.drain_control_rings();
    }
}

// The same for encap: bursts from the LAN to many road warriors (a /32 and an SA each) make
// the worker look the next bursts' destinations up together (LastLookup::prelookup). Every
// packet must still be sealed under its own destination's SA: destinations that share a memo
// slot, one without a policy, and runs of one destination mixed in.
TEST(Pipeline, EncapBurstsOverManyDestinationsAreLookedUpTogether) {
    testing_dp dp;
    constexpr unsigned kSas = 40;
    constexpr uint32_t kFirst = 0x0a030100;  // 10.3.1.0: the road warriors' addresses from here
    for (unsigned k = 0; k < kSas; ++k) {
        auto s = dp.make_sa(sa::Direction::outbound, 0x6000 + k, nullptr, false, dp.gw_peer());
        s->params.remote_ts = net::Prefix::v4(kFirst + k * 17, 32);  // spread over the memo's ways
        std::string err;
        ASSERT_TRUE(dp.table().install(std::move(s), err)) << err;
    }
    std::vector<unsigned> sent(kSas, 0);
    uint64_t expect_no_sa = 0, expect_out = 0;
    for (unsigned burst = 0; burst < 4; ++burst) {
        std::vector<rte_mbuf*> in;
        for (unsigned k = 0; k < 29; ++k) {
            const unsigned which = k % 6 == 5 ? (burst * 3) % kSas : (k * 7 + burst * 13) % kSas;
            in.push_back(dp.inner_frame(100, T::kLanHost, kFirst + which * 17));
            ++sent[which];
            ++expect_out;
        }
        in.insert(in.begin() + 4, dp.inner_frame(100, T::kLanHost, 0x0a090909));  // no policy
        ++expect_no_sa;
        dp.rx_protected(in);
        if (burst == 0) {
            EXPECT_GT(dp.worker.dst_spread, 2u) << "the next bursts should be looked up together";
        }
        auto out = dp.take(dp::kPublic);
        EXPECT_EQ(out.size(), 29u);
        for (unsigned k = 0; k < kSas; ++k)
            ASSERT_EQ(dp.table().find(sa::Direction::outbound, 0x6000 + k)->totals().packets, sent[k])
                << "SA " << k << " after burst " << burst;
        EXPECT_EQ(dp.drops(dp::Drop::no_sa), expect_no_sa);
        free_all(out);
    }
    EXPECT_GT(expect_out, 0u);
}

TEST(Pipeline, ForgedSelectorIsDropped) {
    testing_dp dp;
    dp.install(sa::Direction::inbound, kSpiIn);
    auto peer = dp.make_sa(sa::Direction::outbound, kSpiIn);
    peer->params.remote_ts = net::Prefix::v4(0, 0);
    // An authentic packet whose inner source is outside the SA's remote selector.
    rte_mbuf* m = dp.inner_frame(100, 0x0a090909, T::kLanHost);
    rte_pktmbuf_adj(m, sizeof(rte_ether_hdr));
    esp::OutboundEsp o{m, peer.get(), esp::reserve_seq(*peer, 1), {}, {}};
    peer->params.local_addr = T::kPeer;
    peer->move_peer({T::kGw, 4500, true});
    ASSERT_TRUE(esp::esp_out_prepare(dp.mgr, o, IPPROTO_IPIP, esp::OuterFields{}));
    crypto::CryptoOp* op = &o.op;
    crypto::seal_burst(dp.mgr, &op, 1);
    auto* eth = reinterpret_cast<rte_ether_hdr*>(rte_pktmbuf_prepend(m, sizeof(rte_ether_hdr)));
    std::memset(eth, 0, sizeof *eth);
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
    dp.rx_public({m});
    EXPECT_TRUE(dp.take(dp::kProtected).empty());
    EXPECT_EQ(dp.drops(dp::Drop::policy), 1u);
}

// After a first packet of a run has been delivered, the next ones of the same SA, source and
// destination go out through the decap fast path; those that do not have its exact shape must
// still be handled as they always were: a TTL of 1 expires, an inner source outside the SA's
// selectors is dropped, IPv4 options and padding behind the inner packet go through (the
// padding left out), a packet to the gateway's own LAN address is not forwarded.
TEST(Pipeline, PacketsOffTheDecapFastPathAreHandledAsBefore) {
    testing_dp dp;
    dp.install(sa::Direction::inbound, kSpiIn);
    auto peer = dp.make_sa(sa::Direction::outbound, kSpiIn);
    auto sealed = [&](rte_mbuf* inner) { return dp.seal_as_peer(*peer, inner, IPPROTO_IPIP); };
    rte_mbuf* last_hop = dp.inner_frame(100, T::kInner, T::kLanHost);
    rte_pktmbuf_mtod_offset(last_hop, rte_ipv4_hdr*, sizeof(rte_ether_hdr))->time_to_live = 1;
    rte_mbuf* trailing = dp.inner_frame(100, T::kInner, T::kLanHost);
    std::memset(rte_pktmbuf_append(trailing, 6), 0, 6);  // 6 bytes behind the inner packet
    dp.rx_public({sealed(dp.inner_frame(100, T::kInner, T::kLanHost)), sealed(last_hop),
                  sealed(dp.inner_frame(100, 0x0a090909, T::kLanHost)),
                  sealed(T::with_ip_options(dp, dp.inner_frame(100, T::kInner, T::kLanHost))), sealed(trailing),
                  sealed(dp.inner_frame(100, T::kInner, T::kGwLan)), sealed(dp.inner_frame(100, T::kInner, T::kLanHost))});
    auto lan = dp.take(dp::kProtected);
    ASSERT_EQ(lan.size(), 4u);
    const uint32_t len[] = {100, 104, 100, 100};
    for (size_t k = 0; k < lan.size(); ++k) {
        EXPECT_EQ(rte_pktmbuf_data_len(lan[k]), sizeof(rte_ether_hdr) + len[k]) << k;
        EXPECT_EQ(rte_pktmbuf_pkt_len(lan[k]), sizeof(rte_ether_hdr) + len[k]) << k;
        EXPECT_EQ(ip_of(lan[k])->time_to_live, 63) << k;
        EXPECT_EQ(rte_ipv4_cksum(ip_of(lan[k])), 0) << k;
    }
    // This gateway has no host stack configured: the one to its own address is dropped as
    // unroutable rather than forwarded to the LAN.
    EXPECT_EQ(dp.drops(dp::Drop::no_route), 1u);
    EXPECT_EQ(dp.drops(dp::Drop::ttl_expired), 1u);
    EXPECT_EQ(dp.drops(dp::Drop::policy), 1u);
    free_all(lan);
}

TEST(Pipeline, OuterFragmentsAreReassembledBeforeDecryption) {
    testing_dp dp;
    dp.install(sa::Direction::inbound, kSpiIn);
    auto peer = dp.make_sa(sa::Direction::outbound, kSpiIn);
    rte_mbuf* esp = dp.esp_frame(*peer, 1400);
    rte_pktmbuf_adj(esp, sizeof(rte_ether_hdr));
    auto* ip = rte_pktmbuf_mtod(esp, rte_ipv4_hdr*);
    ip->fragment_offset = 0;  // allow fragmenting (the peer set DF)
    rte_mbuf* frags[4];
    const int n = rte_ipv4_fragment_packet(esp, frags, 4, 600, dp.shared.pool, dp.shared.indirect_pool);
    rte_pktmbuf_free(esp);
    ASSERT_EQ(n, 3);
    std::vector<rte_mbuf*> in;
    for (int k = n - 1; k >= 0; --k) {  // last fragment first: order must not matter
        rte_mbuf* f = dp::linearize(frags[k], dp.shared.pool);
        auto* e = reinterpret_cast<rte_ether_hdr*>(rte_pktmbuf_prepend(f, sizeof(rte_ether_hdr)));
        std::memset(e, 0, sizeof *e);
        e->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
        in.push_back(f);
    }
    dp.rx_public(in);
    auto lan = dp.take(dp::kProtected);
    ASSERT_EQ(lan.size(), 1u);
    EXPECT_EQ(rte_pktmbuf_data_len(lan[0]), sizeof(rte_ether_hdr) + 1400);
    EXPECT_EQ(dp.counters.reassembled, 1u);
    free_all(lan);
}

TEST(Pipeline, EncapSendsToThePeerWithSequentialNumbers) {
    testing_dp dp;
    dp.install(sa::Direction::outbound, kSpiOut);
    auto mirror = dp.make_sa(sa::Direction::inbound, kSpiOut);
    std::vector<rte_mbuf*> in;
    for (int k = 0; k < 5; ++k) in.push_back(dp.inner_frame(200, T::kLanHost, T::kInner));
    const std::vector<uint8_t> want = bytes_of(in[0], sizeof(rte_ether_hdr));
    dp.rx_protected(in);
    auto out = dp.take(dp::kPublic);
    ASSERT_EQ(out.size(), 5u);
    for (size_t k = 0; k < out.size(); ++k) {
        const rte_ipv4_hdr* ip = ip_of(out[k]);
        EXPECT_EQ(rte_be_to_cpu_32(ip->dst_addr), T::kPeer);
        EXPECT_EQ(rte_ipv4_cksum(ip), 0);  // a valid header sums to all ones
        const auto* udp = reinterpret_cast<const rte_udp_hdr*>(ip + 1);
        EXPECT_EQ(rte_be_to_cpu_16(udp->dst_port), 4500);
        EXPECT_EQ(udp->dgram_cksum, 0);
        uint32_t seq;
        std::memcpy(&seq, reinterpret_cast<const uint8_t*>(udp + 1) + 4, 4);
        EXPECT_EQ(rte_be_to_cpu_32(seq), k + 1);
        std::vector<uint8_t> inner = decrypt_sent(dp, *mirror, out[k]);
        ASSERT_EQ(inner.size(), want.size());
        EXPECT_EQ(inner[8], want[8] - 1);  // TTL
    }
    free_all(out);
}

// One burst for two SAs to two peers, with a destination no SA covers in between: every
// packet goes out under its own SA, to its own peer, numbered per SA; the stray one is dropped.
TEST(Pipeline, EncapMixedBurstUsesEachPacketsSaAndPeer) {
    testing_dp dp;
    constexpr uint32_t kInner2 = 0x0a020003, kPeer2 = 0xc00002fd, kSpiOut2 = 0x2002;
    dp.install(sa::Direction::outbound, kSpiOut);
    auto second = dp.make_sa(sa::Direction::outbound, kSpiOut2);
    second->params.remote_ts = net::Prefix::v4(kInner2, 32);
    second->move_peer({kPeer2, 4500, true});
    std::string err;
    ASSERT_TRUE(dp.table().install(std::move(second), err)) << err;
    dp.shared.neighbours->learn(net::IpAddr::v4(kPeer2), net::Mac{{2, 0, 0, 0, 0, 3}}, UINT64_MAX);
    const uint32_t dsts[] = {T::kInner, T::kInner, kInner2, 0x0a090909, T::kInner, kInner2, kInner2, T::kInner};
    std::vector<rte_mbuf*> in;
    for (uint32_t d : dsts) in.push_back(dp.inner_frame(120, T::kLanHost, d));
    dp.rx_protected(in);
    auto out = dp.take(dp::kPublic);
    ASSERT_EQ(out.size(), 7u);
    EXPECT_EQ(dp.drops(dp::Drop::no_sa), 1u);
    uint32_t next_seq[2] = {1, 1};
    for (rte_mbuf* m : out) {
        const rte_ipv4_hdr* ip = ip_of(m);
        const auto* esp = reinterpret_cast<const uint8_t*>(ip) + 28;
        uint32_t spi, seq;
        std::memcpy(&spi, esp, 4);
        std::memcpy(&seq, esp + 4, 4);
        const bool first = rte_be_to_cpu_32(spi) == kSpiOut;
        EXPECT_EQ(rte_be_to_cpu_32(ip->dst_addr), first ? T::kPeer : kPeer2);
        const auto* eth = rte_pktmbuf_mtod(m, const rte_ether_hdr*);
        EXPECT_EQ(eth->dst_addr.addr_bytes[5], first ? 1 : 3);
        EXPECT_EQ(rte_be_to_cpu_32(seq), next_seq[first ? 0 : 1]++);
    }
    EXPECT_EQ(next_seq[0], 5u);
    EXPECT_EQ(next_seq[1], 4u);
    free_all(out);
}

// After a first packet has found its policy, SA and selectors, the next packets of the same
// source and destination take the protected port's fast path; those that do not have its
// exact shape must still be handled as they always were: another source outside the local
// selectors is dropped, a TTL of 1 expires, a packet too big with DF gets ICMP, and ones with
// IPv4 options or Ethernet padding are sealed whole (the padding left out).
TEST(Pipeline, PacketsOffTheEncapFastPathAreHandledAsBefore) {
    testing_dp dp;
    dp.install(sa::Direction::outbound, kSpiOut);
    auto mirror = dp.make_sa(sa::Direction::inbound, kSpiOut);
    rte_mbuf* stranger = dp.inner_frame(200, 0x0a090909, T::kInner);  // not in 10.1.0.0/16
    rte_mbuf* last_hop = dp.inner_frame(200, T::kLanHost, T::kInner);
    rte_pktmbuf_mtod_offset(last_hop, rte_ipv4_hdr*, sizeof(rte_ether_hdr))->time_to_live = 1;
    rte_mbuf* padded = dp.inner_frame(200, T::kLanHost, T::kInner);
    std::memset(rte_pktmbuf_append(padded, 10), 0, 10);
    dp.rx_protected({dp.inner_frame(200, T::kLanHost, T::kInner), stranger, last_hop,
                     dp.inner_frame(1480, T::kLanHost, T::kInner, /*df=*/true),
                     T::with_ip_options(dp, dp.inner_frame(200, T::kLanHost, T::kInner)), padded,
                     dp.inner_frame(200, T::kLanHost, T::kInner)});
    auto out = dp.take(dp::kPublic);
    ASSERT_EQ(out.size(), 4u);
    const size_t inner_len[] = {200, 204, 200, 200};
    for (size_t k = 0; k < out.size(); ++k) {
        const auto* esp = reinterpret_cast<const uint8_t*>(ip_of(out[k])) + 28;
        uint32_t seq;
        std::memcpy(&seq, esp + 4, 4);
        EXPECT_EQ(rte_be_to_cpu_32(seq), k + 1);
        EXPECT_EQ(decrypt_sent(dp, *mirror, out[k]).size(), inner_len[k]) << k;
    }
    EXPECT_EQ(dp.drops(dp::Drop::policy), 1u);
    EXPECT_EQ(dp.drops(dp::Drop::ttl_expired), 1u);
    EXPECT_EQ(dp.drops(dp::Drop::too_big), 1u);
    free_all(dp.take(dp::kProtected));  // the ICMP error
    free_all(out);
}

// Peers behind the public side's router share its Ethernet header; a peer on the link gets its
// own, and the one behind the router after it gets the router's again: in one burst, each
// packet leaves to the right MAC with its own peer's address outside.
TEST(Pipeline, EncapToPeersBehindARouterAndOnTheLink) {
    testing_dp dp;
    constexpr uint32_t kFar1 = 0x64400001, kFar2 = 0x64400002, kNear = 0xc00002fd;  // 100.64.0.1/2, 192.0.2.253
    dp.shared.public_gateway = T::kPeer;  // resolved: MAC ...:01
    dp.shared.neighbours->learn(net::IpAddr::v4(kNear), net::Mac{{2, 0, 0, 0, 0, 3}}, UINT64_MAX);
    const uint32_t peers[] = {kFar1, kFar2, kNear};
    for (uint32_t k = 0; k < 3; ++k) {
        auto sa = dp.make_sa(sa::Direction::outbound, kSpiOut + k);
        sa->params.remote_ts = net::Prefix::v4(0x0a020010 + k, 32);
        sa->move_peer({peers[k], 4500, true});
        std::string err;
        ASSERT_TRUE(dp.table().install(std::move(sa), err)) << err;
    }
    const uint32_t order[] = {0, 1, 2, 0, 1};
    std::vector<rte_mbuf*> in;
    for (uint32_t k : order) in.push_back(dp.inner_frame(120, T::kLanHost, 0x0a020010 + k));
    dp.rx_protected(in);
    auto out = dp.take(dp::kPublic);
    ASSERT_EQ(out.size(), 5u);
    for (size_t k = 0; k < out.size(); ++k) {
        EXPECT_EQ(rte_be_to_cpu_32(ip_of(out[k])->dst_addr), peers[order[k]]) << k;
        const auto* eth = rte_pktmbuf_mtod(out[k], const rte_ether_hdr*);
        EXPECT_EQ(eth->dst_addr.addr_bytes[5], order[k] == 2 ? 3 : 1) << k;
    }
    free_all(out);
}

TEST(Pipeline, TooBigWithDfGetsIcmpWithTheTunnelMtu) {
    testing_dp dp;
    dp.install(sa::Direction::outbound, kSpiOut);
    dp.rx_protected({dp.inner_frame(1480, T::kLanHost, T::kInner, /*df=*/true)});
    EXPECT_TRUE(dp.take(dp::kPublic).empty());
    auto back = dp.take(dp::kProtected);
    ASSERT_EQ(back.size(), 1u);
    const rte_ipv4_hdr* ip = ip_of(back[0]);
    EXPECT_EQ(rte_be_to_cpu_32(ip->dst_addr), T::kLanHost);
    EXPECT_EQ(rte_be_to_cpu_32(ip->src_addr), T::kGwLan);
    const auto* icmp = reinterpret_cast<const rte_icmp_hdr*>(ip + 1);
    EXPECT_EQ(icmp->icmp_type, 3);
    EXPECT_EQ(icmp->icmp_code, 4);
    const uint16_t mtu = rte_be_to_cpu_16(icmp->icmp_seq_nb);
    sa::Sa* sa = dp.shared.sas->find(sa::Direction::outbound, kSpiOut);
    EXPECT_EQ(mtu, esp::esp_max_payload(*sa, 1500));
    EXPECT_LE(mtu + esp::esp_overhead(*sa, mtu), 1500u);  // a packet of that size fits
    EXPECT_GT(mtu + 4 + esp::esp_overhead(*sa, mtu + 4), 1500u);  // and the next block does not
    EXPECT_EQ(dp.drops(dp::Drop::too_big), 1u);
    free_all(back);
}

TEST(Pipeline, TooBigWithoutDfIsFragmentedBeforeEncryption) {
    testing_dp dp;
    dp.install(sa::Direction::outbound, kSpiOut);
    auto mirror = dp.make_sa(sa::Direction::inbound, kSpiOut);
    dp.rx_protected({dp.inner_frame(1480, T::kLanHost, T::kInner, /*df=*/false)});
    auto out = dp.take(dp::kPublic);
    ASSERT_EQ(out.size(), 2u);
    uint32_t payload = 0;
    for (rte_mbuf* m : out) {
        EXPECT_LE(rte_pktmbuf_data_len(m) - sizeof(rte_ether_hdr), 1500u);
        std::vector<uint8_t> inner = decrypt_sent(dp, *mirror, m);
        const auto* frag = reinterpret_cast<const rte_ipv4_hdr*>(inner.data());
        payload += rte_be_to_cpu_16(frag->total_length) - 20;
    }
    EXPECT_EQ(payload, 1460u);  // every byte of the original payload, once
    EXPECT_EQ(dp.counters.fragmented, 1u);
    free_all(out);
}

TEST(Pipeline, FragmentPolicySplitsTheOuterPacket) {
    testing_dp dp;
    dp.shared.mtu_policy = dp::MtuPolicy::fragment;
    dp.install(sa::Direction::outbound, kSpiOut);
    auto mirror = dp.make_sa(sa::Direction::inbound, kSpiOut);
    rte_mbuf* original = dp.inner_frame(1480, T::kLanHost, T::kInner, /*df=*/false);
    std::vector<uint8_t> want = bytes_of(original, sizeof(rte_ether_hdr));
    dp.rx_protected({original});
    auto out = dp.take(dp::kPublic);
    ASSERT_EQ(out.size(), 2u);
    const rte_ipv4_hdr* first = ip_of(out[0]);
    EXPECT_TRUE(rte_be_to_cpu_16(first->fragment_offset) & RTE_IPV4_HDR_MF_FLAG);
    EXPECT_EQ(rte_ipv4_cksum(first), 0);
    EXPECT_EQ(rte_ipv4_cksum(ip_of(out[1])), 0);
    // Put the fragments back together as the peer would, and decrypt the result.
    rte_ip_frag_tbl* tbl = rte_ip_frag_table_create(4, 4, 16, rte_get_tsc_hz(), 0);
    rte_ip_frag_death_row dr{};
    rte_mbuf* whole = nullptr;
    for (rte_mbuf* f : out) {
        f = dp::linearize(f, dp.shared.pool);
        ASSERT_NE(f, nullptr);
        f->l2_len = sizeof(rte_ether_hdr);
        f->l3_len = sizeof(rte_ipv4_hdr);
        whole = rte_ipv4_frag_reassemble_packet(tbl, &dr, f, rte_rdtsc(),
                                                rte_pktmbuf_mtod_offset(f, rte_ipv4_hdr*, sizeof(rte_ether_hdr)));
    }
    ASSERT_NE(whole, nullptr);
    whole = dp::linearize(whole, dp.shared.big_pool);
    EXPECT_EQ(rte_pktmbuf_data_len(whole), sizeof(rte_ether_hdr) + 20 + 8 + esp::esp_overhead(*mirror, 1480) - 28 + 1480);
    std::vector<uint8_t> inner = decrypt_sent(dp, *mirror, whole);
    ASSERT_EQ(inner.size(), want.size());
    want[8] -= 1;  // TTL
    inner[10] = want[10], inner[11] = want[11];
    EXPECT_EQ(inner, want);
    rte_pktmbuf_free(whole);
    rte_ip_frag_free_death_row(&dr, 0);
    rte_ip_frag_table_destroy(tbl);
}

// SAs come and go while a worker encrypts: the control side installs and removes other SAs
// and rekeys the one in use (same selector, new SPI) hundreds of times. An SA freed while
// the worker still held it would have its keys wiped (Sa's destructor), and its packets
// would not decrypt: RCU must make the table wait for the worker. The worker checks every
// packet it sent, right away, with a mirror SA per SPI.
TEST(Pipeline, SasChangeWhileAWorkerEncrypts) {
    testing_dp dp;
    dp.install(sa::Direction::outbound, kSpiOut);
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> sealed{0}, bad{0};
    std::map<uint32_t, std::unique_ptr<sa::Sa>> mirrors;  // worker thread only
    IMB_MGR* shared_mgr = dp.worker.mgr;
    dp.worker.mgr = crypto::make_mb_mgr();  // an IPsec-MB manager is per thread
    std::thread worker([&] {
        dp.reader_online();
        while (!stop.load()) {
            std::vector<rte_mbuf*> burst;
            for (int k = 0; k < 16; ++k) burst.push_back(dp.inner_frame(100, T::kLanHost, T::kInner));
            dp.rx_protected(burst);
            for (rte_mbuf* m : dp.take(dp::kPublic)) {
                uint32_t spi_be;
                std::memcpy(&spi_be, rte_pktmbuf_mtod_offset(m, uint8_t*, sizeof(rte_ether_hdr) + 28), 4);
                auto& mirror = mirrors[rte_be_to_cpu_32(spi_be)];
                if (!mirror) mirror = dp.make_sa(sa::Direction::inbound, rte_be_to_cpu_32(spi_be), dp.worker.mgr);
                rte_pktmbuf_adj(m, sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr) + sizeof(rte_udp_hdr));
                esp::InboundEsp p{};
                p.m = m;
                p.sa = mirror.get();
                bool ok = esp::esp_in_prepare(p);
                crypto::CryptoOp* op = &p.op;
                if (ok) crypto::open_burst(dp.worker.mgr, &op, 1);
                if (!ok || !esp::esp_in_finish(p)) ++bad;
                rte_pktmbuf_free(m);
                ++sealed;
            }
            dp.reader_quiescent();
        }
        dp.reader_offline();
    });
    while (sealed.load() == 0) std::this_thread::yield();  // the worker is online and busy
    uint32_t spi = kSpiOut;
    for (int round = 0; round < 300; ++round) {
        dp.install(sa::Direction::inbound, 0x5000 + round);
        const uint32_t next = 0x6000 + round;
        dp.install(sa::Direction::outbound, next);  // rekey: replaces the SA for the selector
        EXPECT_FALSE(dp.shared.sas->find(sa::Direction::outbound, spi)) << "old SA must be gone";
        spi = next;
        EXPECT_TRUE(dp.table().remove(sa::Direction::inbound, 0x5000 + round));
    }
    stop = true;
    worker.join();
    crypto::release_mb_mgr(dp.worker.mgr);
    dp.worker.mgr = shared_mgr;
    EXPECT_EQ(bad.load(), 0u) << "of " << sealed.load() << " packets";
    EXPECT_GT(mirrors.size(), 10u) << "the worker should have seen many rekeys";
}

// Hostile input: frames that start like real traffic and then go wrong anywhere (lengths,
// versions, ports, markers, SPIs, truncation). Nothing may crash, leak or be forwarded out
// of nowhere: every frame ends up dropped and counted, or handed on where the rules say.
TEST(Pipeline, MalformedFramesAreDroppedAndCounted) {
    testing_dp dp;
    dp.install(sa::Direction::inbound, kSpiIn);
    dp.install(sa::Direction::outbound, kSpiOut);
    auto peer = dp.make_sa(sa::Direction::outbound, kSpiIn);
    rte_mbuf* model = dp.esp_frame(*peer, 200);
    const std::vector<uint8_t> good = bytes_of(model);
    rte_pktmbuf_free(model);
    const unsigned kFrames = 20000;
    const unsigned before_free = rte_mempool_avail_count(dp.shared.pool);
    const uint64_t dropped = dp.rx_public_mutated({good}, {kFrames, 4, false, 3, 2463534242u});
    EXPECT_GT(dropped, kFrames / 2) << "most damaged frames must be refused";
    EXPECT_GT(dp.drops(dp::Drop::auth_failed), 0u);
    EXPECT_GT(dp.drops(dp::Drop::malformed), 0u);
    dp.flush_reassembly();  // fragments waiting for their other parts hold mbufs
    EXPECT_EQ(rte_mempool_avail_count(dp.shared.pool), before_free) << "mbufs leaked";
}

// A next hop without an ARP entry: the packet waits at the control core instead of being
// dropped (the control core sends it once ARP answers).
TEST(Pipeline, PacketsForAnUnresolvedNextHopAreHeld) {
    testing_dp dp;
    sa::Sa* sa = dp.install(sa::Direction::outbound, kSpiOut);
    const uint32_t elsewhere = 0xc000024d;  // 192.0.2.77, on the public link, never resolved
    sa->move_peer({elsewhere, 4500, true});
    dp.rx_protected({dp.inner_frame(200, T::kLanHost, T::kInner)});
    EXPECT_TRUE(dp.take(dp::kPublic).empty());
    EXPECT_EQ(dp.drops(dp::Drop::no_neighbour), 0u);
    dp::HeldPacket held;
    ASSERT_EQ(rte_ring_dequeue_elem(dp.shared.held_ring, &held, sizeof held), 0);
    EXPECT_EQ(held.role, dp::kPublic);
    EXPECT_EQ(held.next_hop, net::IpAddr::v4(elsewhere));
    EXPECT_EQ(rte_be_to_cpu_32(rte_pktmbuf_mtod(held.m, const rte_ipv4_hdr*)->dst_addr), elsewhere);
    rte_pktmbuf_free(held.m);
}
