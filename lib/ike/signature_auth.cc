#include "espgw/ike/signature_auth.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <algorithm>

#include "openssl_handles.h"
#include "wire.h"

namespace espgw::ike {

namespace {

using MdCtx = ossl::Handle<EVP_MD_CTX, EVP_MD_CTX_free>;
using Algor = ossl::Handle<X509_ALGOR, X509_ALGOR_free>;
using PssParams = ossl::Handle<RSA_PSS_PARAMS, RSA_PSS_PARAMS_free>;
using EcdsaSig = ossl::Handle<ECDSA_SIG, ECDSA_SIG_free>;
using Bn = ossl::Handle<BIGNUM, BN_free>;

// --- Hashes ---------------------------------------------------------------------------------

const EVP_MD* md_of(uint16_t hash) {
    switch (hash) {
    case hash_algorithm::kSha1: return EVP_sha1();
    case hash_algorithm::kSha2_256: return EVP_sha256();
    case hash_algorithm::kSha2_384: return EVP_sha384();
    case hash_algorithm::kSha2_512: return EVP_sha512();
    default: return nullptr;
    }
}

std::optional<uint16_t> hash_of_nid(int nid) {
    switch (nid) {
    case NID_sha1: return hash_algorithm::kSha1;
    case NID_sha256: return hash_algorithm::kSha2_256;
    case NID_sha384: return hash_algorithm::kSha2_384;
    case NID_sha512: return hash_algorithm::kSha2_512;
    default: return std::nullopt;
    }
}

// --- DER, just enough to write the AlgorithmIdentifiers we send ------------------------------

using Bytes = std::vector<uint8_t>;

Bytes tlv(uint8_t tag, const Bytes& content) {
    Bytes out{tag};
    const size_t n = content.size();  // ours are short: at most two length octets
    if (n < 0x80) {
        out.push_back(static_cast<uint8_t>(n));
    } else if (n < 0x100) {
        out.push_back(0x81);
        out.push_back(static_cast<uint8_t>(n));
    } else {
        out.push_back(0x82);
        out.push_back(static_cast<uint8_t>(n >> 8));
        out.push_back(static_cast<uint8_t>(n));
    }
    out.insert(out.end(), content.begin(), content.end());
    return out;
}
Bytes cat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}
Bytes sequence(std::initializer_list<Bytes> parts) { return tlv(0x30, cat(parts)); }
Bytes explicit_tag(uint8_t n, const Bytes& inner) { return tlv(static_cast<uint8_t>(0xa0 | n), inner); }
Bytes der_null() { return {0x05, 0x00}; }
Bytes der_integer(uint32_t v) {
    Bytes content;
    do {
        content.insert(content.begin(), static_cast<uint8_t>(v));
        v >>= 8;
    } while (v != 0);
    if (content[0] & 0x80) content.insert(content.begin(), 0x00);  // stays positive
    return tlv(0x02, content);
}

// Object identifiers, DER-encoded with their tag (06, length, arcs).
const Bytes kOidSha256 = {0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01};  // 2.16.840.1.101.3.4.2.1
const Bytes kOidSha384 = {0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02};
const Bytes kOidSha512 = {0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03};
// PKCS #1 (1.2.840.113549.1.1.x): 8 mgf1, 10 RSASSA-PSS, 11/12/13 sha256/384/512WithRSAEncryption.
Bytes pkcs1_oid(uint8_t arc) { return {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, arc}; }
// ecdsa-with-SHA2 (1.2.840.10045.4.3.x): 2/3/4 SHA256/384/512.
Bytes ecdsa_oid(uint8_t arc) { return {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, arc}; }

const Bytes* sha2_oid(uint16_t hash) {
    switch (hash) {
    case hash_algorithm::kSha2_256: return &kOidSha256;
    case hash_algorithm::kSha2_384: return &kOidSha384;
    case hash_algorithm::kSha2_512: return &kOidSha512;
    default: return nullptr;
    }
}
// 0, 1, 2 for SHA-256, -384, -512: the OIDs above number these in order.
uint8_t sha2_index(uint16_t hash) { return static_cast<uint8_t>(hash - hash_algorithm::kSha2_256); }

// --- Parsing AlgorithmIdentifiers -------------------------------------------------------------

// The hash AlgorithmIdentifier inside RSASSA-PSS parameters (NULL or absent parameters,
// RFC 4055 §2.1).
std::optional<uint16_t> parse_hash_algor(const X509_ALGOR* a) {
    const ASN1_OBJECT* obj = nullptr;
    int ptype = 0;
    const void* pval = nullptr;
    X509_ALGOR_get0(&obj, &ptype, &pval, a);
    if (ptype != V_ASN1_UNDEF && ptype != V_ASN1_NULL) return std::nullopt;
    return hash_of_nid(OBJ_obj2nid(obj));
}

// RSASSA-PSS-params (RFC 4055 §3.1), from the SEQUENCE after id-RSASSA-PSS.
std::optional<SignatureAlgorithm> parse_pss_params(int ptype, const void* pval, std::string& error) {
    SignatureAlgorithm a{SignatureScheme::kRsaPss, hash_algorithm::kSha1, hash_algorithm::kSha1, 20};
    if (ptype == V_ASN1_UNDEF) return a;  // all defaults (and SHA-1: refused later)
    if (ptype != V_ASN1_SEQUENCE) {
        error = "RSASSA-PSS parameters are not a SEQUENCE";
        return std::nullopt;
    }
    const auto* seq = static_cast<const ASN1_STRING*>(pval);
    const unsigned char* p = ASN1_STRING_get0_data(seq);
    const unsigned char* const end = p + ASN1_STRING_length(seq);
    PssParams pss(d2i_RSA_PSS_PARAMS(nullptr, &p, end - p));
    if (!pss || p != end) {
        error = ossl::error("malformed RSASSA-PSS parameters");
        return std::nullopt;
    }
    if (pss->hashAlgorithm) {
        const auto h = parse_hash_algor(pss->hashAlgorithm);
        if (!h) {
            error = "RSASSA-PSS: unsupported hash algorithm";
            return std::nullopt;
        }
        a.hash = *h;
    }
    if (pss->maskGenAlgorithm) {
        const ASN1_OBJECT* obj = nullptr;
        int mtype = 0;
        const void* mval = nullptr;
        X509_ALGOR_get0(&obj, &mtype, &mval, pss->maskGenAlgorithm);
        if (OBJ_obj2nid(obj) != NID_mgf1 || mtype != V_ASN1_SEQUENCE) {
            error = "RSASSA-PSS: mask generation function is not MGF1";
            return std::nullopt;
        }
        const auto* mseq = static_cast<const ASN1_STRING*>(mval);
        const unsigned char* q = ASN1_STRING_get0_data(mseq);
        const unsigned char* const qend = q + ASN1_STRING_length(mseq);
        Algor mgf_hash(d2i_X509_ALGOR(nullptr, &q, qend - q));
        const auto h = mgf_hash && q == qend ? parse_hash_algor(mgf_hash.get()) : std::nullopt;
        if (!h) {
            error = ossl::error("RSASSA-PSS: unsupported MGF1 hash");
            return std::nullopt;
        }
        a.mgf1_hash = *h;
    }
    if (pss->saltLength) {
        int64_t salt = -1;  // bounded: no RSA key we would accept has room for a salt of 1 KiB
        if (ASN1_INTEGER_get_int64(&salt, pss->saltLength) != 1 || salt < 0 || salt > 1024) {
            error = ossl::error("RSASSA-PSS: bad salt length");
            return std::nullopt;
        }
        a.salt_length = static_cast<uint32_t>(salt);
    }
    if (pss->trailerField) {
        int64_t trailer = 0;
        if (ASN1_INTEGER_get_int64(&trailer, pss->trailerField) != 1 || trailer != 1) {
            ERR_clear_error();
            error = "RSASSA-PSS: trailer field other than 1";
            return std::nullopt;
        }
    }
    return a;
}

// --- Keys and signatures -----------------------------------------------------------------------

bool is_ec(KeyType k) { return k == KeyType::kEcP256 || k == KeyType::kEcP384 || k == KeyType::kEcP521; }

bool scheme_fits_key(SignatureScheme s, KeyType k) {
    switch (s) {
    case SignatureScheme::kRsaPkcs1: return k == KeyType::kRsa;  // an RSA-PSS key may only do PSS
    case SignatureScheme::kRsaPss: return k == KeyType::kRsa || k == KeyType::kRsaPss;
    case SignatureScheme::kEcdsa: return is_ec(k);
    }
    return false;
}

// The classic ECDSA method of a curve, and the width of r and s on it (RFC 4754 §7).
std::optional<AuthMethod> ecdsa_method(KeyType k) {
    switch (k) {
    case KeyType::kEcP256: return auth_method::kEcdsaSha256P256;
    case KeyType::kEcP384: return auth_method::kEcdsaSha384P384;
    case KeyType::kEcP521: return auth_method::kEcdsaSha512P521;
    default: return std::nullopt;
    }
}
struct ClassicEcdsa {
    KeyType curve;
    uint16_t hash;
    size_t width;  // octets of r, and of s
};
std::optional<ClassicEcdsa> classic_ecdsa(AuthMethod m) {
    if (m == auth_method::kEcdsaSha256P256) return ClassicEcdsa{KeyType::kEcP256, hash_algorithm::kSha2_256, 32};
    if (m == auth_method::kEcdsaSha384P384) return ClassicEcdsa{KeyType::kEcP384, hash_algorithm::kSha2_384, 48};
    if (m == auth_method::kEcdsaSha512P521) return ClassicEcdsa{KeyType::kEcP521, hash_algorithm::kSha2_512, 66};
    return std::nullopt;
}

// Padding and hashes on a fresh sign or verify context.
bool set_rsa_padding(EVP_PKEY_CTX* pctx, const SignatureAlgorithm& a) {
    if (a.scheme == SignatureScheme::kRsaPkcs1) return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0;
    if (a.scheme != SignatureScheme::kRsaPss) return true;
    const EVP_MD* mgf = md_of(a.mgf1_hash);
    return mgf && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
           EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, mgf) > 0 &&
           EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, static_cast<int>(a.salt_length)) > 0;
}

// The signature as OpenSSL makes it (DER Ecdsa-Sig-Value for ECDSA).
std::optional<Bytes> evp_sign(EVP_PKEY* key, const SignatureAlgorithm& a, std::span<const uint8_t> octets,
                              std::string& error) {
    MdCtx ctx(EVP_MD_CTX_new());
    EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
    const EVP_MD* md = md_of(a.hash);
    size_t len = 0;
    if (!ctx || !md || EVP_DigestSignInit(ctx.get(), &pctx, md, nullptr, key) != 1 || !set_rsa_padding(pctx, a) ||
        EVP_DigestSign(ctx.get(), nullptr, &len, octets.data(), octets.size()) != 1) {
        error = ossl::error("cannot set up signing");
        return std::nullopt;
    }
    Bytes sig(len);
    if (EVP_DigestSign(ctx.get(), sig.data(), &len, octets.data(), octets.size()) != 1) {
        error = ossl::error("signing failed");
        return std::nullopt;
    }
    sig.resize(len);
    return sig;
}

bool evp_verify(EVP_PKEY* key, const SignatureAlgorithm& a, std::span<const uint8_t> octets,
                std::span<const uint8_t> sig, std::string& error) {
    MdCtx ctx(EVP_MD_CTX_new());
    EVP_PKEY_CTX* pctx = nullptr;
    const EVP_MD* md = md_of(a.hash);
    if (!ctx || !md || EVP_DigestVerifyInit(ctx.get(), &pctx, md, nullptr, key) != 1 || !set_rsa_padding(pctx, a)) {
        error = ossl::error("cannot set up signature verification");
        return false;
    }
    if (EVP_DigestVerify(ctx.get(), sig.data(), sig.size(), octets.data(), octets.size()) != 1) {
        error = ossl::error("AUTH signature does not verify");
        return false;
    }
    return true;
}

// RFC 4754 §7: r | s, each left-padded to the curve's width, instead of DER.
std::optional<Bytes> der_to_raw(std::span<const uint8_t> der, size_t width) {
    const unsigned char* p = der.data();
    EcdsaSig sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
    if (!sig) return std::nullopt;
    Bytes raw(2 * width);
    if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), raw.data(), static_cast<int>(width)) < 0 ||
        BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), raw.data() + width, static_cast<int>(width)) < 0)
        return std::nullopt;
    return raw;
}
std::optional<Bytes> raw_to_der(std::span<const uint8_t> raw, size_t width) {
    if (raw.size() != 2 * width) return std::nullopt;
    Bn r(BN_bin2bn(raw.data(), static_cast<int>(width), nullptr));
    Bn s(BN_bin2bn(raw.data() + width, static_cast<int>(width), nullptr));
    EcdsaSig sig(ECDSA_SIG_new());
    if (!r || !s || !sig || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return std::nullopt;
    r.release();  // sig owns them now
    s.release();
    unsigned char* der = nullptr;
    const int len = i2d_ECDSA_SIG(sig.get(), &der);
    if (len <= 0) return std::nullopt;
    Bytes out(der, der + len);
    OPENSSL_free(der);
    return out;
}

std::optional<AuthPayload> sign_classic(const OurCredentials& us, std::span<const uint8_t> octets,
                                        std::string& error) {
    const KeyType k = us.key_type();
    if (k == KeyType::kRsa) {
        // Method 1 is PKCS#1 v1.5 with SHA-1 (RFC 7296 §3.8): the method fixes it.
        auto sig = evp_sign(us.private_key(), {SignatureScheme::kRsaPkcs1, hash_algorithm::kSha1}, octets, error);
        if (!sig) return std::nullopt;
        return AuthPayload{AuthMethod::kRsaSig, std::move(*sig)};
    }
    const auto method = ecdsa_method(k);
    if (!method) {
        error = "no signature method for this key type";
        return std::nullopt;
    }
    const ClassicEcdsa c = *classic_ecdsa(*method);
    auto der = evp_sign(us.private_key(), {SignatureScheme::kEcdsa, c.hash}, octets, error);
    if (!der) return std::nullopt;
    auto raw = der_to_raw(*der, c.width);
    if (!raw) {
        error = ossl::error("cannot convert the ECDSA signature to r | s");
        return std::nullopt;
    }
    return AuthPayload{*method, std::move(*raw)};
}

bool verify_digital_signature(EVP_PKEY* key, KeyType k, std::span<const uint8_t> data, std::span<const uint8_t> octets,
                              std::string& error) {
    // RFC 7427 §3: one octet of AlgorithmIdentifier length, the AlgorithmIdentifier, the
    // signature.
    if (data.empty() || data[0] == 0 || data.size() <= size_t{1} + data[0]) {
        error = "malformed Digital Signature AUTH data";
        return false;
    }
    const auto alg = parse_signature_algorithm(data.subspan(1, data[0]), error);
    if (!alg) return false;
    if (alg->hash == hash_algorithm::kSha1 ||
        (alg->scheme == SignatureScheme::kRsaPss && alg->mgf1_hash == hash_algorithm::kSha1)) {
        error = "SHA-1 refused under Digital Signature authentication";
        return false;
    }
    if (!scheme_fits_key(alg->scheme, k)) {
        error = "signature algorithm does not fit the certificate's key";
        return false;
    }
    return evp_verify(key, *alg, octets, data.subspan(size_t{1} + data[0]), error);
}

}  // namespace

// --- SIGNATURE_HASH_ALGORITHMS ---------------------------------------------------------------------

std::vector<uint8_t> build_signature_hash_algorithms(std::span<const uint16_t> hashes) {
    std::vector<uint8_t> out;
    for (const uint16_t h : hashes) wire::put16(out, h);
    return out;
}

NotifyPayload signature_hash_algorithms_notify() {
    return {ProtocolId::kNone, NotifyType::kSignatureHashAlgorithms, {}, build_signature_hash_algorithms()};
}

std::optional<std::vector<uint16_t>> parse_signature_hash_algorithms(std::span<const uint8_t> data) {
    if (data.empty() || data.size() % 2 != 0) return std::nullopt;
    std::vector<uint16_t> hashes;
    for (size_t k = 0; k < data.size(); k += 2) hashes.push_back(wire::get16(&data[k]));
    return hashes;
}

// --- AlgorithmIdentifier -----------------------------------------------------------------------

std::optional<SignatureAlgorithm> parse_signature_algorithm(std::span<const uint8_t> der, std::string& error) {
    const unsigned char* p = der.data();
    Algor alg(d2i_X509_ALGOR(nullptr, &p, static_cast<long>(der.size())));
    if (!alg || p != der.data() + der.size()) {
        error = alg ? "trailing octets after the AlgorithmIdentifier" : ossl::error("malformed AlgorithmIdentifier");
        return std::nullopt;
    }
    const ASN1_OBJECT* obj = nullptr;
    int ptype = 0;
    const void* pval = nullptr;
    X509_ALGOR_get0(&obj, &ptype, &pval, alg.get());
    const int nid = OBJ_obj2nid(obj);
    const bool null_or_absent = ptype == V_ASN1_NULL || ptype == V_ASN1_UNDEF;
    std::optional<SignatureAlgorithm> a;
    switch (nid) {
    // RFC 4055 §5: parameters NULL, absent accepted.
    case NID_sha1WithRSAEncryption: a = {SignatureScheme::kRsaPkcs1, hash_algorithm::kSha1}; break;
    case NID_sha256WithRSAEncryption: a = {SignatureScheme::kRsaPkcs1, hash_algorithm::kSha2_256}; break;
    case NID_sha384WithRSAEncryption: a = {SignatureScheme::kRsaPkcs1, hash_algorithm::kSha2_384}; break;
    case NID_sha512WithRSAEncryption: a = {SignatureScheme::kRsaPkcs1, hash_algorithm::kSha2_512}; break;
    // RFC 5758 §3.2: parameters absent; NULL tolerated, the OID says it all.
    case NID_ecdsa_with_SHA1: a = {SignatureScheme::kEcdsa, hash_algorithm::kSha1}; break;
    case NID_ecdsa_with_SHA256: a = {SignatureScheme::kEcdsa, hash_algorithm::kSha2_256}; break;
    case NID_ecdsa_with_SHA384: a = {SignatureScheme::kEcdsa, hash_algorithm::kSha2_384}; break;
    case NID_ecdsa_with_SHA512: a = {SignatureScheme::kEcdsa, hash_algorithm::kSha2_512}; break;
    case NID_rsassaPss: return parse_pss_params(ptype, pval, error);
    default:
        error = "unsupported signature algorithm";
        return std::nullopt;
    }
    if (!null_or_absent) {
        error = "unexpected parameters in the AlgorithmIdentifier";
        return std::nullopt;
    }
    return a;
}

std::vector<uint8_t> build_signature_algorithm(const SignatureAlgorithm& a) {
    const Bytes* hash_oid = sha2_oid(a.hash);
    if (!hash_oid) return {};
    const uint8_t i = sha2_index(a.hash);
    switch (a.scheme) {
    case SignatureScheme::kRsaPkcs1:
        return sequence({pkcs1_oid(static_cast<uint8_t>(11 + i)), der_null()});
    case SignatureScheme::kEcdsa:
        return sequence({ecdsa_oid(static_cast<uint8_t>(2 + i))});
    case SignatureScheme::kRsaPss: {
        const Bytes* mgf_oid = sha2_oid(a.mgf1_hash);
        if (!mgf_oid) return {};
        // DER leaves out fields at their DEFAULT (the salt's 20; the trailer's 1, always).
        const Bytes salt = a.salt_length == 20 ? Bytes{} : explicit_tag(2, der_integer(a.salt_length));
        const Bytes params = sequence({explicit_tag(0, sequence({*hash_oid, der_null()})),
                                       explicit_tag(1, sequence({pkcs1_oid(8), sequence({*mgf_oid, der_null()})})),
                                       salt});
        return sequence({pkcs1_oid(10), params});
    }
    }
    return {};
}

std::optional<SignatureAlgorithm> choose_signature_algorithm(KeyType key, std::span<const uint16_t> peer_hashes) {
    SignatureAlgorithm a;
    switch (key) {
    case KeyType::kRsa: a = {SignatureScheme::kRsaPkcs1, hash_algorithm::kSha2_256}; break;
    case KeyType::kEcP256: a = {SignatureScheme::kEcdsa, hash_algorithm::kSha2_256}; break;
    case KeyType::kEcP384: a = {SignatureScheme::kEcdsa, hash_algorithm::kSha2_384}; break;
    case KeyType::kEcP521: a = {SignatureScheme::kEcdsa, hash_algorithm::kSha2_512}; break;
    default: return std::nullopt;
    }
    if (peer_hashes.empty()) return a;
    const auto listed = [&](uint16_t h) { return std::find(peer_hashes.begin(), peer_hashes.end(), h) != peer_hashes.end(); };
    if (listed(a.hash)) return a;
    for (const uint16_t h : kOurSignatureHashes) {
        if (listed(h)) {
            a.hash = h;
            return a;
        }
    }
    return std::nullopt;
}

// --- Signing and verifying -----------------------------------------------------------------------

std::optional<AuthPayload> sign_auth(const OurCredentials& us, std::span<const uint8_t> octets,
                                     bool peer_supports_rfc7427, std::string& error) {
    if (!peer_supports_rfc7427) return sign_classic(us, octets, error);
    const auto alg = choose_signature_algorithm(us.key_type());
    if (!alg) {
        error = "no signature algorithm for this key type";
        return std::nullopt;
    }
    return sign_digital_signature(us, *alg, octets, error);
}

std::optional<AuthPayload> sign_digital_signature(const OurCredentials& us, const SignatureAlgorithm& alg,
                                                  std::span<const uint8_t> octets, std::string& error) {
    if (!scheme_fits_key(alg.scheme, us.key_type())) {
        error = "signature algorithm does not fit our key";
        return std::nullopt;
    }
    const Bytes id = build_signature_algorithm(alg);
    if (id.empty() || id.size() > 255) {
        error = "signature algorithm not usable under Digital Signature authentication";
        return std::nullopt;
    }
    auto sig = evp_sign(us.private_key(), alg, octets, error);
    if (!sig) return std::nullopt;
    AuthPayload auth{AuthMethod::kDigitalSignature, {static_cast<uint8_t>(id.size())}};
    auth.data.insert(auth.data.end(), id.begin(), id.end());
    auth.data.insert(auth.data.end(), sig->begin(), sig->end());
    return auth;
}

bool verify_auth(const Certificate& peer, const AuthPayload& auth, std::span<const uint8_t> octets,
                 std::string& error) {
    EVP_PKEY* key = peer.public_key();
    const KeyType k = key_type_of(key);
    if (auth.method == AuthMethod::kRsaSig) {
        if (k != KeyType::kRsa) {
            error = "RSA Digital Signature AUTH from a certificate without an RSA key";
            return false;
        }
        return evp_verify(key, {SignatureScheme::kRsaPkcs1, hash_algorithm::kSha1}, octets, auth.data, error);
    }
    if (const auto c = classic_ecdsa(auth.method)) {
        if (k != c->curve) {
            error = "ECDSA AUTH method does not fit the certificate's key or curve";
            return false;
        }
        const auto der = raw_to_der(auth.data, c->width);
        if (!der) {
            error = ossl::error("malformed ECDSA AUTH data (r | s)");
            return false;
        }
        return evp_verify(key, {SignatureScheme::kEcdsa, c->hash}, octets, *der, error);
    }
    if (auth.method == AuthMethod::kDigitalSignature) return verify_digital_signature(key, k, auth.data, octets, error);
    error = "AUTH method " + std::to_string(static_cast<unsigned>(auth.method)) + " is not a certificate signature";
    return false;
}

}  // namespace espgw::ike
