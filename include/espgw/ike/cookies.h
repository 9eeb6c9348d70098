// Stateless cookies (RFC 7296 §2.6): under load the responder answers an IKE_SA_INIT with a
// COOKIE instead of doing any Diffie-Hellman, and keeps no state; a request that returns the
// cookie proves the initiator receives at its address. Cookie = version | SHA-256(Ni | IPi |
// SPIi | secret). The secret changes now and then; the previous one is still accepted, so a
// cookie handed out just before a change is not refused.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "espgw/net/prefix.h"

namespace espgw::ike {

class CookieJar {
public:
    CookieJar();  // a random first secret
    std::vector<uint8_t> make(std::span<const uint8_t> ni, const net::IpAddr& ip_i, uint64_t spi_i) const;
    bool check(std::span<const uint8_t> cookie, std::span<const uint8_t> ni, const net::IpAddr& ip_i,
               uint64_t spi_i) const;
    // A new secret (the control core does it on a timer); the last one stays valid until the next.
    void rotate();

private:
    std::vector<uint8_t> compute(uint8_t version, std::span<const uint8_t> ni, const net::IpAddr& ip_i,
                                 uint64_t spi_i) const;
    std::array<uint8_t, 32> secret_[2]{};  // [version & 1]
    uint8_t version_ = 0;
};

}  // namespace espgw::ike
