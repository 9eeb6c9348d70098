// Writes the fuzz targets' seed corpora: fuzz_seeds <dir> fills <dir>/fuzz_ike_message,
// <dir>/fuzz_ike_responder and <dir>/fuzz_ike_crypto_parsers. The checked-in corpus
// (tests/fuzz/corpus/) was made with it; run it again when an input format changes:
//   build-fuzz/tests/fuzz/fuzz_seeds tests/fuzz/corpus
// Messages come from the codec, a test initiator and strongSwan captures (tests/data/);
// responder scripts follow the format described in fuzz_ike_responder.cc. With OpenSSL's
// randomness fixed, the files come out the same every time.
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "espgw/ike/config_payload.h"
#include "espgw/ike/encrypted.h"
#include "espgw/ike/key_exchange.h"
#include "espgw/ike/message.h"
#include "espgw/ike/payloads.h"
#include "espgw/ike/proposals.h"
#include "espgw/ike/signature_auth.h"
#include "espgw/ike/traffic_selectors.h"
#include "fuzz_support.h"
#include "ike_test_peer.h"

using namespace espgw;
using namespace espgw::ike;
namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

namespace {

fs::path out_dir;

void write(const std::string& target, const std::string& name, const Bytes& b) {
    const fs::path dir = out_dir / target;
    fs::create_directories(dir);
    std::ofstream(dir / name, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), static_cast<long>(b.size()));
}

Bytes read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), {});
}

Bytes text(const std::string& s) { return Bytes(s.begin(), s.end()); }

RawPayload raw(PayloadType t, Bytes body) { return RawPayload{t, false, 0, std::move(body)}; }

OurProposal ours(const char* text, ProtocolId p) {
    std::string err;
    return *parse_proposal(text, p, err);
}

// An offer of one proposal with every transform of `text`.
Proposal offer(const char* text, ProtocolId p, Bytes spi = {}, uint8_t number = 1) {
    const OurProposal o = ours(text, p);
    Proposal r;
    r.number = number;
    r.protocol = p;
    r.spi = std::move(spi);
    for (const auto* list : {&o.encr, &o.prf, &o.integ, &o.dh, &o.esn})
        for (const Transform& t : *list) r.transforms.push_back(t);
    return r;
}

Bytes notify(NotifyType t, Bytes data = {}, ProtocolId p = ProtocolId::kNone, Bytes spi = {}) {
    return build_notify(NotifyPayload{p, t, std::move(spi), std::move(data)});
}

Bytes nonce(uint8_t fill) { return build_nonce(NoncePayload{Bytes(32, fill)}); }

Bytes ts_body(std::initializer_list<const char*> prefixes) {
    TsPayload t;
    for (const char* p : prefixes) t.selectors.push_back(test::ts(p));
    return build_ts(t);
}

Bytes ke_body(DhGroup g) {
    const auto k = KeyExchange::generate(g);
    return build_ke(KePayload{static_cast<uint16_t>(g), k->public_value()});
}

Message message(ExchangeType ex, bool initiator, bool response, uint32_t mid, std::vector<RawPayload> payloads) {
    Message m;
    m.header.spi_i = 0x1122334455667788ull;
    m.header.spi_r = ex == ExchangeType::kIkeSaInit && !response ? 0 : 0x99aabbccddeeff00ull;
    m.header.exchange = ex;
    m.header.initiator = initiator;
    m.header.response = response;
    m.header.message_id = mid;
    m.payloads = std::move(payloads);
    return m;
}

// --- A certificate with its key, for the certificate parsers and IKE_AUTH ----------------------

struct Cert {
    Bytes der;
    EVP_PKEY* key = nullptr;
};

Cert make_cert(bool rsa) {
    Cert c;
    c.key = rsa ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}) : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    X509* x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), rsa ? 2 : 1);
    ASN1_TIME_set_string(X509_getm_notBefore(x), "20200101000000Z");
    ASN1_TIME_set_string(X509_getm_notAfter(x), "20991231235959Z");
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("Example"), -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("host.example.org"), -1,
                               -1, 0);
    X509_set_issuer_name(x, name);
    X509_set_pubkey(x, c.key);
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
    for (auto [nid, value] : {std::pair{NID_subject_alt_name, "DNS:host.example.org,email:bob@example.org,IP:192.0.2.9"},
                              std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
        X509_EXTENSION* e = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
    }
    X509_sign(x, c.key, EVP_sha256());
    unsigned char* der = nullptr;
    const int len = i2d_X509(x, &der);
    c.der.assign(der, der + len);
    OPENSSL_free(der);
    X509_free(x);
    return c;
}

// A signature over octets as OpenSSL makes it (DER for ECDSA); pss: RSASSA-PSS, salt 32.
Bytes sign(EVP_PKEY* key, const EVP_MD* md, const Bytes& octets, bool pss = false) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX* pctx = nullptr;
    EVP_DigestSignInit(ctx, &pctx, md, nullptr, key);
    if (pss) {
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md);
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32);
    }
    size_t len = 0;
    EVP_DigestSign(ctx, nullptr, &len, octets.data(), octets.size());
    Bytes sig(len);
    EVP_DigestSign(ctx, sig.data(), &len, octets.data(), octets.size());
    sig.resize(len);
    EVP_MD_CTX_free(ctx);
    return sig;
}

// r | s, 32 octets each, from a DER ECDSA signature.
Bytes raw_ecdsa(const Bytes& der) {
    const unsigned char* p = der.data();
    ECDSA_SIG* s = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
    Bytes out(64);
    BN_bn2binpad(ECDSA_SIG_get0_r(s), out.data(), 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(s), out.data() + 32, 32);
    ECDSA_SIG_free(s);
    return out;
}

// Method 14 AUTH data: AlgorithmIdentifier length, AlgorithmIdentifier, signature.
Bytes digital_signature(const SignatureAlgorithm& a, const Bytes& sig) {
    const Bytes id = build_signature_algorithm(a);
    Bytes out{static_cast<uint8_t>(id.size())};
    out.insert(out.end(), id.begin(), id.end());
    out.insert(out.end(), sig.begin(), sig.end());
    return out;
}

// --- fuzz_ike_message ---------------------------------------------------------------------------

void message_seeds(const Cert& ec) {
    const std::string t = "fuzz_ike_message";
    const fs::path data = fs::path(ESPGW_SOURCE_DIR) / "tests" / "data";
    for (const char* f : {"strongswan_ike_sa_init.bin", "strongswan_auth_init_request.bin",
                          "strongswan_auth_init_response.bin", "strongswan_auth_auth_request.bin"})
        write(t, f, read_file(data / f));

    test::TestInitiator peer({net::IpAddr::v4(0x0a090002), 500}, {net::IpAddr::v4(0xc0000201), 500}, "psk",
                             "alice@example.net");
    write(t, "sa_init_request.bin", peer.sa_init().message);
    write(t, "sa_init_with_cookie.bin", peer.sa_init(Bytes(24, 0xc0)).message);

    // Every payload type in the clear (the codec does not care which exchange may carry what).
    Transform with_attrs{TransformType::kEncr, encr_id::kAesCbc, 256, {0x80, 0x01, 0x00, 0x05, 0x00, 0x02, 0x00, 0x01, 0xee}};
    Proposal odd = offer("aes128-sha256-modp2048", ProtocolId::kIke);
    odd.number = 2;
    odd.transforms.push_back(with_attrs);
    CpPayload cp{CfgType::kRequest, {{cfg_attr::kInternalIp4Address, {}}, {cfg_attr::kInternalIp6Address, {}},
                                     {cfg_attr::kInternalIp4Dns, {}}, {0x7000, {1, 2, 3}}}};
    std::vector<RawPayload> all = {
        raw(PayloadType::kSa, build_sa(SaPayload{{offer("aes128gcm16-prfsha256-curve25519-ecp256", ProtocolId::kIke), odd}})),
        raw(PayloadType::kKe, build_ke(KePayload{dh_id::kCurve25519, Bytes(32, 0x09)})),
        raw(PayloadType::kIdi, build_id(IdPayload{IdType::kRfc822Addr, text("alice@example.net")})),
        raw(PayloadType::kIdr, build_id(IdPayload{IdType::kFqdn, text("gw.example.net")})),
        raw(PayloadType::kCert, build_cert(CertPayload{cert_encoding::kX509Signature, ec.der})),
        raw(PayloadType::kCertReq, build_cert(CertPayload{cert_encoding::kX509Signature, Bytes(40, 0x44)})),
        raw(PayloadType::kAuth, build_auth(AuthPayload{AuthMethod::kSharedKeyMic, Bytes(32, 0xa0)})),
        raw(PayloadType::kNonce, nonce(0x4e)),
        raw(PayloadType::kNotify, notify(NotifyType::kRekeySa, {}, ProtocolId::kEsp, {1, 2, 3, 4})),
        raw(PayloadType::kNotify, notify(NotifyType::kSignatureHashAlgorithms, {0, 2, 0, 3, 0, 4})),
        raw(PayloadType::kDelete, build_delete(DeletePayload{ProtocolId::kEsp, {0xc0000001, 0xc0000002, 7}})),
        raw(PayloadType::kDelete, build_delete(DeletePayload{ProtocolId::kIke, {}})),
        raw(PayloadType::kVendorId, text("espgw fuzz")),
        raw(PayloadType::kTsi, ts_body({"10.3.0.1/32", "2001:db8::/64"})),
        raw(PayloadType::kTsr, ts_body({"0.0.0.0/0"})),
        raw(PayloadType::kConfig, build_cp(cp)),
        raw(PayloadType::kEap, {1, 2, 0, 5, 1}),
        RawPayload{PayloadType{200}, false, 0, {0xde, 0xad}},
    };
    write(t, "all_payloads.bin", build_message(message(ExchangeType::kIkeAuth, true, false, 1, all)));

    // An SK payload whose body is a plaintext chain (as the target reads it, too).
    const std::vector<RawPayload> inner = {
        raw(PayloadType::kNotify, notify(NotifyType::kUseTransportMode)),
        raw(PayloadType::kSa, build_sa(SaPayload{{offer("aes128gcm16-esn", ProtocolId::kEsp, {0xa1, 0xa2, 0xa3, 0xa4})}})),
        raw(PayloadType::kNonce, nonce(0x11)),
        raw(PayloadType::kTsi, ts_body({"*"})),
        raw(PayloadType::kTsr, ts_body({"10.1.0.0/24"})),
    };
    RawPayload sk{PayloadType::kEncrypted, false, static_cast<uint8_t>(PayloadType::kNotify), build_payloads(inner)};
    write(t, "sk_plain_chain.bin", build_message(message(ExchangeType::kCreateChildSa, true, false, 2, {sk})));
    Bytes skf_body = {0, 1, 0, 2};
    skf_body.insert(skf_body.end(), 40, 0x33);
    write(t, "skf.bin",
          build_message(message(ExchangeType::kIkeAuth, false, true, 1,
                                {RawPayload{PayloadType::kEncryptedFragment, false, 35, skf_body}})));
    write(t, "create_child_clear.bin", build_message(message(ExchangeType::kCreateChildSa, false, true, 3, inner)));
    write(t, "accepted_sa.bin",
          build_message(message(ExchangeType::kIkeSaInit, false, true, 0,
                                {raw(PayloadType::kSa, build_sa(SaPayload{{offer("aes256-sha384-ecp384", ProtocolId::kIke)}})),
                                 raw(PayloadType::kKe, ke_body(DhGroup::ecp384)), raw(PayloadType::kNonce, nonce(7)),
                                 raw(PayloadType::kNotify, notify(NotifyType::kIkev2FragmentationSupported))})));
    write(t, "informational_delete.bin",
          build_message(message(ExchangeType::kInformational, true, false, 5,
                                {raw(PayloadType::kDelete, build_delete(DeletePayload{ProtocolId::kEsp, {0xc0000001}}))})));
    write(t, "empty_informational.bin", build_message(message(ExchangeType::kInformational, false, true, 9, {})));
}

// --- fuzz_ike_responder --------------------------------------------------------------------------

enum Op : uint8_t { kRaw, kSk, kSkList, kAnswer, kSkf, kTick, kLimit, kMoved, kInit, kList, kAgain, kDown, kReply, kAuth, kPump, kAcquire };
enum Ex : uint8_t { kExAuth = 0, kExChild = 1, kExInfo = 2 };

class Script {
public:
    explicit Script(uint8_t setup) : b_{setup} {}
    Script& raw(uint8_t f, const Bytes& msg) { return op(kRaw, f).blob(msg); }
    Script& sk(uint8_t f, uint8_t first, const Bytes& chain) {
        Bytes d{first};
        d.insert(d.end(), chain.begin(), chain.end());
        return op(kSk, f).blob(d);
    }
    Script& list(Op o, uint8_t f, const std::vector<RawPayload>& ps) {
        op(o, f);
        b_.push_back(static_cast<uint8_t>(ps.size()));
        for (const RawPayload& p : ps) {
            b_.push_back(static_cast<uint8_t>(p.type));
            b_.push_back(p.critical);
            blob(p.body);
        }
        return *this;
    }
    Script& skf(uint8_t f, uint8_t number, uint8_t total, uint8_t first, const Bytes& plain) {
        op(kSkf, f);
        b_.insert(b_.end(), {number, total, first});
        return blob(plain);
    }
    Script& tick(uint8_t d) {
        op(kTick, 0);
        b_.push_back(d);
        return *this;
    }
    Script& limit(uint8_t f, uint8_t index) {
        op(kLimit, f);
        b_.push_back(index);
        return *this;
    }
    Script& moved(uint8_t index, uint16_t port) {
        op(kMoved, 0);
        b_.insert(b_.end(), {index, static_cast<uint8_t>(port >> 8), static_cast<uint8_t>(port)});
        return *this;
    }
    Script& reply(const Bytes& msg) { return op(kReply, 0).blob(msg); }
    Script& octet(uint8_t v) {
        b_.push_back(v);
        return *this;
    }
    Script& op(Op o, uint8_t f) {
        b_.push_back(static_cast<uint8_t>(f << 4 | o));
        return *this;
    }
    Script& blob(const Bytes& d) {
        b_.push_back(static_cast<uint8_t>(d.size() >> 8));
        b_.push_back(static_cast<uint8_t>(d.size()));
        b_.insert(b_.end(), d.begin(), d.end());
        return *this;
    }
    const Bytes& bytes() const { return b_; }

private:
    Bytes b_;
};

// Setup octets (fuzz_ike_responder.cc).
constexpr uint8_t kHalfOpen = 1, kEstablished = 2, kFragmenting = 3, kSiteOn = 4, kCbc = 1 << 3, kChacha = 2 << 3, kEcp = 3 << 3,
                  kNatted = 0x20, kTransport = 0x40, kNoCp = 0x80;

// An IKE_SA_INIT request from the codec (a responder header on top of the chain for REPLY).
Bytes sa_init(uint64_t spi_i, std::vector<RawPayload> extra = {}) {
    std::vector<RawPayload> ps = {
        raw(PayloadType::kSa, build_sa(SaPayload{{offer("aes128gcm16-prfsha256-curve25519", ProtocolId::kIke)}})),
        raw(PayloadType::kKe, build_ke(KePayload{dh_id::kCurve25519, KeyExchange::generate(DhGroup::curve25519)->public_value()})),
        raw(PayloadType::kNonce, nonce(0x21)),
    };
    ps.insert(ps.end(), extra.begin(), extra.end());
    Message m = message(ExchangeType::kIkeSaInit, true, false, 0, ps);
    m.header.spi_i = spi_i;
    return build_message(m);
}

void responder_seeds() {
    const std::string t = "fuzz_ike_responder";
    const auto put = [&](const std::string& name, const Script& s) { write(t, name + ".bin", s.bytes()); };

    // Stage 0: the engine on its own.
    test::TestInitiator peer({net::IpAddr::v4(0xc6336402), 500}, {net::IpAddr::v4(0xc0000201), 500},
                             "fuzz-pre-shared-key-of-some-length", "alice@example.net");
    put("raw_sa_init", Script(0).raw(0, peer.sa_init().message).op(kAgain, 0).tick(130));
    put("raw_sa_init_fragmentation",
        Script(0).raw(0, sa_init(0x0101010101010101ull,
                                 {raw(PayloadType::kNotify, notify(NotifyType::kIkev2FragmentationSupported)),
                                  raw(PayloadType::kNotify, notify(NotifyType::kSignatureHashAlgorithms, {0, 2, 0, 4})),
                                  raw(PayloadType::kNotify, notify(NotifyType::kNatDetectionSourceIp, Bytes(20, 1))),
                                  raw(PayloadType::kNotify, notify(NotifyType::kNatDetectionDestinationIp, Bytes(20, 2)))})));
    {
        Script s(0);
        for (uint8_t k = 1; k <= 6; ++k) s.raw(static_cast<uint8_t>((k % 3) << 2), sa_init(0x0202020202020200ull + k));
        s.raw(0, sa_init(0x0303030303030303ull, {raw(PayloadType::kNotify, notify(NotifyType::kCookie, Bytes(32, 0x77)))}));
        put("raw_sa_init_flood", s.tick(127));
    }
    put("raw_sa_init_ecp_invalid_ke",
        Script(0).raw(0, build_message(message(ExchangeType::kIkeSaInit, true, false, 0,
                                               {raw(PayloadType::kSa, build_sa(SaPayload{{offer("aes128gcm16-prfsha256-ecp256-curve25519", ProtocolId::kIke)}})),
                                                raw(PayloadType::kKe, ke_body(DhGroup::curve25519)),
                                                raw(PayloadType::kNonce, nonce(3))}))));
    put("raw_garbage_nat_t", Script(0).raw(1, Bytes(40, 0)).raw(2 | 8, Bytes(36, 0x25)).raw(0, {0x01}));

    // Stage 1: IKE_SA_INIT done; IKE_AUTH is up to the script.
    put("auth_bad_psk", Script(kHalfOpen).list(kSkList, kExAuth,
                                               {raw(PayloadType::kIdi, build_id(IdPayload{IdType::kRfc822Addr, text("alice@example.net")})),
                                                raw(PayloadType::kAuth, build_auth(AuthPayload{AuthMethod::kSharedKeyMic, Bytes(32, 1)}))}));
    const std::vector<RawPayload> child = {
        raw(PayloadType::kSa, build_sa(SaPayload{{offer("aes128gcm16", ProtocolId::kEsp, {0xa1, 0xa2, 0xa3, 0xa4}),
                                                  offer("aes256-sha256", ProtocolId::kEsp, {0xa1, 0xa2, 0xa3, 0xa5}, 2)}})),
        raw(PayloadType::kTsi, ts_body({"0.0.0.0/0", "::/0"})),
        raw(PayloadType::kTsr, ts_body({"10.1.0.0/16", "2001:db8:1::/48"})),
    };
    {
        std::vector<RawPayload> ps = {
            raw(PayloadType::kIdr, build_id(IdPayload{IdType::kFqdn, text("gw.example.net")})),
            raw(PayloadType::kNotify, notify(NotifyType::kInitialContact)),
            raw(PayloadType::kConfig,
                build_cp(CpPayload{CfgType::kRequest, {{cfg_attr::kInternalIp4Address, {}}, {cfg_attr::kInternalIp6Address, {}},
                                                       {cfg_attr::kInternalIp4Dns, {}}, {cfg_attr::kInternalIp6Dns, {}}}})),
        };
        ps.insert(ps.end(), child.begin(), child.end());
        put("auth_psk_cp_v4_v6", Script(kHalfOpen).list(kAuth, 0, ps).op(kList, 0).tick(200));
        ps.insert(ps.begin(), raw(PayloadType::kNotify, notify(NotifyType::kUseTransportMode)));
        put("auth_psk_transport_nat", Script(kHalfOpen | kNatted | kChacha).list(kAuth, 0, ps).moved(0, 31001));
    }
    put("auth_psk_no_child", Script(kHalfOpen | kCbc).list(kAuth, 0, {}).tick(1).list(kAuth, 4, {}));
    put("auth_timeout", Script(kHalfOpen).tick(127).tick(127).tick(127).tick(127));
    {
        const Cert ec = make_cert(false);
        put("auth_certificate",
            Script(kHalfOpen).list(kSkList, kExAuth,
                                   {raw(PayloadType::kIdi, build_id(IdPayload{IdType::kFqdn, text("host.example.org")})),
                                    raw(PayloadType::kCert, build_cert(CertPayload{cert_encoding::kX509Signature, ec.der})),
                                    raw(PayloadType::kCertReq, build_cert(CertPayload{cert_encoding::kX509Signature, Bytes(20, 9)})),
                                    raw(PayloadType::kAuth, build_auth(AuthPayload{AuthMethod::kDigitalSignature,
                                                                                   digital_signature({SignatureScheme::kEcdsa, hash_algorithm::kSha2_256},
                                                                                                     Bytes(70, 0x30))}))}));
        EVP_PKEY_free(ec.key);
    }
    {
        // IKE_AUTH in two fragments (the chain cut in the middle of a payload).
        const Bytes chain = build_payloads({raw(PayloadType::kIdi, build_id(IdPayload{IdType::kRfc822Addr, text("alice@example.net")})),
                                            raw(PayloadType::kAuth, build_auth(AuthPayload{AuthMethod::kSharedKeyMic, Bytes(32, 2)}))});
        const Bytes a(chain.begin(), chain.begin() + 30), b(chain.begin() + 30, chain.end());
        put("sk_fragments", Script(kHalfOpen).skf(0, 1, 2, static_cast<uint8_t>(PayloadType::kIdi), a).skf(4, 2, 2, 0, b));
    }
    // Stage 2: established, a CHILD SA installed (its outbound SPI is a1a2a3a4).
    const Bytes old_spi = {0xa1, 0xa2, 0xa3, 0xa4};
    std::vector<RawPayload> new_child = {
        raw(PayloadType::kSa, build_sa(SaPayload{{offer("aes128gcm16", ProtocolId::kEsp, {0xb1, 0xb2, 0xb3, 0xb4})}})),
        raw(PayloadType::kNonce, nonce(0x31)),
        raw(PayloadType::kTsi, ts_body({"10.3.0.1/32"})),
        raw(PayloadType::kTsr, ts_body({"10.1.0.0/24"})),
    };
    put("child_new", Script(kEstablished).list(kSkList, kExChild, new_child).op(kList, 0));
    {
        std::vector<RawPayload> rekey = new_child;
        rekey.insert(rekey.begin(), raw(PayloadType::kNotify, notify(NotifyType::kRekeySa, {}, ProtocolId::kEsp, old_spi)));
        put("child_rekey", Script(kEstablished).list(kSkList, kExChild, rekey)
                               .list(kSkList, kExInfo, {raw(PayloadType::kDelete, build_delete(DeletePayload{ProtocolId::kEsp, {0xa1a2a3a4}}))}));
    }
    put("child_pfs",
        Script(kEstablished | kCbc).list(kSkList, kExChild,
                                         {raw(PayloadType::kSa, build_sa(SaPayload{{offer("aes256-sha256-curve25519", ProtocolId::kEsp, {0xb1, 0xb2, 0xb3, 0xb5})}})),
                                          raw(PayloadType::kNonce, nonce(0x32)), raw(PayloadType::kKe, ke_body(DhGroup::curve25519)),
                                          raw(PayloadType::kTsi, ts_body({"*"})), raw(PayloadType::kTsr, ts_body({"*"}))}));
    put("child_transport_dmz",
        Script(kEstablished | kNoCp).list(kSkList, kExChild,
                                          {raw(PayloadType::kNotify, notify(NotifyType::kUseTransportMode)),
                                           raw(PayloadType::kSa, build_sa(SaPayload{{offer("chacha20poly1305", ProtocolId::kEsp, {0xb1, 0xb2, 0xb3, 0xb6})}})),
                                           raw(PayloadType::kNonce, nonce(0x33)), raw(PayloadType::kTsi, ts_body({"198.51.100.2/32"})),
                                           raw(PayloadType::kTsr, ts_body({"172.16.1.0/24"}))}));
    {
        // The IKE SA rekeyed, then the old one used again and deleted.
        const std::vector<RawPayload> ike_rekey = {
            raw(PayloadType::kSa, build_sa(SaPayload{{offer("aes128gcm16-prfsha256-curve25519", ProtocolId::kIke, Bytes(8, 0x5e))}})),
            raw(PayloadType::kNonce, nonce(0x34)), raw(PayloadType::kKe, ke_body(DhGroup::curve25519))};
        put("ike_rekey", Script(kEstablished).list(kSkList, kExChild, ike_rekey)
                             .list(kSkList, kExChild, new_child)
                             .list(kSkList, kExInfo, {raw(PayloadType::kDelete, build_delete(DeletePayload{ProtocolId::kIke, {}}))})
                             .tick(129));
    }
    {
        // After the IKE SA rekey, a new CHILD SA asked for under the old IKE SA (which gave its
        // peer and virtual IP to the new one).
        const std::vector<RawPayload> ike_rekey = {
            raw(PayloadType::kSa, build_sa(SaPayload{{offer("aes128gcm16-prfsha256-curve25519", ProtocolId::kIke, Bytes(8, 0x5f))}})),
            raw(PayloadType::kNonce, nonce(0x38)), raw(PayloadType::kKe, ke_body(DhGroup::curve25519))};
        std::vector<RawPayload> child_here = new_child;
        child_here[2] = raw(PayloadType::kTsi, ts_body({"198.51.100.2/32"}));
        put("ike_rekey_child_on_old", Script(kEstablished | kNoCp).list(kSkList, kExChild, ike_rekey).list(kSkList, kExChild, child_here));
    }
    put("delete_ike", Script(kEstablished | kEcp).list(kSkList, kExInfo, {raw(PayloadType::kDelete, build_delete(DeletePayload{ProtocolId::kIke, {}}))}).tick(1));
    put("informational_raw_chain",
        Script(kEstablished).sk(kExInfo, static_cast<uint8_t>(PayloadType::kDelete),
                                build_payloads({raw(PayloadType::kDelete, build_delete(DeletePayload{ProtocolId::kEsp, {0xa1a2a3a4, 5}})),
                                                raw(PayloadType::kNotify, notify(NotifyType::kInvalidSyntax))}))
            .op(kAgain, 0)
            .sk(kExInfo | 4, 0, {}));
    put("liveness_answered", Script(kEstablished).tick(128).list(kAnswer, 0, {}).tick(128).tick(128));
    put("liveness_dead", Script(kEstablished | kNatted).tick(128).tick(10).tick(20).tick(40).tick(129).tick(129));
    {
        // The transport-mode child rekeys after 10 minutes; liveness checks answered meanwhile.
        Script s(kEstablished);
        s.list(kSkList, kExChild,
               {raw(PayloadType::kNotify, notify(NotifyType::kUseTransportMode)),
                raw(PayloadType::kSa, build_sa(SaPayload{{offer("chacha20poly1305", ProtocolId::kEsp, {0xb1, 0xb2, 0xb3, 0xb7})}})),
                raw(PayloadType::kNonce, nonce(0x35)), raw(PayloadType::kTsi, ts_body({"198.51.100.2/32"})),
                raw(PayloadType::kTsr, ts_body({"172.16.1.0/24"}))});
        for (int k = 0; k < 11; ++k) s.tick(128).list(kAnswer, 0, {});
        std::vector<RawPayload> accepted = new_child;
        accepted[0] = raw(PayloadType::kSa, build_sa(SaPayload{{offer("chacha20poly1305", ProtocolId::kEsp, {0xb1, 0xb2, 0xb3, 0xb8})}}));
        put("rekey_by_time", s.list(kAnswer, 0, accepted).tick(255));
    }
    put("limits", Script(kEstablished).limit(0, 0).list(kAnswer, 0, {}).limit(3, 0).limit(1, 1).tick(1));
    put("shutdown", Script(kEstablished | kTransport).op(kDown, 0).list(kAnswer, 0, {}).tick(1));
    put("auth_again_and_bad_exchange",
        Script(kEstablished).list(kSkList, kExAuth, {}).op(kSkList, 3).octet(40).octet(0).sk(4, 0, {}).raw(1 | 2, Bytes(60, 0x2e)));
    put("fragments_established",
        Script(kEstablished).skf(kExInfo, 1, 3, static_cast<uint8_t>(PayloadType::kDelete), {})
            .skf(kExInfo | 4, 3, 3, 0, build_payloads({raw(PayloadType::kDelete, build_delete(DeletePayload{ProtocolId::kEsp, {0xa1a2a3a4}}))}))
            .skf(kExInfo | 4, 2, 3, 0, {}));

    // Stage 3: established with fragmentation on both sides; the engine's answers come in
    // fragments.
    put("fragmenting_child_pfs",
        Script(kFragmenting).list(kSkList, kExChild,
                                  {raw(PayloadType::kSa, build_sa(SaPayload{{offer("aes256-sha256-curve25519", ProtocolId::kEsp, {0xb1, 0xb2, 0xb3, 0xb9})}})),
                                   raw(PayloadType::kNonce, nonce(0x36)), raw(PayloadType::kKe, ke_body(DhGroup::curve25519)),
                                   raw(PayloadType::kTsi, ts_body({"*", "::/0"})), raw(PayloadType::kTsr, ts_body({"10.1.0.0/24", "2001:db8:1::/64"}))})
            .op(kAgain, 0));
    put("fragmenting_retransmit", Script(kFragmenting | kNatted | kTransport).op(kAgain, 0).tick(128).list(kAnswer, 0, {}));
    put("fragmenting_ike_rekey",
        Script(kFragmenting | kEcp | kNoCp)
            .list(kSkList, kExChild,
                  {raw(PayloadType::kSa, build_sa(SaPayload{{offer("aes256gcm16-prfsha384-ecp256", ProtocolId::kIke, Bytes(8, 0x6e))}})),
                   raw(PayloadType::kNonce, nonce(0x37)), raw(PayloadType::kKe, ke_body(DhGroup::ecp256))})
            .op(kDown, 0));

    // The site-to-site connection: the engine initiates on a tick; the script answers, or
    // the second engine does (PUMP).
    put("site_pumped", Script(kSiteOn).tick(1).op(kPump, 0).tick(128).op(kPump, 0).op(kList, 0).tick(255).op(kPump, 0));
    put("site_pumped_lossy",
        Script(kSiteOn).tick(1).op(kPump, 1).tick(8).op(kPump, 2).op(kPump, 4).tick(12).op(kPump, 8).op(kPump, 0).op(kDown, 0).op(kPump, 0));
    put("site_on_demand", Script(kSiteOn).tick(1).op(kAcquire, 0).octet(0).op(kPump, 0).op(kAcquire, 0).octet(0).tick(8).op(kPump, 0).op(kList, 0));
    put("site_pumped_with_road_warrior",
        Script(kSiteOn | kEstablished).tick(1).op(kPump, 0).list(kSkList, kExInfo, {}).tick(130).op(kPump, 0).op(kAgain, 0));
    {
        std::vector<RawPayload> answer = {
            raw(PayloadType::kSa, build_sa(SaPayload{{offer("aes128gcm16-prfsha256-curve25519", ProtocolId::kIke)}})),
            raw(PayloadType::kKe, ke_body(DhGroup::curve25519)), raw(PayloadType::kNonce, nonce(0x41)),
            raw(PayloadType::kNotify, notify(NotifyType::kIkev2FragmentationSupported))};
        Message m = message(ExchangeType::kIkeSaInit, false, true, 0, answer);
        put("site_init_answered", Script(kSiteOn).tick(1).reply(build_message(m)).tick(20).tick(200));
        m.payloads = {raw(PayloadType::kNotify, notify(NotifyType::kCookie, Bytes(16, 0xcc)))};
        put("site_cookie", Script(kSiteOn).tick(1).reply(build_message(m)).reply(build_message(m)));
        m.payloads = {raw(PayloadType::kNotify, notify(NotifyType::kInvalidKePayload, {0, 19}))};
        put("site_invalid_ke", Script(kSiteOn).op(kInit, 0).reply(build_message(m)).op(kInit, 1).tick(100).tick(129));
    }
}

// --- fuzz_ike_crypto_parsers -------------------------------------------------------------------

void crypto_seeds(const Cert& ec, const Cert& rsa) {
    const std::string t = "fuzz_ike_crypto_parsers";
    enum Mode : uint8_t { kCertificate, kAlgorithm, kCertReq, kHashAlgorithms, kOpenSk, kOpenSkf, kSealOpen, kTs };
    const Bytes octets(64, 0x5a);  // what the target verifies AUTH over
    const auto cert_seed = [](const Cert& c, AuthMethod m, const Bytes& auth, const std::string& id) {
        Bytes s{kCertificate, static_cast<uint8_t>(c.der.size() >> 8), static_cast<uint8_t>(c.der.size())};
        s.insert(s.end(), c.der.begin(), c.der.end());
        s.push_back(static_cast<uint8_t>(m));
        s.push_back(static_cast<uint8_t>(auth.size() >> 8));
        s.push_back(static_cast<uint8_t>(auth.size()));
        s.insert(s.end(), auth.begin(), auth.end());
        s.insert(s.end(), id.begin(), id.end());
        return s;
    };
    write(t, "cert_ec_classic.bin", cert_seed(ec, static_cast<AuthMethod>(9), raw_ecdsa(sign(ec.key, EVP_sha256(), octets)), "host.example.org"));
    write(t, "cert_ec_rfc7427.bin",
          cert_seed(ec, AuthMethod::kDigitalSignature,
                    digital_signature({SignatureScheme::kEcdsa, hash_algorithm::kSha2_256}, sign(ec.key, EVP_sha256(), octets)),
                    "bob@example.org"));
    write(t, "cert_rsa_classic.bin", cert_seed(rsa, AuthMethod::kRsaSig, sign(rsa.key, EVP_sha1(), octets), "192.0.2.9"));
    write(t, "cert_rsa_pss.bin",
          cert_seed(rsa, AuthMethod::kDigitalSignature,
                    digital_signature({SignatureScheme::kRsaPss, hash_algorithm::kSha2_256, hash_algorithm::kSha2_256, 32},
                                      sign(rsa.key, EVP_sha256(), octets, true)),
                    "host.example.org"));

    const auto with = [](uint8_t mode, Bytes b) {
        b.insert(b.begin(), mode);
        return b;
    };
    write(t, "alg_rsa_sha384.bin", with(kAlgorithm, build_signature_algorithm({SignatureScheme::kRsaPkcs1, hash_algorithm::kSha2_384})));
    write(t, "alg_ecdsa_sha512.bin", with(kAlgorithm, build_signature_algorithm({SignatureScheme::kEcdsa, hash_algorithm::kSha2_512})));
    write(t, "alg_pss.bin", with(kAlgorithm, build_signature_algorithm({SignatureScheme::kRsaPss, hash_algorithm::kSha2_512,
                                                                         hash_algorithm::kSha2_256, 20})));
    write(t, "alg_pss_salt32.bin", with(kAlgorithm, build_signature_algorithm({SignatureScheme::kRsaPss, hash_algorithm::kSha2_256,
                                                                                hash_algorithm::kSha2_384, 32})));
    // sha1WithRSAEncryption without parameters, and id-RSASSA-PSS with empty parameters.
    write(t, "alg_sha1_rsa.bin", {kAlgorithm, 0x30, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05});
    write(t, "alg_pss_defaults.bin",
          {kAlgorithm, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a, 0x30, 0x00});
    write(t, "certreq.bin", with(kCertReq, Bytes(40, 0x3c)));
    write(t, "hash_algorithms.bin", {kHashAlgorithms, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5});

    // SK and SKF sealed with the target's fixed keys (its keys_for()).
    const SkSuite suites[] = {{encr_id::kAesGcm16, 128, 0}, {encr_id::kAesGcm16, 256, 0}, {encr_id::kChacha20Poly1305, 0, 0},
                              {encr_id::kAesCbc, 128, integ_id::kHmacSha1_96}, {encr_id::kAesCbc, 256, integ_id::kHmacSha2_256_128},
                              {encr_id::kAesCbc, 192, integ_id::kHmacSha2_384_192}, {encr_id::kAesCbc, 128, integ_id::kHmacSha2_512_256}};
    const std::vector<RawPayload> inner = {
        raw(PayloadType::kIdi, build_id(IdPayload{IdType::kRfc822Addr, text("alice@example.net")})),
        raw(PayloadType::kAuth, build_auth(AuthPayload{AuthMethod::kSharedKeyMic, Bytes(32, 0xa0)})),
        raw(PayloadType::kTsi, ts_body({"*"}))};
    Header h;
    h.spi_i = 1;
    h.spi_r = 2;
    h.exchange = ExchangeType::kIkeAuth;
    h.initiator = true;
    h.message_id = 1;
    for (uint8_t i = 0; i < 7; ++i) {
        const SkSuite& s = suites[i];
        Bytes e(encr_key_size(s)), a(integ_key_size(s));
        for (size_t k = 0; k < e.size(); ++k) e[k] = static_cast<uint8_t>(0x10 + k);
        for (size_t k = 0; k < a.size(); ++k) a[k] = static_cast<uint8_t>(0xa0 + k);
        const SkKeys keys{Secret(e), Secret(a)};
        const Bytes iv(iv_size(s), i);
        if (i == 0 || i == 2 || i == 4) write(t, "open_sk_" + std::to_string(i) + ".bin", with(kOpenSk, with(i, seal_sk(s, keys, h, inner, iv))));
        if (i == 1 || i == 3) {
            const auto parts = seal_fragments(s, keys, h, inner, 100, [&] { return iv; });
            write(t, "open_skf_" + std::to_string(i) + ".bin", with(kOpenSkf, with(i, parts.front())));
        }
    }
    Bytes so = {kSealOpen, 3, static_cast<uint8_t>(PayloadType::kIdi), 0, 40};
    const Bytes chain = build_payloads(inner);
    so.insert(so.end(), chain.begin(), chain.end());
    write(t, "seal_open.bin", so);
    TsPayload ts;
    for (const char* p : {"10.0.0.0/8", "192.0.2.77/32", "2001:db8::/32", "0.0.0.0/0"}) ts.selectors.push_back(test::ts(p));
    TrafficSelector odd = test::ts("10.1.2.3/32");
    odd.end = net::IpAddr::v4(0x0a0105ff);
    ts.selectors.push_back(odd);
    TrafficSelector ports = test::ts("10.1.0.0/16");
    ports.ip_protocol = 6;
    ports.start_port = ports.end_port = 443;
    ts.selectors.push_back(ports);
    write(t, "traffic_selectors.bin", with(kTs, with(4, build_ts(ts))));
    // An IPv6 range from an IPv4-mapped address to a plain IPv6 one (narrowing used to
    // answer it without any prefix behind it).
    TrafficSelector mapped = test::ts("::/0");
    mapped.start = net::IpAddr::v4(0x0a010000);
    mapped.end = net::parse_prefix("2001:db8::ffff/128")->addr;
    write(t, "traffic_selectors_mapped.bin", with(kTs, with(4, build_ts(TsPayload{{mapped, test::ts("10.1.0.0/24")}}))));
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s <corpus directory>\n", argv[0]);
        return 2;
    }
    out_dir = argv[1];
    espgw::fuzz::deterministic_random(1);  // the same files every time (keys, nonces, signatures)
    const Cert ec = make_cert(false), rsa = make_cert(true);
    message_seeds(ec);
    responder_seeds();
    crypto_seeds(ec, rsa);
    EVP_PKEY_free(ec.key);
    EVP_PKEY_free(rsa.key);
    return 0;
}
