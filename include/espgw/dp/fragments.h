// Fragments on the data path: reassembling outer packets (IPv4 or IPv6) that arrive fragmented, and
// fragmenting inner packets before encryption (RFC 4459 §3, "pre-fragmentation") when they
// do not fit the tunnel and may be fragmented. Both yield contiguous packets, which is what
// ESP processing works on. Neither is on the fast path: only oversized traffic gets here.
#pragma once

#include "espgw/dp/datapath.h"

namespace espgw::dp {

// m: a fragment (data at the IPv4 header), taken only within the worker's reassembly bounds
// (see reassembly.h). Returns the whole datagram once its last fragment
// is in (contiguous, data at the IPv4 header), else nullptr (held, or dropped and counted).
rte_mbuf* reassemble_ipv4(Worker& w, rte_mbuf* m);

// The same for IPv6 (RFC 8200 §4.5): m holds an IPv6 header directly followed by a fragment
// header. The whole datagram comes back without the fragment header.
rte_mbuf* reassemble_ipv6(Worker& w, rte_mbuf* m);

// Frees the incomplete datagrams whose time is up; cheap, for every turn of the worker loop.
void reassembly_sweep(Worker& w);

// Splits the IPv4 packet m (data at the header, DF clear) into fragments of at most mtu
// bytes, each contiguous. Consumes m; returns how many fragments out[] holds (0: dropped).
uint16_t fragment_ipv4(Worker& w, rte_mbuf* m, uint16_t mtu, rte_mbuf** out, uint16_t max_out, unsigned from);

// Copies a chain of segments into one mbuf from pool; frees the chain. nullptr if it fails.
rte_mbuf* linearize(rte_mbuf* chain, rte_mempool* pool);

}  // namespace espgw::dp
