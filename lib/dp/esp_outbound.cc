// The ESP outbound path (see esp_outbound.h).
#include "esp_outbound.h"

#include <rte_ip.h>
#include <rte_ip_frag.h>

#include <cstring>

#include "espgw/dp/fragments.h"
#include "espgw/net/byte_order.h"
#include "forward.h"

namespace espgw::dp {

namespace {

// Toward a peer reached over IPv6: the UDP checksum, then out of the public port.
[[gnu::noinline]] void send_outer6(Worker& w, unsigned from, EspOut& o, ForwardMemo6& memo) {
    esp::esp_out_finish_v6(o.p.m);
    uint8_t dst[16];
    std::memcpy(dst, rte_pktmbuf_mtod(o.p.m, const rte_ipv6_hdr*)->dst_addr, 16);
    forward_ipv6(w, o.p.m, from, kPublic, dst, &memo);
}

void send_outer(Worker& w, unsigned from, EspOut& o, ForwardMemo& memo, ForwardMemo6& memo6) {
    const Shared& s = *w.shared;
    if (o.p.sa->params.outer_v6) [[unlikely]]
        return send_outer6(w, from, o, memo6);
    // The destination the outer header was built with (the peer's mapping may move meanwhile).
    const uint32_t peer = net::be32(rte_pktmbuf_mtod(o.p.m, const rte_ipv4_hdr*)->dst_addr);
    if (!o.fragment) return forward_ipv4_transit(w, o.p.m, from, peer, memo, o.p.sa);
    unsigned role;
    uint32_t next_hop;
    if (!route_ipv4(s, peer, role, next_hop)) return drop(w, o.p.m, from, Drop::no_route, o.p.sa);
    ++w.counters->fragmented;
    rte_mbuf* frags[8];
    const int nf = rte_ipv4_fragment_packet(o.p.m, frags, 8, s.public_mtu, s.pool, s.indirect_pool);
    rte_pktmbuf_free(o.p.m);  // fragments hold their own references
    if (nf < 0) {
        ++w.counters->drops[from][static_cast<unsigned>(Drop::no_mbuf)];
        return;
    }
    for (int k = 0; k < nf; ++k) {
        // rte_ipv4_fragment_packet leaves the header checksum to the caller.
        auto* ip = rte_pktmbuf_mtod(frags[k], rte_ipv4_hdr*);
        ip->hdr_checksum = 0;
        ip->hdr_checksum = rte_ipv4_cksum(ip);
        send_ipv4(w, frags[k], from, role, next_hop);
    }
}

}  // namespace

void prefragment(Worker& w, unsigned from, rte_mbuf* m, sa::Sa& sa, uint16_t mtu, uint8_t tos) {
    rte_mbuf* frags[8];
    const uint16_t n = fragment_ipv4(w, m, mtu, frags, 8, from);
    EspOut out[8];
    for (uint16_t k = 0; k < n; ++k) {
        out[k].p.m = frags[k];
        out[k].p.skip = 0;
        out[k].p.sa = &sa;
        out[k].next_header = IPPROTO_IPIP;
        out[k].fragment = false;
        out[k].inner_len = rte_pktmbuf_data_len(frags[k]);
        out[k].tos = tos;
    }
    w.counters->fragmented += n ? 1 : 0;
    seal_batch(w, from, out, n);
}

void seal_batch(Worker& w, unsigned from, EspOut* out, uint16_t n_queued) {
    const Shared& s = *w.shared;
    crypto::CryptoOp* ops[kBurst];
    if (n_queued == 0) return;
    // Sequence numbers for each run of packets of one SA in a single atomic add.
    for (uint16_t k = 0; k < n_queued;) {
        uint16_t run = 1;
        while (k + run < n_queued && out[k + run].p.sa == out[k].p.sa) ++run;
        const uint64_t first = esp::reserve_seq(*out[k].p.sa, run);
        for (uint16_t j = 0; j < run; ++j) out[k + j].p.seq = first + j;
        k = static_cast<uint16_t>(k + run);
    }
    uint16_t n_out = 0;
    for (uint16_t k = 0; k < n_queued; ++k) {
        EspOut& o = out[k];
        const esp::OuterFields outer{w.ip_id++, !o.fragment && s.mtu_policy == MtuPolicy::icmp, o.tos, 64};
        if (!esp::esp_out_prepare(w.mgr, o.p, o.next_header, outer)) {
            drop(w, o.p.m, from, o.p.drop, o.p.sa);
            continue;
        }
        if (n_out != k) out[n_out] = o;  // keep the sealed ones contiguous
        ops[n_out] = &out[n_out].p.op;
        ++n_out;
    }
    if (n_out == 0) return;
    crypto::seal_burst(w.mgr, ops, n_out);
    // Counters once per run of packets of one SA; the forwarding decision once per peer.
    ForwardMemo memo;
    ForwardMemo6 memo6;
    sa::Sa* run_sa = nullptr;
    uint64_t run_packets = 0, run_bytes = 0;
    for (uint16_t k = 0; k < n_out; ++k) {
        EspOut& o = out[k];
        if (!o.p.op.ok) {
            drop(w, o.p.m, from, Drop::crypto_failed, o.p.sa);
            continue;
        }
        if (o.p.sa != run_sa) {
            count_run(w, run_sa, run_packets, run_bytes, w.counters->esp_out);
            run_sa = o.p.sa;
            run_packets = run_bytes = 0;
        }
        ++run_packets;
        run_bytes += o.inner_len;
        send_outer(w, from, o, memo, memo6);
    }
    count_run(w, run_sa, run_packets, run_bytes, w.counters->esp_out);
}

}  // namespace espgw::dp
