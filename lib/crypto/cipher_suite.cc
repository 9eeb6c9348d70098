#include "espgw/crypto/cipher_suite.h"

#include <array>

namespace espgw::crypto {

namespace {

constexpr std::array<std::string_view, 5> kCipherNames = {
    "aes128-gcm", "aes256-gcm", "aes128-cbc", "aes256-cbc", "chacha20-poly1305"};
constexpr std::array<std::string_view, 5> kIntegrityNames = {
    "none", "hmac-sha1-96", "hmac-sha256-128", "hmac-sha384-192", "hmac-sha512-256"};

}  // namespace

SuiteInfo suite_info(Cipher c, Integrity i) {
    SuiteInfo s{};
    switch (c) {
    case Cipher::aes128_gcm: s = {16, 4, 8, 4, 16, 0, true}; break;
    case Cipher::aes256_gcm: s = {32, 4, 8, 4, 16, 0, true}; break;
    case Cipher::chacha20_poly1305: s = {32, 4, 8, 4, 16, 0, true}; break;
    case Cipher::aes128_cbc: s = {16, 0, 16, 16, 0, 0, false}; break;
    case Cipher::aes256_cbc: s = {32, 0, 16, 16, 0, 0, false}; break;
    }
    if (!s.aead) {
        switch (i) {
        case Integrity::none: break;
        case Integrity::hmac_sha1_96: s.icv_len = 12; s.auth_key_len = 20; break;
        case Integrity::hmac_sha256_128: s.icv_len = 16; s.auth_key_len = 32; break;
        case Integrity::hmac_sha384_192: s.icv_len = 24; s.auth_key_len = 48; break;
        case Integrity::hmac_sha512_256: s.icv_len = 32; s.auth_key_len = 64; break;
        }
    }
    return s;
}

std::optional<Cipher> parse_cipher(std::string_view name) {
    for (size_t k = 0; k < kCipherNames.size(); ++k)
        if (kCipherNames[k] == name) return static_cast<Cipher>(k);
    return std::nullopt;
}

std::optional<Integrity> parse_integrity(std::string_view name) {
    for (size_t k = 0; k < kIntegrityNames.size(); ++k)
        if (kIntegrityNames[k] == name) return static_cast<Integrity>(k);
    return std::nullopt;
}

std::string_view name_of(Cipher c) { return kCipherNames[static_cast<size_t>(c)]; }
std::string_view name_of(Integrity i) { return kIntegrityNames[static_cast<size_t>(i)]; }

}  // namespace espgw::crypto
