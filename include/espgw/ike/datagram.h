// One IKE message as the IKE engine sees it: who sent it to whom (addresses and UDP ports,
// as seen on the wire, so a NAT's mapping shows), and the message itself. No DPDK type here:
// the engine is built and tested without the data plane. The control core converts to and
// from packets (control/ike_io.h).
#pragma once

#include <cstdint>
#include <vector>

#include "espgw/net/prefix.h"

namespace espgw::ike {

struct Datagram {
    net::IpAddr src, dst;  // IPv4 as mapped addresses (IpAddr::v4)
    uint16_t sport = 0, dport = 0;  // host order
    // RFC 3948 §2.2 / RFC 7296 §2.23: on the NAT-T port an IKE message follows four zero
    // octets (the non-ESP marker). Received: the marker was there (and is not in message).
    // Sent: prepend it. False on port 500.
    bool non_esp_marker = false;
    std::vector<uint8_t> message;  // from the IKE header on
};

}  // namespace espgw::ike
