// Cutting and growing mbufs on the packet path, where the caller knows the layout:
// rte_pktmbuf_adj/trim check the lengths again, and trim and append first walk to the last
// segment, which reads the mbuf's second cache line for every packet.
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

// Keeps len bytes of a single-segment mbuf, from offset `from` on (from + len <= data_len:
// checked by the caller): cut_front and cut_back in one go.
inline void keep_only(rte_mbuf* m, uint16_t from, uint32_t len) {
    m->data_off = static_cast<uint16_t>(m->data_off + from);
    m->data_len = static_cast<uint16_t>(len);
    m->pkt_len = len;
}

// Appends n bytes to a single-segment mbuf; nullptr if the buffer has no room for them.
inline uint8_t* grow_back(rte_mbuf* m, uint16_t n) {
    if (n > rte_pktmbuf_tailroom(m)) return nullptr;
    uint8_t* tail = rte_pktmbuf_mtod_offset(m, uint8_t*, m->data_len);
    m->data_len = static_cast<uint16_t>(m->data_len + n);
    m->pkt_len += n;
    return tail;
}

}  // namespace espgw::net
