#include "espgw/ike/x509_credentials.h"

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <string_view>

#include "openssl_handles.h"

namespace espgw::ike {

namespace {

void free_stack_only(STACK_OF(X509) * s) { sk_X509_free(s); }  // sk_X509_free is a macro

using Bio = ossl::Handle<BIO, BIO_free_all>;
using X509Stack = ossl::Handle<STACK_OF(X509), free_stack_only>;  // does not own the certificates
using StoreCtx = ossl::Handle<X509_STORE_CTX, X509_STORE_CTX_free>;
using Name = ossl::Handle<X509_NAME, X509_NAME_free>;
using GeneralNames = ossl::Handle<GENERAL_NAMES, GENERAL_NAMES_free>;

std::span<const uint8_t> bytes_of(const ASN1_STRING* s) {
    return {ASN1_STRING_get0_data(s), static_cast<size_t>(ASN1_STRING_length(s))};
}

char ascii_lower(uint8_t c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c); }

bool equal_ignoring_case(std::span<const uint8_t> a, std::span<const uint8_t> b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                      [](uint8_t x, uint8_t y) { return ascii_lower(x) == ascii_lower(y); });
}

// user@domain: the domain is case-insensitive (DNS), the local part is not (RFC 5321 §2.4).
bool same_mailbox(std::span<const uint8_t> a, std::span<const uint8_t> b) {
    const auto at_a = std::find(a.rbegin(), a.rend(), '@'), at_b = std::find(b.rbegin(), b.rend(), '@');
    const size_t local_a = static_cast<size_t>(a.rend() - at_a), local_b = static_cast<size_t>(b.rend() - at_b);
    if (local_a != local_b) return false;  // includes one with '@' and one without
    return std::equal(a.begin(), a.begin() + static_cast<long>(local_a), b.begin()) &&
           equal_ignoring_case(a.subspan(local_a), b.subspan(local_b));
}

bool subject_is(X509* x, std::span<const uint8_t> dn_der) {
    const unsigned char* p = dn_der.data();
    Name name(d2i_X509_NAME(nullptr, &p, static_cast<long>(dn_der.size())));
    if (!name || p != dn_der.data() + dn_der.size()) {
        ERR_clear_error();
        return false;
    }
    // X509_NAME_cmp compares canonical forms, so a DN the peer encoded with other string
    // types or letter case still matches.
    return X509_NAME_cmp(name.get(), X509_get_subject_name(x)) == 0;
}

bool alt_name_matches(X509* x, const IdPayload& id) {
    GeneralNames names(static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr)));
    if (!names) return false;
    for (int k = 0; k < sk_GENERAL_NAME_num(names.get()); ++k) {
        const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), k);
        switch (id.type) {
        case IdType::kFqdn:
            if (gn->type == GEN_DNS && equal_ignoring_case(bytes_of(gn->d.dNSName), id.data)) return true;
            break;
        case IdType::kRfc822Addr:
            if (gn->type == GEN_EMAIL && same_mailbox(bytes_of(gn->d.rfc822Name), id.data)) return true;
            break;
        case IdType::kIpv4Addr:
        case IdType::kIpv6Addr: {
            if (gn->type != GEN_IPADD) break;
            const auto addr = bytes_of(gn->d.iPAddress);  // 4 or 16 octets, like the ID's data
            if (std::equal(addr.begin(), addr.end(), id.data.begin(), id.data.end())) return true;
            break;
        }
        default:
            return false;
        }
    }
    return false;
}

// Reads every PEM certificate in a file; fails on an unreadable file, a file without any,
// or a damaged one.
std::optional<std::vector<Certificate>> read_pem_certificates(const std::string& path, std::string& error) {
    Bio bio(BIO_new_file(path.c_str(), "r"));
    if (!bio) {
        error = ossl::error("cannot open " + path);
        return std::nullopt;
    }
    std::vector<Certificate> certs;
    while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) certs.push_back(Certificate::adopt(x));
    // The loop ends on an error; "no start line" after at least one certificate is the
    // file's end, anything else is damage.
    const unsigned long e = ERR_peek_last_error();
    if (certs.empty() || ERR_GET_LIB(e) != ERR_LIB_PEM || ERR_GET_REASON(e) != PEM_R_NO_START_LINE) {
        error = ossl::error("no readable PEM certificate in " + path);
        return std::nullopt;
    }
    ERR_clear_error();
    return certs;
}

// Encrypted keys fail instead of OpenSSL asking for a passphrase on the terminal.
int no_passphrase(char*, int, int, void*) { return -1; }

}  // namespace

// --- Certificate ---------------------------------------------------------------------------

std::optional<Certificate> Certificate::from_der(std::span<const uint8_t> der, std::string& error) {
    const unsigned char* p = der.data();
    X509* x = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
    if (!x) {
        error = ossl::error("not a DER X.509 certificate");
        return std::nullopt;
    }
    if (p != der.data() + der.size()) {
        X509_free(x);
        error = "trailing octets after the certificate";
        return std::nullopt;
    }
    Certificate c;
    c.x509_.reset(x, X509_free);
    c.der_.assign(der.begin(), der.end());
    return c;
}

Certificate Certificate::adopt(X509* x) {
    Certificate c;
    c.x509_.reset(x, X509_free);
    unsigned char* der = nullptr;
    const int len = i2d_X509(x, &der);
    if (len > 0) {
        c.der_.assign(der, der + len);
        OPENSSL_free(der);
    }
    return c;
}

EVP_PKEY* Certificate::public_key() const { return x509_ ? X509_get0_pubkey(x509_.get()) : nullptr; }

KeyType Certificate::key_type() const { return key_type_of(public_key()); }

IdPayload Certificate::subject_id() const {
    IdPayload id{IdType::kDerAsn1Dn, {}};
    unsigned char* der = nullptr;
    const int len = x509_ ? i2d_X509_NAME(X509_get_subject_name(x509_.get()), &der) : 0;
    if (len > 0) {
        id.data.assign(der, der + len);
        OPENSSL_free(der);
    }
    return id;
}

bool Certificate::matches_id(const IdPayload& id) const {
    if (!x509_) return false;
    switch (id.type) {
    case IdType::kDerAsn1Dn:
        return subject_is(x509_.get(), id.data);
    case IdType::kFqdn:
    case IdType::kRfc822Addr:
        return !id.data.empty() && alt_name_matches(x509_.get(), id);
    case IdType::kIpv4Addr:
        return id.data.size() == 4 && alt_name_matches(x509_.get(), id);
    case IdType::kIpv6Addr:
        return id.data.size() == 16 && alt_name_matches(x509_.get(), id);
    default:
        return false;  // KEY_ID, DER_ASN1_GN: nothing in a certificate to hold them against
    }
}

KeyType key_type_of(const EVP_PKEY* key) {
    if (!key) return KeyType::kUnsupported;
    if (EVP_PKEY_is_a(key, "RSA")) return KeyType::kRsa;
    if (EVP_PKEY_is_a(key, "RSA-PSS")) return KeyType::kRsaPss;
    if (!EVP_PKEY_is_a(key, "EC")) return KeyType::kUnsupported;
    char group[80];
    size_t len = 0;
    if (!EVP_PKEY_get_group_name(key, group, sizeof group, &len)) {
        ERR_clear_error();
        return KeyType::kUnsupported;
    }
    int nid = OBJ_sn2nid(group);  // "prime256v1", "secp384r1", ...
    if (nid == NID_undef) nid = EC_curve_nist2nid(group);  // "P-256", ...
    switch (nid) {
    case NID_X9_62_prime256v1: return KeyType::kEcP256;
    case NID_secp384r1: return KeyType::kEcP384;
    case NID_secp521r1: return KeyType::kEcP521;
    default: return KeyType::kUnsupported;
    }
}

KeyHash spki_sha1(const Certificate& cert) {
    KeyHash h{};
    unsigned char* spki = nullptr;
    const int len = cert.x509() ? i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert.x509()), &spki) : 0;
    if (len > 0) {
        EVP_Digest(spki, static_cast<size_t>(len), h.data(), nullptr, EVP_sha1(), nullptr);
        OPENSSL_free(spki);
    }
    return h;
}

// --- OurCredentials --------------------------------------------------------------------------

std::optional<OurCredentials> OurCredentials::load(const std::string& cert_pem_path, const std::string& key_pem_path,
                                                   std::string& error) {
    auto certs = read_pem_certificates(cert_pem_path, error);
    if (!certs) return std::nullopt;
    Bio bio(BIO_new_file(key_pem_path.c_str(), "r"));
    if (!bio) {
        error = ossl::error("cannot open " + key_pem_path);
        return std::nullopt;
    }
    EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr);
    if (!key) {
        error = ossl::error("no readable (unencrypted) PEM private key in " + key_pem_path);
        return std::nullopt;
    }
    OurCredentials c;
    c.key_.reset(key, EVP_PKEY_free);
    c.cert_ = (*certs)[0];
    c.intermediates_.assign(certs->begin() + 1, certs->end());
    switch (c.key_type()) {
    case KeyType::kRsa:
    case KeyType::kEcP256:
    case KeyType::kEcP384:
    case KeyType::kEcP521:
        break;
    default:
        error = "private key in " + key_pem_path + " is neither RSA nor EC on P-256, P-384 or P-521";
        return std::nullopt;
    }
    if (X509_check_private_key(c.cert_.x509(), key) != 1) {
        error = ossl::error("private key in " + key_pem_path + " does not belong to the first certificate in " +
                            cert_pem_path);
        return std::nullopt;
    }
    return c;
}

std::vector<CertPayload> OurCredentials::cert_payloads() const {
    std::vector<CertPayload> out;
    out.push_back({cert_encoding::kX509Signature, {cert_.der().begin(), cert_.der().end()}});
    for (const auto& c : intermediates_) out.push_back({cert_encoding::kX509Signature, {c.der().begin(), c.der().end()}});
    return out;
}

// --- TrustStore ------------------------------------------------------------------------------

TrustStore::TrustStore() : store_(X509_STORE_new(), X509_STORE_free) {
    // Each CA we were given is an anchor in itself: the chain may end at an intermediate
    // the operator chose to trust, not only at a self-signed root.
    if (store_) X509_STORE_set_flags(store_.get(), X509_V_FLAG_PARTIAL_CHAIN);
}

bool TrustStore::add_pem_file(const std::string& path, std::string& error) {
    auto certs = read_pem_certificates(path, error);
    if (!certs) return false;
    for (const auto& c : *certs)
        if (!add(c, error)) return false;
    return true;
}

bool TrustStore::add(const Certificate& ca, std::string& error) {
    if (!store_ || !ca.x509() || X509_STORE_add_cert(store_.get(), ca.x509()) != 1) {
        error = ossl::error("cannot add CA certificate");
        return false;
    }
    cas_.push_back(ca);
    return true;
}

std::optional<Certificate> TrustStore::verify(std::span<const uint8_t> end_entity_der,
                                              const std::vector<std::vector<uint8_t>>& intermediates_der,
                                              std::string& error, std::optional<std::time_t> at) const {
    auto leaf = Certificate::from_der(end_entity_der, error);
    if (!leaf) return std::nullopt;
    std::vector<Certificate> intermediates;  // keeps the stack's certificates alive
    X509Stack untrusted(sk_X509_new_null());
    if (!store_ || !untrusted) {
        error = ossl::error("out of memory");
        return std::nullopt;
    }
    for (const auto& der : intermediates_der) {
        auto c = Certificate::from_der(der, error);
        if (!c) {
            error = "intermediate certificate: " + error;
            return std::nullopt;
        }
        intermediates.push_back(*c);
        sk_X509_push(untrusted.get(), c->x509());
    }
    StoreCtx ctx(X509_STORE_CTX_new());
    if (!ctx || X509_STORE_CTX_init(ctx.get(), store_.get(), leaf->x509(), untrusted.get()) != 1) {
        error = ossl::error("cannot set up certificate verification");
        return std::nullopt;
    }
    if (at) X509_STORE_CTX_set_time(ctx.get(), 0, *at);
    if (X509_verify_cert(ctx.get()) != 1) {
        const int why = X509_STORE_CTX_get_error(ctx.get());
        error = std::string("certificate verification failed at depth ") +
                std::to_string(X509_STORE_CTX_get_error_depth(ctx.get())) + ": " + X509_verify_cert_error_string(why);
        ERR_clear_error();
        return std::nullopt;
    }
    return leaf;
}

std::vector<uint8_t> TrustStore::certreq_data() const {
    std::vector<uint8_t> out;
    for (const auto& ca : cas_) {
        const KeyHash h = spki_sha1(ca);
        out.insert(out.end(), h.begin(), h.end());
    }
    return out;
}

std::optional<std::vector<KeyHash>> parse_certreq(std::span<const uint8_t> data) {
    if (data.size() % std::tuple_size_v<KeyHash> != 0) return std::nullopt;
    std::vector<KeyHash> hashes(data.size() / std::tuple_size_v<KeyHash>);
    for (size_t k = 0; k < hashes.size(); ++k)
        std::copy_n(data.begin() + static_cast<long>(k * hashes[k].size()), hashes[k].size(), hashes[k].begin());
    return hashes;
}

}  // namespace espgw::ike
