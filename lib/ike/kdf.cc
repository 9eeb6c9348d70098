#include "espgw/ike/kdf.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace espgw::ike {

namespace {

const EVP_MD* md_of(Prf p) {
    switch (p) {
    case Prf::hmac_sha1: return EVP_sha1();
    case Prf::hmac_sha256: return EVP_sha256();
    case Prf::hmac_sha384: return EVP_sha384();
    case Prf::hmac_sha512: return EVP_sha512();
    }
    return EVP_sha256();
}

std::vector<uint8_t> cat(std::initializer_list<std::span<const uint8_t>> parts) {
    std::vector<uint8_t> out;
    for (auto p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

std::vector<uint8_t> be64(uint64_t v) {
    std::vector<uint8_t> b(8);
    for (int k = 7; k >= 0; --k, v >>= 8) b[static_cast<size_t>(k)] = static_cast<uint8_t>(v);
    return b;
}

}  // namespace

void Secret::wipe() {
    if (!b_.empty()) OPENSSL_cleanse(b_.data(), b_.size());
}

size_t prf_size(Prf p) { return static_cast<size_t>(EVP_MD_get_size(md_of(p))); }

Secret prf(Prf p, std::span<const uint8_t> key, std::span<const uint8_t> data) {
    std::vector<uint8_t> out(EVP_MAX_MD_SIZE);
    unsigned len = 0;
    // HMAC() hashes keys longer than a block itself (RFC 2104), as RFC 7296 §2.13 expects.
    HMAC(md_of(p), key.data(), static_cast<int>(key.size()), data.data(), data.size(), out.data(), &len);
    out.resize(len);
    return Secret(std::move(out));
}

std::optional<Secret> prf_plus(Prf p, std::span<const uint8_t> key, std::span<const uint8_t> seed, size_t len) {
    const size_t h = prf_size(p);
    if (len > 255 * h) return std::nullopt;
    std::vector<uint8_t> out;
    out.reserve(len + h);
    Secret t;  // T(n-1)
    for (unsigned n = 1; out.size() < len; ++n) {
        std::vector<uint8_t> in = cat({t.bytes(), seed});
        in.push_back(static_cast<uint8_t>(n));
        t = prf(p, key, in);
        OPENSSL_cleanse(in.data(), in.size());
        out.insert(out.end(), t.bytes().begin(), t.bytes().end());
    }
    out.resize(len);
    return Secret(std::move(out));
}

Secret skeyseed(Prf p, std::span<const uint8_t> ni, std::span<const uint8_t> nr, std::span<const uint8_t> g_ir) {
    const std::vector<uint8_t> key = cat({ni, nr});
    return prf(p, key, g_ir);
}

std::optional<Secret> ike_sa_keymat(Prf p, std::span<const uint8_t> seed_key, std::span<const uint8_t> ni,
                                    std::span<const uint8_t> nr, uint64_t spi_i, uint64_t spi_r, size_t len) {
    const std::vector<uint8_t> a = be64(spi_i), b = be64(spi_r);
    const std::vector<uint8_t> seed = cat({ni, nr, a, b});
    return prf_plus(p, seed_key, seed, len);
}

std::optional<IkeSaKeys> ike_sa_keys(Prf p, std::span<const uint8_t> sks, std::span<const uint8_t> ni,
                                     std::span<const uint8_t> nr, uint64_t spi_i, uint64_t spi_r, size_t integ_len,
                                     size_t encr_len) {
    const size_t h = prf_size(p);  // SK_d, SK_pi and SK_pr are as long as the PRF's output
    const auto km = ike_sa_keymat(p, sks, ni, nr, spi_i, spi_r, 3 * h + 2 * integ_len + 2 * encr_len);
    if (!km) return std::nullopt;
    IkeSaKeys k;
    size_t at = 0;
    const auto take = [&](size_t n) {
        Secret s = km->slice(at, n);
        at += n;
        return s;
    };
    k.d = take(h);
    k.ai = take(integ_len);
    k.ar = take(integ_len);
    k.ei = take(encr_len);
    k.er = take(encr_len);
    k.pi = take(h);
    k.pr = take(h);
    return k;
}

std::optional<Secret> child_sa_keymat(Prf p, std::span<const uint8_t> sk_d, std::span<const uint8_t> g_ir_new,
                                      std::span<const uint8_t> ni, std::span<const uint8_t> nr, size_t len) {
    std::vector<uint8_t> seed = cat({g_ir_new, ni, nr});
    auto km = prf_plus(p, sk_d, seed, len);
    OPENSSL_cleanse(seed.data(), seed.size());
    return km;
}

Secret rekey_skeyseed(Prf p, std::span<const uint8_t> sk_d_old, std::span<const uint8_t> g_ir_new,
                      std::span<const uint8_t> ni, std::span<const uint8_t> nr) {
    std::vector<uint8_t> data = cat({g_ir_new, ni, nr});
    Secret s = prf(p, sk_d_old, data);
    OPENSSL_cleanse(data.data(), data.size());
    return s;
}

}  // namespace espgw::ike
