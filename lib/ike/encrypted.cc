#include "espgw/ike/encrypted.h"

#include <functional>
#include <optional>

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

namespace {

// The plaintext, padding removed, of the encrypted part that starts at enc_off in message:
// IV | ciphertext | ICV to the message's end. message[0, enc_off) is the associated data of an
// AEAD cipher (the IKE header and the SK/SKF payload header, RFC 5282 §5.1, RFC 7383 §2.5.3);
// with CBC the ICV covers the whole message before it (§3.14).
std::optional<std::vector<uint8_t>> decrypt_tail(const SkSuite& s, const SkKeys& k, std::span<const uint8_t> message,
                                                 size_t enc_off, std::string& error) {
    if (!supported(s) || k.encr.size() != encr_key_size(s) || k.integ.size() != integ_key_size(s)) {
        error = "keys do not fit the cipher suite";
        return std::nullopt;
    }
    const size_t iv_len = iv_size(s), icv = icv_size(s);
    if (message.size() < enc_off + iv_len + icv + 1) {
        error = "Encrypted payload too short for IV, padding length and ICV";
        return std::nullopt;
    }
    const std::span<const uint8_t> iv = message.subspan(enc_off, iv_len);
    const std::span<const uint8_t> ct = message.subspan(enc_off + iv_len, message.size() - enc_off - iv_len - icv);
    std::vector<uint8_t> icv_bytes(message.end() - static_cast<long>(icv), message.end());
    std::vector<uint8_t> plain(ct.size() + 32);
    bool ok;
    if (mode_of(s) == Mode::cbc) {
        const auto mac = hmac(s, k, message.first(message.size() - icv));
        ok = CRYPTO_memcmp(mac.data(), icv_bytes.data(), icv) == 0 && ct.size() % 16 == 0 &&
             cbc(s, k, false, iv, ct, plain.data());
    } else {
        ok = aead(s, k, false, iv, message.first(enc_off), ct, plain.data(), icv_bytes.data());
    }
    if (!ok || ct.empty()) {
        OPENSSL_cleanse(plain.data(), plain.size());
        error = "integrity check failed";
        return std::nullopt;
    }
    plain.resize(ct.size());
    const size_t pad = plain.back();
    if (pad + 1 > plain.size()) {
        OPENSSL_cleanse(plain.data(), plain.size());
        error = "padding length runs past the plaintext";
        return std::nullopt;
    }
    plain.resize(plain.size() - pad - 1);
    return plain;
}

Opened parse_inner(std::vector<uint8_t>& plain, uint8_t first) {
    Opened r;
    auto inner = parse_payloads(plain, first);
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

// A message whose last payload (type t, body `fixed` then IV | padded plaintext | ICV) is
// encrypted in place. AEAD needs the encrypted payload first (nothing else is authenticated).
std::vector<uint8_t> seal_tail(const SkSuite& s, const SkKeys& k, const Header& h, PayloadType t, uint8_t inner_next,
                               std::span<const uint8_t> fixed, std::vector<uint8_t> plain, std::span<const uint8_t> iv,
                               size_t pad) {
    if (!supported(s) || iv.size() != iv_size(s) || k.encr.size() != encr_key_size(s)) return {};
    if (mode_of(s) == Mode::cbc) pad += (16 - (plain.size() + pad + 1) % 16) % 16;
    plain.insert(plain.end(), pad, 0);
    plain.push_back(static_cast<uint8_t>(pad));
    const size_t icv = icv_size(s);
    Message m;
    m.header = h;
    RawPayload& p = m.payloads.emplace_back();
    p.type = t;
    p.inner_next = inner_next;
    p.body.assign(fixed.begin(), fixed.end());
    p.body.insert(p.body.end(), iv.begin(), iv.end());
    p.body.resize(p.body.size() + plain.size() + icv, 0);
    std::vector<uint8_t> out = build_message(m);
    if (out.empty()) return {};
    const size_t enc_off = kHeaderSize + kPayloadHeaderSize + fixed.size();
    uint8_t* ct = out.data() + enc_off + iv.size();
    bool ok;
    if (mode_of(s) == Mode::cbc) {
        ok = cbc(s, k, true, iv, plain, ct);
        if (ok) {
            const auto mac = hmac(s, k, std::span<const uint8_t>(out).first(out.size() - icv));
            std::copy(mac.begin(), mac.end(), out.end() - static_cast<long>(icv));
        }
    } else {
        ok = aead(s, k, true, iv, std::span<const uint8_t>(out).first(enc_off), plain, ct, out.data() + out.size() - icv);
    }
    OPENSSL_cleanse(plain.data(), plain.size());
    return ok ? out : std::vector<uint8_t>{};
}

}  // namespace

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
    const RawPayload& sk = msg->payloads.back();
    // The SK payload is the message's last bytes: its header starts body + 4 from the end.
    const size_t sk_start = message.size() - sk.body.size() - kPayloadHeaderSize;
    if (mode_of(s) != Mode::cbc && sk_start != kHeaderSize) {
        r.error = "an Encrypted payload after other payloads is not supported";
        return r;
    }
    auto plain = decrypt_tail(s, k, message, sk_start + kPayloadHeaderSize, r.error);
    if (!plain) return r;
    return parse_inner(*plain, sk.inner_next);
}

std::vector<uint8_t> seal_sk(const SkSuite& s, const SkKeys& k, const Header& h, const std::vector<RawPayload>& inner,
                             std::span<const uint8_t> iv, size_t pad) {
    const uint8_t next = inner.empty() ? 0 : static_cast<uint8_t>(inner.front().type);
    return seal_tail(s, k, h, PayloadType::kEncrypted, next, {}, build_payloads(inner), iv, pad);
}

OpenedFragment open_skf(const SkSuite& s, const SkKeys& k, std::span<const uint8_t> message) {
    OpenedFragment r;
    const auto msg = parse_message(message);
    if (!msg.ok()) {
        r.error = describe(msg.error());
        return r;
    }
    if (msg->payloads.size() != 1 || msg->payloads.back().type != PayloadType::kEncryptedFragment) {
        r.error = "not a message of one Encrypted Fragment payload";
        return r;
    }
    const RawPayload& skf = msg->payloads.back();
    if (skf.body.size() < 4) {
        r.error = "Encrypted Fragment payload shorter than its numbers";
        return r;
    }
    r.number = static_cast<uint16_t>(skf.body[0] << 8 | skf.body[1]);
    r.total = static_cast<uint16_t>(skf.body[2] << 8 | skf.body[3]);
    // RFC 7383 §2.5: numbered from 1, never past the total; only the first names the first payload.
    if (r.number == 0 || r.total == 0 || r.number > r.total) {
        r.error = "fragment number out of range";
        return r;
    }
    r.inner_next = skf.inner_next;
    if (r.number != 1 && r.inner_next != 0) {
        r.error = "a fragment other than the first names a payload";
        return r;
    }
    auto plain = decrypt_tail(s, k, message, kHeaderSize + kPayloadHeaderSize + 4, r.error);
    if (!plain) return r;
    r.plaintext = std::move(*plain);
    r.ok = true;
    return r;
}

Opened open_reassembled(std::vector<uint8_t> plaintext, uint8_t first) { return parse_inner(plaintext, first); }

std::vector<std::vector<uint8_t>> seal_fragments(const SkSuite& s, const SkKeys& k, const Header& h,
                                                 const std::vector<RawPayload>& inner, size_t max_message,
                                                 const std::function<std::vector<uint8_t>()>& next_iv) {
    const std::vector<uint8_t> plain = build_payloads(inner);
    // What each fragment carries besides its share of the plaintext: the IKE header, the SKF
    // header with its numbers, IV, ICV, the pad-length octet and (CBC) up to a block of padding.
    const size_t overhead = kHeaderSize + kPayloadHeaderSize + 4 + iv_size(s) + icv_size(s) + 1 +
                            (mode_of(s) == Mode::cbc ? 15 : 0);
    if (max_message <= overhead + 16) return {};
    const size_t chunk = max_message - overhead;
    const size_t total = (plain.size() + chunk - 1) / chunk;
    if (total == 0 || total > 0xffff) return {};
    std::vector<std::vector<uint8_t>> out;
    for (size_t n = 0; n < total; ++n) {
        const size_t from = n * chunk, len = std::min(chunk, plain.size() - from);
        const uint8_t numbers[4] = {static_cast<uint8_t>((n + 1) >> 8), static_cast<uint8_t>(n + 1),
                                    static_cast<uint8_t>(total >> 8), static_cast<uint8_t>(total)};
        const uint8_t next = n == 0 && !inner.empty() ? static_cast<uint8_t>(inner.front().type) : 0;
        std::vector<uint8_t> part(plain.begin() + static_cast<long>(from), plain.begin() + static_cast<long>(from + len));
        const std::vector<uint8_t> iv = next_iv();
        auto m = seal_tail(s, k, h, PayloadType::kEncryptedFragment, next, numbers, std::move(part), iv, 0);
        if (m.empty()) return {};
        out.push_back(std::move(m));
    }
    return out;
}

}  // namespace espgw::ike
