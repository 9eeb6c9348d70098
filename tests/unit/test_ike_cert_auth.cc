// Certificate authentication for IKE_AUTH: signed octets, loading our credentials, AUTH
// signatures in every method and key type (and refusing the wrong ones), chain verification
// against a trust store, identities against certificates, CERTREQ hashes, RFC 7427
// AlgorithmIdentifiers and SIGNATURE_HASH_ALGORITHMS, and RFC 4754 §8.1/§8.2's ECDSA test
// vectors. The PKI is made here with OpenSSL, in a temporary directory, once per run.
#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <stdlib.h>

#include <ctime>
#include <filesystem>
#include <string>
#include <vector>

#include "espgw/ike/cert_auth.h"
#include "espgw/ike/psk_auth.h"

using namespace espgw::ike;

namespace {

using Bytes = std::vector<uint8_t>;

Bytes hex(const std::string& h) {
    Bytes b;
    std::string digits;
    for (char c : h)
        if (c != ' ') digits += c;
    for (size_t k = 0; k + 1 < digits.size(); k += 2)
        b.push_back(static_cast<uint8_t>(std::stoi(digits.substr(k, 2), nullptr, 16)));
    return b;
}
Bytes text(const std::string& s) { return {s.begin(), s.end()}; }

// --- A small PKI -------------------------------------------------------------------------------

struct CertSpec {
    std::string cn = "";
    bool ca = false;
    std::string san = "";             // OpenSSL's syntax: "DNS:a,email:b,IP:c"; empty: none
    long not_before_s = -3600;        // relative to now
    long not_after_s = 365L * 86400;  // relative to now
};
// CAs valid for long, so that verification at a time in the past fails on the end entity.
CertSpec ca_spec(const std::string& cn) { return {cn, true, "", -3L * 365 * 86400, 3L * 365 * 86400}; }

void add_ext(X509* x, X509* issuer, int nid, const std::string& value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, x, nullptr, nullptr, 0);
    X509_EXTENSION* ex = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    ASSERT_NE(ex, nullptr) << value;
    X509_add_ext(x, ex, -1);
    X509_EXTENSION_free(ex);
}

// issuer null: self-signed with key.
X509* make_cert(const CertSpec& spec, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key) {
    static long serial = 1;
    X509* x = X509_new();
    X509_set_version(x, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("espgw test"), -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(spec.cn.c_str()), -1,
                               -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
    X509_gmtime_adj(X509_getm_notBefore(x), spec.not_before_s);
    X509_gmtime_adj(X509_getm_notAfter(x), spec.not_after_s);
    X509_set_pubkey(x, key);
    X509* signer = issuer ? issuer : x;
    add_ext(x, signer, NID_basic_constraints, spec.ca ? "critical,CA:TRUE" : "CA:FALSE");
    add_ext(x, signer, NID_key_usage, spec.ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
    add_ext(x, signer, NID_subject_key_identifier, "hash");
    add_ext(x, signer, NID_authority_key_identifier, "keyid");
    if (!spec.san.empty()) add_ext(x, signer, NID_subject_alt_name, spec.san);
    EXPECT_GT(X509_sign(x, issuer ? issuer_key : key, EVP_sha256()), 0);
    return x;
}

Bytes der_of(X509* x) {
    unsigned char* p = nullptr;
    const int len = i2d_X509(x, &p);
    Bytes out(p, p + len);
    OPENSSL_free(p);
    return out;
}

void write_certs(const std::string& path, std::initializer_list<X509*> certs) {
    BIO* bio = BIO_new_file(path.c_str(), "w");
    ASSERT_NE(bio, nullptr);
    for (X509* x : certs) PEM_write_bio_X509(bio, x);
    BIO_free(bio);
}
void write_key(const std::string& path, EVP_PKEY* key) {
    BIO* bio = BIO_new_file(path.c_str(), "w");
    ASSERT_NE(bio, nullptr);
    PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
    BIO_free(bio);
}

EVP_PKEY* rsa_key() { return EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}); }
EVP_PKEY* ec_key(const char* curve) { return EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve); }

// Everything the tests use, made on first use and removed at exit.
struct Pki {
    std::string dir;
    EVP_PKEY *rsa_ca_key, *p256_ca_key, *p384_ca_key, *inter_key, *unrelated_ca_key;
    EVP_PKEY *rsa_ee_key, *p256_ee_key, *p384_ee_key, *p521_ee_key, *chain_ee_key, *expired_key, *unrelated_ee_key,
        *ed_key;
    X509 *rsa_ca, *p256_ca, *p384_ca, *inter, *unrelated_ca;
    X509 *rsa_ee, *p256_ee, *p384_ee, *p521_ee, *chain_ee, *expired, *unrelated_ee, *ed_ee;
    std::time_t made_at;

    std::string path(const std::string& name) const { return dir + "/" + name; }

    Pki() {
        char tmpl[] = "/tmp/espgw_cert_auth_XXXXXX";
        dir = mkdtemp(tmpl);
        made_at = std::time(nullptr);
        rsa_ca_key = rsa_key();
        p256_ca_key = ec_key("P-256");
        p384_ca_key = ec_key("P-384");
        inter_key = ec_key("P-256");
        unrelated_ca_key = ec_key("P-256");
        rsa_ee_key = rsa_key();
        p256_ee_key = ec_key("P-256");
        p384_ee_key = ec_key("P-384");
        p521_ee_key = ec_key("P-521");
        chain_ee_key = ec_key("P-256");
        expired_key = ec_key("P-256");
        unrelated_ee_key = ec_key("P-256");
        ed_key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");

        rsa_ca = make_cert(ca_spec("espgw RSA CA"), rsa_ca_key, nullptr, nullptr);
        p256_ca = make_cert(ca_spec("espgw P-256 CA"), p256_ca_key, nullptr, nullptr);
        p384_ca = make_cert(ca_spec("espgw P-384 CA"), p384_ca_key, nullptr, nullptr);
        inter = make_cert(ca_spec("espgw intermediate CA"), inter_key, p384_ca, p384_ca_key);
        unrelated_ca = make_cert(ca_spec("unrelated CA"), unrelated_ca_key, nullptr, nullptr);

        rsa_ee = make_cert({"gw.example.net", false, "DNS:gw.example.net,email:user@example.net,IP:192.0.2.1,IP:2001:db8::1"},
                           rsa_ee_key, rsa_ca, rsa_ca_key);
        p256_ee = make_cert({"p256.example.net", false, "DNS:p256.example.net,email:alice@example.net,IP:198.51.100.7"},
                            p256_ee_key, p256_ca, p256_ca_key);
        p384_ee = make_cert({"p384.example.net", false, "DNS:p384.example.net,IP:2001:db8::384"}, p384_ee_key, p384_ca,
                            p384_ca_key);
        p521_ee = make_cert({"p521.example.net", false, "DNS:p521.example.net"}, p521_ee_key, p256_ca, p256_ca_key);
        chain_ee = make_cert({"chain.example.net", false, "DNS:chain.example.net"}, chain_ee_key, inter, inter_key);
        expired = make_cert({"old.example.net", false, "DNS:old.example.net", -2L * 365 * 86400, -365L * 86400},
                            expired_key, p256_ca, p256_ca_key);
        unrelated_ee = make_cert({"gw.example.net", false, "DNS:gw.example.net"}, unrelated_ee_key, unrelated_ca,
                                 unrelated_ca_key);
        ed_ee = make_cert({"ed.example.net", false, "DNS:ed.example.net"}, ed_key, p256_ca, p256_ca_key);

        write_certs(path("cas.pem"), {rsa_ca, p256_ca, p384_ca});
        write_certs(path("rsa.pem"), {rsa_ee});
        write_key(path("rsa.key"), rsa_ee_key);
        write_certs(path("p256.pem"), {p256_ee});
        write_key(path("p256.key"), p256_ee_key);
        write_certs(path("p384.pem"), {p384_ee});
        write_key(path("p384.key"), p384_ee_key);
        write_certs(path("p521.pem"), {p521_ee});
        write_key(path("p521.key"), p521_ee_key);
        write_certs(path("chain.pem"), {chain_ee, inter});  // ours, then the intermediate
        write_key(path("chain.key"), chain_ee_key);
        write_certs(path("ed.pem"), {ed_ee});
        write_key(path("ed.key"), ed_key);
    }
    ~Pki() {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
        for (X509* x : {rsa_ca, p256_ca, p384_ca, inter, unrelated_ca, rsa_ee, p256_ee, p384_ee, p521_ee, chain_ee,
                        expired, unrelated_ee, ed_ee})
            X509_free(x);
        for (EVP_PKEY* k : {rsa_ca_key, p256_ca_key, p384_ca_key, inter_key, unrelated_ca_key, rsa_ee_key, p256_ee_key,
                            p384_ee_key, p521_ee_key, chain_ee_key, expired_key, unrelated_ee_key, ed_key})
            EVP_PKEY_free(k);
    }
};

const Pki& pki() {
    static const Pki p;
    return p;
}

OurCredentials load(const std::string& name) {
    std::string err;
    auto c = OurCredentials::load(pki().path(name + ".pem"), pki().path(name + ".key"), err);
    EXPECT_TRUE(c) << name << ": " << err;
    return c ? *c : OurCredentials{};
}

Certificate cert(X509* x) {
    std::string err;
    auto c = Certificate::from_der(der_of(x), err);
    EXPECT_TRUE(c) << err;
    return *c;
}

TrustStore trust_cas() {
    TrustStore t;
    std::string err;
    EXPECT_TRUE(t.add_pem_file(pki().path("cas.pem"), err)) << err;
    return t;
}

// Stands for a side's signed octets: only their being signed matters here.
const Bytes kOctets = text("IKE_SA_INIT as sent | the other side's nonce | prf(SK_p, ID)");

Bytes tampered(Bytes b, size_t at) {
    b[at % b.size()] ^= 0x01;
    return b;
}

IdPayload fqdn(const std::string& s) { return {IdType::kFqdn, text(s)}; }
IdPayload email(const std::string& s) { return {IdType::kRfc822Addr, text(s)}; }
IdPayload ip(const char* s) {
    uint8_t b[16];
    if (inet_pton(AF_INET, s, b) == 1) return {IdType::kIpv4Addr, Bytes(b, b + 4)};
    EXPECT_EQ(inet_pton(AF_INET6, s, b), 1) << s;
    return {IdType::kIpv6Addr, Bytes(b, b + 16)};
}

}  // namespace

// --- Signed octets -------------------------------------------------------------------------------

TEST(IkeCertAuth, SignedOctetsAreInitMessageNonceAndMacedId) {
    const Bytes init = text("initiator's IKE_SA_INIT request"), nonce(32, 0x4e), sk_p(32, 0x70);
    const Bytes id_body = {0x02, 0, 0, 0, 'g', 'w'};
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    ASSERT_NE(HMAC(EVP_sha256(), sk_p.data(), static_cast<int>(sk_p.size()), id_body.data(), id_body.size(), mac, &mac_len),
              nullptr);
    Bytes want = init;
    want.insert(want.end(), nonce.begin(), nonce.end());
    want.insert(want.end(), mac, mac + mac_len);
    const Bytes octets = signed_octets(Prf::hmac_sha256, init, nonce, sk_p, id_body);
    EXPECT_EQ(octets, want);

    // PSK AUTH is prf(prf(PSK, "Key Pad for IKEv2"), the same octets).
    const Bytes psk = text("a pre-shared key"), pad = text("Key Pad for IKEv2");
    const Secret key = prf(Prf::hmac_sha256, psk, pad);
    EXPECT_EQ(psk_auth(Prf::hmac_sha256, psk, init, nonce, sk_p, id_body), prf(Prf::hmac_sha256, key.bytes(), want));
}

// --- Our credentials ---------------------------------------------------------------------------------

TEST(IkeCertAuth, LoadsCredentialsOfEachKeyType) {
    EXPECT_EQ(load("rsa").key_type(), KeyType::kRsa);
    EXPECT_EQ(load("p256").key_type(), KeyType::kEcP256);
    EXPECT_EQ(load("p384").key_type(), KeyType::kEcP384);
    EXPECT_EQ(load("p521").key_type(), KeyType::kEcP521);

    const OurCredentials rsa = load("rsa");
    EXPECT_EQ(Bytes(rsa.certificate().der().begin(), rsa.certificate().der().end()), der_of(pki().rsa_ee));
    EXPECT_TRUE(rsa.intermediates().empty());
    const auto payloads = rsa.cert_payloads();
    ASSERT_EQ(payloads.size(), 1u);
    EXPECT_EQ(payloads[0].encoding, cert_encoding::kX509Signature);
    EXPECT_EQ(payloads[0].data, der_of(pki().rsa_ee));
}

TEST(IkeCertAuth, LoadsIntermediatesAfterOurCertificate) {
    const OurCredentials c = load("chain");
    const auto payloads = c.cert_payloads();
    ASSERT_EQ(payloads.size(), 2u);
    EXPECT_EQ(payloads[0].data, der_of(pki().chain_ee));  // the AUTH key's certificate first
    EXPECT_EQ(payloads[1].data, der_of(pki().inter));
    ASSERT_EQ(c.intermediates().size(), 1u);
}

TEST(IkeCertAuth, DefaultIdentityIsTheSubjectDn) {
    const OurCredentials c = load("p256");
    const IdPayload id = c.default_id();
    EXPECT_EQ(id.type, IdType::kDerAsn1Dn);
    unsigned char* p = nullptr;
    const int len = i2d_X509_NAME(X509_get_subject_name(pki().p256_ee), &p);
    EXPECT_EQ(id.data, Bytes(p, p + len));
    OPENSSL_free(p);
    EXPECT_TRUE(c.id_matches(id));
}

TEST(IkeCertAuth, RefusesBadCredentials) {
    std::string err;
    EXPECT_FALSE(OurCredentials::load(pki().path("rsa.pem"), pki().path("p256.key"), err));  // not its key
    EXPECT_NE(err.find("does not belong"), std::string::npos) << err;
    err.clear();
    EXPECT_FALSE(OurCredentials::load(pki().path("missing.pem"), pki().path("rsa.key"), err));
    EXPECT_FALSE(err.empty());
    err.clear();
    EXPECT_FALSE(OurCredentials::load(pki().path("rsa.key"), pki().path("rsa.key"), err));  // no certificate
    EXPECT_FALSE(err.empty());
    err.clear();
    EXPECT_FALSE(OurCredentials::load(pki().path("ed.pem"), pki().path("ed.key"), err));  // Ed25519: not ours
    EXPECT_NE(err.find("neither RSA nor EC"), std::string::npos) << err;
}

// --- AUTH signatures ----------------------------------------------------------------------------------

struct RoundTrip {
    const char* creds;
    AuthMethod classic;
    size_t classic_len;  // octets of AUTH data (RSA-2048: the modulus; ECDSA: r | s)
};

TEST(IkeCertAuth, SignAndVerifyEachMethodAndKeyType) {
    for (const RoundTrip& r : {RoundTrip{"rsa", AuthMethod::kRsaSig, 256}, RoundTrip{"p256", auth_method::kEcdsaSha256P256, 64},
                               RoundTrip{"p384", auth_method::kEcdsaSha384P384, 96},
                               RoundTrip{"p521", auth_method::kEcdsaSha512P521, 132}}) {
        SCOPED_TRACE(r.creds);
        const OurCredentials us = load(r.creds);
        const Certificate& peer = us.certificate();  // what the other side sees
        for (const bool rfc7427 : {false, true}) {
            SCOPED_TRACE(rfc7427 ? "method 14" : "classic method");
            std::string err;
            const auto auth = sign_auth(us, kOctets, rfc7427, err);
            ASSERT_TRUE(auth) << err;
            if (rfc7427) {
                EXPECT_EQ(auth->method, AuthMethod::kDigitalSignature);
                const Bytes alg = build_signature_algorithm(*choose_signature_algorithm(us.key_type()));
                ASSERT_GT(auth->data.size(), alg.size() + 1);
                EXPECT_EQ(auth->data[0], alg.size());
                EXPECT_EQ(Bytes(auth->data.begin() + 1, auth->data.begin() + 1 + static_cast<long>(alg.size())), alg);
            } else {
                EXPECT_EQ(auth->method, r.classic);
                EXPECT_EQ(auth->data.size(), r.classic_len);
            }
            EXPECT_TRUE(verify_auth(peer, *auth, kOctets, err)) << err;
            EXPECT_FALSE(verify_auth(peer, *auth, tampered(kOctets, 7), err));
            EXPECT_FALSE(verify_auth(peer, {auth->method, tampered(auth->data, auth->data.size() - 3)}, kOctets, err));
            EXPECT_FALSE(verify_auth(peer, {auth->method, {}}, kOctets, err));
        }
    }
}

TEST(IkeCertAuth, DigitalSignatureWithEachAlgorithm) {
    using S = SignatureScheme;
    namespace h = hash_algorithm;
    const struct {
        const char* creds;
        SignatureAlgorithm alg;
    } cases[] = {
        {"rsa", {S::kRsaPkcs1, h::kSha2_256}},
        {"rsa", {S::kRsaPkcs1, h::kSha2_384}},
        {"rsa", {S::kRsaPkcs1, h::kSha2_512}},
        {"rsa", {S::kRsaPss, h::kSha2_256, h::kSha2_256, 32}},
        {"rsa", {S::kRsaPss, h::kSha2_384, h::kSha2_384, 48}},
        {"rsa", {S::kRsaPss, h::kSha2_512, h::kSha2_512, 64}},
        {"rsa", {S::kRsaPss, h::kSha2_256, h::kSha2_512, 20}},  // salt at its DEFAULT: left out of the DER
        {"p256", {S::kEcdsa, h::kSha2_256}},
        {"p256", {S::kEcdsa, h::kSha2_384}},
        {"p384", {S::kEcdsa, h::kSha2_384}},
        {"p384", {S::kEcdsa, h::kSha2_512}},
        {"p521", {S::kEcdsa, h::kSha2_512}},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(std::string(c.creds) + " hash " + std::to_string(c.alg.hash) + " scheme " +
                     std::to_string(static_cast<int>(c.alg.scheme)));
        const OurCredentials us = load(c.creds);
        std::string err;
        const auto auth = sign_digital_signature(us, c.alg, kOctets, err);
        ASSERT_TRUE(auth) << err;
        const auto parsed = parse_signature_algorithm(std::span(auth->data).subspan(1, auth->data[0]), err);
        ASSERT_TRUE(parsed) << err;
        EXPECT_EQ(*parsed, c.alg);
        EXPECT_TRUE(verify_auth(us.certificate(), *auth, kOctets, err)) << err;
        EXPECT_FALSE(verify_auth(us.certificate(), *auth, tampered(kOctets, 0), err));
    }
}

TEST(IkeCertAuth, RefusesSignaturesThatDoNotFitTheKey) {
    const OurCredentials rsa = load("rsa"), p256 = load("p256"), p384 = load("p384");
    std::string err;
    const auto rsa1 = sign_auth(rsa, kOctets, false, err);
    const auto ec9 = sign_auth(p256, kOctets, false, err);
    const auto ec14 = sign_auth(p256, kOctets, true, err);
    const auto rsa14 = sign_auth(rsa, kOctets, true, err);
    ASSERT_TRUE(rsa1 && ec9 && ec14 && rsa14) << err;

    EXPECT_FALSE(verify_auth(p256.certificate(), *rsa1, kOctets, err));   // method 1, EC key
    EXPECT_FALSE(verify_auth(rsa.certificate(), *ec9, kOctets, err));     // method 9, RSA key
    EXPECT_FALSE(verify_auth(p384.certificate(), *ec9, kOctets, err));    // method 9, P-384 key
    EXPECT_FALSE(verify_auth(p256.certificate(), {auth_method::kEcdsaSha384P384, ec9->data}, kOctets, err));
    EXPECT_FALSE(verify_auth(rsa.certificate(), *ec14, kOctets, err));    // ECDSA, RSA key
    EXPECT_NE(err.find("does not fit"), std::string::npos) << err;
    EXPECT_FALSE(verify_auth(p256.certificate(), *rsa14, kOctets, err));  // PKCS#1, EC key
    EXPECT_NE(err.find("does not fit"), std::string::npos) << err;
    EXPECT_FALSE(verify_auth(cert(pki().unrelated_ee), *ec14, kOctets, err));  // same curve, other key
    EXPECT_FALSE(verify_auth(p256.certificate(), {AuthMethod::kSharedKeyMic, ec9->data}, kOctets, err));
    EXPECT_FALSE(verify_auth(p256.certificate(), {AuthMethod::kDssSig, ec9->data}, kOctets, err));

    // And we do not sign what our key cannot.
    EXPECT_FALSE(sign_digital_signature(p256, {SignatureScheme::kRsaPkcs1, hash_algorithm::kSha2_256}, kOctets, err));
    EXPECT_FALSE(sign_digital_signature(rsa, {SignatureScheme::kEcdsa, hash_algorithm::kSha2_256}, kOctets, err));
    EXPECT_FALSE(sign_digital_signature(rsa, {SignatureScheme::kRsaPkcs1, hash_algorithm::kSha1}, kOctets, err));
}

TEST(IkeCertAuth, RefusesSha1UnderDigitalSignature) {
    const OurCredentials rsa = load("rsa");
    std::string err;
    // Method 1's signature is PKCS#1 v1.5 over SHA-1: valid, and still refused when labelled
    // sha1WithRSAEncryption under method 14.
    const auto rsa1 = sign_auth(rsa, kOctets, false, err);
    ASSERT_TRUE(rsa1) << err;
    ASSERT_TRUE(verify_auth(rsa.certificate(), *rsa1, kOctets, err)) << err;
    Bytes data = hex("0f 300d06092a864886f70d0101050500");  // length 15, sha1WithRSAEncryption, NULL
    data.insert(data.end(), rsa1->data.begin(), rsa1->data.end());
    EXPECT_FALSE(verify_auth(rsa.certificate(), {AuthMethod::kDigitalSignature, data}, kOctets, err));
    EXPECT_NE(err.find("SHA-1"), std::string::npos) << err;

    // RSASSA-PSS with its parameters absent, or an empty SEQUENCE, means SHA-1 throughout.
    for (const char* alg : {"0d 300b06092a864886f70d01010a", "0f 300d06092a864886f70d01010a3000"}) {
        Bytes d = hex(alg);
        d.insert(d.end(), rsa1->data.begin(), rsa1->data.end());
        EXPECT_FALSE(verify_auth(rsa.certificate(), {AuthMethod::kDigitalSignature, d}, kOctets, err));
        EXPECT_NE(err.find("SHA-1"), std::string::npos) << err;
    }
    // ecdsa-with-SHA1 (1.2.840.10045.4.1).
    const OurCredentials p256 = load("p256");
    const auto ec14 = sign_auth(p256, kOctets, true, err);
    ASSERT_TRUE(ec14) << err;
    Bytes e = hex("0b 300906072a8648ce3d0401");
    e.insert(e.end(), ec14->data.begin() + 1 + ec14->data[0], ec14->data.end());
    EXPECT_FALSE(verify_auth(p256.certificate(), {AuthMethod::kDigitalSignature, e}, kOctets, err));
    EXPECT_NE(err.find("SHA-1"), std::string::npos) << err;
}

TEST(IkeCertAuth, RefusesMalformedDigitalSignatureData) {
    const OurCredentials p256 = load("p256");
    std::string err;
    const auto ec14 = sign_auth(p256, kOctets, true, err);
    ASSERT_TRUE(ec14) << err;
    Bytes d = ec14->data;
    d[0] = static_cast<uint8_t>(d.size());  // AlgorithmIdentifier longer than the data
    EXPECT_FALSE(verify_auth(p256.certificate(), {AuthMethod::kDigitalSignature, d}, kOctets, err));
    Bytes no_sig(ec14->data.begin(), ec14->data.begin() + 1 + ec14->data[0]);  // no signature at all
    EXPECT_FALSE(verify_auth(p256.certificate(), {AuthMethod::kDigitalSignature, no_sig}, kOctets, err));
    EXPECT_FALSE(verify_auth(p256.certificate(), {AuthMethod::kDigitalSignature, {0x00, 0x30}}, kOctets, err));
}

// --- RFC 7427 AlgorithmIdentifiers and SIGNATURE_HASH_ALGORITHMS ---------------------------------------

TEST(IkeCertAuth, ParsesHandWrittenAlgorithmIdentifiers) {
    std::string err;
    // SEQUENCE { OID 1.2.840.113549.1.1.11 (sha256WithRSAEncryption), NULL }
    const Bytes rsa_sha256 = hex("30 0d 06 09 2a 86 48 86 f7 0d 01 01 0b 05 00");
    auto a = parse_signature_algorithm(rsa_sha256, err);
    ASSERT_TRUE(a) << err;
    EXPECT_EQ(a->scheme, SignatureScheme::kRsaPkcs1);
    EXPECT_EQ(a->hash, hash_algorithm::kSha2_256);
    EXPECT_EQ(build_signature_algorithm(*a), rsa_sha256);
    // The same with its parameters absent (RFC 4055 §5: accepted).
    a = parse_signature_algorithm(hex("30 0b 06 09 2a 86 48 86 f7 0d 01 01 0b"), err);
    ASSERT_TRUE(a) << err;
    EXPECT_EQ(a->hash, hash_algorithm::kSha2_256);

    // SEQUENCE { OID 1.2.840.10045.4.3.2 (ecdsa-with-SHA256) }
    const Bytes ecdsa_sha256 = hex("30 0a 06 08 2a 86 48 ce 3d 04 03 02");
    a = parse_signature_algorithm(ecdsa_sha256, err);
    ASSERT_TRUE(a) << err;
    EXPECT_EQ(a->scheme, SignatureScheme::kEcdsa);
    EXPECT_EQ(a->hash, hash_algorithm::kSha2_256);
    EXPECT_EQ(build_signature_algorithm(*a), ecdsa_sha256);

    // SEQUENCE { OID 1.2.840.113549.1.1.10 (id-RSASSA-PSS), SEQUENCE {
    //   [0] { SEQUENCE { OID sha256, NULL } },
    //   [1] { SEQUENCE { OID 1.2.840.113549.1.1.8 (id-mgf1), SEQUENCE { OID sha256, NULL } } },
    //   [2] { INTEGER 32 } } }
    const Bytes pss_sha256 = hex(
        "30 41 06 09 2a 86 48 86 f7 0d 01 01 0a 30 34"
        " a0 0f 30 0d 06 09 60 86 48 01 65 03 04 02 01 05 00"
        " a1 1c 30 1a 06 09 2a 86 48 86 f7 0d 01 01 08 30 0d 06 09 60 86 48 01 65 03 04 02 01 05 00"
        " a2 03 02 01 20");
    a = parse_signature_algorithm(pss_sha256, err);
    ASSERT_TRUE(a) << err;
    EXPECT_EQ(*a, (SignatureAlgorithm{SignatureScheme::kRsaPss, hash_algorithm::kSha2_256, hash_algorithm::kSha2_256, 32}));
    EXPECT_EQ(build_signature_algorithm(*a), pss_sha256);

    Bytes trailing = rsa_sha256;
    trailing.push_back(0);
    EXPECT_FALSE(parse_signature_algorithm(trailing, err));
    EXPECT_FALSE(parse_signature_algorithm(hex("30 0d 06 09 2a 86 48 86 f7 0d 01 01 0b 05"), err));  // cut short
    EXPECT_FALSE(parse_signature_algorithm(hex("30 0d 06 09 2a 86 48 86 f7 0d 01 01 01 05 00"), err));  // rsaEncryption
    EXPECT_FALSE(parse_signature_algorithm(hex("30 0d 06 08 2a 86 48 ce 3d 04 03 02 02 01 00"), err));  // INTEGER params
    EXPECT_FALSE(parse_signature_algorithm({}, err));
}

TEST(IkeCertAuth, SignatureHashAlgorithmsNotify) {
    EXPECT_EQ(build_signature_hash_algorithms(), hex("0002 0003 0004"));
    const NotifyPayload n = signature_hash_algorithms_notify();
    EXPECT_EQ(n.type, NotifyType::kSignatureHashAlgorithms);
    EXPECT_EQ(n.protocol, ProtocolId::kNone);
    EXPECT_TRUE(n.spi.empty());
    EXPECT_EQ(n.data, hex("000200030004"));

    EXPECT_EQ(parse_signature_hash_algorithms(hex("0002 0005 0001")), (std::vector<uint16_t>{2, 5, 1}));
    EXPECT_FALSE(parse_signature_hash_algorithms(hex("0002 00")));
    EXPECT_FALSE(parse_signature_hash_algorithms({}));

    namespace h = hash_algorithm;
    const std::vector<uint16_t> only512{h::kSha2_512}, only1{h::kSha1}, p384_and_up{h::kSha2_384, h::kSha2_512};
    EXPECT_EQ(choose_signature_algorithm(KeyType::kRsa, only512)->hash, h::kSha2_512);
    EXPECT_EQ(choose_signature_algorithm(KeyType::kEcP384)->hash, h::kSha2_384);
    EXPECT_EQ(choose_signature_algorithm(KeyType::kEcP256, p384_and_up)->hash, h::kSha2_384);
    EXPECT_FALSE(choose_signature_algorithm(KeyType::kEcP256, only1));
    EXPECT_FALSE(choose_signature_algorithm(KeyType::kUnsupported));
}

// --- Chains --------------------------------------------------------------------------------------------

TEST(IkeCertAuth, VerifiesChains) {
    const TrustStore trust = trust_cas();
    EXPECT_EQ(trust.size(), 3u);
    std::string err;
    const auto ee = trust.verify(der_of(pki().rsa_ee), {}, err);
    ASSERT_TRUE(ee) << err;
    EXPECT_EQ(Bytes(ee->der().begin(), ee->der().end()), der_of(pki().rsa_ee));
    EXPECT_TRUE(trust.verify(der_of(pki().p256_ee), {}, err)) << err;
    EXPECT_TRUE(trust.verify(der_of(pki().p384_ee), {}, err)) << err;
    // Through an intermediate the peer sends along.
    EXPECT_TRUE(trust.verify(der_of(pki().chain_ee), {der_of(pki().inter)}, err)) << err;
    // Sent along but not needed: harmless.
    EXPECT_TRUE(trust.verify(der_of(pki().p256_ee), {der_of(pki().inter)}, err)) << err;
}

TEST(IkeCertAuth, RefusesBadChains) {
    const TrustStore trust = trust_cas();
    std::string err;
    EXPECT_FALSE(trust.verify(der_of(pki().chain_ee), {}, err));  // intermediate missing
    EXPECT_FALSE(err.empty());
    err.clear();
    EXPECT_FALSE(trust.verify(der_of(pki().unrelated_ee), {}, err));
    EXPECT_FALSE(err.empty());
    err.clear();
    EXPECT_FALSE(trust.verify(der_of(pki().unrelated_ee), {der_of(pki().unrelated_ca)}, err));  // its CA, untrusted
    err.clear();
    EXPECT_FALSE(trust.verify(der_of(pki().expired), {}, err));
    EXPECT_NE(err.find("expired"), std::string::npos) << err;
    EXPECT_FALSE(trust.verify(hex("3003020100"), {}, err));  // not a certificate
    EXPECT_FALSE(trust.verify(der_of(pki().rsa_ee), {hex("3003020100")}, err));
    TrustStore empty;
    EXPECT_FALSE(empty.verify(der_of(pki().rsa_ee), {}, err));
}

TEST(IkeCertAuth, VerifiesAtTheTimeGiven) {
    const TrustStore trust = trust_cas();
    std::string err;
    const std::time_t now = pki().made_at;
    // The expired certificate was valid a year and a half ago...
    EXPECT_TRUE(trust.verify(der_of(pki().expired), {}, err, now - 547L * 86400)) << err;
    // ... and a good one is not yet valid before its notBefore, nor after its notAfter.
    EXPECT_FALSE(trust.verify(der_of(pki().rsa_ee), {}, err, now - 2L * 86400));
    EXPECT_NE(err.find("not yet valid"), std::string::npos) << err;
    EXPECT_FALSE(trust.verify(der_of(pki().rsa_ee), {}, err, now + 2L * 365 * 86400));
    EXPECT_NE(err.find("expired"), std::string::npos) << err;
}

// --- Identities -----------------------------------------------------------------------------------------

TEST(IkeCertAuth, MatchesIdentitiesAgainstTheCertificate) {
    const Certificate rsa = cert(pki().rsa_ee), p256 = cert(pki().p256_ee), p384 = cert(pki().p384_ee);
    EXPECT_TRUE(rsa.matches_id(fqdn("gw.example.net")));
    EXPECT_TRUE(rsa.matches_id(fqdn("GW.Example.NET")));
    EXPECT_FALSE(rsa.matches_id(fqdn("other.example.net")));
    EXPECT_FALSE(rsa.matches_id(fqdn("gw.example.ne")));
    EXPECT_FALSE(rsa.matches_id(fqdn("")));
    EXPECT_FALSE(cert(pki().rsa_ca).matches_id(fqdn("espgw RSA CA")));  // no subjectAltName: the CN does not count

    EXPECT_TRUE(rsa.matches_id(email("user@example.net")));
    EXPECT_TRUE(rsa.matches_id(email("user@EXAMPLE.net")));
    EXPECT_FALSE(rsa.matches_id(email("User@example.net")));  // the local part is case-sensitive
    EXPECT_FALSE(rsa.matches_id(email("other@example.net")));
    EXPECT_FALSE(rsa.matches_id(email("example.net")));
    EXPECT_TRUE(p256.matches_id(email("alice@example.net")));
    EXPECT_FALSE(p256.matches_id(fqdn("alice@example.net")));  // a dNSName is not an rfc822Name

    EXPECT_TRUE(rsa.matches_id(ip("192.0.2.1")));
    EXPECT_FALSE(rsa.matches_id(ip("192.0.2.2")));
    EXPECT_TRUE(p256.matches_id(ip("198.51.100.7")));
    EXPECT_FALSE(p256.matches_id({IdType::kIpv4Addr, {198, 51, 100}}));
    EXPECT_TRUE(rsa.matches_id(ip("2001:db8::1")));
    EXPECT_FALSE(rsa.matches_id(ip("2001:db8::2")));
    EXPECT_TRUE(p384.matches_id(ip("2001:db8::384")));
    EXPECT_FALSE(p384.matches_id(ip("192.0.2.1")));
    // The IPv4 address's octets as an IPv6 ID are a different identity.
    EXPECT_FALSE(rsa.matches_id({IdType::kIpv6Addr, {192, 0, 2, 1}}));

    EXPECT_TRUE(rsa.matches_id(rsa.subject_id()));
    EXPECT_FALSE(rsa.matches_id(p256.subject_id()));
    EXPECT_FALSE(rsa.matches_id(cert(pki().rsa_ca).subject_id()));
    EXPECT_FALSE(rsa.matches_id({IdType::kDerAsn1Dn, hex("3003020100")}));
    IdPayload dn_trailing = rsa.subject_id();
    dn_trailing.data.push_back(0);
    EXPECT_FALSE(rsa.matches_id(dn_trailing));

    EXPECT_FALSE(rsa.matches_id({IdType::kKeyId, text("gw.example.net")}));
    EXPECT_FALSE(rsa.matches_id({IdType::kDerAsn1Gn, rsa.subject_id().data}));

    // Our configured identity, checked the same way.
    const OurCredentials us = load("rsa");
    EXPECT_TRUE(us.id_matches(fqdn("gw.example.net")));
    EXPECT_FALSE(us.id_matches(fqdn("p256.example.net")));
}

// --- CERTREQ -----------------------------------------------------------------------------------------

TEST(IkeCertAuth, CertreqHashesTheCasPublicKeyInfo) {
    const TrustStore trust = trust_cas();
    const Bytes data = trust.certreq_data();
    ASSERT_EQ(data.size(), 60u);
    // Independently: SHA-1 over the DER SubjectPublicKeyInfo made from each CA's key.
    size_t at = 0;
    for (EVP_PKEY* key : {pki().rsa_ca_key, pki().p256_ca_key, pki().p384_ca_key}) {
        unsigned char* spki = nullptr;
        const int len = i2d_PUBKEY(key, &spki);
        ASSERT_GT(len, 0);
        unsigned char md[20];
        size_t md_len = 0;
        ASSERT_EQ(EVP_Q_digest(nullptr, "SHA1", nullptr, spki, static_cast<size_t>(len), md, &md_len), 1);
        OPENSSL_free(spki);
        EXPECT_EQ(Bytes(data.begin() + static_cast<long>(at), data.begin() + static_cast<long>(at + 20)), Bytes(md, md + 20));
        at += 20;
    }
    // Not the hash of the bare public key (X509_pubkey_digest, what the key identifier uses).
    unsigned char key_only[20];
    unsigned int key_only_len = 0;
    X509_pubkey_digest(pki().rsa_ca, EVP_sha1(), key_only, &key_only_len);
    EXPECT_NE(Bytes(data.begin(), data.begin() + 20), Bytes(key_only, key_only + 20));

    const auto hashes = parse_certreq(data);
    ASSERT_TRUE(hashes);
    ASSERT_EQ(hashes->size(), 3u);
    EXPECT_EQ((*hashes)[1], spki_sha1(cert(pki().p256_ca)));
    EXPECT_FALSE(parse_certreq(Bytes(19, 0)));
    EXPECT_TRUE(parse_certreq({})->empty());
}

// --- RFC 4754 test vectors ------------------------------------------------------------------------------

namespace {

// A certificate carrying the public key (x, y) on the curve, signed by any CA (the chain
// is not what these tests check).
Certificate cert_for_point(const char* group, const Bytes& x, const Bytes& y) {
    Bytes point{0x04};  // uncompressed
    point.insert(point.end(), x.begin(), x.end());
    point.insert(point.end(), y.begin(), y.end());
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
    EVP_PKEY* key = nullptr;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>(group), 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()),
        OSSL_PARAM_construct_end(),
    };
    EXPECT_EQ(EVP_PKEY_fromdata_init(ctx), 1);
    EXPECT_EQ(EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params), 1);
    EVP_PKEY_CTX_free(ctx);
    X509* x509 = make_cert({"rfc4754", false}, key, pki().p256_ca, pki().p256_ca_key);
    EVP_PKEY_free(key);
    return Certificate::adopt(x509);
}

Bytes der_signature(const Bytes& r, const Bytes& s) {
    ECDSA_SIG* sig = ECDSA_SIG_new();
    ECDSA_SIG_set0(sig, BN_bin2bn(r.data(), static_cast<int>(r.size()), nullptr),
                   BN_bin2bn(s.data(), static_cast<int>(s.size()), nullptr));
    unsigned char* p = nullptr;
    const int len = i2d_ECDSA_SIG(sig, &p);
    Bytes out(p, p + len);
    OPENSSL_free(p);
    ECDSA_SIG_free(sig);
    return out;
}

void check_vector(const Certificate& c, AuthMethod method, const Bytes& alg_id, const Bytes& r, const Bytes& s) {
    const Bytes msg = text("abc");
    Bytes rs = r;
    rs.insert(rs.end(), s.begin(), s.end());
    std::string err;
    EXPECT_TRUE(verify_auth(c, {method, rs}, msg, err)) << err;
    EXPECT_FALSE(verify_auth(c, {method, tampered(rs, 40)}, msg, err));
    EXPECT_FALSE(verify_auth(c, {method, rs}, text("abd"), err));
    // The same signature, DER-encoded, under RFC 7427.
    Bytes data{static_cast<uint8_t>(alg_id.size())};
    data.insert(data.end(), alg_id.begin(), alg_id.end());
    const Bytes der = der_signature(r, s);
    data.insert(data.end(), der.begin(), der.end());
    EXPECT_TRUE(verify_auth(c, {AuthMethod::kDigitalSignature, data}, msg, err)) << err;
}

}  // namespace

// RFC 4754 §8.1 (ECDSA-256): public key (gwx, gwy), message "abc", signature r | s.
TEST(IkeCertAuth, Rfc4754Ecdsa256Vector) {
    const Certificate c = cert_for_point(
        "prime256v1", hex("2442A5CC 0ECD015F A3CA31DC 8E2BBC70 BF42D60C BCA20085 E0822CB0 4235E970"),
        hex("6FC98BD7 E50211A4 A27102FA 3549DF79 EBCB4BF2 46B80945 CDDFE7D5 09BBFD7D"));
    EXPECT_EQ(c.key_type(), KeyType::kEcP256);
    check_vector(c, auth_method::kEcdsaSha256P256, hex("30 0a 06 08 2a 86 48 ce 3d 04 03 02"),
                 hex("CB28E099 9B9C7715 FD0A80D8 E47A7707 9716CBBF 917DD72E 97566EA1 C066957C"),
                 hex("86FA3BB4 E26CAD5B F90B7F81 899256CE 7594BB1E A0C89212 748BFF3B 3D5B0315"));
}

// RFC 4754 §8.2 (ECDSA-384): the same for P-384 and SHA-384.
TEST(IkeCertAuth, Rfc4754Ecdsa384Vector) {
    const Certificate c = cert_for_point(
        "secp384r1",
        hex("96281BF8 DD5E0525 CA049C04 8D345D30 82968D10 FEDF5C5A CA0C64E6 465A97EA 5CE10C9D FEC21797 41571072 1F437922"),
        hex("447688BA 94708EB6 E2E4D59F 6AB6D7ED FF9301D2 49FE49C3 3096655F 5D502FAD 3D383B91 C5E7EDAA 2B714CC9 9D5743CA"));
    EXPECT_EQ(c.key_type(), KeyType::kEcP384);
    check_vector(c, auth_method::kEcdsaSha384P384, hex("30 0a 06 08 2a 86 48 ce 3d 04 03 03"),
                 hex("FB017B91 4E291494 32D8BAC2 9A514640 B46F53DD AB2C6994 8084E293 0F1C8F7E 08E07C9C 63F2D21A 07DCB56A "
                     "6AF56EB3"),
                 hex("B263A130 5E057F98 4D38726A 1B468741 09F417BC A112674C 528262A4 0A629AF1 CBB9F516 CE0FA7D2 FF630863 "
                     "A00E8B9F"));
}
