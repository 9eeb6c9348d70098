// NAT detection (RFC 7296 §2.23): the NAT_DETECTION_SOURCE_IP / _DESTINATION_IP notification
// data is SHA-1(SPIi | SPIr | IP | Port) of the address and port a side sends from or to.
// A received hash that does not match what the receiver sees means a NAT rewrote that
// address or port on the way.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "espgw/net/prefix.h"

namespace espgw::ike {

using NatdHash = std::array<uint8_t, 20>;

// spi_r is 0 in an IKE_SA_INIT request. IPv4 addresses hash as 4 bytes, IPv6 as 16.
NatdHash natd_hash(uint64_t spi_i, uint64_t spi_r, const net::IpAddr& addr, uint16_t port);

// What the NAT_DETECTION notifications of a received message say, given where it came from
// and where it arrived (as this side sees them). With several source hashes (a multihomed
// peer), one match is enough (§2.23).
struct NatVerdict {
    bool nat_there;  // the sender's address or port was changed: the peer is behind a NAT
    bool nat_here;   // our address or port as the peer sent to it differs: we are behind a NAT
};
NatVerdict nat_verdict(uint64_t spi_i, uint64_t spi_r, std::span<const std::vector<uint8_t>> source_hashes,
                       std::span<const uint8_t> destination_hash, const net::IpAddr& from, uint16_t from_port,
                       const net::IpAddr& to, uint16_t to_port);

}  // namespace espgw::ike
