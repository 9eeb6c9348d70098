// IPv6 neighbour discovery (RFC 4861) on the control core, on each port with IPv6 (the
// protected side for tunnels' inner traffic, the public side for peers over IPv6): answers
// solicitations for the gateway's address, learns neighbours from advertisements and
// solicitations, and sends the solicitations the resolver decides on.
#pragma once

#include <rte_mbuf.h>

#include "espgw/control/neighbour_resolver.h"

namespace espgw::control {

class Ndp {
public:
    Ndp(NeighbourEnv& env, NeighbourResolver& resolver) : env_(env), resolver_(resolver) {}
    // An NDP frame (Ethernet + IPv6 + ICMPv6) a worker handed over (m->port: the port it
    // came in on). Consumes m.
    void receive(rte_mbuf* m, uint64_t now);
    // A neighbour solicitation for target, to its solicited-node group, out of role.
    void solicit(unsigned role, const net::IpAddr& target);

private:
    void send(unsigned role, uint8_t type, const uint8_t* dst_mac, const uint8_t* dst_ip, const uint8_t* target);
    NeighbourEnv& env_;
    NeighbourResolver& resolver_;
};

}  // namespace espgw::control
