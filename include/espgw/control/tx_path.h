// The control core's way out: packets it hands to worker 0 to send (Shared::tx_ring), each
// with what it is (a finished Ethernet frame for one port, or an IP packet to route).
#pragma once

#include <rte_mbuf.h>
#include <rte_ring.h>

#include "espgw/dp/datapath.h"

namespace espgw::control {

class TxPath {
public:
    explicit TxPath(rte_ring* ring) : ring_(ring) {}
    // Both consume m: false if the ring was full (m is freed then).
    bool frame(unsigned role, rte_mbuf* m) { return put({dp::TxRequest::frame, static_cast<uint8_t>(role), m}); }
    bool route(rte_mbuf* m) { return put({dp::TxRequest::route, 0, m}); }

private:
    bool put(dp::TxRequest req) {
        if (rte_ring_sp_enqueue_elem(ring_, &req, sizeof req) == 0) return true;
        rte_pktmbuf_free(req.m);
        return false;
    }
    rte_ring* ring_;
};

}  // namespace espgw::control
