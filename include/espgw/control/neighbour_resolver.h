// Resolving next hops on the control core, for ARP (IPv4) and NDP (IPv6) alike: what is being
// asked for and how often, the few packets kept per neighbour until it answers (as a host's
// neighbour queue), refreshing entries before they expire, giving up. The protocols only
// parse, answer and build their requests (arp.h, ndp.h).
#pragma once

#include <rte_mbuf.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>

#include "espgw/control/tx_path.h"
#include "espgw/dp/datapath.h"
#include "espgw/net/neighbour_table.h"

namespace espgw::control {

// Written by the control core only; read by telemetry.
struct NeighbourStats {
    std::atomic<uint64_t> arp_requests_sent{0};
    std::atomic<uint64_t> arp_replies_sent{0};
    std::atomic<uint64_t> nd_solicitations_sent{0};
    std::atomic<uint64_t> nd_advertisements_sent{0};
    std::atomic<uint64_t> held_sent{0};     // packets that waited and went out
    std::atomic<uint64_t> held_dropped{0};  // packets that waited in vain (or pushed out)
    std::atomic<uint64_t> held_full{0};
    std::atomic<uint64_t> held_now{0};      // packets waiting now, all neighbours together     // of those, refused as all neighbours' queues held kMaxHeld
};

// What resolving needs from the gateway.
struct NeighbourEnv {
    const dp::Shared& shared;
    net::NeighbourTable& table;
    TxPath tx;
    NeighbourStats& stats;
    uint64_t tsc_hz;
    uint32_t timeout_s;  // a learned neighbour is good for this long
};

class NeighbourResolver {
public:
    // Sends one request for target out of role (ARP request / neighbour solicitation).
    using Solicit = std::function<void(unsigned role, const net::IpAddr& target)>;
    NeighbourResolver(NeighbourEnv& env, Solicit arp, Solicit ndp) : env_(env), solicit_{std::move(arp), std::move(ndp)} {}
    ~NeighbourResolver();
    NeighbourResolver(const NeighbourResolver&) = delete;
    NeighbourResolver& operator=(const NeighbourResolver&) = delete;

    static constexpr unsigned kHeldPerNeighbour = 3;  // as Linux's default queue
    // All queues together: traffic to many silent addresses (a LAN scan through the tunnel)
    // must not hold the pool's mbufs, three per address.
    static constexpr unsigned kMaxHeld = 512;
    static constexpr unsigned kTriesV4 = 5;
    static constexpr unsigned kTriesV6 = 3;  // RFC 4861 §10 MAX_MULTICAST_SOLICIT

    // Starts asking for addr on role (the next tick() sends the first request); no-op if
    // already asking.
    void want(unsigned role, const net::IpAddr& addr);
    // A packet waiting for its next hop (consumed): sent at once if the answer came
    // meanwhile, else kept (the oldest of a full queue is dropped, as Linux does).
    void hold(const dp::HeldPacket& h, uint64_t now);
    // addr is at mac on role (an answer, or a request from it): remembered, and what waited
    // for it is sent.
    void learned(unsigned role, const net::IpAddr& addr, const uint8_t mac[6], uint64_t now);
    // Requests due (once a second per neighbour); neighbours that never answered are given up
    // and their packets dropped.
    void tick(uint64_t now);
    // Asks again for neighbours close to expiry, so traffic never stalls on a re-resolution.
    void refresh(uint64_t now);

    size_t pending() const { return pending_.size(); }
    unsigned held(const net::IpAddr& addr) const;
    unsigned held_total() const { return held_total_; }
    // The port a neighbour is reached on (its link, or the IPv6 gateway of the public port).
    unsigned role_of(const net::IpAddr& addr) const;

private:
    struct Pending {
        unsigned role;
        uint64_t next_try;
        unsigned tries;
        rte_mbuf* held[kHeldPerNeighbour];
        unsigned n_held;
    };
    void release(Pending& p, const net::IpAddr& addr, const uint8_t* mac);  // sends (mac) or drops
    NeighbourEnv& env_;
    Solicit solicit_[2];  // [0] IPv4 (ARP), [1] IPv6 (NDP)
    std::map<net::IpAddr, Pending> pending_;
    unsigned held_total_ = 0;
};

}  // namespace espgw::control
