// Traffic selector narrowing (RFC 7296 §2.9): the responder answers the initiator's TSi/TSr
// with the part of each that its own configuration allows. The data plane matches addresses
// by prefix (sa/policy.h), so what is agreed is also returned as prefixes, at most
// sa::Selectors::kMax per side; an address range that is not one prefix becomes several.
//
// Selectors that restrict the IP protocol or ports are not narrowed to anything: the data
// plane cannot hold an SA to them, and widening them would accept more than was agreed.
#pragma once

#include <cstdint>
#include <vector>

#include "espgw/ike/payloads.h"
#include "espgw/net/prefix.h"

namespace espgw::ike {

// The selector covering exactly p (any protocol, any port).
TrafficSelector selector_of(const net::Prefix& p);

// The fewest prefixes covering [start, end] exactly (both of one family), in address order.
std::vector<net::Prefix> range_to_prefixes(const net::IpAddr& start, const net::IpAddr& end);

struct Narrowed {
    std::vector<TrafficSelector> selectors;  // what to answer, in the peer's order
    std::vector<net::Prefix> prefixes;       // the same, as the data plane holds it
    bool empty() const { return prefixes.empty(); }
};

// What of `theirs` (one side of the initiator's proposal) lies inside `allowed` (our side's
// configuration), capped at max_prefixes. Empty: nothing acceptable (TS_UNACCEPTABLE).
Narrowed narrow(const TsPayload& theirs, const std::vector<net::Prefix>& allowed, size_t max_prefixes);

}  // namespace espgw::ike
