// One worker's outer-fragment reassembly and the bounds on what it may hold. A datagram whose
// last fragment never comes holds mbufs from the pool every port receives into: unbounded, a
// stream of such fragments empties the pool and stops the gateway (RFC 8900 §3.5 describes the
// attack). So: the fragments held are counted, in mbufs, in total and per source address;
// a fragment that would pass either bound is dropped and counted; incomplete datagrams are
// freed on a timer, not only when a later fragment happens to touch their table slot, and all
// of them at once if the worker's clock (the TSC) ever goes back.
#pragma once

#include <rte_ip_frag.h>

#include <cstdint>

namespace espgw::dp {

struct ReassemblyLimits {
    uint32_t max_mbufs = 2048;     // this worker's share of the mbuf pool
    uint32_t per_source = 256;     // mbufs one source address may hold at once
    uint64_t timeout_tsc = 0;      // an incomplete datagram is freed this long after its first fragment
};

struct Reassembly {
    // Sources are counted in slots by a hash of their address: two sources that share a slot
    // share its limit (conservative: never more than the limit is held per slot).
    static constexpr unsigned kSourceSlots = 1024;

    rte_ip_frag_tbl* table = nullptr;
    rte_ip_frag_death_row death_row{};
    ReassemblyLimits limits;
    uint64_t sweep_interval_tsc = 0;  // how often expired datagrams are looked for when idle
    uint64_t next_sweep = 0;
    uint64_t clock = 0;  // the worker's clock when reassembly last looked at it
    uint32_t held = 0;  // mbufs the table holds now (one per fragment)
    uint16_t per_source[kSourceSlots]{};
};

// Creates the table for limits (sized so that it can never hold more than limits.max_mbufs).
// False when memory is short.
bool reassembly_create(Reassembly& r, const ReassemblyLimits& limits, int socket);
void reassembly_destroy(Reassembly& r);

}  // namespace espgw::dp
