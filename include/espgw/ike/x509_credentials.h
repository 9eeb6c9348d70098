// X.509 material for IKEv2 certificate authentication (RFC 7296 §2.15, §3.6, §3.7):
// a parsed certificate and what IKE asks of it (its identities, its key), our own
// certificate with its private key, and the CAs we trust to vouch for peers. OpenSSL parses
// and verifies; the AUTH signatures themselves are in signature_auth.h.
#pragma once

#include <openssl/types.h>

#include <array>
#include <cstdint>
#include <ctime>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "espgw/ike/payloads.h"

namespace espgw::ike {

// The key types IKE signatures come in. The curve matters for the classic ECDSA methods
// (RFC 4754 ties each to one curve and one hash).
enum class KeyType : uint8_t { kUnsupported, kRsa, kRsaPss, kEcP256, kEcP384, kEcP521 };

// An X.509 certificate, parsed once, with its DER kept as it came (CERT payloads carry it).
// Copies share the parsed certificate.
class Certificate {
public:
    static std::optional<Certificate> from_der(std::span<const uint8_t> der, std::string& error);
    // Takes over one reference to x (not null).
    static Certificate adopt(X509* x);

    std::span<const uint8_t> der() const { return der_; }
    X509* x509() const { return x509_.get(); }
    EVP_PKEY* public_key() const;  // owned by the certificate
    KeyType key_type() const;
    // ID_DER_ASN1_DN: the subject's DER Name, the identity a certificate has even without
    // subjectAltName.
    IdPayload subject_id() const;
    // Whether the certificate vouches for id: FQDN and RFC 822 against the subjectAltName's
    // dNSName and rfc822Name (ASCII case-insensitive; an RFC 822 local part exactly), IPv4
    // and IPv6 against its iPAddress, DER_ASN1_DN against the subject. Other ID types never.
    bool matches_id(const IdPayload& id) const;

private:
    std::shared_ptr<X509> x509_;
    std::vector<uint8_t> der_;
};

KeyType key_type_of(const EVP_PKEY* key);

// SHA-1 over a certificate's DER SubjectPublicKeyInfo: how CERTREQ names a CA (§3.7).
using KeyHash = std::array<uint8_t, 20>;
KeyHash spki_sha1(const Certificate& cert);

// Our side: a certificate, the intermediates that lead from it to a CA the peer trusts,
// and the private key (RSA, or EC on P-256, P-384 or P-521).
class OurCredentials {
public:
    // cert_pem_path: our certificate first, then any intermediates, all PEM;
    // key_pem_path: the certificate's private key, PEM (PKCS#8 or traditional, unencrypted).
    static std::optional<OurCredentials> load(const std::string& cert_pem_path, const std::string& key_pem_path,
                                              std::string& error);

    const Certificate& certificate() const { return cert_; }
    const std::vector<Certificate>& intermediates() const { return intermediates_; }
    // CERT payloads to send: ours first (§3.6: the first certificate MUST hold the key that
    // signed AUTH), then the intermediates, each as X.509 Signature (encoding 4).
    std::vector<CertPayload> cert_payloads() const;
    // Our identity when none is configured: the subject DN.
    IdPayload default_id() const { return cert_.subject_id(); }
    // Whether a configured identity is one the certificate vouches for (else the peer would
    // refuse it).
    bool id_matches(const IdPayload& id) const { return cert_.matches_id(id); }
    KeyType key_type() const { return key_type_of(key_.get()); }
    EVP_PKEY* private_key() const { return key_.get(); }

private:
    Certificate cert_;
    std::vector<Certificate> intermediates_;
    std::shared_ptr<EVP_PKEY> key_;
};

// The CAs that vouch for peers. Every certificate added is a trust anchor, self-signed or
// not (an operator may trust an intermediate CA alone).
class TrustStore {
public:
    TrustStore();
    // Copies would share one OpenSSL store behind separate CA lists: moves only.
    TrustStore(const TrustStore&) = delete;
    TrustStore& operator=(const TrustStore&) = delete;
    TrustStore(TrustStore&&) = default;
    TrustStore& operator=(TrustStore&&) = default;
    // Every certificate in a PEM file.
    bool add_pem_file(const std::string& path, std::string& error);
    bool add(const Certificate& ca, std::string& error);
    size_t size() const { return cas_.size(); }
    const std::vector<Certificate>& cas() const { return cas_; }

    // Verifies the peer's end-entity certificate, with whatever intermediates it sent, up to
    // one of our CAs (OpenSSL's X509_verify_cert: signatures, validity times, CA flags and
    // path length). at: the time to check against, now if unset. The end-entity certificate
    // when it checks out; nullopt with error set when not.
    std::optional<Certificate> verify(std::span<const uint8_t> end_entity_der,
                                      const std::vector<std::vector<uint8_t>>& intermediates_der, std::string& error,
                                      std::optional<std::time_t> at = std::nullopt) const;

    // CERTREQ data (§3.7): the SHA-1 hashes of our CAs' SubjectPublicKeyInfo, concatenated.
    std::vector<uint8_t> certreq_data() const;

private:
    std::shared_ptr<X509_STORE> store_;
    std::vector<Certificate> cas_;
};

// The CA key hashes of a peer's X.509 Signature CERTREQ; nullopt if the data is not a
// whole number of them. A CERTREQ, whatever it names, asks for our certificate; the hashes
// let a side with several credentials pick the one the peer can verify.
std::optional<std::vector<KeyHash>> parse_certreq(std::span<const uint8_t> data);

}  // namespace espgw::ike
