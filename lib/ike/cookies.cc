#include "espgw/ike/cookies.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

namespace espgw::ike {

CookieJar::CookieJar() {
    RAND_bytes(secret_[0].data(), static_cast<int>(secret_[0].size()));
    RAND_bytes(secret_[1].data(), static_cast<int>(secret_[1].size()));
}

void CookieJar::rotate() {
    ++version_;
    RAND_bytes(secret_[version_ & 1].data(), static_cast<int>(secret_[0].size()));
}

std::vector<uint8_t> CookieJar::compute(uint8_t version, std::span<const uint8_t> ni, const net::IpAddr& ip_i,
                                        uint64_t spi_i) const {
    uint8_t spi[8];
    for (int k = 0; k < 8; ++k) spi[k] = static_cast<uint8_t>(spi_i >> (56 - 8 * k));
    const bool v4 = ip_i.is_v4();
    const std::array<uint8_t, 32>& secret = secret_[version & 1];
    std::vector<uint8_t> out(1 + 32);
    out[0] = version;
    unsigned len = 0;
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    const bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) == 1 &&
                    EVP_DigestUpdate(ctx, ni.data(), ni.size()) == 1 &&
                    EVP_DigestUpdate(ctx, ip_i.b + (v4 ? 12 : 0), v4 ? 4 : 16) == 1 &&
                    EVP_DigestUpdate(ctx, spi, sizeof spi) == 1 &&
                    EVP_DigestUpdate(ctx, secret.data(), secret.size()) == 1 &&
                    EVP_DigestFinal_ex(ctx, out.data() + 1, &len) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok) out.clear();
    return out;
}

std::vector<uint8_t> CookieJar::make(std::span<const uint8_t> ni, const net::IpAddr& ip_i, uint64_t spi_i) const {
    return compute(version_, ni, ip_i, spi_i);
}

bool CookieJar::check(std::span<const uint8_t> cookie, std::span<const uint8_t> ni, const net::IpAddr& ip_i,
                      uint64_t spi_i) const {
    if (cookie.size() != 33) return false;
    const uint8_t v = cookie[0];
    if (v != version_ && v != static_cast<uint8_t>(version_ - 1)) return false;  // older than the last secret
    const std::vector<uint8_t> want = compute(v, ni, ip_i, spi_i);
    return want.size() == cookie.size() && CRYPTO_memcmp(want.data(), cookie.data(), want.size()) == 0;
}

}  // namespace espgw::ike
