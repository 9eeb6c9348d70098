// Inbound ESP once a burst is classified (lookup and prepare: inbound.h): one crypto burst,
// one anti-replay update per run of one SA, then the checks that need the plaintext
// (trailer, traffic selectors) and delivery.
#include <rte_ip.h>

#include <cstring>

#include "espgw/esp/esp_decap.h"
#include "espgw/esp/transport_mode.h"
#include "espgw/net/byte_order.h"
#include "forward.h"
#include "inbound.h"

static_assert(espgw::dp::kBurst <= espgw::esp::kMaxBurst);

namespace espgw::dp {

namespace {

// RFC 7296 §2.23 in the data plane: an authenticated packet from another address or port
// than the SA's peer is reported (at most once per interval per SA); the control core decides.
void note_peer(Worker& w, sa::Sa& sa, const OuterInfo& in, const uint8_t* src6) {
    const sa::Endpoint cur = sa.current_peer();
    const uint32_t src = net::be32(in.src_be);
    const uint16_t sport = net::be16(in.sport_be);
    const bool udp = sa.params.encap == sa::Encap::udp;
    // (esp_inbound_add made sure the packet's address family is the SA's.)
    uint8_t cur6[16];
    if (src6) sa.peer6.load(cur6);
    const bool addr_moved = src6 ? std::memcmp(src6, cur6, 16) != 0 : cur.addr != src;
    const bool moved = addr_moved || (udp && (!cur.known || cur.port != sport));
    if (w.now - sa.last_seen_tsc.load(std::memory_order_relaxed) > w.shared->last_seen_resolution_tsc)
        sa.last_seen_tsc.store(w.now, std::memory_order_relaxed);
    if (!moved) return;
    uint64_t last = sa.last_event_tsc.load(std::memory_order_relaxed);
    if (last != 0 && w.now - last < w.shared->event_interval_tsc) return;
    if (!sa.last_event_tsc.compare_exchange_strong(last, w.now, std::memory_order_relaxed)) return;
    // Over IPv6 src is only a fold of the address (see OuterInfo): the event carries the address.
    ControlEvent ev{ControlEvent::mapping_change, kPublic, sport, sa.params.spi, src6 ? 0 : src, {}};
    if (src6) {
        ev.v6 = true;
        std::memcpy(ev.addr6, src6, 16);
    }
    post_event(w, kPublic, ev);
}

void deliver_tunnel6(Worker& w, sa::Sa& sa, rte_mbuf* m) {
    if (!valid_ipv6(m)) return drop(w, m, kPublic, Drop::malformed, &sa);
    auto* ip = rte_pktmbuf_mtod(m, rte_ipv6_hdr*);
    if (!sa.params.remote_ts.contains_v6(ip->src_addr) || !sa.params.local_ts.contains_v6(ip->dst_addr))
        return drop(w, m, kPublic, Drop::policy, &sa);
    if (!decrement_hop_limit(ip)) return drop(w, m, kPublic, Drop::ttl_expired, &sa);
    forward_ipv6(w, m, kPublic, kProtected, ip->dst_addr);
}

void deliver_tunnel(Worker& w, sa::Sa& sa, rte_mbuf* m, uint8_t next_header, ForwardMemo& memo) {
    if (next_header == IPPROTO_IPV6) return deliver_tunnel6(w, sa, m);
    if (next_header != IPPROTO_IPIP) return drop(w, m, kPublic, Drop::bad_next_header, &sa);
    if (!valid_ipv4(m)) return drop(w, m, kPublic, Drop::malformed, &sa);
    auto* ip = rte_pktmbuf_mtod(m, rte_ipv4_hdr*);
    const uint32_t src = net::be32(ip->src_addr), dst = net::be32(ip->dst_addr);
    // RFC 4301 §5.2: the inner packet must match the SA's selectors.
    if (!sa.params.remote_ts.contains_v4(src) || !sa.params.local_ts.contains_v4(dst))
        return drop(w, m, kPublic, Drop::policy, &sa);
    if (is_own_address(*w.shared, dst)) return send_ipv4_slow(w, m, kPublic, kHost, dst);
    if (!decrement_ttl(ip)) return drop(w, m, kPublic, Drop::ttl_expired, &sa);
    forward_ipv4_transit(w, m, kPublic, dst, memo, &sa);
}

void deliver_transport(Worker& w, sa::Sa& sa, rte_mbuf* m, const OuterInfo& in, uint8_t next_header) {
    if (sa.params.v6) return drop(w, m, kPublic, Drop::unsupported, &sa);  // the config refuses such SAs
    const esp::OuterAddrs outer{net::be32(in.src_be), w.shared->addr[kPublic], in.ttl, in.tos};
    if (!esp::transport_rebuild_ipv4(m, next_header, outer, sa.params.nat_oa_peer, sa.params.nat_oa_local))
        return drop(w, m, kPublic, Drop::no_mbuf, &sa);
    send_ipv4(w, m, kPublic, kHost, outer.dst);
}

}  // namespace

void esp_inbound_run(Worker& w, EspBatch& b) {
    const uint16_t n_ops = b.n;
    if (n_ops == 0) return;
    esp::InboundEsp* pkt = b.pkt;
    crypto::open_burst(w.mgr, b.ops, n_ops);
    bool ok[kBurst];
    esp::esp_in_accept_burst(pkt, n_ops, ok);

    // Counters and the peer-address check once per run of packets of one SA from one address
    // and port: a burst is usually a single run.
    sa::Sa* run_sa = nullptr;
    uint32_t run_src = 0;
    uint16_t run_sport = 0;
    uint64_t run_packets = 0, run_bytes = 0;
    ForwardMemo memo;
    for (uint16_t k = 0; k < n_ops; ++k) {
        esp::InboundEsp& p = pkt[k];
        sa::Sa& sa = *p.sa;
        if (!ok[k] || !esp::esp_in_strip(p)) [[unlikely]] {
            drop(w, p.m, kPublic, p.drop, &sa);
            continue;
        }
        const OuterInfo& from = b.from[k];
        // (Over IPv6 src_be is a fold of the source: a run may hide a move to an address with
        // the same fold until a later burst, never forever.)
        if (&sa != run_sa || from.src_be != run_src || from.sport_be != run_sport) {
            count_run(w, run_sa, run_packets, run_bytes, w.counters->esp_in);
            run_sa = &sa;
            run_src = from.src_be;
            run_sport = from.sport_be;
            run_packets = run_bytes = 0;
            note_peer(w, sa, from, sa.params.v6 ? outer_src6(sa, p.op.auth_start) : nullptr);
        }
        ++run_packets;
        run_bytes += rte_pktmbuf_data_len(p.m);
        if (sa.params.mode == sa::Mode::tunnel)
            deliver_tunnel(w, sa, p.m, p.next_header, memo);
        else
            deliver_transport(w, sa, p.m, from, p.next_header);
    }
    count_run(w, run_sa, run_packets, run_bytes, w.counters->esp_in);
}

}  // namespace espgw::dp
