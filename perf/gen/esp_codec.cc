#include "esp_codec.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstring>

namespace espgen {
namespace {

constexpr size_t kIcv = 16;

struct Names {
    Cipher c;
    const char* name;
};
constexpr Names kNames[] = {{Cipher::aes128_gcm, "aes128-gcm"},
                            {Cipher::aes256_gcm, "aes256-gcm"},
                            {Cipher::aes128_cbc_sha256, "aes128-cbc"},
                            {Cipher::chacha20_poly1305, "chacha20-poly1305"}};

bool is_cbc(Cipher c) { return c == Cipher::aes128_cbc_sha256; }
size_t iv_bytes(Cipher c) { return is_cbc(c) ? 16 : 8; }
size_t block(Cipher c) { return is_cbc(c) ? 16 : 4; }

const EVP_CIPHER* evp(Cipher c) {
    switch (c) {
    case Cipher::aes128_gcm: return EVP_aes_128_gcm();
    case Cipher::aes256_gcm: return EVP_aes_256_gcm();
    case Cipher::aes128_cbc_sha256: return EVP_aes_128_cbc();
    case Cipher::chacha20_poly1305: return EVP_chacha20_poly1305();
    }
    return nullptr;
}

void put32(uint8_t* p, uint32_t v) {
    p[0] = uint8_t(v >> 24);
    p[1] = uint8_t(v >> 16);
    p[2] = uint8_t(v >> 8);
    p[3] = uint8_t(v);
}

// The IV: unique per (SA, sequence number). CBC wants it unpredictable too, which a
// benchmark's traffic does not need; espgw accepts any IV.
void make_iv(uint32_t seq, uint8_t* iv, size_t n) {
    std::memset(iv, 0x5a, n);
    put32(iv + n - 4, seq);
}

// RFC 4106 / RFC 7634: the 12-byte nonce is the key's 4-byte salt, then the packet's 8-byte IV.
void aead_nonce(const SaKeys& k, const uint8_t* iv, uint8_t nonce[12]) {
    std::memcpy(nonce, k.key.data() + k.key.size() - 4, 4);
    std::memcpy(nonce + 4, iv, 8);
}

}  // namespace

bool parse_cipher(const std::string& name, Cipher& out) {
    for (const Names& n : kNames)
        if (name == n.name) {
            out = n.c;
            return true;
        }
    return false;
}

const char* cipher_name(Cipher c) {
    for (const Names& n : kNames)
        if (n.c == c) return n.name;
    return "?";
}

size_t cipher_key_bytes(Cipher c) {
    switch (c) {
    case Cipher::aes128_gcm: return 20;
    case Cipher::aes256_gcm: return 36;
    case Cipher::aes128_cbc_sha256: return 16;
    case Cipher::chacha20_poly1305: return 36;
    }
    return 0;
}

size_t auth_key_bytes(Cipher c) { return is_cbc(c) ? 32 : 0; }

struct EspCodec::Ctx {
    EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
    ~Ctx() { EVP_CIPHER_CTX_free(c); }
};

EspCodec::EspCodec() : ctx_(std::make_unique<Ctx>()) {}
EspCodec::~EspCodec() = default;

size_t EspCodec::overhead(Cipher c, size_t inner_len) {
    const size_t b = block(c);
    const size_t padded = (inner_len + 2 + b - 1) / b * b;
    return 8 + iv_bytes(c) + (padded - inner_len) + kIcv;
}

void EspCodec::seal(const SaKeys& k, uint32_t spi, uint32_t seq, const uint8_t* inner, size_t len,
                    std::vector<uint8_t>& out) {
    const Cipher c = k.cipher;
    const size_t ivn = iv_bytes(c), b = block(c);
    const size_t padded = (len + 2 + b - 1) / b * b;
    const size_t start = out.size();
    out.resize(start + 8 + ivn + padded + kIcv);
    uint8_t* p = out.data() + start;
    put32(p, spi);
    put32(p + 4, seq);
    uint8_t* iv = p + 8;
    make_iv(seq, iv, ivn);
    // Plain text: the packet, padding 1, 2, 3, ..., pad length, next header.
    std::vector<uint8_t> plain(padded);
    std::memcpy(plain.data(), inner, len);
    const size_t pad = padded - len - 2;
    for (size_t i = 0; i < pad; ++i) plain[len + i] = uint8_t(i + 1);
    plain[padded - 2] = uint8_t(pad);
    plain[padded - 1] = (inner[0] >> 4) == 6 ? 41 : 4;
    uint8_t* ct = iv + ivn;
    EVP_CIPHER_CTX* x = ctx_->c;
    int n = 0;
    if (is_cbc(c)) {
        EVP_EncryptInit_ex(x, evp(c), nullptr, k.key.data(), iv);
        EVP_CIPHER_CTX_set_padding(x, 0);
        EVP_EncryptUpdate(x, ct, &n, plain.data(), int(padded));
        EVP_EncryptFinal_ex(x, ct + n, &n);
        unsigned mac_len = 0;
        uint8_t mac[EVP_MAX_MD_SIZE];
        HMAC(EVP_sha256(), k.auth.data(), int(k.auth.size()), p, 8 + ivn + padded, mac, &mac_len);
        std::memcpy(ct + padded, mac, kIcv);
        return;
    }
    uint8_t nonce[12];
    aead_nonce(k, iv, nonce);
    EVP_EncryptInit_ex(x, evp(c), nullptr, nullptr, nullptr);
    EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_IVLEN, 12, nullptr);
    EVP_EncryptInit_ex(x, nullptr, nullptr, k.key.data(), nonce);
    EVP_EncryptUpdate(x, nullptr, &n, p, 8);  // AAD: SPI and sequence number
    EVP_EncryptUpdate(x, ct, &n, plain.data(), int(padded));
    EVP_EncryptFinal_ex(x, ct + n, &n);
    EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_GET_TAG, int(kIcv), ct + padded);
}

std::string EspCodec::open(const SaKeys& k, const uint8_t* esp, size_t len, std::vector<uint8_t>& inner) {
    const Cipher c = k.cipher;
    const size_t ivn = iv_bytes(c), b = block(c);
    if (len < 8 + ivn + b + kIcv) return "shorter than an empty ESP packet";
    const size_t ctn = len - 8 - ivn - kIcv;
    if (ctn % b) return "cipher text not a multiple of the block";
    const uint8_t* iv = esp + 8;
    const uint8_t* ct = iv + ivn;
    const uint8_t* icv = ct + ctn;
    inner.resize(ctn);
    EVP_CIPHER_CTX* x = ctx_->c;
    int n = 0;
    if (is_cbc(c)) {
        unsigned mac_len = 0;
        uint8_t mac[EVP_MAX_MD_SIZE];
        HMAC(EVP_sha256(), k.auth.data(), int(k.auth.size()), esp, 8 + ivn + ctn, mac, &mac_len);
        if (CRYPTO_memcmp(mac, icv, kIcv) != 0) return "ICV mismatch (HMAC-SHA-256-128)";
        EVP_DecryptInit_ex(x, evp(c), nullptr, k.key.data(), iv);
        EVP_CIPHER_CTX_set_padding(x, 0);
        EVP_DecryptUpdate(x, inner.data(), &n, ct, int(ctn));
        EVP_DecryptFinal_ex(x, inner.data() + n, &n);
    } else {
        uint8_t nonce[12];
        aead_nonce(k, iv, nonce);
        EVP_DecryptInit_ex(x, evp(c), nullptr, nullptr, nullptr);
        EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_IVLEN, 12, nullptr);
        EVP_DecryptInit_ex(x, nullptr, nullptr, k.key.data(), nonce);
        EVP_DecryptUpdate(x, nullptr, &n, esp, 8);
        EVP_DecryptUpdate(x, inner.data(), &n, ct, int(ctn));
        EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_TAG, int(kIcv), const_cast<uint8_t*>(icv));
        if (EVP_DecryptFinal_ex(x, inner.data() + n, &n) != 1) return "ICV mismatch (AEAD tag)";
    }
    const size_t pad = inner[ctn - 2];
    if (pad + 2 > ctn) return "pad length past the payload";
    for (size_t i = 0; i < pad; ++i)
        if (inner[ctn - 2 - pad + i] != uint8_t(i + 1)) return "padding bytes not 1, 2, 3, ...";
    const uint8_t next = inner[ctn - 1];
    inner.resize(ctn - 2 - pad);
    if (next != 4 && next != 41) return "next header " + std::to_string(next) + ", not an IP packet";
    return {};
}

}  // namespace espgen
