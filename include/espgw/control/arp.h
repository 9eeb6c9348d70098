// ARP (RFC 826) on the control core: answers for the gateway's addresses (and, on the host
// tap, for every address, so the host stack sends everything through us), learns neighbours
// from answers and from whoever asks for us, and sends the requests the resolver decides on.
#pragma once

#include <rte_mbuf.h>

#include "espgw/control/neighbour_resolver.h"

namespace espgw::control {

class Arp {
public:
    Arp(NeighbourEnv& env, NeighbourResolver& resolver) : env_(env), resolver_(resolver) {}
    // An ARP frame a worker handed over (m->port: the port it came in on). Consumes m.
    void receive(rte_mbuf* m, uint64_t now);
    // One request for target out of role (the resolver's Solicit).
    void request(unsigned role, uint32_t target);

private:
    void send(unsigned role, uint16_t op, const uint8_t* target_mac, uint32_t target_ip, uint32_t sender_ip);
    NeighbourEnv& env_;
    NeighbourResolver& resolver_;
};

}  // namespace espgw::control
