// Internet checksum helpers (RFC 1071 sums, RFC 1624 incremental updates).
#pragma once

#include <cstddef>
#include <cstdint>

namespace espgw::net {

// One's-complement sum of 16-bit words in network byte order (not folded, not inverted).
inline uint32_t ones_sum(const void* data, size_t len, uint32_t sum = 0) {
    const auto* p = static_cast<const uint8_t*>(data);
    while (len >= 2) {
        sum += static_cast<uint32_t>(p[0]) << 8 | p[1];
        p += 2;
        len -= 2;
    }
    if (len) sum += static_cast<uint32_t>(p[0]) << 8;
    return sum;
}

// Two end-around-carry folds bring any 32-bit sum to 16 bits (the first leaves at most
// 0x1fffe); no loop, so no branch on the per-packet path.
inline uint16_t fold(uint32_t sum) {
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(sum);
}

// Checksum field value (host order) for data whose field was zero.
inline uint16_t checksum(const void* data, size_t len) {
    return static_cast<uint16_t>(~fold(ones_sum(data, len)));
}

// RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), for a 32-bit field changing from old to new.
// All values in host order; the checksum field is returned in host order.
inline uint16_t checksum_update32(uint16_t hc, uint32_t old_val, uint32_t new_val) {
    uint32_t sum = static_cast<uint16_t>(~hc);
    sum += static_cast<uint16_t>(~(old_val >> 16)) + static_cast<uint16_t>(~old_val);
    sum += (new_val >> 16) + (new_val & 0xffff);
    return static_cast<uint16_t>(~fold(sum));
}

inline uint16_t checksum_update16(uint16_t hc, uint16_t old_val, uint16_t new_val) {
    uint32_t sum = static_cast<uint16_t>(~hc);
    sum += static_cast<uint16_t>(~old_val);
    sum += new_val;
    return static_cast<uint16_t>(~fold(sum));
}

// Header checksum (host order) of an option-less IPv4 header given by its fields (host
// order), for a header being written: summing the values in registers avoids reading back
// memory just stored in pieces, which stalls on store forwarding.
inline uint16_t ipv4_header_checksum(uint8_t tos, uint16_t total_length, uint16_t id, uint16_t frag,
                                     uint8_t ttl, uint8_t proto, uint32_t src, uint32_t dst) {
    uint32_t sum = (0x45u << 8 | tos) + total_length + id + frag + (uint32_t{ttl} << 8 | proto) + (src >> 16) +
                   (src & 0xffff) + (dst >> 16) + (dst & 0xffff);
    return static_cast<uint16_t>(~fold(sum));
}

// The IPv4 header checksum after the TTL went down by one (RFC 1141): the 16-bit word
// TTL|protocol dropped by 0x0100, so the checksum (its complement) rises by 0x0100 with an
// end-around carry. Field in host order. Equal to checksum_update16 up to the sign of zero,
// which receivers accept either way; a few instructions for every forwarded packet.
inline uint16_t checksum_after_ttl_decrement(uint16_t hc) {
    const uint32_t sum = uint32_t{hc} + 0x0100;
    return static_cast<uint16_t>(sum + (sum >> 16));
}

}  // namespace espgw::net
