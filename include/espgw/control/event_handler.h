// What the control core does with the events workers post (dp::ControlEvent): a peer a worker
// moved is taken into the peer table and logged once; a NAT keepalive marks its peer alive;
// traffic without an SA goes to the IPsec API as an acquire.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>

#include "espgw/control/ipsec_api.h"
#include "espgw/control/peer_table.h"
#include "espgw/dp/datapath.h"

namespace espgw::control {

// Written by the control core only; read by telemetry.
struct ControlStats {
    std::atomic<uint64_t> ike_messages{0};
    std::atomic<uint64_t> ike_malformed{0};  // IKE packets whose IP/UDP did not add up
    std::atomic<uint64_t> mapping_changes{0};
    std::atomic<uint64_t> keepalives_sent{0};
    std::atomic<uint64_t> keepalives_seen{0};
    std::atomic<uint64_t> keepalives_unmatched{0};  // from no peer's known location
    std::atomic<uint64_t> acquires{0};
    std::atomic<uint64_t> ike_budget_hit{0};  // rounds that left IKE messages for the next (DH cost)
};

class EventHandler {
public:
    // lock: held while the peer table and SAs change (telemetry reads them under it).
    EventHandler(PeerTable& peers, IpsecApi& ipsec, ControlStats& stats, std::mutex& lock,
                 std::function<uint64_t()> clock)
        : peers_(peers), ipsec_(ipsec), stats_(stats), lock_(lock), clock_(std::move(clock)) {}
    void handle(const dp::ControlEvent& ev);

private:
    void peer_moved(const dp::ControlEvent& ev);
    void keepalive(const dp::ControlEvent& ev);
    void acquire(const dp::ControlEvent& ev);
    PeerTable& peers_;
    IpsecApi& ipsec_;
    ControlStats& stats_;
    std::mutex& lock_;
    std::function<uint64_t()> clock_;
};

}  // namespace espgw::control
