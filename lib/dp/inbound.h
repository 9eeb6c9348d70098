// ESP arriving on the public port, after classification.
#pragma once

#include "espgw/dp/datapath.h"

namespace espgw::dp {

struct EspIn {
    rte_mbuf* m;          // data starts at the outer IPv4 header
    uint32_t src_be;      // outer source address (network order)
    uint16_t sport_be;    // UDP source port (network order), 0 for plain ESP
    uint8_t ttl;
    uint8_t tos;
    sa::Encap encap;
    uint16_t esp_offset;  // from the IPv4 header to the ESP header
};

// Looks up, decrypts and delivers a batch (n <= kBurst); every packet is sent or dropped.
void esp_inbound(Worker& w, EspIn* pkts, uint16_t n);

}  // namespace espgw::dp
