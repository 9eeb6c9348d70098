#include "espgw/ike/nat_detection.h"

#include <openssl/sha.h>

#include <algorithm>

namespace espgw::ike {

NatdHash natd_hash(uint64_t spi_i, uint64_t spi_r, const net::IpAddr& addr, uint16_t port) {
    uint8_t in[8 + 8 + 16 + 2];
    size_t n = 0;
    for (uint64_t spi : {spi_i, spi_r})
        for (int k = 7; k >= 0; --k) in[n++] = static_cast<uint8_t>(spi >> (8 * k));
    const bool v4 = addr.is_v4();
    for (unsigned k = v4 ? 12 : 0; k < 16; ++k) in[n++] = addr.b[k];
    in[n++] = static_cast<uint8_t>(port >> 8);
    in[n++] = static_cast<uint8_t>(port);
    NatdHash h;
    SHA1(in, n, h.data());
    return h;
}

NatVerdict nat_verdict(uint64_t spi_i, uint64_t spi_r, std::span<const std::vector<uint8_t>> source_hashes,
                       std::span<const uint8_t> destination_hash, const net::IpAddr& from, uint16_t from_port,
                       const net::IpAddr& to, uint16_t to_port) {
    const NatdHash src = natd_hash(spi_i, spi_r, from, from_port);
    const NatdHash dst = natd_hash(spi_i, spi_r, to, to_port);
    const bool src_match = std::any_of(source_hashes.begin(), source_hashes.end(), [&](const std::vector<uint8_t>& h) {
        return std::equal(h.begin(), h.end(), src.begin(), src.end());
    });
    const bool dst_match = std::equal(destination_hash.begin(), destination_hash.end(), dst.begin(), dst.end());
    return {!src_match, !dst_match};
}

}  // namespace espgw::ike
