// The IPsec interface IKE drives: SPIs, SAs from raw keys (checked by traffic through the
// real pipeline), usage queries, lifetimes and their events, rekey by replacement.
#include <gtest/gtest.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include <set>
#include <vector>

#include "espgw/control/ipsec_api.h"
#include "support/standalone_datapath.h"

using namespace espgw;
using testing_dp = espgw::testing::StandaloneDatapath;
namespace T = espgw::testing;

namespace {

constexpr uint64_t kHz = 1000;  // the tests' clock: 1 tick = 1 ms

struct Api {
    explicit Api(testing_dp& dp) : dp(dp), api(dp.table(), peers, dp.mgr, kHz, [this](const control::SaEvent& e) {
        events.push_back(e);
    }) {
        sa::PeerInit init;
        init.id = 7;
        init.name = "road-warrior";
        init.endpoint = {T::kPeer, 4500, true};
        peers.add(init);
    }
    // A spec as IKE would give it: AES-128-GCM with a 20-byte key+salt.
    sa::SaSpec spec(sa::Direction dir, uint32_t spi, uint8_t key_byte = 0x42) {
        sa::SaSpec s;
        s.params.name = "child";
        s.params.spi = spi;
        s.params.direction = dir;
        s.params.local_addr = T::kGw;
        s.params.local_ts = net::Prefix::v4(0x0a010000, 16);
        s.params.remote_ts = net::Prefix::v4(T::kInner, 32);
        s.cipher = crypto::Cipher::aes128_gcm;
        s.integrity = crypto::Integrity::none;
        s.key.assign(20, key_byte);
        return s;
    }
    // The peer's side of an SA made from the same spec (its own Peer object).
    std::unique_ptr<sa::Sa> mirror(const sa::SaSpec& s) {
        sa::SaParams p = s.params;
        p.direction = sa::Direction::outbound;
        p.peer = {T::kPeer, 4500, true};
        auto m = sa::Sa::make(p);
        std::string err;
        EXPECT_TRUE(crypto::expand_sa_keys(dp.mgr, s.cipher, s.integrity, s.key, s.auth_key, m->keys, err)) << err;
        return m;
    }

    testing_dp& dp;
    control::PeerTable peers;
    std::vector<control::SaEvent> events;
    control::IpsecApi api;
};

}  // namespace

TEST(IpsecApi, AllocatedSpisAreUniqueAndNeverReserved) {
    testing_dp dp;
    Api a(dp);
    std::set<uint32_t> seen;
    for (int k = 0; k < 2000; ++k) {
        const uint32_t spi = a.api.alloc_spi();
        EXPECT_GE(spi, 256u);
        EXPECT_TRUE(seen.insert(spi).second) << "SPI handed out twice";
    }
    std::string err;
    EXPECT_FALSE(a.api.add_sa(a.spec(sa::Direction::inbound, 255), 7, 0, err));
    EXPECT_NE(err.find("reserved"), std::string::npos) << err;
}

// An inbound SA added from raw keys decrypts what the peer sends with the same keys.
TEST(IpsecApi, AnSaFromRawKeysCarriesTrafficAndCountsIt) {
    testing_dp dp;
    Api a(dp);
    const uint32_t spi = a.api.alloc_spi();
    const sa::SaSpec in = a.spec(sa::Direction::inbound, spi);
    std::string err;
    ASSERT_TRUE(a.api.add_sa(in, 7, 1000, err)) << err;
    auto peer = a.mirror(in);
    dp.rx_public({dp.esp_frame(*peer, 200), dp.esp_frame(*peer, 300)});
    auto lan = dp.take(dp::kProtected);
    EXPECT_EQ(lan.size(), 2u);
    T::free_all(lan);
    auto use = a.api.query_sa(sa::Direction::inbound, spi, 3000);
    ASSERT_TRUE(use.has_value());
    EXPECT_EQ(use->packets, 2u);
    EXPECT_EQ(use->bytes, 500u);
    EXPECT_EQ(use->age_s, 2u);
    EXPECT_EQ(a.peers.list()[0].udp_sas, 1u);

    EXPECT_TRUE(a.api.delete_sa(sa::Direction::inbound, spi));
    EXPECT_FALSE(a.api.query_sa(sa::Direction::inbound, spi, 3000).has_value());
    EXPECT_EQ(a.peers.list()[0].sas, 0u);
    dp.rx_public({dp.esp_frame(*peer, 200)});
    EXPECT_TRUE(dp.take(dp::kProtected).empty()) << "deleted: no longer accepted";
}

TEST(IpsecApi, WrongKeysOrUnknownPeersAreRefusedWithAReason) {
    testing_dp dp;
    Api a(dp);
    std::string err;
    sa::SaSpec s = a.spec(sa::Direction::inbound, a.api.alloc_spi());
    s.key.resize(7);
    EXPECT_FALSE(a.api.add_sa(s, 7, 0, err));
    EXPECT_FALSE(err.empty());
    err.clear();
    EXPECT_FALSE(a.api.add_sa(a.spec(sa::Direction::inbound, 4096), 99, 0, err));
    EXPECT_NE(err.find("peer"), std::string::npos) << err;
}

// Soft limits are told once; hard limits are told and the SA is gone.
TEST(IpsecApi, LifetimesRaiseEventsAndHardOnesDelete) {
    testing_dp dp;
    Api a(dp);
    sa::SaSpec s = a.spec(sa::Direction::inbound, 0x5000);
    s.soft.packets = 2;
    s.hard.packets = 4;
    std::string err;
    ASSERT_TRUE(a.api.add_sa(s, 7, 0, err)) << err;
    auto peer = a.mirror(s);
    auto send = [&](int n) {
        std::vector<rte_mbuf*> f;
        for (int k = 0; k < n; ++k) f.push_back(dp.esp_frame(*peer, 100));
        dp.rx_public(f);
        T::free_all(dp.take(dp::kProtected));
    };
    send(1);
    a.api.check_lifetimes(10);
    EXPECT_TRUE(a.events.empty());
    send(1);
    a.api.check_lifetimes(20);
    a.api.check_lifetimes(30);
    ASSERT_EQ(a.events.size(), 1u) << "soft: once";
    EXPECT_EQ(a.events[0].kind, control::SaEvent::soft_expired);
    EXPECT_EQ(a.events[0].limit, control::SaEvent::packets);
    EXPECT_EQ(a.events[0].spi, 0x5000u);
    send(2);
    a.api.check_lifetimes(40);
    ASSERT_EQ(a.events.size(), 2u);
    EXPECT_EQ(a.events[1].kind, control::SaEvent::hard_expired);
    EXPECT_EQ(dp.table().find(sa::Direction::inbound, 0x5000), nullptr);

    // By time, on the caller's clock.
    sa::SaSpec t = a.spec(sa::Direction::inbound, 0x6000);
    t.soft.seconds = 50;
    t.hard.seconds = 60;
    ASSERT_TRUE(a.api.add_sa(t, 7, 100 * kHz, err)) << err;
    a.api.check_lifetimes(149 * kHz);
    EXPECT_EQ(a.events.size(), 2u);
    a.api.check_lifetimes(150 * kHz);
    ASSERT_EQ(a.events.size(), 3u);
    EXPECT_EQ(a.events[2].limit, control::SaEvent::seconds);
    a.api.check_lifetimes(160 * kHz);
    ASSERT_EQ(a.events.size(), 4u);
    EXPECT_EQ(a.events[3].kind, control::SaEvent::hard_expired);
}

TEST(IpsecApi, TheSequenceNumberNearItsEndIsTold) {
    testing_dp dp;
    Api a(dp);
    std::string err;
    ASSERT_TRUE(a.api.add_sa(a.spec(sa::Direction::outbound, 0x7000), 7, 0, err)) << err;
    sa::Sa* sa = dp.table().find(sa::Direction::outbound, 0x7000);
    sa->seq_out = (uint64_t{1} << 32) - control::IpsecApi::kSeqMargin - 1;
    a.api.check_lifetimes(1);
    EXPECT_TRUE(a.events.empty());
    sa->seq_out = (uint64_t{1} << 32) - control::IpsecApi::kSeqMargin;
    a.api.check_lifetimes(2);
    a.api.check_lifetimes(3);
    ASSERT_EQ(a.events.size(), 1u);
    EXPECT_EQ(a.events[0].kind, control::SaEvent::seq_near_end);
}

// A CHILD SA rekey: the new outbound SA replaces the old one for the same selector at once
// (the next packet uses it), the old inbound SA keeps accepting until it is deleted.
TEST(IpsecApi, ARekeySwapsTheOutboundSaWhileTheOldInboundSaStillAccepts) {
    testing_dp dp;
    Api a(dp);
    std::string err;
    const sa::SaSpec old_in = a.spec(sa::Direction::inbound, 0x1111, 0x01);
    ASSERT_TRUE(a.api.add_sa(old_in, 7, 0, err)) << err;
    ASSERT_TRUE(a.api.add_sa(a.spec(sa::Direction::outbound, 0x2222, 0x02), 7, 0, err)) << err;
    auto old_peer = a.mirror(old_in);
    rte_mbuf* late = dp.esp_frame(*old_peer, 100);  // in flight during the rekey

    const sa::SaSpec new_in = a.spec(sa::Direction::inbound, 0x3333, 0x03);
    ASSERT_TRUE(a.api.add_sa(new_in, 7, 0, err)) << err;
    ASSERT_TRUE(a.api.add_sa(a.spec(sa::Direction::outbound, 0x4444, 0x04), 7, 0, err)) << err;
    EXPECT_EQ(dp.table().find(sa::Direction::outbound, 0x2222), nullptr) << "replaced";
    EXPECT_FALSE(a.api.query_sa(sa::Direction::outbound, 0x2222, 0).has_value());

    dp.rx_protected({dp.inner_frame(100, T::kLanHost, T::kInner)});
    auto out = dp.take(dp::kPublic);
    ASSERT_EQ(out.size(), 1u);
    const auto* esp = rte_pktmbuf_mtod_offset(out[0], const uint8_t*,
                                              sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr) + sizeof(rte_udp_hdr));
    EXPECT_EQ(uint32_t{esp[0]} << 24 | esp[1] << 16 | esp[2] << 8 | esp[3], 0x4444u) << "the new SA at once";
    T::free_all(out);

    auto new_peer = a.mirror(new_in);
    dp.rx_public({late, dp.esp_frame(*new_peer, 100)});
    auto lan = dp.take(dp::kProtected);
    EXPECT_EQ(lan.size(), 2u) << "old and new inbound SAs both accept";
    T::free_all(lan);
    EXPECT_EQ(a.peers.list()[0].sas, 3u) << "two inbound, one outbound";
}

// NAT detection's verdict: behind a NAT ourselves, the peer is not followed (RFC 7296 §2.23).
TEST(IpsecApi, ANatInFrontOfUsStopsFollowingThePeer) {
    testing_dp dp;
    Api a(dp);
    sa::Peer* p = a.peers.find(7);
    ASSERT_TRUE(p->follows());
    EXPECT_TRUE(a.api.set_nat(7, /*here=*/false, /*there=*/true));
    EXPECT_TRUE(p->nat_there());
    EXPECT_FALSE(p->nat_here());
    EXPECT_TRUE(p->follows());
    EXPECT_TRUE(a.api.set_nat(7, true, true));
    EXPECT_TRUE(p->nat_here());
    EXPECT_FALSE(p->follows());
    EXPECT_TRUE(a.api.set_nat(7, false, true, /*follow_allowed=*/false));
    EXPECT_FALSE(p->follows()) << "the config said no";
    EXPECT_FALSE(a.api.set_nat(99, false, false));
}

// MOBIKE-style: a NAT goes away, the SA pair switches from ESP in UDP to plain ESP.
TEST(IpsecApi, EncapsulationChangesInBothDirections) {
    testing_dp dp;
    Api a(dp);
    std::string err;
    const sa::SaSpec in = a.spec(sa::Direction::inbound, 0x1111), out = a.spec(sa::Direction::outbound, 0x2222, 0x24);
    ASSERT_TRUE(a.api.add_sa(in, 7, 0, err)) << err;
    ASSERT_TRUE(a.api.add_sa(out, 7, 0, err)) << err;
    auto peer = a.mirror(in);
    const auto deliver = [&](rte_mbuf* f) {
        dp.rx_public({f});
        auto lan = dp.take(dp::kProtected);
        const size_t n = lan.size();
        T::free_all(lan);
        return n;
    };
    EXPECT_EQ(deliver(dp.esp_frame(*peer, 100)), 1u);
    // Outbound: three packets in UDP, then the switch, then plain ESP with later numbers.
    auto sent = [&] {
        dp.rx_protected({dp.inner_frame(100, T::kLanHost, T::kInner)});
        auto o = dp.take(dp::kPublic);
        EXPECT_EQ(o.size(), 1u);
        return o.empty() ? nullptr : o[0];
    };
    for (int k = 0; k < 3; ++k) rte_pktmbuf_free(sent());
    ASSERT_TRUE(a.api.update_encap(sa::Direction::outbound, 0x2222, sa::Encap::none, err)) << err;
    ASSERT_TRUE(a.api.update_encap(sa::Direction::inbound, 0x1111, sa::Encap::none, err)) << err;
    rte_mbuf* m = sent();
    ASSERT_NE(m, nullptr);
    const auto* ip = rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, sizeof(rte_ether_hdr));
    EXPECT_EQ(ip->next_proto_id, IPPROTO_ESP) << "plain ESP now";
    sa::SaSpec mirror_spec = out;
    mirror_spec.params.encap = sa::Encap::none;
    auto mirror = a.mirror(mirror_spec);
    mirror->params.direction = sa::Direction::inbound;
    const uint8_t* esp = rte_pktmbuf_mtod_offset(m, const uint8_t*, sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr));
    const uint32_t seq = uint32_t{esp[4]} << 24 | esp[5] << 16 | esp[6] << 8 | esp[7];
    EXPECT_GT(seq, 3u) << "the sequence numbers go on";
    rte_pktmbuf_adj(m, sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr));
    EXPECT_TRUE(T::open_as_peer(dp.mgr, *mirror, m)) << "same keys";
    rte_pktmbuf_free(m);
    EXPECT_EQ(a.peers.list()[0].udp_sas, 0u) << "no SA in UDP left: no keepalives";

    // Inbound: UDP is refused from now on, plain ESP accepted.
    EXPECT_EQ(deliver(dp.esp_frame(*peer, 100)), 0u);
    EXPECT_EQ(dp.drops(dp::Drop::encap_mismatch), 1u);
    peer->params.encap = sa::Encap::none;
    EXPECT_EQ(deliver(dp.esp_frame(*peer, 100)), 1u);
    EXPECT_FALSE(a.api.update_encap(sa::Direction::inbound, 0x9999, sa::Encap::udp, err));
}
