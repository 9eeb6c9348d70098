#include "espgw/crypto/sa_keys.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <cstring>

namespace espgw::crypto {

// IPsec-MB 1.3 has no helper for HMAC pads, only the one-block hash primitives.
bool hmac_precompute(IMB_MGR* mgr, Integrity integ, std::span<const uint8_t> key, SaKeys& out) {
    const size_t block = (integ == Integrity::hmac_sha384_192 || integ == Integrity::hmac_sha512_256)
                             ? 128 : 64;
    if (key.size() > block) return false;  // longer keys are hashed first; ESP keys never are
    uint8_t ipad[128], opad[128];
    std::memset(ipad, 0x36, block);
    std::memset(opad, 0x5c, block);
    for (size_t k = 0; k < key.size(); ++k) {
        ipad[k] ^= key[k];
        opad[k] ^= key[k];
    }
    switch (integ) {
    case Integrity::hmac_sha1_96:
        IMB_SHA1_ONE_BLOCK(mgr, ipad, out.hmac_ipad);
        IMB_SHA1_ONE_BLOCK(mgr, opad, out.hmac_opad);
        break;
    case Integrity::hmac_sha256_128:
        IMB_SHA256_ONE_BLOCK(mgr, ipad, out.hmac_ipad);
        IMB_SHA256_ONE_BLOCK(mgr, opad, out.hmac_opad);
        break;
    case Integrity::hmac_sha384_192:
        IMB_SHA384_ONE_BLOCK(mgr, ipad, out.hmac_ipad);
        IMB_SHA384_ONE_BLOCK(mgr, opad, out.hmac_opad);
        break;
    case Integrity::hmac_sha512_256:
        IMB_SHA512_ONE_BLOCK(mgr, ipad, out.hmac_ipad);
        IMB_SHA512_ONE_BLOCK(mgr, opad, out.hmac_opad);
        break;
    case Integrity::none: return false;
    }
    OPENSSL_cleanse(ipad, sizeof ipad);
    OPENSSL_cleanse(opad, sizeof opad);
    return true;
}

bool expand_sa_keys(IMB_MGR* mgr, Cipher cipher, Integrity integrity,
                    std::span<const uint8_t> enc_key, std::span<const uint8_t> auth_key,
                    SaKeys& out, std::string& error) {
    wipe(out);
    out.cipher = cipher;
    out.integrity = integrity;
    out.info = suite_info(cipher, integrity);
    const SuiteInfo& s = out.info;

    if (enc_key.size() != size_t{s.key_len} + s.salt_len) {
        error = "key must be " + std::to_string(s.key_len + s.salt_len) + " bytes for " +
                std::string(name_of(cipher)) + (s.salt_len ? " (key + 4-byte salt)" : "");
        return false;
    }
    if (s.aead && integrity != Integrity::none) {
        error = std::string(name_of(cipher)) + " is an AEAD cipher: integrity must be none";
        return false;
    }
    if (!s.aead && integrity == Integrity::none) {
        error = std::string(name_of(cipher)) + " needs an integrity algorithm";
        return false;
    }
    if (auth_key.size() != s.auth_key_len) {
        error = "integrity key must be " + std::to_string(s.auth_key_len) + " bytes for " +
                std::string(name_of(integrity));
        return false;
    }
    std::memcpy(out.salt, enc_key.data() + s.key_len, s.salt_len);

    switch (cipher) {
    case Cipher::aes128_gcm: IMB_AES128_GCM_PRE(mgr, enc_key.data(), &out.gcm); break;
    case Cipher::aes256_gcm: IMB_AES256_GCM_PRE(mgr, enc_key.data(), &out.gcm); break;
    case Cipher::chacha20_poly1305: std::memcpy(out.chacha_key, enc_key.data(), 32); break;
    case Cipher::aes128_cbc:
    case Cipher::aes256_cbc: {
        if (cipher == Cipher::aes128_cbc)
            IMB_AES_KEYEXP_128(mgr, enc_key.data(), out.aes_enc, out.aes_dec);
        else
            IMB_AES_KEYEXP_256(mgr, enc_key.data(), out.aes_enc, out.aes_dec);
        uint8_t iv_key[16];
        alignas(16) uint8_t unused_dec[16 * 11];
        if (RAND_bytes(iv_key, sizeof iv_key) != 1) {
            error = "no randomness for the IV key";
            return false;
        }
        IMB_AES_KEYEXP_128(mgr, iv_key, out.iv_key_enc, unused_dec);
        OPENSSL_cleanse(iv_key, sizeof iv_key);
        OPENSSL_cleanse(unused_dec, sizeof unused_dec);
        if (!hmac_precompute(mgr, integrity, auth_key, out)) {
            error = "cannot prepare the HMAC key";
            return false;
        }
        break;
    }
    }
    return true;
}

void wipe(SaKeys& keys) { OPENSSL_cleanse(&keys, sizeof keys); }

IMB_MGR* make_mb_mgr() {
    IMB_MGR* mgr = alloc_mb_mgr(0);
    if (!mgr) return nullptr;
    IMB_ARCH arch;
    init_mb_mgr_auto(mgr, &arch);
    return mgr;
}

void release_mb_mgr(IMB_MGR* mgr) {
    if (mgr) ::free_mb_mgr(mgr);
}

}  // namespace espgw::crypto
