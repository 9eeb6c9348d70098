#include "espgw/dp/fragments.h"

#include <rte_ip.h>
#include <rte_ip_frag.h>

#include "espgw/net/checksum.h"

namespace espgw::dp {

rte_mbuf* linearize(rte_mbuf* chain, rte_mempool* pool) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool);
    const uint32_t len = rte_pktmbuf_pkt_len(chain);
    if (!m || len > rte_pktmbuf_tailroom(m)) {
        rte_pktmbuf_free(m);
        rte_pktmbuf_free(chain);
        return nullptr;
    }
    auto* dst = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(len)));
    for (const rte_mbuf* seg = chain; seg; seg = seg->next) {
        rte_memcpy(dst, rte_pktmbuf_mtod(seg, const void*), seg->data_len);
        dst += seg->data_len;
    }
    rte_pktmbuf_free(chain);
    return m;
}

rte_mbuf* reassemble_ipv4(Worker& w, rte_mbuf* m) {
    auto* ip = rte_pktmbuf_mtod(m, rte_ipv4_hdr*);
    m->l2_len = 0;
    m->l3_len = static_cast<uint16_t>(rte_ipv4_hdr_len(ip));
    rte_mbuf* whole = rte_ipv4_frag_reassemble_packet(w.frags, &w.death_row, m, w.now, ip);
    if (!whole) return nullptr;  // kept until the rest arrives, or on the death row (timed out, bad)
    ++w.counters->reassembled;
    whole = linearize(whole, w.shared->big_pool);
    if (!whole) {
        ++w.counters->drops[kPublic][static_cast<unsigned>(Drop::no_mbuf)];
        return nullptr;
    }
    // The library leaves the header checksum stale; nothing downstream reads it, but a packet
    // handed to the host stack must be right.
    ip = rte_pktmbuf_mtod(whole, rte_ipv4_hdr*);
    ip->hdr_checksum = 0;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    return whole;
}

rte_mbuf* reassemble_ipv6(Worker& w, rte_mbuf* m) {
    auto* ip = rte_pktmbuf_mtod(m, rte_ipv6_hdr*);
    rte_ipv6_fragment_ext* frag = rte_ipv6_frag_get_ipv6_fragment_header(ip);
    if (!frag || rte_pktmbuf_data_len(m) < sizeof(rte_ipv6_hdr) + sizeof(rte_ipv6_fragment_ext)) {
        drop(w, m, kPublic, Drop::malformed);
        return nullptr;
    }
    m->l2_len = 0;
    m->l3_len = sizeof(rte_ipv6_hdr) + sizeof(rte_ipv6_fragment_ext);
    rte_mbuf* whole = rte_ipv6_frag_reassemble_packet(w.frags, &w.death_row, m, w.now, ip, frag);
    if (!whole) return nullptr;  // kept until the rest arrives, or on the death row
    ++w.counters->reassembled;
    whole = linearize(whole, w.shared->big_pool);
    if (!whole) ++w.counters->drops[kPublic][static_cast<unsigned>(Drop::no_mbuf)];
    return whole;
}

uint16_t fragment_ipv4(Worker& w, rte_mbuf* m, uint16_t mtu, rte_mbuf** out, uint16_t max_out, unsigned from) {
    const Shared& s = *w.shared;
    const int n = rte_ipv4_fragment_packet(m, out, max_out, mtu, s.pool, s.indirect_pool);
    rte_pktmbuf_free(m);  // the fragments hold their own references to its data
    if (n <= 0) {
        ++w.counters->drops[from][static_cast<unsigned>(Drop::no_mbuf)];
        return 0;
    }
    uint16_t kept = 0;
    for (int k = 0; k < n; ++k) {
        rte_mbuf* f = out[k]->nb_segs > 1 ? linearize(out[k], s.pool) : out[k];
        if (!f) {
            ++w.counters->drops[from][static_cast<unsigned>(Drop::no_mbuf)];
            continue;
        }
        auto* ip = rte_pktmbuf_mtod(f, rte_ipv4_hdr*);
        ip->hdr_checksum = 0;  // rte_ipv4_fragment_packet leaves it to the caller
        ip->hdr_checksum = rte_ipv4_cksum(ip);
        out[kept++] = f;
    }
    return kept;
}

}  // namespace espgw::dp
