// The IKEv2 message codec (RFC 7296 §3): a hand-assembled IKE_SA_INIT request read field by
// field, round trips of every payload, every rejection with its error kind, and sweeps of
// truncated and corrupted messages. No DPDK use.
#include <gtest/gtest.h>

#include <cstring>
#include <initializer_list>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "espgw/ike/message.h"
#include "espgw/ike/payloads.h"

namespace espgw::ike {
// Failure messages name the kind instead of a number.
std::ostream& operator<<(std::ostream& os, ParseErrorKind k) { return os << to_string(k); }
}  // namespace espgw::ike

namespace {

using namespace espgw::ike;
using espgw::net::IpAddr;
using Bytes = std::vector<uint8_t>;
using K = ParseErrorKind;

void add(Bytes& b, std::initializer_list<uint8_t> v) { b.insert(b.end(), v); }
// n octets counting up from `first`: recognisable opaque data (keys, nonces, hashes).
void fill(Bytes& b, size_t n, uint8_t first) {
    for (size_t i = 0; i < n; ++i) b.push_back(static_cast<uint8_t>(first + i));
}
Bytes counting(size_t n, uint8_t first) {
    Bytes b;
    fill(b, n, first);
    return b;
}
void set_length(Bytes& b) {
    const auto n = static_cast<uint32_t>(b.size());
    b[24] = static_cast<uint8_t>(n >> 24);
    b[25] = static_cast<uint8_t>(n >> 16);
    b[26] = static_cast<uint8_t>(n >> 8);
    b[27] = static_cast<uint8_t>(n);
}

// An IKE_SA_INIT request as an initiator behind a NAT sends it (RFC 7296 §1.2, §2.23):
// HDR, SAi1 (two proposals), KEi, Ni, N(NAT_DETECTION_SOURCE_IP), N(NAT_DETECTION_DESTINATION_IP).
// Written octet by octet from the figures of §3; offsets on the right.
constexpr size_t kSaAt = 28, kKeAt = 112, kNonceAt = 152, kNatdSrcAt = 188, kNatdDstAt = 216, kSize = 244;
Bytes ike_sa_init_request() {
    Bytes m;
    // IKE header (§3.1, Figure 4)                                                       0
    add(m, {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88});  // IKE SA Initiator's SPI
    add(m, {0, 0, 0, 0, 0, 0, 0, 0});  // IKE SA Responder's SPI: 0 in the first request 8
    add(m, {33});                      // Next Payload: SA                                  16
    add(m, {0x20});                    // MjVer 2, MnVer 0                                  17
    add(m, {34});                      // Exchange Type: IKE_SA_INIT                        18
    add(m, {0x08});                    // Flags: I (original initiator), not R, not V      19
    add(m, {0, 0, 0, 0});              // Message ID 0                                      20
    add(m, {0, 0, 0, 244});            // Length: the whole message                         24
    // SA payload (§3.3): generic header (§3.2), then the proposals                        28
    add(m, {34, 0x00, 0, 84});  // Next Payload KE, C=0 + RESERVED, Length 4 + 44 + 36
    //   Proposal 1 (§3.3.1)                                                   SA body 0 / 32
    add(m, {2, 0});      // Last Substruc 2: another proposal follows; RESERVED
    add(m, {0, 44});     // Proposal Length
    add(m, {1, 1, 0, 4});  // Proposal Num 1, Protocol ID 1 (IKE), SPI Size 0, 4 transforms
    //     Transform (§3.3.2): ENCR_AES_CBC with Key Length 256 (§3.3.5)          8 / 40
    add(m, {3, 0, 0, 12});    // Last Substruc 3: more transforms; RESERVED; Transform Length 12
    add(m, {1, 0, 0, 12});    // Transform Type 1 (ENCR); RESERVED; Transform ID 12 (AES-CBC)
    add(m, {0x80, 14, 1, 0});  // AF=1 | Attribute Type 14 (Key Length); value 256 bits
    add(m, {3, 0, 0, 8, 2, 0, 0, 5});   // PRF_HMAC_SHA2_256 (type 2, ID 5)             20 / 52
    add(m, {3, 0, 0, 8, 3, 0, 0, 12});  // AUTH_HMAC_SHA2_256_128 (type 3, ID 12)       28 / 60
    add(m, {0, 0, 0, 8, 4, 0, 0, 31});  // last: DH Curve25519 (type 4, ID 31)          36 / 68
    //   Proposal 2                                                                44 / 76
    add(m, {0, 0, 0, 36});  // Last Substruc 0: the last proposal; Proposal Length 36
    add(m, {2, 1, 0, 3});   // Proposal Num 2, IKE, SPI Size 0, 3 transforms
    add(m, {3, 0, 0, 12, 1, 0, 0, 20, 0x80, 14, 1, 0});  // ENCR_AES_GCM_16, Key Length 256  52 / 84
    add(m, {3, 0, 0, 8, 2, 0, 0, 7});   // PRF_HMAC_SHA2_512                               64 / 96
    add(m, {0, 0, 0, 8, 4, 0, 0, 14});  // last: DH 2048-bit MODP                          72 / 104
    // KE payload (§3.4)                                                                   112
    add(m, {40, 0, 0, 40});  // Next Payload Nonce, Length 4 + 4 + 32
    add(m, {0, 31, 0, 0});   // Diffie-Hellman Group Num 31; RESERVED
    fill(m, 32, 0xa0);       // Key Exchange Data: a Curve25519 public value
    // Nonce payload (§3.9)                                                                152
    add(m, {41, 0, 0, 36});  // Next Payload Notify, Length 4 + 32
    fill(m, 32, 0x10);       // Nonce Data
    // Notify payload (§3.10): NAT_DETECTION_SOURCE_IP (§2.23)                             188
    add(m, {41, 0, 0, 28});      // Next Payload Notify, Length 4 + 4 + 20
    add(m, {0, 0, 0x40, 0x04});  // Protocol ID 0, SPI Size 0, Notify Message Type 16388
    fill(m, 20, 0x60);           // SHA-1(SPIi | SPIr | source IP | source port)
    // Notify payload: NAT_DETECTION_DESTINATION_IP                                        216
    add(m, {0, 0, 0, 28});       // Next Payload 0: the last payload, Length 28
    add(m, {0, 0, 0x40, 0x05});  // Protocol ID 0, SPI Size 0, Notify Message Type 16389
    fill(m, 20, 0x80);           // SHA-1(SPIi | SPIr | destination IP | destination port)
    return m;                    //                                                       244
}

Bytes sa_body_of_request() {
    const Bytes m = ike_sa_init_request();
    return Bytes(m.begin() + kSaAt + 4, m.begin() + kKeAt);
}

// The error kind, nullopt if it parsed (then a comparison with a kind fails, it does not throw).
std::optional<ParseErrorKind> kind_of(const auto& parsed) {
    if (parsed.ok()) return std::nullopt;
    return parsed.error().kind;
}

// --- The hand-assembled request ------------------------------------------------------------

TEST(IkeMessage, IkeSaInitRequestFieldByField) {
    const Bytes wire = ike_sa_init_request();
    ASSERT_EQ(wire.size(), kSize);
    const auto m = parse_message(wire);
    ASSERT_TRUE(m.ok()) << describe(m.error());

    EXPECT_EQ(m->header.spi_i, 0x1122334455667788u);
    EXPECT_EQ(m->header.spi_r, 0u);
    EXPECT_EQ(m->header.exchange, ExchangeType::kIkeSaInit);
    EXPECT_TRUE(m->header.initiator);
    EXPECT_FALSE(m->header.response);
    EXPECT_FALSE(m->header.higher_version);
    EXPECT_EQ(m->header.minor_version, 0);
    EXPECT_EQ(m->header.message_id, 0u);

    ASSERT_EQ(m->payloads.size(), 5u);
    const PayloadType types[] = {PayloadType::kSa, PayloadType::kKe, PayloadType::kNonce, PayloadType::kNotify,
                                 PayloadType::kNotify};
    for (size_t i = 0; i < 5; ++i) {
        EXPECT_EQ(m->payloads[i].type, types[i]) << i;
        EXPECT_FALSE(m->payloads[i].critical) << i;
    }
    EXPECT_EQ(m->find(PayloadType::kNonce), &m->payloads[2]);
    EXPECT_EQ(m->find(PayloadType::kAuth), nullptr);

    const auto sa = parse_sa(m->payloads[0].body);
    ASSERT_TRUE(sa.ok()) << describe(sa.error());
    ASSERT_EQ(sa->proposals.size(), 2u);
    const Proposal& p1 = sa->proposals[0];
    EXPECT_EQ(p1.number, 1);
    EXPECT_EQ(p1.protocol, ProtocolId::kIke);
    EXPECT_TRUE(p1.spi.empty());
    ASSERT_EQ(p1.transforms.size(), 4u);
    EXPECT_EQ(p1.transforms[0], (Transform{TransformType::kEncr, encr_id::kAesCbc, 256, {}}));
    EXPECT_EQ(p1.transforms[1], (Transform{TransformType::kPrf, prf_id::kHmacSha2_256, std::nullopt, {}}));
    EXPECT_EQ(p1.transforms[2], (Transform{TransformType::kInteg, integ_id::kHmacSha2_256_128, std::nullopt, {}}));
    EXPECT_EQ(p1.transforms[3], (Transform{TransformType::kDh, dh_id::kCurve25519, std::nullopt, {}}));
    const Proposal& p2 = sa->proposals[1];
    EXPECT_EQ(p2.number, 2);
    EXPECT_EQ(p2.protocol, ProtocolId::kIke);
    ASSERT_EQ(p2.transforms.size(), 3u);
    EXPECT_EQ(p2.transforms[0], (Transform{TransformType::kEncr, encr_id::kAesGcm16, 256, {}}));
    EXPECT_EQ(p2.transforms[1], (Transform{TransformType::kPrf, prf_id::kHmacSha2_512, std::nullopt, {}}));
    EXPECT_EQ(p2.transforms[2], (Transform{TransformType::kDh, dh_id::kModp2048, std::nullopt, {}}));

    const auto ke = parse_ke(m->payloads[1].body);
    ASSERT_TRUE(ke.ok());
    EXPECT_EQ(ke->group, dh_id::kCurve25519);
    EXPECT_EQ(ke->data, counting(32, 0xa0));

    const auto nonce = parse_nonce(m->payloads[2].body);
    ASSERT_TRUE(nonce.ok());
    EXPECT_EQ(nonce->nonce, counting(32, 0x10));

    const auto src = parse_notify(m->payloads[3].body);
    const auto dst = parse_notify(m->payloads[4].body);
    ASSERT_TRUE(src.ok() && dst.ok());
    EXPECT_EQ(*src, (NotifyPayload{ProtocolId::kNone, NotifyType::kNatDetectionSourceIp, {}, counting(20, 0x60)}));
    EXPECT_EQ(*dst, (NotifyPayload{ProtocolId::kNone, NotifyType::kNatDetectionDestinationIp, {}, counting(20, 0x80)}));

    // And back, octet for octet: the chain's Next Payload fields and every length computed.
    EXPECT_EQ(build_message(*m), wire);
    EXPECT_EQ(build_sa(*sa), m->payloads[0].body);
}

// --- Round trips: build, parse, equal ------------------------------------------------------------

template <class T, class Parse, class Build>
void round_trip(const T& value, Parse parse, Build build) {
    const Bytes body = build(value);
    const auto back = parse(body);
    ASSERT_TRUE(back.ok()) << describe(back.error());
    EXPECT_EQ(*back, value);
    EXPECT_EQ(build(*back), body);
}

const uint8_t kV6Net[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
const uint8_t kV6Top[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

SaPayload child_sa_offer() {
    SaPayload sa;
    sa.proposals.push_back(Proposal{1, ProtocolId::kEsp, {0xc0, 0x01, 0x02, 0x03},
                                    {{TransformType::kEncr, encr_id::kAesGcm16, 128, {}},
                                     {TransformType::kEncr, encr_id::kChacha20Poly1305, std::nullopt, {}},
                                     {TransformType::kEsn, esn_id::kNo, std::nullopt, {}},
                                     {TransformType::kEsn, esn_id::kYes, std::nullopt, {}}}});
    // A transform with attributes this codec does not know, TV then TLV: kept for the engine.
    sa.proposals.push_back(Proposal{2, ProtocolId::kEsp, {0xc0, 0x01, 0x02, 0x04},
                                    {{TransformType::kEncr, encr_id::kAesCbc, 256,
                                      {0x80, 0x01, 0x00, 0x05, 0x00, 0x02, 0x00, 0x02, 0xaa, 0xbb}},
                                     {TransformType::kInteg, integ_id::kHmacSha2_512_256, std::nullopt, {}},
                                     {TransformType::kEsn, esn_id::kNo, std::nullopt, {}}}});
    return sa;
}

TEST(IkePayloads, RoundTripEveryType) {
    const auto sa = [](SaPayload v) { round_trip(v, [](const Bytes& b) { return parse_sa(b); }, build_sa); };
    sa(child_sa_offer());
    // Rekeying the IKE SA: the proposal carries the new 8-octet SPI.
    sa(SaPayload{{Proposal{1, ProtocolId::kIke, counting(8, 1),
                           {{TransformType::kEncr, encr_id::kAesGcm16, 256, {}},
                            {TransformType::kPrf, prf_id::kHmacSha2_384, std::nullopt, {}},
                            {TransformType::kDh, dh_id::kEcp384, std::nullopt, {}}}}}});

    round_trip(KePayload{dh_id::kModp2048, counting(256, 7)}, parse_ke, build_ke);
    round_trip(KePayload{dh_id::kEcp256, counting(64, 9)}, parse_ke, build_ke);
    round_trip(NoncePayload{counting(16, 1)}, parse_nonce, build_nonce);
    round_trip(NoncePayload{counting(256, 1)}, parse_nonce, build_nonce);
    round_trip(NotifyPayload{ProtocolId::kEsp, NotifyType::kRekeySa, {0xc0, 0, 0, 1}, {}}, parse_notify, build_notify);
    round_trip(NotifyPayload{ProtocolId::kNone, NotifyType::kCookie, {}, counting(24, 3)}, parse_notify, build_notify);
    round_trip(NotifyPayload{ProtocolId::kNone, NotifyType::kIkev2FragmentationSupported, {}, {}}, parse_notify,
               build_notify);
    const std::string fqdn = "vpn.example.net";
    round_trip(IdPayload{IdType::kFqdn, Bytes(fqdn.begin(), fqdn.end())}, parse_id, build_id);
    round_trip(IdPayload{IdType::kIpv4Addr, {192, 0, 2, 1}}, parse_id, build_id);
    round_trip(AuthPayload{AuthMethod::kSharedKeyMic, counting(32, 0x40)}, parse_auth, build_auth);
    round_trip(VendorIdPayload{counting(16, 0x30)}, parse_vendor_id, build_vendor_id);
    round_trip(VendorIdPayload{}, parse_vendor_id, build_vendor_id);
    round_trip(DeletePayload{ProtocolId::kIke, {}}, parse_delete, build_delete);
    round_trip(DeletePayload{ProtocolId::kEsp, {0xc0000001, 0xc0000002, 0xdeadbeef}}, parse_delete, build_delete);
    round_trip(TsPayload{{TrafficSelector{TsType::kIpv4AddrRange, 6, 443, 443, IpAddr::v4(0x0a000000),
                                          IpAddr::v4(0x0a0000ff)},
                          TrafficSelector{TsType::kIpv6AddrRange, 0, 0, 65535, IpAddr::v6(kV6Net), IpAddr::v6(kV6Top)},
                          // OPAQUE ports (§3.13.1): start 65535, end 0.
                          TrafficSelector{TsType::kIpv4AddrRange, 17, 65535, 0, IpAddr::v4(0xc0000201),
                                          IpAddr::v4(0xc0000201)}}},
               parse_ts, build_ts);
    round_trip(CertPayload{cert_encoding::kX509Signature, counting(200, 0)}, parse_cert, build_cert);
    round_trip(CertPayload{cert_encoding::kX509Signature, counting(40, 0x90)}, parse_cert, build_cert);  // CERTREQ
}

// Typed payloads on the wire, in layouts checked octet by octet.
TEST(IkePayloads, BuildLayouts) {
    EXPECT_EQ(build_ke(KePayload{dh_id::kModp2048, {0xaa}}), (Bytes{0, 14, 0, 0, 0xaa}));
    EXPECT_EQ(build_notify(NotifyPayload{ProtocolId::kEsp, NotifyType::kRekeySa, {1, 2, 3, 4}, {9}}),
              (Bytes{3, 4, 0x40, 0x09, 1, 2, 3, 4, 9}));
    EXPECT_EQ(build_id(IdPayload{IdType::kIpv4Addr, {192, 0, 2, 1}}), (Bytes{1, 0, 0, 0, 192, 0, 2, 1}));
    EXPECT_EQ(build_delete(DeletePayload{ProtocolId::kEsp, {0x01020304}}), (Bytes{3, 4, 0, 1, 1, 2, 3, 4}));
    EXPECT_EQ(build_delete(DeletePayload{ProtocolId::kIke, {}}), (Bytes{1, 0, 0, 0}));
    EXPECT_EQ(build_ts(TsPayload{{TrafficSelector{TsType::kIpv4AddrRange, 6, 80, 443, IpAddr::v4(0x0a000001),
                                                  IpAddr::v4(0x0a0000fe)}}}),
              (Bytes{1, 0, 0, 0, 7, 6, 0, 16, 0, 80, 0x01, 0xbb, 10, 0, 0, 1, 10, 0, 0, 0xfe}));
    EXPECT_EQ(build_cert(CertPayload{cert_encoding::kX509Signature, {0x30}}), (Bytes{4, 0x30}));
}

// Every payload type in one message, ending with SK: build, parse, the same message; then
// each body back into the same typed payload.
TEST(IkeMessage, RoundTripWithEveryPayloadType) {
    const TsPayload tsi{{TrafficSelector{TsType::kIpv4AddrRange, 0, 0, 65535, IpAddr::v4(0x0a000000),
                                         IpAddr::v4(0x0a0000ff)}}};
    const TsPayload tsr{{TrafficSelector{TsType::kIpv6AddrRange, 0, 0, 65535, IpAddr::v6(kV6Net), IpAddr::v6(kV6Top)}}};
    Message m;
    m.header = Header{0x0102030405060708, 0x1112131415161718, 0, ExchangeType::kIkeAuth, false, false, true, 7};
    const auto raw = [](PayloadType t, Bytes body) { return RawPayload{t, false, 0, std::move(body)}; };
    m.payloads = {
        raw(PayloadType::kIdi, build_id(IdPayload{IdType::kKeyId, counting(8, 0)})),
        raw(PayloadType::kIdr, build_id(IdPayload{IdType::kFqdn, counting(10, 0x61)})),
        raw(PayloadType::kCert, build_cert(CertPayload{cert_encoding::kX509Signature, counting(100, 0)})),
        raw(PayloadType::kCertReq, build_cert(CertPayload{cert_encoding::kX509Signature, counting(20, 5)})),
        raw(PayloadType::kAuth, build_auth(AuthPayload{AuthMethod::kDigitalSignature, counting(64, 1)})),
        raw(PayloadType::kSa, build_sa(child_sa_offer())),
        raw(PayloadType::kTsi, build_ts(tsi)),
        raw(PayloadType::kTsr, build_ts(tsr)),
        raw(PayloadType::kNotify,
            build_notify(NotifyPayload{ProtocolId::kNone, NotifyType::kUseTransportMode, {}, {}})),
        raw(PayloadType::kDelete, build_delete(DeletePayload{ProtocolId::kEsp, {0xc0000001}})),
        raw(PayloadType::kVendorId, build_vendor_id(VendorIdPayload{counting(16, 0xf0)})),
        raw(PayloadType::kKe, build_ke(KePayload{dh_id::kCurve25519, counting(32, 0)})),
        raw(PayloadType::kNonce, build_nonce(NoncePayload{counting(32, 0)})),
        raw(PayloadType{200}, counting(5, 0)),               // unknown, not critical: kept raw
        RawPayload{PayloadType::kConfig, true, 0, {1, 0, 0, 0}},  // known and critical: fine
        RawPayload{PayloadType::kEncrypted, false, 35, counting(48, 0x21)},  // SK { IDi, ... }
    };
    const Bytes wire = build_message(m);
    ASSERT_FALSE(wire.empty());
    EXPECT_EQ(wire[16], 35) << "header names the first payload, IDi";
    EXPECT_EQ(wire[19], 0x20) << "R flag only";
    EXPECT_EQ((uint32_t{wire[24]} << 24 | uint32_t{wire[25]} << 16 | uint32_t{wire[26]} << 8 | wire[27]), wire.size());
    EXPECT_EQ(wire[wire.size() - 52], 35) << "SK's Next Payload is its first inner payload";

    const auto back = parse_message(wire);
    ASSERT_TRUE(back.ok()) << describe(back.error());
    EXPECT_EQ(*back, m);
    EXPECT_EQ(back->payloads[13].type, PayloadType{200});
    EXPECT_EQ(back->payloads[15].inner_next, 35);

    EXPECT_EQ(*parse_id(back->payloads[0].body), (IdPayload{IdType::kKeyId, counting(8, 0)}));
    EXPECT_EQ(parse_cert(back->payloads[3].body)->data, counting(20, 5));
    EXPECT_EQ(parse_auth(back->payloads[4].body)->method, AuthMethod::kDigitalSignature);
    EXPECT_EQ(*parse_sa(back->payloads[5].body), child_sa_offer());
    EXPECT_EQ(*parse_ts(back->payloads[6].body), tsi);
    EXPECT_EQ(*parse_ts(back->payloads[7].body), tsr);
    EXPECT_EQ(parse_notify(back->payloads[8].body)->type, NotifyType::kUseTransportMode);
    EXPECT_EQ(parse_delete(back->payloads[9].body)->spis, std::vector<uint32_t>{0xc0000001});

    // Flags: each bit where RFC 7296 §3.1 puts it.
    Message f;
    f.header.initiator = f.header.higher_version = f.header.response = true;
    EXPECT_EQ(build_message(f)[19], 0x38);
    f.header.response = false;
    EXPECT_EQ(build_message(f)[19], 0x18);
}

TEST(IkeMessage, HeaderOnlyMessageAndMinorVersion) {
    Bytes wire = ike_sa_init_request();
    wire.resize(kHeaderSize);
    wire[16] = 0;  // no payload
    set_length(wire);
    auto m = parse_message(wire);
    ASSERT_TRUE(m.ok()) << describe(m.error());
    EXPECT_TRUE(m->payloads.empty());
    wire[17] = 0x21;  // version 2.1: the minor version is ignored (§2.5)
    m = parse_message(wire);
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(m->header.minor_version, 1);
}

// --- Message rejections ------------------------------------------------------------------------

TEST(IkeMessageRejects, ShorterThanTheHeader) {
    EXPECT_EQ(kind_of(parse_message({})), K::kTooShort);
    const Bytes wire = ike_sa_init_request();
    const auto r = parse_message(std::span(wire).first(27));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind, K::kTooShort);
    EXPECT_EQ(r.error().value, 27u);
}

TEST(IkeMessageRejects, LengthFieldIsNotTheDatagramSize) {
    Bytes wire = ike_sa_init_request();
    wire[27] = 245;
    auto r = parse_message(wire);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind, K::kLengthMismatch);
    EXPECT_EQ(r.error().offset, 24u);
    EXPECT_EQ(r.error().value, 245u);
    wire[27] = 244;
    wire.push_back(0);  // one octet more than the header says
    r = parse_message(wire);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind, K::kLengthMismatch);
    EXPECT_EQ(r.error().value, 244u);
    EXPECT_NE(describe(r.error()).find("length mismatch at 24 (value 244)"), std::string::npos) << describe(r.error());
}

TEST(IkeMessageRejects, MajorVersionOtherThanTwoIsReported) {
    for (uint8_t major : {0, 1, 3, 15}) {
        Bytes wire = ike_sa_init_request();
        wire[17] = static_cast<uint8_t>(major << 4);
        wire[27] = 0;  // a wrong length too: the version is what the answer needs
        const auto r = parse_message(wire);
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.error().kind, K::kInvalidMajorVersion) << int(major);
        EXPECT_EQ(r.error().value, major);
        EXPECT_EQ(r.error().offset, 17u);
    }
}

TEST(IkeMessageRejects, PayloadLengthBelowItsHeader) {
    Bytes wire = ike_sa_init_request();
    wire[kSaAt + 3] = 3;
    const auto r = parse_message(wire);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind, K::kPayloadTooShort);
    EXPECT_EQ(r.error().offset, kSaAt);
    EXPECT_EQ(r.error().value, 3u);
}

TEST(IkeMessageRejects, PayloadRunningPastTheEnd) {
    Bytes wire = ike_sa_init_request();
    wire[kNatdDstAt + 3] = 29;
    const auto r = parse_message(wire);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind, K::kPayloadOverrun);
    EXPECT_EQ(r.error().offset, kNatdDstAt);
    EXPECT_EQ(r.error().value, 29u);
    wire = ike_sa_init_request();
    wire[kSaAt + 2] = 0xff;  // 0xff54: far past the end
    EXPECT_EQ(kind_of(parse_message(wire)), K::kPayloadOverrun);
}

TEST(IkeMessageRejects, ChainNotEndingAtTheMessageEnd) {
    // The last payload names one more, but the message ends.
    Bytes wire = ike_sa_init_request();
    wire[kNatdDstAt] = 43;
    auto r = parse_message(wire);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind, K::kPayloadHeaderTruncated);
    EXPECT_EQ(r.error().offset, kSize);
    EXPECT_EQ(r.error().value, 43u);
    // Octets after the payload that says it is the last.
    wire = ike_sa_init_request();
    add(wire, {0, 0, 0, 4});
    set_length(wire);
    r = parse_message(wire);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind, K::kTrailingData);
    EXPECT_EQ(r.error().offset, kSize);
    EXPECT_EQ(r.error().value, 4u);
    // A header that names no payload in front of payloads.
    wire = ike_sa_init_request();
    wire[16] = 0;
    r = parse_message(wire);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind, K::kTrailingData);
    EXPECT_EQ(r.error().offset, kSaAt);
    EXPECT_EQ(r.error().value, kSize - kSaAt);
}

Message with_payload_after_ke(RawPayload extra) {
    auto m = parse_message(ike_sa_init_request());
    Message msg = std::move(m).value();
    msg.payloads.insert(msg.payloads.begin() + 2, std::move(extra));
    return msg;
}

TEST(IkeMessageRejects, UnknownCriticalPayloadTypeIsReported) {
    const Bytes wire = build_message(with_payload_after_ke(RawPayload{PayloadType{99}, true, 0, {1, 2, 3}}));
    const auto r = parse_message(wire);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind, K::kUnsupportedCriticalPayload);
    EXPECT_EQ(r.error().value, 99u);
    EXPECT_EQ(r.error().offset, kNonceAt);
    // Reserved types below SA are unknown too.
    const Bytes low = build_message(with_payload_after_ke(RawPayload{PayloadType{1}, true, 0, {}}));
    EXPECT_EQ(kind_of(parse_message(low)), K::kUnsupportedCriticalPayload);
}

TEST(IkeMessage, UnknownNonCriticalPayloadIsKeptAndSkipped) {
    const Message sent = with_payload_after_ke(RawPayload{PayloadType{99}, false, 0, {1, 2, 3}});
    const auto r = parse_message(build_message(sent));
    ASSERT_TRUE(r.ok()) << describe(r.error());
    ASSERT_EQ(r->payloads.size(), 6u);
    EXPECT_EQ(r->payloads[2], (RawPayload{PayloadType{99}, false, 0, {1, 2, 3}}));
    EXPECT_EQ(r->payloads[3].type, PayloadType::kNonce) << "the chain goes on behind it";
    EXPECT_EQ(*r, sent);
}

TEST(IkeMessageRejects, EncryptedPayloadsMustBeLast) {
    for (PayloadType enc : {PayloadType::kEncrypted, PayloadType::kEncryptedFragment}) {
        Message m;
        m.payloads.push_back(RawPayload{enc, false, 35, counting(40, 0)});
        auto ok = parse_message(build_message(m));
        ASSERT_TRUE(ok.ok()) << describe(ok.error());
        EXPECT_EQ(ok->payloads[0].inner_next, 35);
        EXPECT_EQ(ok->payloads[0].body, counting(40, 0));
        m.payloads.push_back(RawPayload{PayloadType::kNotify, false, 0, {0, 0, 0x40, 0}});
        const auto r = parse_message(build_message(m));
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.error().kind, K::kEncryptedNotLast);
        EXPECT_EQ(r.error().value, static_cast<uint8_t>(enc));
        EXPECT_EQ(r.error().offset, kHeaderSize + 44);
    }
}

TEST(IkeMessage, BuildRefusesABodyTooLargeForItsLength) {
    Message m;
    m.payloads.push_back(RawPayload{PayloadType::kVendorId, false, 0, Bytes(65532, 0)});
    EXPECT_TRUE(build_message(m).empty());
    m.payloads[0].body.resize(65531);
    EXPECT_EQ(build_message(m).size(), kHeaderSize + 65535);
}

// --- SA rejections: offsets are into the SA body of ike_sa_init_request() --------------------------

void expect_sa_error(const Bytes& body, K kind, size_t offset, uint32_t value, SaKind sk = SaKind::kOffer) {
    const auto r = parse_sa(body, sk);
    ASSERT_FALSE(r.ok()) << "expected " << kind;
    EXPECT_EQ(r.error().kind, kind) << describe(r.error());
    EXPECT_EQ(r.error().offset, offset) << describe(r.error());
    EXPECT_EQ(r.error().value, value) << describe(r.error());
}
Bytes sa_with(size_t at, uint8_t v) {
    Bytes b = sa_body_of_request();
    b[at] = v;
    return b;
}

TEST(IkeSaRejects, ProposalLengths) {
    expect_sa_error({}, K::kNoProposal, 0, 0);
    expect_sa_error(Bytes(5, 0), K::kBadProposalLength, 0, 0);
    expect_sa_error(sa_with(3, 7), K::kBadProposalLength, 0, 7);     // shorter than its header
    expect_sa_error(sa_with(47, 37), K::kBadProposalLength, 44, 37);  // past the SA end
    // Room for the header but not the SPI it announces.
    expect_sa_error(Bytes{0, 0, 0, 10, 1, 3, 4, 1, 0, 0}, K::kBadProposalLength, 0, 10);
}

TEST(IkeSaRejects, ProposalNumbersStartAtOneAndCountUp) {
    expect_sa_error(sa_with(4, 2), K::kBadProposalNumber, 4, 2);
    expect_sa_error(sa_with(4, 0), K::kBadProposalNumber, 4, 0);
    expect_sa_error(sa_with(48, 3), K::kBadProposalNumber, 48, 3);
    expect_sa_error(sa_with(48, 1), K::kBadProposalNumber, 48, 1);
    // An accepted SA keeps the number the proposal had in the offer, and is one proposal.
    SaPayload one{{Proposal{2, ProtocolId::kEsp, {1, 2, 3, 4}, {{TransformType::kEncr, encr_id::kAesGcm16, 256, {}}}}}};
    const Bytes accepted = build_sa(one);
    const auto r = parse_sa(accepted, SaKind::kAccepted);
    ASSERT_TRUE(r.ok()) << describe(r.error());
    EXPECT_EQ(r->proposals[0].number, 2);
    expect_sa_error(accepted, K::kBadProposalNumber, 4, 2, SaKind::kOffer);
    expect_sa_error(sa_body_of_request(), K::kBadProposalCount, 44, 0, SaKind::kAccepted);
    one.proposals[0].number = 0;
    expect_sa_error(build_sa(one), K::kBadProposalNumber, 4, 0, SaKind::kAccepted);
}

TEST(IkeSaRejects, LastSubstructureMarkersMustMatchTheLengths) {
    expect_sa_error(sa_with(0, 0), K::kBadLastSubstructure, 0, 0);    // "last", a proposal follows
    expect_sa_error(sa_with(0, 3), K::kBadLastSubstructure, 0, 3);    // a transform's marker
    expect_sa_error(sa_with(44, 2), K::kBadLastSubstructure, 44, 2);  // "more", nothing follows
    expect_sa_error(sa_with(8, 0), K::kBadLastSubstructure, 8, 0);    // first transform says last
    expect_sa_error(sa_with(36, 3), K::kBadLastSubstructure, 36, 3);  // last transform says more
    expect_sa_error(sa_with(20, 2), K::kBadLastSubstructure, 20, 2);  // a proposal's marker
}

TEST(IkeSaRejects, TransformLengthsAndCount) {
    expect_sa_error(sa_with(23, 7), K::kBadTransformLength, 20, 7);  // below the header
    expect_sa_error(sa_with(39, 9), K::kBadTransformLength, 36, 9);  // past the proposal
    expect_sa_error(sa_with(7, 5), K::kBadCount, 8, 5);
    expect_sa_error(sa_with(7, 3), K::kBadCount, 8, 3);
    expect_sa_error(Bytes{0, 0, 0, 8, 1, 1, 0, 0}, K::kBadCount, 8, 0);  // no transform at all
    // Room left in the proposal, less than a transform header.
    expect_sa_error(Bytes{0, 0, 0, 12, 1, 1, 0, 1, 0, 0, 0, 8}, K::kBadTransformLength, 8, 0);
}

TEST(IkeSaRejects, Attributes) {
    expect_sa_error(sa_with(16, 0x00), K::kBadAttribute, 16, 14);  // TLV, length 256: past the end
    Bytes tlv = sa_with(16, 0x00);
    tlv[18] = tlv[19] = 0;  // a TLV Key Length that fits: still not allowed (§3.3.5)
    expect_sa_error(tlv, K::kBadAttribute, 16, 14);
    // Two Key Length attributes.
    SaPayload twice{
        {Proposal{1, ProtocolId::kIke, {}, {{TransformType::kEncr, encr_id::kAesCbc, 128, {0x80, 14, 0, 128}}}}}};
    expect_sa_error(build_sa(twice), K::kBadAttribute, 20, 14);
    // Two octets of attribute: not even a header.
    expect_sa_error(Bytes{0, 0, 0, 18, 1, 1, 0, 1, 0, 0, 0, 10, 1, 0, 0, 12, 0x80, 14}, K::kBadAttribute, 16, 0);
}

TEST(IkeSaRejects, SpiSizeWrongForTheProtocol) {
    // ESP with a 3-octet SPI, then IKE with a 4-octet one.
    expect_sa_error(Bytes{0, 0, 0, 19, 1, 3, 3, 1, 9, 9, 9, 0, 0, 0, 8, 1, 0, 0, 20}, K::kBadSpiSize, 6, 3);
    expect_sa_error(Bytes{0, 0, 0, 20, 1, 1, 4, 1, 9, 9, 9, 9, 0, 0, 0, 8, 1, 0, 0, 20}, K::kBadSpiSize, 6, 4);
}

// --- Other payload rejections ---------------------------------------------------------------------

template <class P>
void expect_error(const P& parsed, K kind, uint32_t value) {
    ASSERT_FALSE(parsed.ok()) << "expected " << kind;
    EXPECT_EQ(parsed.error().kind, kind) << describe(parsed.error());
    EXPECT_EQ(parsed.error().value, value) << describe(parsed.error());
}

TEST(IkePayloadsReject, NonceOutside16To256Octets) {
    expect_error(parse_nonce(counting(15, 0)), K::kBadNonceLength, 15);
    expect_error(parse_nonce(counting(257, 0)), K::kBadNonceLength, 257);
    expect_error(parse_nonce({}), K::kBadNonceLength, 0);
    EXPECT_TRUE(parse_nonce(counting(16, 0)).ok());
    EXPECT_TRUE(parse_nonce(counting(256, 0)).ok());
}

TEST(IkePayloadsReject, FixedFieldsMissing) {
    const Bytes three{1, 2, 3};
    expect_error(parse_ke(three), K::kBodyTooShort, 3);
    expect_error(parse_notify(three), K::kBodyTooShort, 3);
    expect_error(parse_id(three), K::kBodyTooShort, 3);
    expect_error(parse_auth(three), K::kBodyTooShort, 3);
    expect_error(parse_delete(three), K::kBodyTooShort, 3);
    expect_error(parse_ts(three), K::kBodyTooShort, 3);
    expect_error(parse_cert({}), K::kBodyTooShort, 0);
    EXPECT_TRUE(parse_ke(Bytes{0, 14, 0, 0}).ok()) << "the fixed fields are enough";
}

TEST(IkePayloadsReject, NotifySpiPastTheEnd) {
    expect_error(parse_notify(Bytes{3, 4, 0x40, 0x09, 1, 2}), K::kBadSpiSize, 4);
    EXPECT_TRUE(parse_notify(Bytes{3, 4, 0x40, 0x09, 1, 2, 3, 4}).ok());
}

TEST(IkePayloadsReject, DeleteSpiSizeAndCount) {
    expect_error(parse_delete(Bytes{1, 4, 0, 1, 1, 2, 3, 4}), K::kBadSpiSize, 4);  // IKE with an SPI
    expect_error(parse_delete(Bytes{3, 8, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8}), K::kBadSpiSize, 8);
    expect_error(parse_delete(Bytes{7, 4, 0, 0}), K::kBadSpiSize, 4);             // unknown protocol
    expect_error(parse_delete(Bytes{3, 4, 0, 2, 1, 2, 3, 4}), K::kBadCount, 2);  // one SPI of two
    expect_error(parse_delete(Bytes{3, 4, 0, 1, 1, 2, 3, 4, 5}), K::kBadCount, 1);
    expect_error(parse_delete(Bytes{1, 0, 0, 1}), K::kBadCount, 1);  // IKE: no SPIs
}

TEST(IkePayloadsReject, TrafficSelectors) {
    const Bytes one = build_ts(TsPayload{{TrafficSelector{TsType::kIpv4AddrRange, 0, 0, 65535, IpAddr::v4(1),
                                                          IpAddr::v4(2)}}});
    ASSERT_EQ(one.size(), 20u);
    Bytes b = one;
    b[0] = 2;  // two counted, one there
    expect_error(parse_ts(b), K::kBadCount, 2);
    b = one;
    b[0] = 0;  // none counted, one there
    expect_error(parse_ts(b), K::kBadCount, 0);
    b = one;
    b[7] = 24;  // an IPv4 range is 16 octets
    expect_error(parse_ts(b), K::kBadSelectorLength, 24);
    b = one;
    b[4] = 8;  // IPv6 type, IPv4 length
    expect_error(parse_ts(b), K::kBadSelectorLength, 16);
    b = one;
    b[4] = 10;  // TS_SECLABEL (RFC 9478): not supported here
    expect_error(parse_ts(b), K::kUnsupportedSelectorType, 10);
    b = one;
    b.push_back(0);
    expect_error(parse_ts(b), K::kBadCount, 1);
    b = one;
    b.resize(22);
    b[0] = 2;  // the second selector's header cut short
    expect_error(parse_ts(b), K::kBadSelectorLength, 0);
}

// --- Sweeps ------------------------------------------------------------------------------------------

// Parses every payload body with the parser its type calls for; a body that parses must come
// back the same through build and parse. Returns how many bodies were rejected.
template <class P, class B>
int check_body(const P& parsed, B build, const auto& parse) {
    if (!parsed.ok()) {
        EXPECT_NE(parsed.error().what[0], '\0');
        return 1;
    }
    const auto again = parse(build(*parsed));
    EXPECT_TRUE(again.ok());
    if (again.ok()) {
        EXPECT_EQ(*again, *parsed);
    }
    return 0;
}
int parse_bodies(const Message& m) {
    int rejected = 0;
    for (const RawPayload& p : m.payloads) {
        const std::span<const uint8_t> b = p.body;
        switch (p.type) {
            case PayloadType::kSa:
                rejected += check_body(parse_sa(b), build_sa, [](const Bytes& x) { return parse_sa(x); });
                // The request's SA is an offer; as an answer it is wrong, so not counted.
                check_body(parse_sa(b, SaKind::kAccepted), build_sa,
                           [](const Bytes& x) { return parse_sa(x, SaKind::kAccepted); });
                break;
            case PayloadType::kKe: rejected += check_body(parse_ke(b), build_ke, parse_ke); break;
            case PayloadType::kNonce: rejected += check_body(parse_nonce(b), build_nonce, parse_nonce); break;
            case PayloadType::kNotify: rejected += check_body(parse_notify(b), build_notify, parse_notify); break;
            case PayloadType::kIdi:
            case PayloadType::kIdr: rejected += check_body(parse_id(b), build_id, parse_id); break;
            case PayloadType::kAuth: rejected += check_body(parse_auth(b), build_auth, parse_auth); break;
            case PayloadType::kVendorId:
                rejected += check_body(parse_vendor_id(b), build_vendor_id, parse_vendor_id);
                break;
            case PayloadType::kDelete: rejected += check_body(parse_delete(b), build_delete, parse_delete); break;
            case PayloadType::kTsi:
            case PayloadType::kTsr: rejected += check_body(parse_ts(b), build_ts, parse_ts); break;
            case PayloadType::kCert:
            case PayloadType::kCertReq: rejected += check_body(parse_cert(b), build_cert, parse_cert); break;
            default: break;
        }
    }
    return rejected;
}

TEST(IkeMessageSweep, EveryPrefixIsRejected) {
    const Bytes wire = ike_sa_init_request();
    for (size_t n = 0; n < wire.size(); ++n) {
        Bytes cut(wire.begin(), wire.begin() + static_cast<ptrdiff_t>(n));
        auto r = parse_message(cut);
        ASSERT_FALSE(r.ok()) << n;
        EXPECT_EQ(r.error().kind, n < kHeaderSize ? K::kTooShort : K::kLengthMismatch) << n;
        if (n < kHeaderSize) continue;
        // With a Length that agrees, the chain itself must notice the cut.
        set_length(cut);
        r = parse_message(cut);
        ASSERT_FALSE(r.ok()) << n;
        const bool at_boundary = n == kSaAt || n == kKeAt || n == kNonceAt || n == kNatdSrcAt || n == kNatdDstAt;
        if (at_boundary) {
            EXPECT_EQ(r.error().kind, K::kPayloadHeaderTruncated) << n;
        }
        EXPECT_TRUE(r.error().kind == K::kPayloadHeaderTruncated || r.error().kind == K::kPayloadOverrun)
            << n << ": " << describe(r.error());
    }
}

TEST(IkeMessageSweep, EveryPrefixOfStructuredBodiesIsRejected) {
    const Bytes sa = sa_body_of_request();
    for (size_t n = 0; n < sa.size(); ++n) EXPECT_FALSE(parse_sa(std::span(sa).first(n)).ok()) << n;
    const Bytes ts = build_ts(TsPayload{{TrafficSelector{TsType::kIpv4AddrRange, 6, 1, 2, IpAddr::v4(1), IpAddr::v4(2)},
                                         TrafficSelector{TsType::kIpv6AddrRange, 0, 0, 65535, IpAddr::v6(kV6Net),
                                                         IpAddr::v6(kV6Top)}}});
    for (size_t n = 0; n < ts.size(); ++n) EXPECT_FALSE(parse_ts(std::span(ts).first(n)).ok()) << n;
    const Bytes del = build_delete(DeletePayload{ProtocolId::kEsp, {1, 2, 3}});
    for (size_t n = 0; n < del.size(); ++n) EXPECT_FALSE(parse_delete(std::span(del).first(n)).ok()) << n;
}

// Every single-octet corruption (each bit, and all bits) of the request: a clean error or a
// message whose payloads parse or are rejected cleanly. Where the outcome is certain, it is
// checked.
TEST(IkeMessageSweep, EverySingleByteCorruptionParsesOrIsRejectedCleanly) {
    const Bytes wire = ike_sa_init_request();
    int messages_rejected = 0, bodies_rejected = 0, accepted = 0;
    for (size_t pos = 0; pos < wire.size(); ++pos) {
        for (uint8_t mask : {0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff}) {
            Bytes bad = wire;
            bad[pos] ^= mask;
            const auto r = parse_message(bad);
            // Certain to parse: SPIs, exchange type, flags, message ID, the minor version, and
            // everything in payload bodies and the C/RESERVED octets (all payloads are known).
            bool in_chain_field = false;
            for (size_t at : {kSaAt, kKeAt, kNonceAt, kNatdSrcAt, kNatdDstAt})
                in_chain_field |= pos == at || pos == at + 2 || pos == at + 3;
            const bool certain = pos < 16 || pos == 18 || pos == 19 || (pos >= 20 && pos < 24) ||
                                 (pos == 17 && !(mask & 0xf0)) || (pos >= kHeaderSize && !in_chain_field);
            if (certain) {
                EXPECT_TRUE(r.ok()) << pos << "^" << int(mask) << ": " << describe(r.error());
            }
            if (pos >= 24 && pos < 28) {
                EXPECT_EQ(kind_of(r), K::kLengthMismatch) << pos;
            }
            if (pos == 17 && (mask & 0xf0)) {
                EXPECT_EQ(kind_of(r), K::kInvalidMajorVersion) << int(mask);
            }
            if (!r.ok()) {
                ++messages_rejected;
                EXPECT_LE(r.error().offset, bad.size());
                EXPECT_NE(r.error().what[0], '\0');
                continue;
            }
            ++accepted;
            bodies_rejected += parse_bodies(*r);
            const auto again = parse_message(build_message(*r));
            ASSERT_TRUE(again.ok()) << pos;
            EXPECT_EQ(*again, *r) << pos;
        }
    }
    EXPECT_GT(messages_rejected, 100);
    EXPECT_GT(bodies_rejected, 100) << "SA corruptions are caught by parse_sa";
    EXPECT_GT(accepted, 1000);
}

// Random corruption, truncation and growth with a Length that agrees, so the chain and the
// payload parsers see it; fixed seed, so a failure repeats.
TEST(IkeMessageSweep, RandomCorruptionNeverCrashes) {
    const Bytes wire = ike_sa_init_request();
    std::mt19937 rng(20261202);
    int ok = 0;
    for (int i = 0; i < 20000; ++i) {
        Bytes bad = wire;
        const int edits = 1 + static_cast<int>(rng() % 4);
        for (int e = 0; e < edits; ++e)
            bad[kHeaderSize + rng() % (bad.size() - kHeaderSize)] = static_cast<uint8_t>(rng());
        if (rng() % 4 == 0) bad.resize(kHeaderSize + rng() % (wire.size() + 16 - kHeaderSize), 0);
        if (rng() % 2) set_length(bad);
        const auto r = parse_message(bad);
        if (!r.ok()) continue;
        ++ok;
        parse_bodies(*r);
        const auto again = parse_message(build_message(*r));
        ASSERT_TRUE(again.ok()) << i;
        EXPECT_EQ(*again, *r) << i;
    }
    EXPECT_GT(ok, 100);
}

}  // namespace
