#include "espgw/ike/encrypted.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <memory>

#include "espgw/ike/transform_ids.h"

namespace espgw::ike {

namespace {

enum class Mode { gcm, chacha, cbc };

Mode mode_of(const SkSuite& s) {
    if (s.encr == encr_id::kAesGcm16) return Mode::gcm;
    if (s.encr == encr_id::kChacha20Poly1305) return Mode::chacha;
    return Mode::cbc;
}

const EVP_CIPHER* cipher_of(const SkSuite& s) {
    switch (mode_of(s)) {
    case Mode::gcm: return s.key_bits == 256 ? EVP_aes_256_gcm() : s.key_bits == 192 ? EVP_aes_192_gcm() : EVP_aes_128_gcm();
    case Mode::chacha: return EVP_chacha20_poly1305();
    case Mode::cbc: return s.key_bits == 256 ? EVP_aes_256_cbc() : s.key_bits == 192 ? EVP_aes_192_cbc() : EVP_aes_128_cbc();
    }
    return nullptr;
}

const EVP_MD* md_of(uint16_t integ) {
    switch (integ) {
    case integ_id::kHmacSha1_96: return EVP_sha1();
    case integ_id::kHmacSha2_256_128: return EVP_sha256();
    case integ_id::kHmacSha2_384_192: return EVP_sha384();
    case integ_id::kHmacSha2_512_256: return EVP_sha512();
    }
    return nullptr;
}

size_t icv_size(const SkSuite& s) {
    switch (s.integ) {
    case integ_id::kHmacSha1_96: return 12;
    case integ_id::kHmacSha2_256_128: return 16;
    case integ_id::kHmacSha2_384_192: return 24;
    case integ_id::kHmacSha2_512_256: return 32;
    }
    return 16;  // the AEADs' tag
}

struct CtxFree {
    void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};

constexpr size_t kAadSize = kHeaderSize + kPayloadHeaderSize;  // unfragmented SK

// AEAD encryption or decryption in place of out; tag is written (encrypt) or checked.
bool aead(const SkSuite& s, const SkKeys& k, bool encrypt, std::span<const uint8_t> iv, std::span<const uint8_t> aad,
          std::span<const uint8_t> in, uint8_t* out, uint8_t* tag) {
    const size_t key_len = encr_key_size(s) - 4;
    uint8_t nonce[12];
    std::copy(k.encr.bytes().begin() + static_cast<long>(key_len), k.encr.bytes().end(), nonce);  // the salt
    std::copy(iv.begin(), iv.end(), nonce + 4);
    std::unique_ptr<EVP_CIPHER_CTX, CtxFree> ctx(EVP_CIPHER_CTX_new());
    int n = 0;
    if (!ctx || EVP_CipherInit_ex(ctx.get(), cipher_of(s), nullptr, nullptr, nullptr, encrypt) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_IVLEN, 12, nullptr) != 1 ||
        EVP_CipherInit_ex(ctx.get(), nullptr, nullptr, k.encr.bytes().data(), nonce, encrypt) != 1 ||
        EVP_CipherUpdate(ctx.get(), nullptr, &n, aad.data(), static_cast<int>(aad.size())) != 1 ||
        (!in.empty() && EVP_CipherUpdate(ctx.get(), out, &n, in.data(), static_cast<int>(in.size())) != 1))
        return false;
    if (!encrypt && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, 16, tag) != 1) return false;
    if (EVP_CipherFinal_ex(ctx.get(), out + in.size(), &n) != 1) return false;  // decrypt: the tag check
    return !encrypt || EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, 16, tag) == 1;
}

bool cbc(const SkSuite& s, const SkKeys& k, bool encrypt, std::span<const uint8_t> iv, std::span<const uint8_t> in,
         uint8_t* out) {
    std::unique_ptr<EVP_CIPHER_CTX, CtxFree> ctx(EVP_CIPHER_CTX_new());
    int n = 0, m = 0;
    return ctx && EVP_CipherInit_ex(ctx.get(), cipher_of(s), nullptr, k.encr.bytes().data(), iv.data(), encrypt) == 1 &&
           EVP_CIPHER_CTX_set_padding(ctx.get(), 0) == 1 &&
           EVP_CipherUpdate(ctx.get(), out, &n, in.data(), static_cast<int>(in.size())) == 1 &&
           EVP_CipherFinal_ex(ctx.get(), out + n, &m) == 1;
}

std::vector<uint8_t> hmac(const SkSuite& s, const SkKeys& k, std::span<const uint8_t> data) {
    std::vector<uint8_t> mac(EVP_MAX_MD_SIZE);
    unsigned len = 0;
    HMAC(md_of(s.integ), k.integ.bytes().data(), static_cast<int>(k.integ.size()), data.data(), data.size(), mac.data(), &len);
    mac.resize(icv_size(s));
    return mac;
}

}  // namespace

bool supported(const SkSuite& s) {
    switch (mode_of(s)) {
    case Mode::gcm: return s.integ == 0 && (s.key_bits == 128 || s.key_bits == 192 || s.key_bits == 256);
    case Mode::chacha: return s.integ == 0;
    case Mode::cbc:
        return s.encr == encr_id::kAesCbc && (s.key_bits == 128 || s.key_bits == 192 || s.key_bits == 256) &&
               md_of(s.integ) != nullptr;
    }
    return false;
}

size_t encr_key_size(const SkSuite& s) {
    switch (mode_of(s)) {
    case Mode::gcm: return s.key_bits / 8 + 4;
    case Mode::chacha: return 32 + 4;
    case Mode::cbc: return s.key_bits / 8;
    }
    return 0;
}

size_t integ_key_size(const SkSuite& s) {
    if (mode_of(s) != Mode::cbc) return 0;
    const EVP_MD* md = md_of(s.integ);
    return md ? static_cast<size_t>(EVP_MD_get_size(md)) : 0;
}

size_t iv_size(const SkSuite& s) { return mode_of(s) == Mode::cbc ? 16 : 8; }

Opened open_sk(const SkSuite& s, const SkKeys& k, std::span<const uint8_t> message) {
    Opened r;
    const auto msg = parse_message(message);
    if (!msg.ok()) {
        r.error = describe(msg.error());
        return r;
    }
    if (msg->payloads.empty() || msg->payloads.back().type != PayloadType::kEncrypted) {
        r.error = "no Encrypted payload at the end of the message";
        return r;
    }
    if (!supported(s) || k.encr.size() != encr_key_size(s) || k.integ.size() != integ_key_size(s)) {
        r.error = "keys do not fit the cipher suite";
        return r;
    }
    const RawPayload& sk = msg->payloads.back();
    const size_t iv_len = iv_size(s), icv = icv_size(s);
    if (sk.body.size() < iv_len + icv + 1) {
        r.error = "Encrypted payload too short for IV, padding length and ICV";
        return r;
    }
    // The SK payload is the message's last bytes: its header starts body + 4 from the end.
    const size_t sk_start = message.size() - sk.body.size() - kPayloadHeaderSize;
    const std::span<const uint8_t> iv(sk.body.data(), iv_len);
    const std::span<const uint8_t> ct(sk.body.data() + iv_len, sk.body.size() - iv_len - icv);
    std::vector<uint8_t> icv_bytes(sk.body.end() - static_cast<long>(icv), sk.body.end());
    std::vector<uint8_t> plain(ct.size() + 32);
    bool ok;
    if (mode_of(s) == Mode::cbc) {
        // Integrity first (§3.14: the ICV covers the message through the ciphertext).
        const auto mac = hmac(s, k, message.first(message.size() - icv));
        ok = CRYPTO_memcmp(mac.data(), icv_bytes.data(), icv) == 0 && ct.size() % 16 == 0 &&
             cbc(s, k, false, iv, ct, plain.data());
        if (!ok) r.error = "integrity check failed";
    } else {
        if (sk_start != kHeaderSize) {
            r.error = "an Encrypted payload after other payloads is not supported";
            return r;
        }
        ok = aead(s, k, false, iv, message.first(kAadSize), ct, plain.data(), icv_bytes.data());
        if (!ok) r.error = "integrity check failed";
    }
    if (!ok) {
        OPENSSL_cleanse(plain.data(), plain.size());
        return r;
    }
    plain.resize(ct.size());
    const size_t pad = plain.back();
    if (pad + 1 > plain.size()) {
        r.error = "padding length runs past the plaintext";
        return r;
    }
    plain.resize(plain.size() - pad - 1);
    auto inner = parse_payloads(plain, sk.inner_next);
    OPENSSL_cleanse(plain.data(), plain.size());
    if (!inner.ok()) {
        r.error = "inside the Encrypted payload: " + describe(inner.error());
        return r;
    }
    for (const RawPayload& p : *inner)
        if (p.type == PayloadType::kEncrypted || p.type == PayloadType::kEncryptedFragment) {
            r.error = "an Encrypted payload inside an Encrypted payload";
            return r;
        }
    r.payloads = std::move(inner).value();
    r.ok = true;
    return r;
}

std::vector<uint8_t> seal_sk(const SkSuite& s, const SkKeys& k, const Header& h, const std::vector<RawPayload>& inner,
                             std::span<const uint8_t> iv, size_t pad) {
    if (!supported(s) || iv.size() != iv_size(s) || k.encr.size() != encr_key_size(s)) return {};
    std::vector<uint8_t> plain = build_payloads(inner);
    if (mode_of(s) == Mode::cbc) pad += (16 - (plain.size() + pad + 1) % 16) % 16;
    plain.insert(plain.end(), pad, 0);
    plain.push_back(static_cast<uint8_t>(pad));
    const size_t icv = icv_size(s);
    // The message with an SK payload of the right size, then encrypted in place.
    Message m;
    m.header = h;
    RawPayload& sk = m.payloads.emplace_back();
    sk.type = PayloadType::kEncrypted;
    sk.inner_next = inner.empty() ? 0 : static_cast<uint8_t>(inner.front().type);
    sk.body.assign(iv.size() + plain.size() + icv, 0);
    std::copy(iv.begin(), iv.end(), sk.body.begin());
    std::vector<uint8_t> out = build_message(m);
    uint8_t* ct = out.data() + kAadSize + iv.size();
    bool ok;
    if (mode_of(s) == Mode::cbc) {
        ok = cbc(s, k, true, iv, plain, ct);
        if (ok) {
            const auto mac = hmac(s, k, std::span<const uint8_t>(out).first(out.size() - icv));
            std::copy(mac.begin(), mac.end(), out.end() - static_cast<long>(icv));
        }
    } else {
        ok = aead(s, k, true, iv, std::span<const uint8_t>(out).first(kAadSize), plain, ct, out.data() + out.size() - icv);
    }
    OPENSSL_cleanse(plain.data(), plain.size());
    return ok ? out : std::vector<uint8_t>{};
}

}  // namespace espgw::ike
