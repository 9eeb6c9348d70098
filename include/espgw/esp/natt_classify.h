// RFC 3948 §2: what a UDP datagram to the NAT-T port carries.
#pragma once

#include <cstddef>
#include <cstdint>

namespace espgw::esp {

enum class NattKind : uint8_t {
    keepalive,  // a single 0xFF octet (§2.3)
    ike,        // four zero octets (the non-ESP marker, §2.2), then an IKE message
    esp,        // anything else: the first four octets are a non-zero SPI (§2.1)
    malformed,  // too short for any of the above
};

// Smallest ESP packet worth decrypting: SPI, sequence number, and at least 4 more octets.
constexpr size_t kMinEspInUdp = 12;
// IKE header (RFC 7296 §3.1) after the marker.
constexpr size_t kMinIkeAfterMarker = 28;

inline NattKind classify_natt(const uint8_t* payload, size_t len) {
    if (len == 1) return payload[0] == 0xff ? NattKind::keepalive : NattKind::malformed;
    if (len < 4) return NattKind::malformed;
    if ((payload[0] | payload[1] | payload[2] | payload[3]) == 0)
        return len >= 4 + kMinIkeAfterMarker ? NattKind::ike : NattKind::malformed;
    return len >= kMinEspInUdp ? NattKind::esp : NattKind::malformed;
}

}  // namespace espgw::esp
