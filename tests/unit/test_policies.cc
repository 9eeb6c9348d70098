// Policies separate from SAs: several selectors per side, protect and discard, acquire for
// traffic without an SA yet, and make-before-break rekeys by binding a new outbound SA.
#include <gtest/gtest.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include <vector>

#include "espgw/control/ipsec_api.h"
#include "support/standalone_datapath.h"

using namespace espgw;
using testing_dp = espgw::testing::StandaloneDatapath;
namespace T = espgw::testing;

namespace {

constexpr uint32_t kSite2 = 0x0a030005;   // 10.3.0.5: a second network behind the peer
constexpr uint32_t kLan2 = 0x0a070002;    // 10.7.0.2: a second protected network of ours

struct Fixture {
    Fixture() : api(dp.table(), peers, dp.mgr, 1000, [this](const control::SaEvent& e) { events.push_back(e); }) {
        sa::PeerInit init;
        init.id = 1;
        init.name = "site";
        init.endpoint = {T::kPeer, 4500, true};
        peers.add(init);
    }
    uint32_t policy(sa::PolicyAction action = sa::PolicyAction::protect) {
        sa::PolicySpec p{"site-nets",
                         {net::Prefix::v4(0x0a010000, 16), net::Prefix::v4(0x0a070000, 16)},
                         {net::Prefix::v4(T::kInner, 32), net::Prefix::v4(0x0a030000, 16)},
                         action};
        std::string err;
        const uint32_t id = api.add_policy(p, err);
        EXPECT_NE(id, 0u) << err;
        return id;
    }
    sa::SaSpec spec(sa::Direction dir, uint32_t spi, uint8_t key_byte) {
        sa::SaSpec s;
        s.params.name = "child-" + std::to_string(spi);
        s.params.spi = spi;
        s.params.direction = dir;
        s.params.local_addr = T::kGw;
        s.cipher = crypto::Cipher::aes128_gcm;
        s.key.assign(20, key_byte);
        return s;
    }
    void add(sa::Direction dir, uint32_t spi, uint8_t key_byte, uint32_t policy_id) {
        std::string err;
        ASSERT_TRUE(api.add_sa(spec(dir, spi, key_byte), 1, 0, err, policy_id)) << err;
    }
    // The peer's side of an inbound SA: the same key, selectors wide open.
    std::unique_ptr<sa::Sa> peer_side(uint32_t spi, uint8_t key_byte) {
        sa::SaParams p = spec(sa::Direction::outbound, spi, key_byte).params;
        p.peer = {T::kPeer, 4500, true};
        auto m = sa::Sa::make(p);
        std::string err;
        const std::vector<uint8_t> key(20, key_byte);
        EXPECT_TRUE(crypto::expand_sa_keys(dp.mgr, crypto::Cipher::aes128_gcm, crypto::Integrity::none, key, {}, m->keys, err));
        return m;
    }
    // SPI of the one ESP packet sent for a LAN packet src -> dst; 0 if none.
    uint32_t sent_spi(uint32_t src, uint32_t dst) {
        dp.rx_protected({dp.inner_frame(100, src, dst)});
        auto out = dp.take(dp::kPublic);
        uint32_t spi = 0;
        if (out.size() == 1) {
            const auto* esp = rte_pktmbuf_mtod_offset(out[0], const uint8_t*,
                                                      sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr) + sizeof(rte_udp_hdr));
            spi = uint32_t{esp[0]} << 24 | esp[1] << 16 | esp[2] << 8 | esp[3];
        }
        T::free_all(out);
        return spi;
    }
    std::vector<dp::ControlEvent> ring_events() {
        std::vector<dp::ControlEvent> got;
        dp::ControlEvent ev;
        while (rte_ring_dequeue_elem(dp.shared.event_ring, &ev, sizeof ev) == 0) got.push_back(ev);
        return got;
    }

    testing_dp dp;
    control::PeerTable peers;
    std::vector<control::SaEvent> events;
    control::IpsecApi api;
};

}  // namespace

TEST(Policies, SeveralSelectorsPerSideOutAndIn) {
    Fixture f;
    const uint32_t pol = f.policy();
    f.add(sa::Direction::outbound, 0x2001, 0x21, pol);
    f.add(sa::Direction::inbound, 0x1001, 0x11, pol);
    f.dp.shared.neighbours->learn(net::IpAddr::v4(kLan2), net::Mac{{2, 0, 0, 0, 0, 9}}, UINT64_MAX);
    f.dp.shared.mask[dp::kProtected] = 0xf0000000;  // 10.7.0.0/16 is on the LAN too, for this test

    EXPECT_EQ(f.sent_spi(T::kLanHost, T::kInner), 0x2001u);
    EXPECT_EQ(f.sent_spi(kLan2, kSite2), 0x2001u) << "the second selector on each side";
    EXPECT_EQ(f.sent_spi(0x0a090001, T::kInner), 0u) << "a source outside the local selectors";
    EXPECT_EQ(f.dp.drops(dp::Drop::policy), 1u);

    auto peer = f.peer_side(0x1001, 0x11);
    f.dp.rx_public({f.dp.esp_frame(*peer, 100, 4500, T::kLanHost)});
    // From the second remote network, to the second local one.
    f.dp.rx_public({f.dp.seal_as_peer(*peer, f.dp.inner_frame(100, kSite2, kLan2), IPPROTO_IPIP)});
    auto lan = f.dp.take(dp::kProtected);
    EXPECT_EQ(lan.size(), 2u);
    T::free_all(lan);
    f.dp.rx_public({f.dp.seal_as_peer(*peer, f.dp.inner_frame(100, 0x0a040001, T::kLanHost), IPPROTO_IPIP)});
    EXPECT_TRUE(f.dp.take(dp::kProtected).empty()) << "inner source outside the remote selectors";
    EXPECT_EQ(f.dp.drops(dp::Drop::policy), 2u);
}

TEST(Policies, DiscardDropsAndCounts) {
    Fixture f;
    f.policy(sa::PolicyAction::discard);
    EXPECT_EQ(f.sent_spi(T::kLanHost, T::kInner), 0u);
    EXPECT_EQ(f.dp.drops(dp::Drop::discarded), 1u);
    EXPECT_TRUE(f.ring_events().empty()) << "no acquire for a discard policy";
}

// Traffic for a protect policy without an SA asks the control core for one, once per interval.
TEST(Policies, TrafficWithoutAnSaRaisesOneAcquire) {
    Fixture f;
    const uint32_t pol = f.policy();
    EXPECT_EQ(f.sent_spi(T::kLanHost, T::kInner), 0u);
    EXPECT_EQ(f.sent_spi(T::kLanHost, kSite2), 0u);
    EXPECT_EQ(f.dp.drops(dp::Drop::no_sa), 2u);
    auto ev = f.ring_events();
    ASSERT_EQ(ev.size(), 1u) << "rate-limited per policy";
    EXPECT_EQ(ev[0].kind, dp::ControlEvent::acquire);
    EXPECT_EQ(ev[0].id, pol);
    EXPECT_EQ(ev[0].addr, T::kInner);
    f.api.acquired(ev[0].id, net::IpAddr::v4(ev[0].addr));
    ASSERT_EQ(f.events.size(), 1u);
    EXPECT_EQ(f.events[0].kind, control::SaEvent::acquire);
    EXPECT_EQ(f.events[0].name, "site-nets");

    f.add(sa::Direction::outbound, 0x2001, 0x21, pol);  // IKE answered
    EXPECT_EQ(f.sent_spi(T::kLanHost, T::kInner), 0x2001u);
}

// Make-before-break: the new outbound SA protects the very next packet; the old one stays
// installed until deleted, and deleting it leaves the new one in place. Deleting the bound
// SA leaves the policy without an SA (acquire), not without a policy.
TEST(Policies, ARekeyBindsTheNewSaAndDeletingTheOldLosesNothing) {
    Fixture f;
    const uint32_t pol = f.policy();
    f.add(sa::Direction::outbound, 0x2001, 0x21, pol);
    EXPECT_EQ(f.sent_spi(T::kLanHost, T::kInner), 0x2001u);
    f.add(sa::Direction::outbound, 0x2002, 0x22, pol);
    EXPECT_EQ(f.sent_spi(T::kLanHost, T::kInner), 0x2002u);
    EXPECT_NE(f.dp.table().find(sa::Direction::outbound, 0x2001), nullptr) << "kept until deleted";
    EXPECT_TRUE(f.api.delete_sa(sa::Direction::outbound, 0x2001));
    EXPECT_EQ(f.sent_spi(T::kLanHost, T::kInner), 0x2002u);
    EXPECT_TRUE(f.api.delete_sa(sa::Direction::outbound, 0x2002));
    EXPECT_NE(f.dp.table().policy(pol), nullptr);
    EXPECT_EQ(f.sent_spi(T::kLanHost, T::kInner), 0u);
    EXPECT_EQ(f.ring_events().size(), 1u) << "acquire";
}

TEST(Policies, ADeferredOutboundSaSendsOnlyOnceBound) {
    Fixture f;
    const uint32_t pol = f.policy();
    f.add(sa::Direction::outbound, 0x2001, 0x21, pol);
    std::string err;
    ASSERT_TRUE(f.api.add_sa(f.spec(sa::Direction::outbound, 0x2002, 0x22), 1, 0, err, pol, false)) << err;
    EXPECT_EQ(f.sent_spi(T::kLanHost, T::kInner), 0x2001u) << "installed, not bound";
    EXPECT_FALSE(f.api.bind_outbound(pol, 0x2003, err)) << "no such SA";
    ASSERT_TRUE(f.api.bind_outbound(pol, 0x2002, err)) << err;
    EXPECT_EQ(f.sent_spi(T::kLanHost, T::kInner), 0x2002u);
    EXPECT_TRUE(f.api.delete_sa(sa::Direction::outbound, 0x2001));
    EXPECT_EQ(f.sent_spi(T::kLanHost, T::kInner), 0x2002u) << "deleting the old SA left the policy its SA";
    EXPECT_TRUE(f.ring_events().empty()) << "no acquire";
}

TEST(Policies, OverlapsAreRefusedAndRemovalUnpublishes) {
    Fixture f;
    const uint32_t pol = f.policy();
    std::string err;
    sa::PolicySpec clash{"clash", {net::Prefix::v4(0x0a010000, 16)}, {net::Prefix::v4(0x0a030000, 16)}, {}};
    EXPECT_EQ(f.api.add_policy(clash, err), 0u);
    EXPECT_NE(err.find("site-nets"), std::string::npos) << err;
    sa::PolicySpec empty{"empty", {}, {net::Prefix::v4(0x0a050000, 16)}, {}};
    EXPECT_EQ(f.api.add_policy(empty, err), 0u);
    f.add(sa::Direction::outbound, 0x2001, 0x21, pol);
    EXPECT_TRUE(f.api.remove_policy(pol));
    EXPECT_EQ(f.sent_spi(T::kLanHost, T::kInner), 0u);
    EXPECT_TRUE(f.ring_events().empty()) << "no policy: no acquire";
    EXPECT_NE(f.dp.table().find(sa::Direction::outbound, 0x2001), nullptr) << "the SA outlives its policy";
    EXPECT_NE(f.api.add_policy(clash, err), 0u) << "its selectors are free again: " << err;
}

TEST(Policies, Ipv6SelectorsAndDiscard) {
    Fixture f;
    f.dp.enable_v6();
    std::string err;
    sa::PolicySpec p6{"v6-nets", {*net::parse_prefix("2001:db8:1::/64")},
                      {*net::parse_prefix("2001:db8:2::/64"), *net::parse_prefix("2001:db8:3::/64")},
                      sa::PolicyAction::discard};
    ASSERT_NE(f.api.add_policy(p6, err), 0u) << err;
    uint8_t dst[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7};
    f.dp.rx_protected({f.dp.inner_frame6(100, T::kLanHost6, dst)});
    EXPECT_TRUE(f.dp.take(dp::kPublic).empty());
    EXPECT_EQ(f.dp.drops(dp::Drop::discarded), 1u);
}
