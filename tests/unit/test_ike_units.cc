// The IKE engine's small parts: traffic selector narrowing and range-to-prefix conversion, the
// Configuration payload codec, the virtual IP pool, identities, and the choice of a CHILD SA.
#include <gtest/gtest.h>

#include "espgw/ike/address_pool.h"
#include "espgw/ike/child_sa.h"
#include "espgw/ike/config_payload.h"
#include "espgw/ike/connection.h"
#include "espgw/ike/encrypted.h"
#include "espgw/ike/traffic_selectors.h"

using namespace espgw;
using namespace espgw::ike;

namespace {

net::Prefix P(const char* s) { return *net::parse_prefix(s); }
net::IpAddr A(const char* s) { return net::parse_prefix(s)->addr; }

std::vector<std::string> strs(const std::vector<net::Prefix>& v) {
    std::vector<std::string> out;
    for (const net::Prefix& p : v) out.push_back(p.str());
    return out;
}

TrafficSelector range(const char* a, const char* b) {
    TrafficSelector t;
    t.start = A(a);
    t.end = A(b);
    t.type = t.start.is_v4() ? TsType::kIpv4AddrRange : TsType::kIpv6AddrRange;
    return t;
}

}  // namespace

TEST(RangeToPrefixes, ExactBlocksAndRaggedRanges) {
    EXPECT_EQ(strs(range_to_prefixes(A("10.0.0.0"), A("10.0.0.255"))), std::vector<std::string>{"10.0.0.0/24"});
    EXPECT_EQ(strs(range_to_prefixes(A("10.0.0.1"), A("10.0.0.6"))),
              (std::vector<std::string>{"10.0.0.1/32", "10.0.0.2/31", "10.0.0.4/31", "10.0.0.6/32"}));
    EXPECT_EQ(strs(range_to_prefixes(A("0.0.0.0"), A("255.255.255.255"))), std::vector<std::string>{"0.0.0.0/0"});
    EXPECT_EQ(strs(range_to_prefixes(A("10.3.0.7"), A("10.3.0.7"))), std::vector<std::string>{"10.3.0.7/32"});
    EXPECT_EQ(strs(range_to_prefixes(A("2001:db8::"), A("2001:db8::ffff:ffff:ffff:ffff"))),
              std::vector<std::string>{"2001:db8::/64"});
    EXPECT_EQ(strs(range_to_prefixes(A("::"), A("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"))), std::vector<std::string>{"::/0"});
    EXPECT_TRUE(range_to_prefixes(A("10.0.0.9"), A("10.0.0.1")).empty());
    EXPECT_TRUE(range_to_prefixes(A("10.0.0.1"), A("2001:db8::1")).empty());
}

TEST(Narrow, TheirsCutToWhatWeAllow) {
    // "Everything" from a road warrior becomes our LAN.
    Narrowed n = narrow(TsPayload{{range("0.0.0.0", "255.255.255.255")}}, {P("10.1.0.0/24")}, 8);
    EXPECT_EQ(strs(n.prefixes), std::vector<std::string>{"10.1.0.0/24"});
    ASSERT_EQ(n.selectors.size(), 1u);
    EXPECT_EQ(n.selectors[0], selector_of(P("10.1.0.0/24")));
    // A narrower ask stays as asked.
    n = narrow(TsPayload{{range("10.1.0.8", "10.1.0.15")}}, {P("10.1.0.0/24")}, 8);
    EXPECT_EQ(strs(n.prefixes), std::vector<std::string>{"10.1.0.8/29"});
    // Overlapping partly: only the overlap.
    n = narrow(TsPayload{{range("10.0.255.0", "10.1.0.3")}}, {P("10.1.0.0/24")}, 8);
    EXPECT_EQ(strs(n.prefixes), std::vector<std::string>{"10.1.0.0/30"});
    // Two allowed networks, one selector: both.
    n = narrow(TsPayload{{range("0.0.0.0", "255.255.255.255")}}, {P("10.1.0.0/24"), P("10.5.0.0/16")}, 8);
    EXPECT_EQ(strs(n.prefixes), (std::vector<std::string>{"10.1.0.0/24", "10.5.0.0/16"}));
    // Outside, another family, a port or protocol restriction (the data plane cannot hold it): nothing.
    EXPECT_TRUE(narrow(TsPayload{{range("172.16.0.0", "172.16.255.255")}}, {P("10.1.0.0/24")}, 8).empty());
    EXPECT_TRUE(narrow(TsPayload{{range("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")}}, {P("10.1.0.0/24")}, 8).empty());
    TrafficSelector tcp = range("0.0.0.0", "255.255.255.255");
    tcp.ip_protocol = 6;
    EXPECT_TRUE(narrow(TsPayload{{tcp}}, {P("10.1.0.0/24")}, 8).empty());
    TrafficSelector port = range("0.0.0.0", "255.255.255.255");
    port.start_port = port.end_port = 443;
    EXPECT_TRUE(narrow(TsPayload{{port}}, {P("10.1.0.0/24")}, 8).empty());
    // More prefixes than the data plane holds per side: a range that does not fit is left out.
    n = narrow(TsPayload{{range("10.1.0.1", "10.1.0.254")}}, {P("10.1.0.0/24")}, 8);
    EXPECT_TRUE(n.empty());  // 1..254 needs 14 prefixes
    n = narrow(TsPayload{{range("10.1.0.1", "10.1.0.254"), range("10.1.0.0", "10.1.0.127")}}, {P("10.1.0.0/24")}, 8);
    EXPECT_EQ(strs(n.prefixes), std::vector<std::string>{"10.1.0.0/25"});
}

TEST(ConfigPayload, RoundTripAndMalformed) {
    CpPayload cp;
    cp.type = CfgType::kReply;
    cp.attributes = {ip4_attribute(cfg_attr::kInternalIp4Address, A("10.3.0.1")),
                     ip6_attribute(cfg_attr::kInternalIp6Address, A("2001:db8:3::1"), 128),
                     {cfg_attr::kInternalIp4Dns, {}}};
    const auto body = build_cp(cp);
    // Type, 3 reserved octets; then type 1 length 4, type 8 length 17, type 3 length 0.
    ASSERT_EQ(body.size(), 4u + 8 + 21 + 4);
    EXPECT_EQ(body[0], 2);
    EXPECT_EQ(body[4], 0);
    EXPECT_EQ(body[5], 1);
    EXPECT_EQ(body[7], 4);
    const auto back = parse_cp(body);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, cp);
    EXPECT_TRUE(back->asks(cfg_attr::kInternalIp4Dns));
    EXPECT_FALSE(back->asks(cfg_attr::kInternalIp6Dns));
    auto cut = body;
    cut.resize(body.size() - 2);  // the last attribute's header cut
    EXPECT_FALSE(parse_cp(cut).ok());
    auto overrun = body;
    overrun[7] = 40;  // the first attribute claims more than there is
    EXPECT_FALSE(parse_cp(overrun).ok());
    EXPECT_FALSE(parse_cp(std::vector<uint8_t>{1, 0}).ok());
}

TEST(AddressPool, AddressesStayWithTheirIdentity) {
    AddressPool pool("rw", P("10.3.0.0/30"));  // .1 and .2: network and broadcast excluded
    EXPECT_EQ(pool.size(), 2u);
    const auto a = pool.acquire("alice");
    const auto b = pool.acquire("bob");
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->str(), "10.3.0.1");
    EXPECT_EQ(b->str(), "10.3.0.2");
    EXPECT_FALSE(pool.acquire("carol")) << "exhausted";
    pool.release(*a);
    EXPECT_EQ(pool.acquire("alice")->str(), "10.3.0.1") << "alice comes back to her address";
    pool.release(*a);
    // carol may take alice's remembered address when nothing else is free.
    EXPECT_EQ(pool.acquire("carol")->str(), "10.3.0.1");
    EXPECT_EQ(pool.in_use(), 2u);

    AddressPool six("v6", P("2001:db8:3::/120"));
    EXPECT_EQ(six.acquire("x")->str(), "2001:db8:3::1");
}

TEST(Identity, ParseAndMatch) {
    std::string err;
    const auto fqdn = Identity::parse("gw.example.net", err);
    ASSERT_TRUE(fqdn);
    EXPECT_EQ(fqdn->id.type, IdType::kFqdn);
    const auto mail = Identity::parse("alice@example.net", err);
    EXPECT_EQ(mail->id.type, IdType::kRfc822Addr);
    const auto ip = Identity::parse("192.0.2.7", err);
    EXPECT_EQ(ip->id.type, IdType::kIpv4Addr);
    EXPECT_EQ(ip->id.data, (std::vector<uint8_t>{192, 0, 2, 7}));
    EXPECT_EQ(to_string(ip->id), "192.0.2.7");
    const auto any = Identity::parse("%any", err);
    const auto wild = Identity::parse("*@example.net", err);
    EXPECT_TRUE(any->matches(mail->id));
    EXPECT_TRUE(wild->matches(mail->id));
    EXPECT_FALSE(wild->matches(Identity::parse("alice@example.org", err)->id));
    EXPECT_FALSE(mail->matches(Identity::parse("bob@example.net", err)->id));
    EXPECT_FALSE(fqdn->matches(Identity::parse("gw.example.net.evil", err)->id));
    EXPECT_FALSE(Identity::parse("has space", err));
    EXPECT_FALSE(err.empty());
}

TEST(ChooseChild, ProposalModeAndSelectors) {
    std::string err;
    ChildConfig lan;
    lan.name = "lan";
    lan.local_ts = {P("10.1.0.0/24")};
    lan.esp = {*parse_proposal("aes256gcm16", ProtocolId::kEsp, err)};
    ChildConfig host;
    host.name = "host";
    host.mode = ChildMode::kTransport;
    host.esp = lan.esp;
    const std::vector<ChildConfig> children{lan, host};

    ChildRequest req;
    Proposal p;
    p.protocol = ProtocolId::kEsp;
    p.spi = {1, 2, 3, 4};
    p.transforms = {Transform{TransformType::kEncr, encr_id::kAesGcm16, 256, {}}};
    req.sa.proposals = {p};
    req.tsi.selectors = {selector_of(P("0.0.0.0/0"))};
    req.tsr.selectors = {selector_of(P("0.0.0.0/0"))};
    const std::vector<net::Prefix> me{P("192.0.2.1/32")}, them{P("10.3.0.1/32")};
    ChildChoice c = choose_child(children, req, me, them);
    ASSERT_TRUE(c.ok) << c.reason;
    EXPECT_EQ(c.config->name, "lan");
    EXPECT_EQ(strs(c.tsi.prefixes), std::vector<std::string>{"10.3.0.1/32"});
    EXPECT_EQ(c.proposal.spi, (std::vector<uint8_t>{1, 2, 3, 4}));

    // Transport asked: only the transport child, with our own address.
    req.transport = true;
    c = choose_child(children, req, me, them);
    ASSERT_TRUE(c.ok);
    EXPECT_EQ(c.config->name, "host");
    EXPECT_TRUE(c.transport);
    EXPECT_EQ(strs(c.tsr.prefixes), std::vector<std::string>{"192.0.2.1/32"});

    // An ESP proposal we do not take.
    req.transport = false;
    req.sa.proposals[0].transforms[0].key_length = 128;
    c = choose_child(children, req, me, them);
    EXPECT_FALSE(c.ok);
    EXPECT_EQ(c.error, NotifyType::kNoProposalChosen);
}

TEST(ChildKeys, SplitInitiatorDirectionFirst) {
    std::string err;
    const OurProposal cbc = *parse_proposal("aes128-sha256", ProtocolId::kEsp, err);
    Proposal p;
    p.protocol = ProtocolId::kEsp;
    p.transforms = {cbc.encr[0], cbc.integ[0]};
    const std::vector<uint8_t> sk_d(32, 7), ni(16, 1), nr(16, 2);
    const auto k = child_keys(Prf::hmac_sha256, sk_d, {}, ni, nr, p);
    ASSERT_TRUE(k);
    const auto km = child_sa_keymat(Prf::hmac_sha256, sk_d, {}, ni, nr, 2 * (16 + 32));
    ASSERT_TRUE(km);
    EXPECT_EQ(k->encr_i, km->slice(0, 16));
    EXPECT_EQ(k->integ_i, km->slice(16, 32));
    EXPECT_EQ(k->encr_r, km->slice(48, 16));
    EXPECT_EQ(k->integ_r, km->slice(64, 32));
}

TEST(Fragments, SealedInPiecesOpenedWhole) {
    // RFC 7383: each fragment on its own, the numbers authenticated, joined in order.
    for (const SkSuite s : {SkSuite{encr_id::kAesGcm16, 256, 0}, SkSuite{encr_id::kAesCbc, 128, integ_id::kHmacSha2_256_128}}) {
        SkKeys k{Secret(std::vector<uint8_t>(encr_key_size(s), 0x5a)), Secret(std::vector<uint8_t>(integ_key_size(s), 0x3c))};
        Header h;
        h.spi_i = 1;
        h.spi_r = 2;
        h.exchange = ExchangeType::kIkeAuth;
        h.response = true;
        h.message_id = 1;
        std::vector<RawPayload> inner = {
            RawPayload{PayloadType::kIdr, false, 0, build_id(IdPayload{IdType::kFqdn, {'g', 'w'}})},
            RawPayload{PayloadType::kCert, false, 0, build_cert(CertPayload{4, std::vector<uint8_t>(3000, 0xce)})},
            RawPayload{PayloadType::kAuth, false, 0, build_auth(AuthPayload{AuthMethod::kSharedKeyMic, std::vector<uint8_t>(32, 1)})}};
        uint8_t ctr = 0;
        const auto frags = seal_fragments(s, k, h, inner, 1000, [&] { return std::vector<uint8_t>(iv_size(s), ++ctr); });
        ASSERT_EQ(frags.size(), 4u);
        std::vector<uint8_t> joined;
        uint8_t first = 0;
        for (size_t n = 0; n < frags.size(); ++n) {
            EXPECT_LE(frags[n].size(), 1000u);
            const OpenedFragment f = open_skf(s, k, frags[n]);
            ASSERT_TRUE(f.ok) << f.error;
            EXPECT_EQ(f.number, n + 1);
            EXPECT_EQ(f.total, 4);
            if (n == 0) first = f.inner_next;
            EXPECT_EQ(f.inner_next, n == 0 ? static_cast<uint8_t>(PayloadType::kIdr) : 0);
            joined.insert(joined.end(), f.plaintext.begin(), f.plaintext.end());
        }
        const Opened o = open_reassembled(joined, first);
        ASSERT_TRUE(o.ok) << o.error;
        EXPECT_EQ(o.payloads, inner);
        // A changed fragment number (authenticated data) or ciphertext octet: refused.
        auto bad = frags[1];
        bad[kHeaderSize + kPayloadHeaderSize + 1] ^= 1;
        EXPECT_FALSE(open_skf(s, k, bad).ok);
        bad = frags[2];
        bad[bad.size() - 20] ^= 0x40;
        EXPECT_FALSE(open_skf(s, k, bad).ok);
    }
}
