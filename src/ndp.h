// IPv6 neighbour discovery (RFC 4861) on the control core, on each port with IPv6 (the
// protected side for tunnels' inner traffic, the public side for peers over IPv6): answering
// solicitations for the gateway's address there, learning neighbours from advertisements and
// solicitations, and resolving next hops workers asked for.
#pragma once

#include <rte_mbuf.h>

#include <map>

#include "gateway.h"

namespace espgw {

class Ndp {
public:
    explicit Ndp(Gateway& gw) : gw_(gw) {}
    // An NDP frame (Ethernet + IPv6 + ICMPv6) a worker handed over (m->port: the port it came
    // in on). Consumes m.
    void receive(rte_mbuf* m);
    void want(const net::IpAddr& addr, unsigned role);
    void tick(uint64_t now);
    void refresh(uint64_t now);  // re-resolves neighbours close to expiry

private:
    void send(unsigned role, uint8_t type, const uint8_t* dst_mac, const uint8_t* dst_ip, const uint8_t* target);
    // The port a neighbour is on: the one whose IPv6 link or gateway it is.
    unsigned role_of(const net::IpAddr& addr) const;
    struct Pending {
        uint64_t next_try;
        unsigned tries;
        unsigned role;
    };
    Gateway& gw_;
    std::map<net::IpAddr, Pending> pending_;
};

}  // namespace espgw
