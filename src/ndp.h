// IPv6 neighbour discovery (RFC 4861) on the control core, for the protected port only:
// answering solicitations for the gateway's address, learning neighbours from
// advertisements and solicitations, and resolving next hops workers asked for.
#pragma once

#include <rte_mbuf.h>

#include <map>

#include "gateway.h"

namespace espgw {

class Ndp {
public:
    explicit Ndp(Gateway& gw) : gw_(gw) {}
    // An NDP frame (Ethernet + IPv6 + ICMPv6) a worker handed over. Consumes m.
    void receive(rte_mbuf* m);
    void want(const net::IpAddr& addr);
    void tick(uint64_t now);
    void refresh(uint64_t now);  // re-resolves neighbours close to expiry

private:
    void send(uint8_t type, const uint8_t* dst_mac, const uint8_t* dst_ip, const uint8_t* target);
    struct Pending {
        uint64_t next_try;
        unsigned tries;
    };
    Gateway& gw_;
    std::map<net::IpAddr, Pending> pending_;
};

}  // namespace espgw
