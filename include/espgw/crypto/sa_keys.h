// Per-SA key material, expanded once when the SA is installed (never per packet).
#pragma once

#include <intel-ipsec-mb.h>

#include <cstdint>
#include <span>
#include <string>

#include "espgw/crypto/cipher_suite.h"

namespace espgw::crypto {

struct alignas(64) SaKeys {
    Cipher cipher{};
    Integrity integrity{};
    SuiteInfo info{};
    uint8_t salt[4]{};

    // One cipher's keys: an SA has one cipher, and with a million SAs the others' room would
    // cost gigabytes. (Anonymous struct in the union: a GNU extension GCC and Clang share.)
    union {
        // AES-GCM: round keys and GHASH tables (the largest: zeroing it zeroes the union).
        struct gcm_key_data gcm {};
        // AES-CBC + HMAC.
        struct {
            // Encryption and decryption round keys (up to 15 rounds of 16 bytes).
            alignas(16) uint8_t aes_enc[16 * 15];
            alignas(16) uint8_t aes_dec[16 * 15];
            // CBC IVs are AES_K'(sequence number) under a random per-SA key K', so they are
            // unpredictable (RFC 3602 §2) without a random number per packet.
            alignas(16) uint8_t iv_key_enc[16 * 11];
            // HMAC: hash states after one block of key^ipad and key^opad.
            alignas(16) uint8_t hmac_ipad[64];
            alignas(16) uint8_t hmac_opad[64];
        };
        // ChaCha20-Poly1305 key.
        alignas(16) uint8_t chacha_key[32];
    };
};
static_assert(sizeof(gcm_key_data) >= 16 * 15 * 2 + 16 * 11 + 64 * 2, "the GCM keys are the union's largest member");

// Prefetching an SA's keys before its packets' crypto (a concentrator's SAs are cache misses),
// without reading them: the header and the round keys (AES-256's 15 included), and the GHASH
// table's last two lines, which AES-GCM on a small packet reads. Measured at 1 M SAs, 64 B:
// decap about 840 -> 600 cycles for AES-128-GCM; prefetching more of the table, or the
// AES-CBC/HMAC lines by cipher once the header is in, cost more than it saved.
inline void prefetch_keys(const SaKeys& k) {
    const auto* p = reinterpret_cast<const char*>(&k);
    for (unsigned off = 0; off < 320; off += 64) __builtin_prefetch(p + off);
    const auto* ghash_end = reinterpret_cast<const char*>(&k.gcm + 1);
    __builtin_prefetch(ghash_end - 64);
    __builtin_prefetch(ghash_end - 128);
}

// Expands enc_key (cipher key followed by the salt for AEAD ciphers) and auth_key.
// Returns false with a reason if the lengths do not fit the suite.
bool expand_sa_keys(IMB_MGR* mgr, Cipher cipher, Integrity integrity,
                    std::span<const uint8_t> enc_key, std::span<const uint8_t> auth_key,
                    SaKeys& out, std::string& error);

// HMAC key preparation (RFC 2104): out.hmac_ipad/opad = hash states after one block of
// key^ipad / key^opad. Keys longer than the hash block are refused (ESP keys never are).
bool hmac_precompute(IMB_MGR* mgr, Integrity integrity, std::span<const uint8_t> key, SaKeys& out);

// Overwrites all key material (called when an SA dies).
void wipe(SaKeys& keys);

// A multi-buffer manager for this CPU (the best instruction set available). Never fails
// silently: returns nullptr only if allocation fails.
IMB_MGR* make_mb_mgr();
void release_mb_mgr(IMB_MGR* mgr);

}  // namespace espgw::crypto
