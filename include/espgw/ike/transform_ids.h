// IANA's IKEv2 transform IDs (RFC 7296 §3.3.2 and the registries it founded), in one place:
// the codec reads and writes them, the KDF and key exchange take the PRF and group as enums
// whose values are these.
#pragma once

#include <cstdint>

namespace espgw::ike {

enum class TransformType : uint8_t { kEncr = 1, kPrf = 2, kInteg = 3, kDh = 4, kEsn = 5 };
namespace encr_id {
constexpr uint16_t kAesCbc = 12;           // Key Length attribute required (RFC 3602)
constexpr uint16_t kAesCtr = 13;           // RFC 5930
constexpr uint16_t kAesGcm8 = 18;          // RFC 5282, 8-octet ICV
constexpr uint16_t kAesGcm12 = 19;         // 12-octet ICV
constexpr uint16_t kAesGcm16 = 20;         // 16-octet ICV
constexpr uint16_t kChacha20Poly1305 = 28;  // RFC 7634, no Key Length attribute
}  // namespace encr_id
namespace prf_id {
constexpr uint16_t kHmacSha1 = 2;
constexpr uint16_t kHmacSha2_256 = 5;  // RFC 4868
constexpr uint16_t kHmacSha2_384 = 6;
constexpr uint16_t kHmacSha2_512 = 7;
}  // namespace prf_id
namespace integ_id {
constexpr uint16_t kNone = 0;  // with combined-mode ciphers (AES-GCM, ChaCha20-Poly1305)
constexpr uint16_t kHmacSha1_96 = 2;
constexpr uint16_t kHmacSha2_256_128 = 12;  // RFC 4868
constexpr uint16_t kHmacSha2_384_192 = 13;
constexpr uint16_t kHmacSha2_512_256 = 14;
}  // namespace integ_id
namespace dh_id {
constexpr uint16_t kNone = 0;
constexpr uint16_t kModp1024 = 2;
constexpr uint16_t kModp2048 = 14;  // RFC 3526
constexpr uint16_t kModp3072 = 15;
constexpr uint16_t kModp4096 = 16;
constexpr uint16_t kEcp256 = 19;  // RFC 5903
constexpr uint16_t kEcp384 = 20;
constexpr uint16_t kCurve25519 = 31;  // RFC 8031
}  // namespace dh_id
namespace esn_id {
constexpr uint16_t kNo = 0;
constexpr uint16_t kYes = 1;
}  // namespace esn_id
// Transform attribute types (§3.3.5). Key Length is the only one defined, and only in TV form.
constexpr uint16_t kAttrKeyLength = 14;

enum class Prf : uint16_t {
    hmac_sha1 = prf_id::kHmacSha1,
    hmac_sha256 = prf_id::kHmacSha2_256,
    hmac_sha384 = prf_id::kHmacSha2_384,
    hmac_sha512 = prf_id::kHmacSha2_512,
};

// The groups espgw implements (MODP-1024 only for connections with legacy_modp1024).
enum class DhGroup : uint16_t {
    modp1024 = dh_id::kModp1024,  // legacy (RFC 2409 group 2): only where a connection allows it
    modp2048 = dh_id::kModp2048,
    modp3072 = dh_id::kModp3072,
    modp4096 = dh_id::kModp4096,
    ecp256 = dh_id::kEcp256,
    ecp384 = dh_id::kEcp384,
    curve25519 = dh_id::kCurve25519,
};

}  // namespace espgw::ike
