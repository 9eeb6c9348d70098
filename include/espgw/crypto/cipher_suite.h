// The ESP transforms espgw supports and their wire parameters.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace espgw::crypto {

enum class Cipher : uint8_t {
    aes128_gcm,         // RFC 4106, 16-byte ICV
    aes256_gcm,         // RFC 4106, 16-byte ICV
    aes128_cbc,         // RFC 3602, needs an integrity algorithm
    aes256_cbc,         // RFC 3602, needs an integrity algorithm
    chacha20_poly1305,  // RFC 7634
};

enum class Integrity : uint8_t {
    none,  // only with AEAD ciphers
    hmac_sha1_96,
    hmac_sha256_128,  // RFC 4868
    hmac_sha384_192,
    hmac_sha512_256,
};

struct SuiteInfo {
    uint8_t key_len;    // cipher key bytes, without salt
    uint8_t salt_len;   // AEAD salt taken from the end of the key material (RFC 4106 §8.1)
    uint8_t iv_len;     // explicit IV carried in each packet
    uint8_t block_len;  // the payload+trailer is padded to a multiple of this (at least 4)
    uint8_t icv_len;
    uint8_t auth_key_len;  // HMAC key bytes (0 for AEAD)
    bool aead;
};

SuiteInfo suite_info(Cipher c, Integrity i);

std::optional<Cipher> parse_cipher(std::string_view name);
std::optional<Integrity> parse_integrity(std::string_view name);
std::string_view name_of(Cipher c);
std::string_view name_of(Integrity i);

}  // namespace espgw::crypto
