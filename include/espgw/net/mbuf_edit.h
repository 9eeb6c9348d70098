// Cutting bytes off an mbuf whose lengths the caller has already checked, on the packet path.
// rte_pktmbuf_adj/trim check again, and trim first walks to the last segment, which reads the
// mbuf's second cache line for every packet.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

namespace espgw::net {

// Drops n bytes from the front of the first segment (n <= its data_len: checked by the caller).
inline void cut_front(rte_mbuf* m, uint16_t n) {
    m->data_off = static_cast<uint16_t>(m->data_off + n);
    m->data_len = static_cast<uint16_t>(m->data_len - n);
    m->pkt_len -= n;
}

// Drops n bytes from the end of a single-segment mbuf (n <= data_len: checked by the caller).
inline void cut_back(rte_mbuf* m, uint16_t n) {
    m->data_len = static_cast<uint16_t>(m->data_len - n);
    m->pkt_len -= n;
}

}  // namespace espgw::net
