// ARP on the control core: answering for the gateway's addresses (and, on the host tap,
// for every address, so the host stack sends everything through us), learning neighbours
// and resolving the next hops workers asked for.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>
#include <map>

#include "gateway.h"

namespace espgw {

class Arp {
public:
    explicit Arp(Gateway& gw) : gw_(gw) {}
    // An ARP frame a worker handed over (m->port = the role it came in on). Consumes m.
    void receive(rte_mbuf* m);
    // A worker could not send to addr on role: resolve it (retries are paced by tick()).
    void want(unsigned role, uint32_t addr);
    // A packet waiting for its next hop (see Shared::held_ring); sent once ARP answers.
    void hold(rte_mbuf* m);
    // Retries pending resolutions and refreshes neighbours about to expire.
    void tick(uint64_t now);
    // Re-resolves neighbours close to expiry (call about once a second).
    void refresh(uint64_t now);

private:
    void send_arp(unsigned role, uint16_t op, const uint8_t* target_mac, uint32_t target_ip, uint32_t sender_ip);
    void release(uint32_t addr, const uint8_t* mac);  // sends (mac) or frees (nullptr) held packets
    static constexpr unsigned kHeldPerNeighbour = 3;  // as Linux's arp_queue default
    struct Pending {
        unsigned role;
        uint64_t next_try;
        unsigned tries;
        rte_mbuf* held[kHeldPerNeighbour];
        unsigned n_held;
    };
    Gateway& gw_;
    std::map<uint32_t, Pending> pending_;
};

}  // namespace espgw
