// The responder's IKE_SA_INIT on a real strongSwan request (tests/data/strongswan_ike_sa_init.bin,
// offering aes128gcm16-prfsha256-ecp256 then aes256-sha256-modp2048, KE ECP-256): the full
// answer, INVALID_KE_PAYLOAD, NO_PROPOSAL_CHOSEN, the cookie round, NAT detection either way;
// and cookies on their own.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "espgw/ike/cookies.h"
#include "espgw/ike/message.h"
#include "espgw/ike/payloads.h"
#include "espgw/ike/sa_init.h"

using namespace espgw;
using namespace espgw::ike;

namespace {

std::vector<uint8_t> recorded() {
    std::ifstream f(ESPGW_SOURCE_DIR "/tests/data/strongswan_ike_sa_init.bin", std::ios::binary);
    return {std::istreambuf_iterator<char>(f), {}};
}

SaInitConfig config(const char* proposal) {
    SaInitConfig c;
    std::string err;
    auto p = parse_proposal(proposal, ProtocolId::kIke, err);
    EXPECT_TRUE(p) << err;
    if (p) c.proposals.push_back(*p);
    return c;
}

const UdpEnd kFrom{net::IpAddr::v4(0xc6336402), 500};  // 198.51.100.2:500, as recorded
const UdpEnd kTo{net::IpAddr::v4(0xc6336401), 500};    // 198.51.100.1:500
const std::vector<uint8_t> kNr(32, 0x5e);
constexpr uint64_t kSpiR = 0x0102030405060708;

std::vector<NotifyPayload> notifies(const Message& m) {
    std::vector<NotifyPayload> out;
    for (const RawPayload& p : m.payloads)
        if (p.type == PayloadType::kNotify) out.push_back(*parse_notify(p.body));
    return out;
}

}  // namespace

TEST(SaInit, AnswersStrongSwansRequest) {
    const auto req = recorded();
    const uint64_t spi_i = parse_message(req)->header.spi_i;
    SaInitResult r = respond_sa_init(config("aes128gcm16-prfsha256-ecp256"), req, kFrom, kTo, kSpiR, kNr, nullptr);
    ASSERT_EQ(r.outcome, SaInitResult::established) << r.reason;
    EXPECT_EQ(r.spi_i, spi_i);
    ASSERT_TRUE(r.g_ir.has_value());
    EXPECT_EQ(r.g_ir->size(), 32u);
    EXPECT_FALSE(r.nat.nat_there);
    EXPECT_FALSE(r.nat.nat_here);
    EXPECT_TRUE(r.peer_fragmentation);

    const auto resp = parse_message(r.response);
    ASSERT_TRUE(resp.ok()) << describe(resp.error());
    EXPECT_TRUE(resp->header.response);
    EXPECT_FALSE(resp->header.initiator);
    EXPECT_EQ(resp->header.spi_r, kSpiR);
    EXPECT_EQ(resp->header.spi_i, spi_i);
    const auto sa = parse_sa(resp->find(PayloadType::kSa)->body, SaKind::kAccepted);
    ASSERT_TRUE(sa.ok());
    ASSERT_EQ(sa->proposals.size(), 1u);
    EXPECT_EQ(sa->proposals[0].number, 1);
    const auto ke = parse_ke(resp->find(PayloadType::kKe)->body);
    ASSERT_TRUE(ke.ok());
    EXPECT_EQ(ke->group, dh_id::kEcp256);
    EXPECT_EQ(ke->data.size(), 64u);
    EXPECT_EQ(parse_nonce(resp->find(PayloadType::kNonce)->body)->nonce, kNr);
    // Our NAT-D, as the initiator will check it: source = us, destination = it, with SPIr.
    const NatdHash src = natd_hash(spi_i, kSpiR, kTo.addr, kTo.port);
    const NatdHash dst = natd_hash(spi_i, kSpiR, kFrom.addr, kFrom.port);
    bool saw_src = false, saw_dst = false, saw_frag = false;
    for (const NotifyPayload& n : notifies(*resp)) {
        saw_src |= n.type == NotifyType::kNatDetectionSourceIp && n.data == std::vector<uint8_t>(src.begin(), src.end());
        saw_dst |= n.type == NotifyType::kNatDetectionDestinationIp && n.data == std::vector<uint8_t>(dst.begin(), dst.end());
        saw_frag |= n.type == NotifyType::kIkev2FragmentationSupported;
    }
    EXPECT_TRUE(saw_src && saw_dst && saw_frag);

    // The same request through a NAT that changed the source port: the peer is behind a NAT.
    r = respond_sa_init(config("aes128gcm16-prfsha256-ecp256"), req, UdpEnd{kFrom.addr, 31337}, kTo, kSpiR, kNr, nullptr);
    ASSERT_EQ(r.outcome, SaInitResult::established);
    EXPECT_TRUE(r.nat.nat_there);
    EXPECT_FALSE(r.nat.nat_here);
}

TEST(SaInit, AnotherGroupOrNoProposal) {
    const auto req = recorded();
    // We prefer the second proposal, MODP-2048, but the KE is ECP-256: INVALID_KE_PAYLOAD(14).
    SaInitResult r = respond_sa_init(config("aes256-sha256-modp2048"), req, kFrom, kTo, kSpiR, kNr, nullptr);
    ASSERT_EQ(r.outcome, SaInitResult::invalid_ke) << r.reason;
    auto resp = parse_message(r.response);
    ASSERT_TRUE(resp.ok());
    EXPECT_EQ(resp->header.spi_r, 0u);
    auto n = notifies(*resp);
    ASSERT_EQ(n.size(), 1u);
    EXPECT_EQ(n[0].type, NotifyType::kInvalidKePayload);
    EXPECT_EQ(n[0].data, (std::vector<uint8_t>{0, 14}));

    r = respond_sa_init(config("aes128-sha1-modp3072"), req, kFrom, kTo, kSpiR, kNr, nullptr);
    ASSERT_EQ(r.outcome, SaInitResult::no_proposal);
    n = notifies(*parse_message(r.response));
    ASSERT_EQ(n.size(), 1u);
    EXPECT_EQ(n[0].type, NotifyType::kNoProposalChosen);

    auto bad = req;
    bad[bad.size() / 2] ^= 0xff;
    bad.resize(bad.size() - 3);
    r = respond_sa_init(config("aes128gcm16-prfsha256-ecp256"), bad, kFrom, kTo, kSpiR, kNr, nullptr);
    EXPECT_EQ(r.outcome, SaInitResult::drop);
    EXPECT_TRUE(r.response.empty()) << "no answer to garbage";
}

// §2.6: first a COOKIE and no work; the retry that returns it goes through.
TEST(SaInit, CookieRound) {
    const auto req = recorded();
    CookieJar jar;
    SaInitResult r = respond_sa_init(config("aes128gcm16-prfsha256-ecp256"), req, kFrom, kTo, kSpiR, kNr, &jar);
    ASSERT_EQ(r.outcome, SaInitResult::cookie);
    EXPECT_FALSE(r.g_ir.has_value()) << "no Diffie-Hellman before the cookie";
    auto n = notifies(*parse_message(r.response));
    ASSERT_EQ(n.size(), 1u);
    ASSERT_EQ(n[0].type, NotifyType::kCookie);

    // The initiator repeats its request with the cookie as the first payload.
    Message retry = *parse_message(req);
    NotifyPayload c;
    c.type = NotifyType::kCookie;
    c.data = n[0].data;
    RawPayload cp;
    cp.type = PayloadType::kNotify;
    cp.body = build_notify(c);
    retry.payloads.insert(retry.payloads.begin(), cp);
    r = respond_sa_init(config("aes128gcm16-prfsha256-ecp256"), build_message(retry), kFrom, kTo, kSpiR, kNr, &jar);
    EXPECT_EQ(r.outcome, SaInitResult::established) << r.reason;
    // From another address, the same cookie is worthless.
    r = respond_sa_init(config("aes128gcm16-prfsha256-ecp256"), build_message(retry), UdpEnd{net::IpAddr::v4(0x0a000001), 500},
                        kTo, kSpiR, kNr, &jar);
    EXPECT_EQ(r.outcome, SaInitResult::cookie);
}

TEST(Cookies, BoundToNonceAddressSpiAndTwoSecrets) {
    CookieJar jar;
    const std::vector<uint8_t> ni(32, 1);
    const auto ip = net::IpAddr::v4(0xc0000201);
    const auto c = jar.make(ni, ip, 42);
    EXPECT_TRUE(jar.check(c, ni, ip, 42));
    EXPECT_FALSE(jar.check(c, ni, ip, 43));
    EXPECT_FALSE(jar.check(c, std::vector<uint8_t>(32, 2), ip, 42));
    EXPECT_FALSE(jar.check(c, ni, net::IpAddr::v4(0xc0000202), 42));
    jar.rotate();
    EXPECT_TRUE(jar.check(c, ni, ip, 42)) << "the previous secret still counts";
    EXPECT_NE(jar.make(ni, ip, 42), c);
    jar.rotate();
    EXPECT_FALSE(jar.check(c, ni, ip, 42)) << "two secrets ago: stale";
}
