// The ESP outbound path: packets a policy protects are sealed in batches (sequence numbers,
// ESP and outer headers toward the peer's current NAT mapping, IPsec-MB) and sent.
#pragma once

#include "espgw/dp/datapath.h"
#include "espgw/esp/esp_encap.h"

namespace espgw::dp {

// One packet to seal.
struct EspOut {
    esp::OutboundEsp p;
    uint8_t next_header;
    bool fragment;  // outer packet exceeds the MTU and policy allows fragmenting it
    uint32_t inner_len;
    uint8_t tos;    // DSCP/ECN of the inner packet, copied outside
};

// Sequence numbers, headers and crypto for a batch of packets to encrypt, then out they go.
void seal_batch(Worker& w, unsigned from, EspOut* out, uint16_t n_queued);

// The MTU check shared by both families: true if the packet may go on (fragment says how).
inline bool fits(Worker& w, sa::Sa& sa, uint32_t len, bool may_fragment, bool& fragment) {
    const Shared& s = *w.shared;
    fragment = false;
    if (len + esp::esp_overhead(sa, len) <= s.public_mtu) return true;
    // Outer IPv6 packets are not fragmented here (the inner packet may still be, first).
    if (s.mtu_policy == MtuPolicy::icmp || !may_fragment || sa.params.outer_v6) return false;
    fragment = true;
    return true;
}

// An inner IPv4 packet with DF clear that does not fit: split it, then encrypt each piece on
// its own, so the peer never has to reassemble outer packets (RFC 4459 §3).
void prefragment(Worker& w, unsigned from, rte_mbuf* m, sa::Sa& sa, uint16_t mtu, uint8_t tos);

}  // namespace espgw::dp
