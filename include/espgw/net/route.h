// How packets leave the gateway, as the config states it and the data plane applies it: the
// static IPv4 routes, and what to do with an encrypted packet too big for the public MTU.
#pragma once

#include <cstdint>

#include "espgw/net/prefix.h"

namespace espgw::net {

struct Route {
    Prefix prefix;          // IPv4
    uint32_t via = 0;       // next hop on the port, host order (0 = on-link)
    bool public_side = false;  // out of the public port (else the protected one)
};

// icmp: refuse with ICMP "fragmentation needed" / "packet too big"; fragment: fragment the
// outer IPv4 packet (or the inner one first, RFC 4459 §3) when DF allows.
enum class MtuPolicy : uint8_t { icmp, fragment };

}  // namespace espgw::net
