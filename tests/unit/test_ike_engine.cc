// The IKEv2 engine as responder, driven by a test initiator made of lib/ike's parts and a
// Kernel in memory: the exchanges (IKE_SA_INIT, IKE_AUTH, CREATE_CHILD_SA, INFORMATIONAL),
// what reaches the data plane (keys, SPIs, selectors, encapsulation, virtual IPs), message IDs
// and retransmissions, failures (wrong key, unknown identity, selectors, pool), liveness checks
// and dead peers, uniqueness, cookies.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>

#include "espgw/ike/config_payload.h"
#include "espgw/ike/engine.h"
#include "espgw/ike/key_exchange.h"
#include "ike_test_peer.h"

using namespace espgw;
using namespace espgw::ike;
using namespace espgw::ike::test;

namespace {

const std::string kPsk = "a-pre-shared-key-of-some-length";
const UdpEnd kGw{net::IpAddr::v4(0xc0000201), 500};           // 192.0.2.1
const UdpEnd kClient{net::IpAddr::v4(0x0a090002), 500};       // 10.9.0.2, behind ...
const UdpEnd kNat{net::IpAddr::v4(0xc00002fe), 31000};        // ... 192.0.2.254:31000
const UdpEnd kDirect{net::IpAddr::v4(0xc6336402), 500};       // 198.51.100.2, no NAT

EngineConfig config() {
    EngineConfig c;
    Connection conn;
    conn.name = "rw";
    std::string err;
    conn.local_id = *Identity::parse("gw.example.net", err);
    conn.remote_id = *Identity::parse("*@example.net", err);
    conn.psk = kPsk;
    conn.ike = {*parse_proposal("aes128gcm16-prfsha256-curve25519-ecp256", ProtocolId::kIke, err)};
    ChildConfig ch;
    ch.name = "lan";
    ch.local_ts = {*net::parse_prefix("10.1.0.0/24")};
    ch.esp = {*parse_proposal("aes128gcm16", ProtocolId::kEsp, err),
              *parse_proposal("aes256-sha256-modp2048", ProtocolId::kEsp, err)};
    conn.children = {ch};
    conn.pools = {"rw"};
    conn.dns = {net::IpAddr::v4(0x0a010035)};
    conn.dpd_delay_s = 30;
    conn.dpd_timeout_s = 60;
    c.connections = {conn};
    c.pools = {PoolConfig{"rw", *net::parse_prefix("10.3.0.0/29")}};
    return c;
}

// An ESP proposal as a peer sends it: every transform of `spec` (e.g. "aes256-sha256-modp2048"),
// with the peer's SPI.
Proposal esp_proposal(const char* spec, std::vector<uint8_t> spi) {
    std::string err;
    const OurProposal esp = *parse_proposal(spec, ProtocolId::kEsp, err);
    Proposal p;
    p.protocol = ProtocolId::kEsp;
    p.spi = std::move(spi);
    for (const auto* list : {&esp.encr, &esp.integ, &esp.dh, &esp.esn})
        for (const Transform& x : *list) p.transforms.push_back(x);
    return p;
}

struct Fixture : ::testing::Test {
    MemoryKernel kernel;
    std::unique_ptr<Engine> engine;
    uint64_t now = 1000000;

    void make(EngineConfig c = config()) { engine = std::make_unique<Engine>(std::move(c), kernel); }
    void SetUp() override { make(); }

    // Runs IKE_SA_INIT to the end; false if the gateway did not answer with keys.
    bool init(TestInitiator& t) {
        engine->receive(t.sa_init(), now);
        if (kernel.sent.empty()) return false;
        return t.on_sa_init(kernel.take());
    }
    // IKE_AUTH; the payloads of the gateway's answer.
    std::vector<RawPayload> auth(TestInitiator& t, const AuthAsk& ask = {}) {
        engine->receive(t.ike_auth(ask), now);
        EXPECT_FALSE(kernel.sent.empty());
        if (kernel.sent.empty()) return {};
        auto p = t.open(kernel.take_last());
        EXPECT_TRUE(p.has_value());
        return p.value_or(std::vector<RawPayload>{});
    }
    TestInitiator natted(const std::string& id = "alice@example.net") { return TestInitiator(kClient, kGw, kPsk, id, kNat); }
};

const RawPayload* find(const std::vector<RawPayload>& p, PayloadType t) {
    for (const RawPayload& r : p)
        if (r.type == t) return &r;
    return nullptr;
}

}  // namespace

TEST_F(Fixture, RoadWarriorBehindANatGetsAVirtualIpAndAChildSa) {
    TestInitiator t = natted();
    ASSERT_TRUE(init(t));
    EXPECT_EQ(engine->half_open_count(), 1u);
    const auto r = auth(t);
    EXPECT_TRUE(t.responder_auth_ok(r)) << "the gateway's AUTH must verify with the PSK";
    EXPECT_EQ(engine->half_open_count(), 0u);

    // CP: the first pool address (10.3.0.1; .0 is the network) and the DNS server asked for.
    const RawPayload* cp_p = find(r, PayloadType::kConfig);
    ASSERT_NE(cp_p, nullptr);
    const auto cp = parse_cp(cp_p->body);
    ASSERT_TRUE(cp.ok());
    EXPECT_EQ(cp->type, CfgType::kReply);
    ASSERT_EQ(cp->attributes.size(), 2u);
    EXPECT_EQ(cp->attributes[0], ip4_attribute(cfg_attr::kInternalIp4Address, net::IpAddr::v4(0x0a030001)));
    EXPECT_EQ(cp->attributes[1], ip4_attribute(cfg_attr::kInternalIp4Dns, net::IpAddr::v4(0x0a010035)));

    // Narrowed selectors: the peer's side to its virtual IP, ours to the LAN.
    const auto tsi = parse_ts(find(r, PayloadType::kTsi)->body);
    const auto tsr = parse_ts(find(r, PayloadType::kTsr)->body);
    ASSERT_TRUE(tsi.ok() && tsr.ok());
    EXPECT_EQ(tsi->selectors, std::vector<TrafficSelector>{ts("10.3.0.1/32")});
    EXPECT_EQ(tsr->selectors, std::vector<TrafficSelector>{ts("10.1.0.0/24")});

    // The data plane got the pair: our SPI in the SA payload, the peer's SPI outbound, the keys
    // of RFC 7296 §2.17 (initiator's direction first), ESP in UDP because of the NAT.
    const auto sa = parse_sa(find(r, PayloadType::kSa)->body, SaKind::kAccepted);
    ASSERT_TRUE(sa.ok());
    const Proposal& p = sa->proposals.front();
    ASSERT_EQ(p.spi.size(), 4u);
    const uint32_t spi_in = uint32_t{p.spi[0]} << 24 | uint32_t{p.spi[1]} << 16 | uint32_t{p.spi[2]} << 8 | p.spi[3];
    ASSERT_EQ(kernel.children.count(spi_in), 1u);
    const ChildInstall& c = kernel.children.at(spi_in);
    EXPECT_EQ(c.spi_out, 0xa1a2a3a4u);
    EXPECT_TRUE(c.udp);
    EXPECT_FALSE(c.transport);
    EXPECT_EQ(c.encr, 20);
    EXPECT_EQ(c.key_bits, 128);
    const auto keys = t.child_keys_for(p, t.ni, t.nr);
    ASSERT_TRUE(keys);
    EXPECT_EQ(c.key_in, keys->encr_i);
    EXPECT_EQ(c.key_out, keys->encr_r);
    EXPECT_EQ(c.key_in.size(), 20u);  // AES-128 key and the 4-octet salt
    EXPECT_NE(c.key_in, c.key_out);
    EXPECT_EQ(c.local, std::vector<net::Prefix>{*net::parse_prefix("10.1.0.0/24")});
    EXPECT_EQ(c.remote, std::vector<net::Prefix>{*net::parse_prefix("10.3.0.1/32")});

    // The peer object: where the NAT shows it, NAT in front of it.
    ASSERT_EQ(kernel.peers.size(), 1u);
    const auto& peer = kernel.peers.begin()->second;
    EXPECT_EQ(peer.where.addr, kNat.addr);
    EXPECT_TRUE(peer.nat_there);
    EXPECT_FALSE(peer.nat_here);
    EXPECT_EQ(c.peer, kernel.peers.begin()->first);

    const auto list = engine->list(now);
    ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(list[0].state, "established");
    EXPECT_EQ(list[0].remote_id, "alice@example.net");
    EXPECT_EQ(list[0].vips, std::vector<std::string>{"10.3.0.1"});
    EXPECT_EQ(engine->stats().established, 1u);
}

TEST_F(Fixture, WithoutANatTheChildSaIsPlainEsp) {
    TestInitiator t(kDirect, kGw, kPsk, "bob@example.net");
    ASSERT_TRUE(init(t));
    auth(t);
    ASSERT_EQ(kernel.children.size(), 1u);
    EXPECT_FALSE(kernel.children.begin()->second.udp);
    EXPECT_FALSE(kernel.peers.begin()->second.nat_there);
}

TEST_F(Fixture, ARetransmittedRequestGetsTheSameAnswerAndNothingTwice) {
    TestInitiator t = natted();
    const Datagram init_req = t.sa_init();
    engine->receive(init_req, now);
    const Datagram init_resp = kernel.take();
    engine->receive(init_req, now);  // retransmitted IKE_SA_INIT: the same answer, no second SA
    ASSERT_EQ(kernel.sent.size(), 1u);
    EXPECT_EQ(kernel.take().message, init_resp.message);
    EXPECT_EQ(engine->ike_sa_count(), 1u);
    ASSERT_TRUE(t.on_sa_init(init_resp));

    engine->receive(t.ike_auth({}), now);
    const Datagram first = kernel.take();
    engine->receive(t.last_auth, now);
    ASSERT_EQ(kernel.sent.size(), 1u);
    EXPECT_EQ(kernel.take().message, first.message);
    EXPECT_EQ(kernel.children.size(), 1u);
    EXPECT_EQ(engine->stats().retransmitted_responses, 2u);
}

TEST_F(Fixture, AMessageIdOutsideTheWindowIsDropped) {
    TestInitiator t = natted();
    ASSERT_TRUE(init(t));
    auth(t);
    t.next_mid = 5;  // skips 2..4
    engine->receive(t.request(ExchangeType::kInformational, {}), now);
    EXPECT_TRUE(kernel.sent.empty());
    EXPECT_EQ(engine->stats().bad_message_id, 1u);
    t.next_mid = 2;
    engine->receive(t.request(ExchangeType::kInformational, {}), now);
    ASSERT_EQ(kernel.sent.size(), 1u);  // a liveness check, answered
    EXPECT_TRUE(t.open(kernel.take()).has_value());
}

TEST_F(Fixture, AWrongKeyIsRefusedAndNothingInstalled) {
    TestInitiator t(kClient, kGw, "not-the-key-the-gateway-has!", "alice@example.net", kNat);
    ASSERT_TRUE(init(t));
    const auto r = auth(t);
    EXPECT_TRUE(find_notify(r, NotifyType::kAuthenticationFailed).has_value());
    EXPECT_EQ(find(r, PayloadType::kAuth), nullptr);
    EXPECT_TRUE(kernel.children.empty());
    EXPECT_TRUE(kernel.peers.empty());
    EXPECT_EQ(engine->ike_sa_count(), 0u);
    EXPECT_EQ(engine->half_open_count(), 0u);
    EXPECT_EQ(engine->stats().auth_failed, 1u);
}

TEST_F(Fixture, AnIdentityNoConnectionNamesIsRefused) {
    TestInitiator t(kClient, kGw, kPsk, "mallory@example.org", kNat);
    ASSERT_TRUE(init(t));
    EXPECT_TRUE(find_notify(auth(t), NotifyType::kAuthenticationFailed).has_value());
    EXPECT_EQ(engine->ike_sa_count(), 0u);
}

TEST_F(Fixture, UnacceptableSelectorsLeaveTheIkeSaUpWithoutAChild) {
    TestInitiator t = natted();
    ASSERT_TRUE(init(t));
    AuthAsk ask;
    ask.tsr = TsPayload{{ts("172.16.0.0/16")}};  // not our LAN
    const auto r = auth(t, ask);
    EXPECT_TRUE(t.responder_auth_ok(r));
    EXPECT_TRUE(find_notify(r, NotifyType::kTsUnacceptable).has_value());
    EXPECT_TRUE(kernel.children.empty());
    EXPECT_EQ(engine->ike_sa_count(), 1u);
    EXPECT_EQ(engine->stats().ts_unacceptable, 1u);
}

TEST_F(Fixture, AnEmptyPoolAnswersInternalAddressFailure) {
    // 10.3.0.0/29 has six addresses for six identities; the seventh gets none.
    for (int k = 0; k < 7; ++k) {
        TestInitiator t = natted("user" + std::to_string(k) + "@example.net");
        ASSERT_TRUE(init(t));
        const auto r = auth(t);
        if (k < 6) {
            EXPECT_NE(find(r, PayloadType::kConfig), nullptr) << k;
        } else {
            EXPECT_TRUE(find_notify(r, NotifyType::kInternalAddressFailure).has_value());
            EXPECT_EQ(find(r, PayloadType::kSa), nullptr);
        }
    }
    EXPECT_EQ(kernel.children.size(), 6u);
}

TEST_F(Fixture, ThePeerDeletesAChildThenTheIkeSa) {
    TestInitiator t = natted();
    ASSERT_TRUE(init(t));
    auth(t);
    ASSERT_EQ(kernel.children.size(), 1u);
    const uint32_t spi_in = kernel.children.begin()->first;
    engine->receive(t.request(ExchangeType::kInformational,
                              {RawPayload{PayloadType::kDelete, false, 0, build_delete(DeletePayload{ProtocolId::kEsp, {0xa1a2a3a4}})}}),
                    now);
    auto r = t.open(kernel.take());
    ASSERT_TRUE(r);
    const auto del = parse_delete(find(*r, PayloadType::kDelete)->body);
    ASSERT_TRUE(del.ok());
    EXPECT_EQ(del->spis, std::vector<uint32_t>{spi_in});  // our half of the pair, §1.4.1
    EXPECT_TRUE(kernel.children.empty());
    EXPECT_EQ(kernel.removed_policies.size(), 1u);

    engine->receive(t.request(ExchangeType::kInformational,
                              {RawPayload{PayloadType::kDelete, false, 0, build_delete(DeletePayload{ProtocolId::kIke, {}})}}),
                    now);
    r = t.open(kernel.take());
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->empty());
    EXPECT_EQ(engine->ike_sa_count(), 0u);
    EXPECT_TRUE(kernel.peers.empty());
}

TEST_F(Fixture, AChildRekeyIsMakeBeforeBreakWithPfs) {
    TestInitiator t = natted();
    ASSERT_TRUE(init(t));
    auth(t);
    const uint32_t old_in = kernel.children.begin()->first;
    const uint32_t old_policy = kernel.policy_of.at(old_in);
    const uint32_t old_out = kernel.children.begin()->second.spi_out;
    EXPECT_EQ(kernel.sending_on.at(old_policy), old_out);

    // CREATE_CHILD_SA with REKEY_SA, the CBC proposal with MODP-2048 (PFS).
    const Proposal p = esp_proposal("aes256-sha256-modp2048", {0xb1, 0xb2, 0xb3, 0xb4});
    auto ke = KeyExchange::generate(DhGroup::modp2048);
    std::vector<uint8_t> ni(32, 0x11);
    const std::vector<RawPayload> req = {
        RawPayload{PayloadType::kNotify, false, 0,
                   build_notify(NotifyPayload{ProtocolId::kEsp, NotifyType::kRekeySa, {0xa1, 0xa2, 0xa3, 0xa4}, {}})},
        RawPayload{PayloadType::kSa, false, 0, build_sa(SaPayload{{p}})},
        RawPayload{PayloadType::kNonce, false, 0, build_nonce(NoncePayload{ni})},
        RawPayload{PayloadType::kKe, false, 0, build_ke(KePayload{dh_id::kModp2048, ke->public_value()})},
        RawPayload{PayloadType::kTsi, false, 0, build_ts(TsPayload{{ts("10.3.0.1/32")}})},
        RawPayload{PayloadType::kTsr, false, 0, build_ts(TsPayload{{ts("10.1.0.0/24")}})}};
    engine->receive(t.request(ExchangeType::kCreateChildSa, req), now);
    const auto r = t.open(kernel.take());
    ASSERT_TRUE(r);
    const auto sa = parse_sa(find(*r, PayloadType::kSa)->body, SaKind::kAccepted);
    const auto nr = parse_nonce(find(*r, PayloadType::kNonce)->body);
    const auto ker = parse_ke(find(*r, PayloadType::kKe)->body);
    ASSERT_TRUE(sa.ok() && nr.ok() && ker.ok());
    const auto g = ke->shared(ker->data);
    ASSERT_TRUE(g);

    // Both pairs installed; the new one took over the old one's policy.
    ASSERT_EQ(kernel.children.size(), 2u);
    const auto& sp = sa->proposals.front().spi;
    const uint32_t new_in = uint32_t{sp[0]} << 24 | uint32_t{sp[1]} << 16 | uint32_t{sp[2]} << 8 | sp[3];
    const ChildInstall& c = kernel.children.at(new_in);
    EXPECT_EQ(c.policy, old_policy);
    EXPECT_EQ(c.spi_out, 0xb1b2b3b4u);
    const auto keys = t.child_keys_for(sa->proposals.front(), ni, nr->nonce, g->bytes());
    ASSERT_TRUE(keys);
    EXPECT_EQ(c.key_in, keys->encr_i);
    EXPECT_EQ(c.auth_in, keys->integ_i);
    EXPECT_EQ(c.key_out, keys->encr_r);
    EXPECT_EQ(c.auth_out, keys->integ_r);
    EXPECT_EQ(c.auth_in.size(), 32u);
    // Until the initiator has read our answer it cannot read the new SA: we still send on the old.
    EXPECT_TRUE(c.defer_outbound);
    EXPECT_EQ(kernel.sending_on.at(old_policy), old_out);

    // The initiator deletes the old pair: the policy stays (the new pair has it) and our
    // traffic moves to the new outbound SA.
    engine->receive(t.request(ExchangeType::kInformational,
                              {RawPayload{PayloadType::kDelete, false, 0, build_delete(DeletePayload{ProtocolId::kEsp, {0xa1a2a3a4}})}}),
                    now);
    ASSERT_TRUE(t.open(kernel.take()));
    EXPECT_EQ(kernel.children.size(), 1u);
    EXPECT_EQ(kernel.children.count(new_in), 1u);
    EXPECT_EQ(kernel.removed, std::vector<uint32_t>{old_in});
    EXPECT_TRUE(kernel.removed_policies.empty());
    EXPECT_EQ(kernel.sending_on.at(old_policy), 0xb1b2b3b4u);
    EXPECT_EQ(engine->stats().child_rekeys, 1u);
}

TEST_F(Fixture, ARekeyWhoseOldSaIsNeverDeletedSendsOnTheNewOneWhenTheOldEnds) {
    TestInitiator t = natted();
    ASSERT_TRUE(init(t));
    auth(t);
    const uint32_t old_in = kernel.children.begin()->first;
    const uint32_t policy = kernel.policy_of.at(old_in);
    const uint32_t old_out = kernel.children.begin()->second.spi_out;
    const Proposal p = esp_proposal("aes128gcm16", {0xc1, 0xc2, 0xc3, 0xc4});
    const std::vector<RawPayload> req = {
        RawPayload{PayloadType::kNotify, false, 0,
                   build_notify(NotifyPayload{ProtocolId::kEsp, NotifyType::kRekeySa, {0xa1, 0xa2, 0xa3, 0xa4}, {}})},
        RawPayload{PayloadType::kSa, false, 0, build_sa(SaPayload{{p}})},
        RawPayload{PayloadType::kNonce, false, 0, build_nonce(NoncePayload{std::vector<uint8_t>(32, 0x22)})},
        RawPayload{PayloadType::kTsi, false, 0, build_ts(TsPayload{{ts("10.3.0.1/32")}})},
        RawPayload{PayloadType::kTsr, false, 0, build_ts(TsPayload{{ts("10.1.0.0/24")}})}};
    engine->receive(t.request(ExchangeType::kCreateChildSa, req), now);
    ASSERT_TRUE(t.open(kernel.take()));
    ASSERT_EQ(kernel.children.size(), 2u);
    EXPECT_EQ(kernel.sending_on.at(policy), old_out);
    // No DELETE comes. The old pair ends a minute later; the new outbound SA takes over
    // before it goes, so the policy is never without an SA.
    engine->tick(now + 30'000);
    EXPECT_EQ(kernel.sending_on.at(policy), old_out);
    kernel.esp_idle_s = 0;
    engine->tick(now + 61'000);
    ASSERT_EQ(kernel.children.size(), 1u);
    EXPECT_EQ(kernel.children.count(old_in), 0u);
    EXPECT_EQ(kernel.sending_on.at(policy), 0xc1c2c3c4u);
    EXPECT_TRUE(kernel.removed_policies.empty());
}

TEST_F(Fixture, ASilentPeerIsCheckedThenGivenUp) {
    TestInitiator t = natted();
    ASSERT_TRUE(init(t));
    auth(t);
    engine->tick(now + 29'000);
    EXPECT_TRUE(kernel.sent.empty()) << "no check before dpd_delay";
    // ESP still arriving: no check needed.
    kernel.esp_idle_s = 5;
    engine->tick(now + 31'000);
    EXPECT_TRUE(kernel.sent.empty());
    kernel.esp_idle_s = 1000;
    engine->tick(now + 31'000);
    ASSERT_EQ(kernel.sent.size(), 1u);
    const Datagram check = kernel.take();
    EXPECT_EQ(check.dst, kNat.addr);
    const auto inner = t.open(check);
    ASSERT_TRUE(inner);
    EXPECT_TRUE(inner->empty());  // an empty INFORMATIONAL

    // Answered: the SA stays. The next check is retransmitted, then the peer is given up.
    engine->receive(t.answer(check, {}), now + 31'500);
    engine->tick(now + 40'000);
    EXPECT_TRUE(kernel.sent.empty());
    engine->tick(now + 62'000);
    ASSERT_EQ(kernel.sent.size(), 1u);
    kernel.take();
    for (uint64_t ms = 62'000; ms <= 62'000 + 61'000; ms += 500) engine->tick(now + ms);
    EXPECT_GE(engine->stats().retransmitted_requests, 3u);
    EXPECT_EQ(engine->ike_sa_count(), 0u);
    EXPECT_TRUE(kernel.children.empty());
    EXPECT_TRUE(kernel.peers.empty());
    EXPECT_EQ(engine->stats().dead_peers, 1u);
}

TEST_F(Fixture, AReconnectingIdentityReplacesItsOldIkeSa) {
    TestInitiator first = natted();
    ASSERT_TRUE(init(first));
    auth(first);
    const uint32_t old_in = kernel.children.begin()->first;
    TestInitiator second = natted();
    ASSERT_TRUE(init(second));
    const auto r = auth(second);
    // The old IKE SA was told (a DELETE to it) and its CHILD SA removed; the new one has the
    // same virtual IP (the identity's address is kept for it).
    ASSERT_FALSE(kernel.sent.empty());
    bool delete_to_old = false;
    for (const Datagram& d : kernel.sent)
        if (auto in = first.open(d); in && find(*in, PayloadType::kDelete)) delete_to_old = true;
    EXPECT_TRUE(delete_to_old);
    EXPECT_EQ(kernel.children.count(old_in), 0u);
    EXPECT_EQ(kernel.children.size(), 1u);
    EXPECT_EQ(kernel.children.begin()->second.remote, std::vector<net::Prefix>{*net::parse_prefix("10.3.0.1/32")});
    EXPECT_EQ(engine->stats().replaced, 1u);
    (void)r;
}

TEST_F(Fixture, UnderLoadIkeSaInitNeedsACookieFirst) {
    EngineConfig c = config();
    c.cookie_threshold = 0;
    make(c);
    TestInitiator t = natted();
    engine->receive(t.sa_init(), now);
    ASSERT_EQ(kernel.sent.size(), 1u);
    EXPECT_FALSE(t.on_sa_init(kernel.take()));
    EXPECT_EQ(t.last_notify, NotifyType::kCookie);
    EXPECT_EQ(engine->ike_sa_count(), 0u) << "no state before the cookie returns";
    ASSERT_TRUE(!t.cookie_seen.empty());
    engine->receive(t.sa_init(t.cookie_seen), now);
    ASSERT_EQ(kernel.sent.size(), 1u);
    EXPECT_TRUE(t.on_sa_init(kernel.take()));
    EXPECT_EQ(engine->stats().cookies_sent, 1u);
}

TEST_F(Fixture, HalfOpenSasExpireAndArePerSourceLimited) {
    EngineConfig c = config();
    c.half_open_per_source = 3;
    make(c);
    for (int k = 0; k < 5; ++k) {
        TestInitiator t = natted();
        engine->receive(t.sa_init(), now);
    }
    EXPECT_EQ(engine->half_open_count(), 3u);
    EXPECT_EQ(engine->stats().half_open_limit, 2u);
    engine->tick(now + 31'000);
    EXPECT_EQ(engine->half_open_count(), 0u);
    EXPECT_EQ(engine->ike_sa_count(), 0u);
}

TEST_F(Fixture, TheDataPlaneFailingToInstallIsNotAnEstablishedChild) {
    kernel.fail_install = true;
    TestInitiator t = natted();
    ASSERT_TRUE(init(t));
    const auto r = auth(t);
    EXPECT_TRUE(find_notify(r, NotifyType::kNoAdditionalSas).has_value());
    EXPECT_EQ(find(r, PayloadType::kSa), nullptr);
    EXPECT_EQ(kernel.released.size(), 1u) << "the SPI allocated for it goes back";
}

TEST_F(Fixture, GarbageNeverCreatesState) {
    std::mt19937 rng(3);
    TestInitiator t = natted();
    const Datagram good = t.sa_init();
    for (int k = 0; k < 2000; ++k) {
        Datagram d = good;
        const int flips = 1 + static_cast<int>(rng() % 4);
        for (int f = 0; f < flips; ++f) d.message[rng() % d.message.size()] ^= static_cast<uint8_t>(1 + rng() % 255);
        if (rng() % 4 == 0) d.message.resize(rng() % d.message.size());
        engine->receive(d, now);
    }
    // Whatever was accepted is half-open and goes; nothing reached the data plane.
    EXPECT_TRUE(kernel.children.empty());
    EXPECT_TRUE(kernel.peers.empty());
    engine->tick(now + 60'000);
    EXPECT_EQ(engine->ike_sa_count(), 0u);
}

TEST_F(Fixture, TheIkeSaIsRekeyedAndKeepsItsChildren) {
    TestInitiator t = natted();
    ASSERT_TRUE(init(t));
    auth(t);
    ASSERT_EQ(kernel.children.size(), 1u);
    const uint32_t spi_in = kernel.children.begin()->first;

    // CREATE_CHILD_SA with an IKE proposal: the new SPIi, a nonce, a Curve25519 KE.
    std::string err;
    const OurProposal ike = *parse_proposal("aes256gcm16-prfsha384-curve25519", ProtocolId::kIke, err);
    Proposal p;
    p.protocol = ProtocolId::kIke;
    p.spi = {1, 2, 3, 4, 5, 6, 7, 8};
    for (const auto* list : {&ike.encr, &ike.prf, &ike.dh})
        for (const Transform& x : *list) p.transforms.push_back(x);
    EngineConfig c = config();
    auto ke = KeyExchange::generate(DhGroup::curve25519);
    const std::vector<uint8_t> ni(32, 0x44);
    // The connection offers AES-GCM-256/SHA-384 too? No: only what config() has. Offer both.
    const OurProposal ike2 = *parse_proposal("aes128gcm16-prfsha256-curve25519", ProtocolId::kIke, err);
    Proposal p2 = p;
    p2.number = 2;
    p2.transforms.clear();
    for (const auto* list : {&ike2.encr, &ike2.prf, &ike2.dh})
        for (const Transform& x : *list) p2.transforms.push_back(x);
    engine->receive(t.request(ExchangeType::kCreateChildSa,
                              {RawPayload{PayloadType::kSa, false, 0, build_sa(SaPayload{{p, p2}})},
                               RawPayload{PayloadType::kNonce, false, 0, build_nonce(NoncePayload{ni})},
                               RawPayload{PayloadType::kKe, false, 0, build_ke(KePayload{dh_id::kCurve25519, ke->public_value()})}}),
                    now);
    const auto r = t.open(kernel.take());
    ASSERT_TRUE(r);
    const auto sa = parse_sa(find(*r, PayloadType::kSa)->body, SaKind::kAccepted);
    const auto nr = parse_nonce(find(*r, PayloadType::kNonce)->body);
    const auto ker = parse_ke(find(*r, PayloadType::kKe)->body);
    ASSERT_TRUE(sa.ok() && nr.ok() && ker.ok());
    EXPECT_EQ(sa->proposals.front().number, 2) << "the second offer is the one the connection allows";
    ASSERT_EQ(sa->proposals.front().spi.size(), 8u);
    const auto g = ke->shared(ker->data);
    ASSERT_TRUE(g);
    EXPECT_EQ(engine->ike_sa_count(), 2u);

    // The new IKE SA's keys, §2.18: SKEYSEED = prf(SK_d (old), g^ir | Ni | Nr).
    TestInitiator n = t;
    n.spi_i = 0x0102030405060708;
    n.spi_r = 0;
    for (uint8_t b : sa->proposals.front().spi) n.spi_r = n.spi_r << 8 | b;
    std::vector<uint8_t> seed_in(g->bytes().begin(), g->bytes().end());
    seed_in.insert(seed_in.end(), ni.begin(), ni.end());
    seed_in.insert(seed_in.end(), nr->nonce.begin(), nr->nonce.end());
    const Secret seed = prf(t.prf, t.keys.d.bytes(), seed_in);
    n.suite = suite_of(sa->proposals.front());
    n.keys = *ike_sa_keys(Prf::hmac_sha256, seed.bytes(), ni, nr->nonce, n.spi_i, n.spi_r, 0, encr_key_size(n.suite));
    n.next_mid = 0;

    // Under the old IKE SA nothing new is made any more (its peer and children moved).
    {
        Proposal esp;
        esp.protocol = ProtocolId::kEsp;
        esp.spi = {0xd1, 0xd2, 0xd3, 0xd4};
        esp.transforms = {Transform{TransformType::kEncr, encr_id::kAesGcm16, 128, {}},
                          Transform{TransformType::kEsn, esn_id::kNo, {}, {}}};
        engine->receive(t.request(ExchangeType::kCreateChildSa,
                                  {RawPayload{PayloadType::kSa, false, 0, build_sa(SaPayload{{esp}})},
                                   RawPayload{PayloadType::kNonce, false, 0, build_nonce(NoncePayload{ni})},
                                   RawPayload{PayloadType::kTsi, false, 0, build_ts(TsPayload{{ts("10.3.0.1/32")}})},
                                   RawPayload{PayloadType::kTsr, false, 0, build_ts(TsPayload{{ts("10.1.0.0/24")}})}}),
                        now);
        const auto refused = t.open(kernel.take());
        ASSERT_TRUE(refused);
        EXPECT_TRUE(find_notify(*refused, NotifyType::kTemporaryFailure).has_value());
        EXPECT_EQ(kernel.children.size(), 1u);
    }
    // The old one is deleted by the peer: the CHILD SA and the peer stay, with the new IKE SA.
    engine->receive(t.request(ExchangeType::kInformational,
                              {RawPayload{PayloadType::kDelete, false, 0, build_delete(DeletePayload{ProtocolId::kIke, {}})}}),
                    now);
    ASSERT_TRUE(t.open(kernel.take()));
    EXPECT_EQ(engine->ike_sa_count(), 1u);
    EXPECT_EQ(kernel.children.count(spi_in), 1u);
    EXPECT_EQ(kernel.peers.size(), 1u);

    // The new IKE SA answers under its own keys, message IDs from 0.
    engine->receive(n.request(ExchangeType::kInformational, {}), now);
    ASSERT_EQ(kernel.sent.size(), 1u);
    EXPECT_TRUE(n.open(kernel.take()).has_value());
    const auto list = engine->list(now);
    ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(list[0].children.size(), 1u);
    EXPECT_EQ(list[0].vips, std::vector<std::string>{"10.3.0.1"});
    EXPECT_EQ(engine->stats().ike_rekeys, 1u);
    (void)c;
}

namespace {

// Two engines, one the site that initiates, the other the responder; a NAT in front of the
// initiator rewrites its address and port both ways (as a masquerade would).
struct TwoSites {
    MemoryKernel ka, kb;
    std::unique_ptr<Engine> a, b;
    const UdpEnd a_inside{net::IpAddr::v4(0x0a090002), 0};   // 10.9.0.2 behind the NAT
    const net::IpAddr nat_outside = net::IpAddr::v4(0xc6336401);  // 198.51.100.1
    const net::IpAddr b_addr = net::IpAddr::v4(0xc6336464);       // 198.51.100.100
    bool nat = true;

    static Connection site(const std::string& name, const char* me, const char* them, const char* local, const char* remote,
                           uint64_t ike_rekey_s = 0) {
        Connection c;
        std::string err;
        c.name = name;
        c.local_id = *Identity::parse(me, err);
        c.remote_id = *Identity::parse(them, err);
        c.psk = kPsk;
        c.ike_rekey_s = ike_rekey_s;
        c.ike = {*parse_proposal("aes256gcm16-prfsha384-ecp384-curve25519", ProtocolId::kIke, err)};
        ChildConfig ch;
        ch.name = "nets";
        ch.local_ts = {*net::parse_prefix(local)};
        ch.remote_ts = {*net::parse_prefix(remote)};
        ch.esp = {*parse_proposal("aes128-sha256", ProtocolId::kEsp, err)};
        c.children = {ch};
        return c;
    }

    explicit TwoSites(uint64_t ike_rekey_s = 0) {
        EngineConfig ca, cb;
        Connection to_b = site("to-b", "a.example.net", "b.example.net", "10.1.0.0/24", "10.2.0.0/24", ike_rekey_s);
        to_b.remote_host = b_addr;
        // B prefers Curve25519: A's first KE (ECP-384) gets INVALID_KE_PAYLOAD first.
        Connection from_a = site("from-a", "b.example.net", "a.example.net", "10.2.0.0/24", "10.1.0.0/24");
        std::string err;
        from_a.ike = {*parse_proposal("aes256gcm16-prfsha384-curve25519", ProtocolId::kIke, err)};
        ca.connections = {to_b};
        ca.local_v4 = a_inside.addr;
        cb.connections = {from_a};
        a = std::make_unique<Engine>(ca, ka);
        b = std::make_unique<Engine>(cb, kb);
    }

    // Delivers everything either side sent until both are quiet.
    void run(uint64_t now) {
        for (int round = 0; round < 20 && (!ka.sent.empty() || !kb.sent.empty()); ++round) {
            while (!ka.sent.empty()) {
                Datagram d = ka.take();
                if (nat) {
                    d.src = nat_outside;
                    d.sport = static_cast<uint16_t>(d.sport == 500 ? 40500 : 44500);  // the NAT's ports
                }
                b->receive(d, now);
            }
            while (!kb.sent.empty()) {
                Datagram d = kb.take();
                if (nat) {
                    EXPECT_EQ(d.dst, nat_outside);
                    d.dst = a_inside.addr;
                    d.dport = static_cast<uint16_t>(d.dport == 40500 ? 500 : 4500);
                }
                a->receive(d, now);
            }
        }
    }
};

}  // namespace

TEST(Sites, AnInitiatorBehindANatBringsUpASiteToSiteTunnel) {
    TwoSites t;
    ASSERT_TRUE(t.a->initiate("to-b", 1000));
    t.run(1000);
    EXPECT_EQ(t.b->stats().invalid_ke, 1u) << "B asked for its own group first";
    ASSERT_EQ(t.a->list(1000).size(), 1u);
    EXPECT_EQ(t.a->list(1000)[0].state, "established");
    ASSERT_EQ(t.ka.children.size(), 1u);
    ASSERT_EQ(t.kb.children.size(), 1u);
    const ChildInstall& ca = t.ka.children.begin()->second;
    const ChildInstall& cb = t.kb.children.begin()->second;
    // Mirror images: A's outbound is B's inbound, with the same keys.
    EXPECT_EQ(ca.spi_out, cb.spi_in);
    EXPECT_EQ(ca.spi_in, cb.spi_out);
    EXPECT_EQ(ca.key_out, cb.key_in);
    EXPECT_EQ(ca.auth_out, cb.auth_in);
    EXPECT_EQ(ca.key_in, cb.key_out);
    EXPECT_EQ(ca.key_out.size(), 16u);
    EXPECT_EQ(ca.auth_out.size(), 32u);
    EXPECT_EQ(ca.local, std::vector<net::Prefix>{*net::parse_prefix("10.1.0.0/24")});
    EXPECT_EQ(ca.remote, std::vector<net::Prefix>{*net::parse_prefix("10.2.0.0/24")});
    EXPECT_EQ(cb.local, ca.remote);
    EXPECT_EQ(cb.remote, ca.local);
    EXPECT_TRUE(ca.udp && cb.udp);
    // A knows it is the NATed side (it must not follow, and it keeps the mapping alive); B
    // sees the NAT in front of its peer and answers the NAT's port.
    const auto& pa = t.ka.peers.begin()->second;
    const auto& pb = t.kb.peers.begin()->second;
    EXPECT_TRUE(pa.nat_here);
    EXPECT_FALSE(pa.nat_there);
    EXPECT_TRUE(pb.nat_there);
    EXPECT_EQ(pb.where.port, 44500) << "IKE_AUTH came from the NAT-T port's mapping";
    EXPECT_EQ(pa.where.port, 4500);

    // Liveness checks run both ways under the new SA.
    t.ka.esp_idle_s = t.kb.esp_idle_s = 1000;
    t.a->tick(1000 + 31'000);
    t.run(1000 + 31'000);
    EXPECT_EQ(t.a->ike_sa_count(), 1u);
    EXPECT_EQ(t.b->ike_sa_count(), 1u);
}

TEST(Sites, AStartConnectionRetriesUntilThePeerAnswers) {
    TwoSites t;
    EngineConfig ca;
    Connection c = TwoSites::site("to-b", "a.example.net", "b.example.net", "10.1.0.0/24", "10.2.0.0/24");
    c.remote_host = t.b_addr;
    c.start = Connection::Start::kStart;
    ca.connections = {c};
    ca.local_v4 = t.a_inside.addr;
    t.a = std::make_unique<Engine>(ca, t.ka);
    // Nobody answers: IKE_SA_INIT retransmitted with back-off, then given up, then tried anew.
    uint64_t now = 1000;
    t.a->tick(now);
    ASSERT_EQ(t.ka.sent.size(), 1u);
    t.ka.sent.clear();
    for (; now < 1000 + 70'000; now += 500) {
        t.a->tick(now);
        t.ka.sent.clear();
    }
    EXPECT_GE(t.a->stats().initiated, 2u);
    EXPECT_GE(t.a->stats().initiate_failed, 1u);
    EXPECT_GE(t.a->stats().retransmitted_requests, 4u);
    // The peer answers now: up.
    t.a->tick(now + 10'000);
    t.run(now + 10'000);
    EXPECT_EQ(t.ka.children.size(), 1u);
}

TEST(Sites, OurOwnRekeyIsMakeBeforeBreak) {
    TwoSites t;
    ASSERT_TRUE(t.a->initiate("to-b", 1000));
    t.run(1000);
    ASSERT_EQ(t.ka.children.size(), 1u);
    const uint32_t old_a = t.ka.children.begin()->first, old_b = t.kb.children.begin()->first;
    const uint32_t policy_a = t.ka.policy_of.at(old_a);
    const uint32_t policy_b = t.kb.policy_of.at(old_b), old_b_out = t.kb.children.begin()->second.spi_out;
    // Past rekey_time (3600 s less up to 360 s of jitter): A rekeys by itself.
    t.ka.esp_idle_s = t.kb.esp_idle_s = 0;  // traffic flows: no liveness checks in the way
    t.a->tick(1000 + 3601'000);
    ASSERT_EQ(t.ka.sent.size(), 1u) << "a CREATE_CHILD_SA request";
    // Deliver the request and the answer only: the new pair is in, the old one still there.
    t.b->receive([&] {
        Datagram d = t.ka.take();
        d.src = t.nat_outside;
        d.sport = 44500;
        return d;
    }(), 1000 + 3601'000);
    ASSERT_EQ(t.kb.children.size(), 2u);
    EXPECT_EQ(t.kb.sending_on.at(policy_b), old_b_out) << "B answered: A cannot read its new SA yet";
    t.run(1000 + 3601'000);  // the answer, then our DELETE of the old pair and its answer
    EXPECT_EQ(t.a->stats().child_rekeys, 1u);
    EXPECT_EQ(t.b->stats().child_rekeys, 1u);
    ASSERT_EQ(t.ka.children.size(), 1u);
    ASSERT_EQ(t.kb.children.size(), 1u);
    const ChildInstall& ca = t.ka.children.begin()->second;
    const ChildInstall& cb = t.kb.children.begin()->second;
    EXPECT_NE(ca.spi_in, old_a);
    EXPECT_NE(cb.spi_in, old_b);
    EXPECT_EQ(ca.policy, policy_a) << "the new pair took over the old one's policy";
    // Both ends send on the new pair once the old one is deleted.
    EXPECT_EQ(t.ka.sending_on.at(policy_a), ca.spi_out);
    EXPECT_EQ(t.kb.sending_on.at(policy_b), cb.spi_out);
    EXPECT_EQ(ca.spi_out, cb.spi_in);
    EXPECT_EQ(ca.key_out, cb.key_in);
    EXPECT_EQ(ca.key_in, cb.key_out);
    EXPECT_NE(ca.key_out, Secret{}) ;
    EXPECT_TRUE(t.ka.removed_policies.empty());
    EXPECT_TRUE(t.kb.removed_policies.empty());
}

TEST(Sites, TheInitiatorRekeysItsIkeSaAndTheChildSaStays) {
    TwoSites t(1800);  // before the CHILD SA's own rekey (3600 s less jitter)
    ASSERT_TRUE(t.a->initiate("to-b", 1000));
    t.run(1000);
    ASSERT_EQ(t.ka.children.size(), 1u);
    const auto before_a = t.ka.children, before_b = t.kb.children;
    t.ka.esp_idle_s = t.kb.esp_idle_s = 0;
    const uint64_t later = 1000 + 1800'000;  // ike_rekey_s; jitter only makes it earlier
    t.a->tick(later);
    t.run(later);
    EXPECT_EQ(t.a->stats().ike_rekeys, 1u);
    EXPECT_EQ(t.b->stats().ike_rekeys, 1u);
    EXPECT_EQ(t.a->ike_sa_count(), 1u) << "the old IKE SA was deleted";
    EXPECT_EQ(t.b->ike_sa_count(), 1u);
    EXPECT_EQ(t.ka.children.size(), 1u);
    EXPECT_EQ(t.ka.children.begin()->first, before_a.begin()->first) << "the CHILD SA moved, untouched";
    EXPECT_EQ(t.kb.children.begin()->first, before_b.begin()->first);
    EXPECT_EQ(t.ka.peers.size(), 1u);
    // The new IKE SA works: a liveness check from B's side is answered by A.
    t.kb.esp_idle_s = 1000;
    t.b->tick(later + 31'000);
    ASSERT_EQ(t.kb.sent.size(), 1u);
    t.run(later + 31'000);
    t.b->tick(later + 200'000);
    EXPECT_EQ(t.b->stats().dead_peers, 0u);
    const auto list = t.a->list(later);
    ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(list[0].children.size(), 1u);
}

TEST_F(Fixture, AFragmentedRequestIsReassembledInAnyOrderAndAnsweredOnce) {
    TestInitiator t = natted();
    ASSERT_TRUE(init(t));
    // The sa_init announced no fragmentation from the initiator's side; the gateway still
    // reassembles what arrives (RFC 7383 §2.5 lets a receiver take fragments regardless).
    auto frags = t.ike_auth_fragments({}, 400, 2000);
    ASSERT_GE(frags.size(), 6u);
    std::reverse(frags.begin(), frags.end());
    for (size_t k = 0; k + 1 < frags.size(); ++k) {
        engine->receive(frags[k], now);
        EXPECT_TRUE(kernel.sent.empty()) << "nothing before the last fragment";
    }
    engine->receive(frags[1], now);  // a duplicate changes nothing
    engine->receive(frags.back(), now);
    ASSERT_EQ(kernel.sent.size(), 1u);
    const auto r = t.open(kernel.take_last());
    ASSERT_TRUE(r);
    EXPECT_TRUE(t.responder_auth_ok(*r));
    EXPECT_EQ(kernel.children.size(), 1u);
    EXPECT_EQ(engine->stats().fragments_in, frags.size() + 1);
    // A retransmission of the whole request: answered again on its first fragment only.
    for (const Datagram& f : frags) engine->receive(f, now);
    EXPECT_EQ(kernel.sent.size(), 1u);
    EXPECT_EQ(kernel.children.size(), 1u);
}

TEST_F(Fixture, FragmentsBeyondAnyRealMessageAreDropped) {
    TestInitiator t = natted();
    ASSERT_TRUE(init(t));
    // 64 fragments of ~1.2 KB: more than 64 KiB in all.
    const auto frags = t.ike_auth_fragments({}, 1200, 70'000);
    ASSERT_LE(frags.size(), 64u);
    for (const Datagram& f : frags) engine->receive(f, now);
    EXPECT_TRUE(kernel.sent.empty());
    EXPECT_TRUE(kernel.children.empty());
    EXPECT_GE(engine->stats().malformed, 1u);
}

TEST_F(Fixture, StrongSwansRecordedIkeSaInitIsAnswered) {
    // charon's own IKE_SA_INIT (tests/data, recorded by tests/tools/record_strongswan_init.py)
    // offering aes128gcm16-prfsha256-ecp256 then aes256-sha256-modp2048, KE ECP-256.
    std::ifstream f(ESPGW_SOURCE_DIR "/tests/data/strongswan_ike_sa_init.bin", std::ios::binary);
    Datagram d;
    d.message.assign(std::istreambuf_iterator<char>(f), {});
    ASSERT_GT(d.message.size(), 200u);
    d.src = net::IpAddr::v4(0xc6336402);  // as recorded: 198.51.100.2:500 -> 198.51.100.1:500
    d.sport = 500;
    d.dst = net::IpAddr::v4(0xc6336401);
    d.dport = 500;
    engine->receive(d, now);
    ASSERT_EQ(kernel.sent.size(), 1u);
    const Datagram r = kernel.take();
    EXPECT_EQ(r.dst, d.src);
    EXPECT_EQ(r.dport, 500);
    EXPECT_FALSE(r.non_esp_marker);
    const auto m = parse_message(r.message);
    ASSERT_TRUE(m.ok());
    const auto sa = parse_sa(m->find(PayloadType::kSa)->body, SaKind::kAccepted);
    ASSERT_TRUE(sa.ok());
    EXPECT_EQ(to_string(sa->proposals.front()), "AES_GCM_16_128/PRF_HMAC_SHA2_256/ECP_256");
    EXPECT_EQ(parse_ke(m->find(PayloadType::kKe)->body)->data.size(), 64u);
    EXPECT_EQ(engine->half_open_count(), 1u);
    // Its retransmission gets the same bytes.
    engine->receive(d, now);
    ASSERT_EQ(kernel.sent.size(), 1u);
    EXPECT_EQ(kernel.take().message, r.message);
}

TEST(Sites, AnOnDemandConnectionStartsOnTrafficAndKeepsItsTrap) {
    TwoSites t;
    EngineConfig ca;
    Connection c = TwoSites::site("to-b", "a.example.net", "b.example.net", "10.1.0.0/24", "10.2.0.0/24");
    c.remote_host = t.b_addr;
    c.start = Connection::Start::kTrap;
    ca.connections = {c};
    ca.local_v4 = t.a_inside.addr;
    t.a = std::make_unique<Engine>(ca, t.ka);
    t.a->tick(1000);
    ASSERT_EQ(t.ka.traps.size(), 1u) << "the policy waits without SAs";
    EXPECT_TRUE(t.ka.sent.empty()) << "nothing starts before traffic";
    const uint32_t trap = t.ka.traps.begin()->first;
    t.a->acquire(trap + 100, 1000);  // someone else's policy
    EXPECT_TRUE(t.ka.sent.empty());
    t.a->acquire(trap, 1000);
    t.a->acquire(trap, 1001);  // more traffic while it comes up: one IKE SA
    t.run(1001);
    EXPECT_EQ(t.a->stats().initiated, 1u);
    ASSERT_EQ(t.ka.children.size(), 1u);
    EXPECT_EQ(t.ka.children.begin()->second.policy, trap) << "the SA fills the trap";
    // The peer deletes it all: the trap stays for the next packet.
    t.b->shutdown(2000);
    t.run(2000);
    EXPECT_EQ(t.a->ike_sa_count(), 0u);
    EXPECT_TRUE(t.ka.children.empty());
    EXPECT_TRUE(t.ka.removed_policies.empty());
    t.a->acquire(trap, 5000);
    t.run(5000);
    EXPECT_EQ(t.ka.children.size(), 1u);
}

TEST_F(Fixture, APeerOverIpv6GetsItsTunnelToo) {
    const UdpEnd gw6{net::parse_prefix("2001:db8:ff::1")->addr, 500};
    const UdpEnd me6{net::parse_prefix("2001:db8:ff::77")->addr, 500};
    TestInitiator t(me6, gw6, kPsk, "carol@example.net");
    ASSERT_TRUE(init(t));
    const auto r = auth(t);
    EXPECT_TRUE(t.responder_auth_ok(r));
    ASSERT_EQ(kernel.children.size(), 1u);
    const ChildInstall& c = kernel.children.begin()->second;
    EXPECT_FALSE(c.udp) << "no NAT between IPv6 peers: plain ESP";
    EXPECT_EQ(c.remote, std::vector<net::Prefix>{*net::parse_prefix("10.3.0.1/32")}) << "an IPv4 virtual IP over IPv6";
    const auto& peer = kernel.peers.begin()->second;
    EXPECT_EQ(peer.where.addr, me6.addr);
    EXPECT_EQ(kernel.sent.size(), 0u);
}

TEST_F(Fixture, CookieSecretsChangeSoOldCookiesStopWorking) {
    EngineConfig c = config();
    c.cookie_threshold = 0;
    make(c);
    engine->tick(now);
    // Two initiators get their cookies now.
    TestInitiator t = natted(), u = natted("bob@example.net");
    engine->receive(t.sa_init(), now);
    ASSERT_FALSE(t.on_sa_init(kernel.take()));
    engine->receive(u.sa_init(), now);
    ASSERT_FALSE(u.on_sa_init(kernel.take()));
    // One rotation later a cookie is still good (the previous secret is kept) ...
    engine->tick(now + 301'000);
    engine->receive(u.sa_init(u.cookie_seen), now + 301'000);
    EXPECT_TRUE(u.on_sa_init(kernel.take()));
    // ... two rotations later it is stale: another cookie, no state.
    engine->tick(now + 602'000);
    const size_t before = engine->ike_sa_count();
    const std::vector<uint8_t> old = t.cookie_seen;
    engine->receive(t.sa_init(old), now + 602'000);
    ASSERT_EQ(kernel.sent.size(), 1u);
    EXPECT_FALSE(t.on_sa_init(kernel.take()));
    EXPECT_EQ(t.last_notify, NotifyType::kCookie);
    EXPECT_NE(t.cookie_seen, old);
    EXPECT_EQ(engine->ike_sa_count(), before) << "no state for a stale cookie";
}

TEST(Sites, ASoftLimitFromTheDataPlaneRekeysAtOnce) {
    TwoSites t;
    ASSERT_TRUE(t.a->initiate("to-b", 1000));
    t.run(1000);
    ASSERT_EQ(t.ka.children.size(), 1u);
    const uint32_t old_in = t.ka.children.begin()->first;
    t.ka.esp_idle_s = t.kb.esp_idle_s = 0;
    t.a->tick(2000);
    EXPECT_TRUE(t.ka.sent.empty()) << "nothing due yet";
    // Bytes, packets or the sequence number near its end: the data plane says so.
    t.a->child_limit(old_in, false, 2000);
    t.a->tick(2000);
    t.run(2000);
    EXPECT_EQ(t.a->stats().child_rekeys, 1u);
    ASSERT_EQ(t.ka.children.size(), 1u);
    EXPECT_NE(t.ka.children.begin()->first, old_in);
}
