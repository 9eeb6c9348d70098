// AUTH payloads made and checked with certificate keys (RFC 7296 §2.15, §3.8): the classic
// methods, RSA Digital Signature (1: PKCS#1 v1.5 with SHA-1) and ECDSA (RFC 4754, 9/10/11:
// one hash per curve, r | s in fixed width), and RFC 7427's Digital Signature (14), whose
// AUTH data names its algorithm with an ASN.1 AlgorithmIdentifier. What is signed is
// signed_octets() (signed_octets.h); that the certificate is trusted and names the peer's
// ID is x509_credentials.h's business.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "espgw/ike/payloads.h"
#include "espgw/ike/x509_credentials.h"

namespace espgw::ike {

// Authentication methods of RFC 4754 (AuthMethod names the RFC 7296 ones).
namespace auth_method {
constexpr AuthMethod kEcdsaSha256P256 = static_cast<AuthMethod>(9);
constexpr AuthMethod kEcdsaSha384P384 = static_cast<AuthMethod>(10);
constexpr AuthMethod kEcdsaSha512P521 = static_cast<AuthMethod>(11);
}  // namespace auth_method

// IKEv2 hash algorithm IDs (RFC 7427 §7, IANA "IKEv2 Hash Algorithms").
namespace hash_algorithm {
constexpr uint16_t kSha1 = 1;
constexpr uint16_t kSha2_256 = 2;
constexpr uint16_t kSha2_384 = 3;
constexpr uint16_t kSha2_512 = 4;
}  // namespace hash_algorithm

// What we announce in SIGNATURE_HASH_ALGORITHMS: SHA-2 only (SHA-1 is refused under
// method 14, RFC 8247 §3.2).
inline constexpr std::array<uint16_t, 3> kOurSignatureHashes{hash_algorithm::kSha2_256, hash_algorithm::kSha2_384,
                                                             hash_algorithm::kSha2_512};

// SIGNATURE_HASH_ALGORITHMS notify data (RFC 7427 §4): the IDs, 2 octets each.
std::vector<uint8_t> build_signature_hash_algorithms(std::span<const uint16_t> hashes = kOurSignatureHashes);
NotifyPayload signature_hash_algorithms_notify();
// The peer's list, unknown IDs included; nullopt if empty or of odd length. A peer that
// sent this notify supports method 14.
std::optional<std::vector<uint16_t>> parse_signature_hash_algorithms(std::span<const uint8_t> data);

// --- The signature algorithm of a method 14 AUTH ------------------------------------------------

enum class SignatureScheme : uint8_t { kRsaPkcs1, kRsaPss, kEcdsa };

struct SignatureAlgorithm {
    SignatureScheme scheme = SignatureScheme::kRsaPkcs1;
    uint16_t hash = hash_algorithm::kSha2_256;  // hash_algorithm::
    // RSASSA-PSS only (RFC 4055 §3.1): MGF1's hash and the salt length in octets.
    uint16_t mgf1_hash = 0;
    uint32_t salt_length = 0;
    bool operator==(const SignatureAlgorithm&) const = default;
};

// A DER AlgorithmIdentifier (RFC 7427 §3, RFC 5280 §4.1.1.2): sha1/256/384/512WithRSAEncryption
// (parameters NULL or absent), id-RSASSA-PSS with its parameters (RFC 4055; absent ones take
// their defaults, SHA-1 and a 20-octet salt), ecdsa-with-SHA1/256/384/512 (parameters absent,
// NULL tolerated). SHA-1 parses, so that verification can say why it refuses it. nullopt with
// error set for anything else, and for trailing octets.
std::optional<SignatureAlgorithm> parse_signature_algorithm(std::span<const uint8_t> der, std::string& error);
// The DER AlgorithmIdentifier; empty for SHA-1 (never built) or a hash it does not know.
std::vector<uint8_t> build_signature_algorithm(const SignatureAlgorithm& a);

// The algorithm we sign with under method 14 for our key type: SHA-256 with RSA (PKCS#1
// v1.5), for ECDSA the hash of the curve's strength (SHA-256 on P-256, SHA-384 on P-384,
// SHA-512 on P-521). With the peer's SIGNATURE_HASH_ALGORITHMS list given, a hash from it:
// that one if listed, else the first of SHA-256, SHA-384, SHA-512 listed; nullopt if it
// lists none of them (then sign with the classic method) or the key type is unsupported.
std::optional<SignatureAlgorithm> choose_signature_algorithm(KeyType key, std::span<const uint16_t> peer_hashes = {});

// --- Signing and verifying ----------------------------------------------------------------------

// Our AUTH over octets. peer_supports_rfc7427 (it sent SIGNATURE_HASH_ALGORITHMS): method 14
// with choose_signature_algorithm(); otherwise the classic method of our key type: 1 for RSA,
// 9, 10 or 11 for ECDSA on P-256, P-384, P-521.
std::optional<AuthPayload> sign_auth(const OurCredentials& us, std::span<const uint8_t> octets,
                                     bool peer_supports_rfc7427, std::string& error);
// A method 14 AUTH with the algorithm given (one the key can do; not SHA-1).
std::optional<AuthPayload> sign_digital_signature(const OurCredentials& us, const SignatureAlgorithm& alg,
                                                  std::span<const uint8_t> octets, std::string& error);

// Whether the peer's AUTH is a valid signature over octets by the key of its certificate
// (verified already). Methods 1, 9, 10, 11 and 14; the method or algorithm must fit the
// key (RSA or RSA-PSS key, or EC on the curve the method names); SHA-1 only under method 1.
// false with error set when not.
bool verify_auth(const Certificate& peer, const AuthPayload& auth, std::span<const uint8_t> octets,
                 std::string& error);

}  // namespace espgw::ike
