// Protected and host ports: each packet's policy decides - protect (handed to the ESP
// outbound path, esp_outbound.cc), discard, or none (the host's own traffic is routed in
// clear; protected traffic is dropped).
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_ip_frag.h>

#include <cstring>

#include "espgw/esp/transport_mode.h"
#include "espgw/net/byte_order.h"
#include "burst_keys.h"
#include "esp_outbound.h"
#include "forward.h"

namespace espgw::dp {

namespace {

// What an inside packet becomes: consumed here (forwarded in clear, sent to the host,
// dropped), or an ESP packet to seal (o filled).
enum class Verdict : uint8_t { consumed, seal };

// The last outbound decision of this burst: packets of one flow usually come in runs, and
// the policy and SA found stay valid for the whole burst (RCU: the worker is not quiescent in
// between), so a run costs one lookup and one selector check.
struct LastLookup {
    uint32_t dst = 0;
    const sa::Policy* policy = nullptr;
    sa::Sa* sa = nullptr;     // the policy's SA when dst was looked up
    uint32_t src = 0;         // a source the policy's local selectors were found to hold
    bool valid = false, src_ok = false;  // src_ok: only ever set for a tunnel-mode SA

    // Bursts spread over many destinations (a concentrator sending to many road warriors):
    // prelookup finds the burst's distinct destinations' policies and SAs together and
    // prefetches what sealing reads, so their cache misses overlap instead of following one
    // another. Its answer is kept per packet of the burst (when memo is set): the destination
    // the frame carried and that destination's policy and SA (pre_ok false: the frame did not
    // have the common shape, it is looked up as it is handled). cur: the packet being handled.
    bool memo = false;
    uint16_t lookups = 0;  // distinct destinations looked up (roughly)
    uint16_t cur = 0;
    bool pre_ok[kBurst];
    uint32_t pre_dst[kBurst];
    const sa::Policy* pre_policy[kBurst];
    sa::Sa* pre_sa[kBurst];
    void prelookup(const Worker& w, rte_mbuf* const* pkts, uint16_t n);
    void set(uint32_t d, const sa::Policy* p, sa::Sa* s) {
        dst = d;
        policy = p;
        sa = s;
        valid = true;
        src_ok = false;
    }
};

// The lines of an outbound SA that sealing reads: the first (parameters, the peer pointer),
// the keys a small packet needs first, the sequence number, this worker's counters.
inline void prefetch_outbound_sa(const sa::Sa* sa, unsigned worker) {
    rte_prefetch0(sa);
    crypto::prefetch_keys(sa->keys);
    rte_prefetch0(&sa->seq_out);
    rte_prefetch0(&sa->counters(worker));
}

void LastLookup::prelookup(const Worker& w, rte_mbuf* const* pkts, uint16_t n) {
    BurstKeys dsts;
    uint8_t uniq[kBurst];  // per packet: its destination's place in dsts
    for (uint16_t i = 0; i < n; ++i) {
        // Only Ethernet + IPv4: anything else is looked up as it is handled, as before.
        const rte_mbuf* pk = pkts[i];
        pre_ok[i] = false;
        if (rte_pktmbuf_data_len(pk) < 14 + 20) continue;
        const auto* f = rte_pktmbuf_mtod(pk, const uint8_t*);
        if (f[12] != 0x08 || f[13] != 0x00 || (f[14] >> 4) != 4) continue;
        const uint32_t d = esp::load_be32(f + 30);
        pre_ok[i] = true;
        pre_dst[i] = d;
        uniq[i] = dsts.add(d);
    }
    const unsigned m = dsts.n;
    memo = m >= 2;
    if (!memo) return;  // nothing to overlap: leave it to the packets
    const sa::Policy* pols[kBurst];
    w.shared->sas->lookup_policies_v4_bulk(dsts.keys, m, pols);
    lookups = static_cast<uint16_t>(lookups + m);
    for (unsigned k = 0; k < m; ++k)
        if (pols[k]) rte_prefetch0(pols[k]);
    // Each stage waits for the lines the one before fetched, all in flight together.
    sa::Sa* sas[kBurst];
    for (unsigned k = 0; k < m; ++k) {
        sas[k] = sa::SaTable::sa_of(pols[k]);
        if (sas[k]) {
            prefetch_outbound_sa(sas[k], w.id);
            rte_prefetch0(pols[k]->selectors.get());
        }
    }
    for (uint16_t i = 0; i < n; ++i)
        if (pre_ok[i]) {
            pre_policy[i] = pols[uniq[i]];
            pre_sa[i] = sas[uniq[i]];
        }
    for (unsigned k = 0; k < m; ++k)
        if (sas[k]) rte_prefetch0(sas[k]->peer);
}

// Traffic for a protect policy without an SA (yet): the control core is asked for one (IKE
// initiates), at most once per policy and interval; the packet itself is dropped.
void acquire(Worker& w, unsigned from, const sa::Policy& pol, uint32_t dst, const uint8_t* dst6) {
    uint64_t last = pol.last_acquire_tsc.load(std::memory_order_relaxed);
    if (last != 0 && w.now - last < w.shared->event_interval_tsc) return;
    if (!pol.last_acquire_tsc.compare_exchange_strong(last, w.now, std::memory_order_relaxed)) return;
    ControlEvent ev{ControlEvent::acquire, static_cast<uint8_t>(from), 0, pol.id, dst, {}};
    if (dst6) {
        ev.v6 = true;
        std::memcpy(ev.addr6, dst6, 16);
    }
    post_event(w, from, ev);
}

// The SA of the policy covering a packet, or nullptr after dropping (and counting) it: a
// discard policy, or one without an SA yet (then the control core is asked for one).
sa::Sa* protecting_sa(Worker& w, unsigned from, rte_mbuf* m, const sa::Policy& pol, uint32_t dst,
                      const uint8_t* dst6) {
    if (pol.action == sa::PolicyAction::discard) return drop(w, m, from, Drop::discarded), nullptr;
    sa::Sa* sa = pol.sa.load(std::memory_order_acquire);
    if (!sa) {
        acquire(w, from, pol, dst, dst6);
        drop(w, m, from, Drop::no_sa);
    }
    return sa;
}

Verdict inside_ipv4(Worker& w, unsigned from, rte_mbuf* m, const rte_ether_addr& src_mac, EspOut& o,
                    LastLookup& last) {
    const Shared& s = *w.shared;
    if (!valid_ipv4(m)) return drop(w, m, from, Drop::malformed), Verdict::consumed;
    auto* ip = rte_pktmbuf_mtod(m, rte_ipv4_hdr*);
    const uint32_t src = net::be32(ip->src_addr), dst = net::be32(ip->dst_addr);
    if (is_own_address(s, dst)) {
        if (from == kHost) drop(w, m, from, Drop::no_route);
        else send_ipv4(w, m, from, kHost, dst);
        return Verdict::consumed;
    }
    if (!last.valid || last.dst != dst) {
        const uint16_t i = last.cur;
        if (last.memo && last.pre_ok[i] && last.pre_dst[i] == dst) {
            last.set(dst, last.pre_policy[i], last.pre_sa[i]);
        } else {
            const sa::Policy* pol = s.sas->lookup_policy_v4(dst);
            last.set(dst, pol, pol ? sa::SaTable::sa_of(pol) : nullptr);
            ++last.lookups;
        }
    }
    if (!last.policy) {
        // Only the gateway's own stack may send in clear; protected traffic needs an SA.
        if (from == kHost) forward_ipv4(w, m, from, dst);
        else drop(w, m, from, Drop::no_sa);
        return Verdict::consumed;
    }
    sa::Sa* sa = last.sa;
    if (!sa) {
        protecting_sa(w, from, m, *last.policy, dst, nullptr);  // discard, or acquire
        return Verdict::consumed;
    }
    const bool transport = sa->params.mode == sa::Mode::transport;
    if (transport) {
        if (from != kHost) return drop(w, m, from, Drop::policy, sa), Verdict::consumed;
    } else if (!last.src_ok || last.src != src) {
        if (!last.policy->selectors->local_has_v4(src)) return drop(w, m, from, Drop::policy, sa), Verdict::consumed;
        last.src = src;
        last.src_ok = true;
    }
    const uint8_t tos = ip->type_of_service;
    const bool df = (net::be16(ip->fragment_offset) & RTE_IPV4_HDR_DF_FLAG) != 0;
    if (!transport && from == kProtected && !decrement_ttl(ip))
        return drop(w, m, from, Drop::ttl_expired, sa), Verdict::consumed;
    // Transport mode carries the payload without its IPv4 header: that is what must fit.
    const uint32_t ip_len = rte_pktmbuf_data_len(m);
    const uint32_t ihl = transport ? rte_ipv4_hdr_len(ip) : 0;
    if (!fits(w, *sa, ip_len - ihl, !df && !transport, o.fragment)) {
        const auto fit = static_cast<uint16_t>(esp::esp_max_payload(*sa, s.public_mtu));
        if (!transport && !df) return prefragment(w, from, m, *sa, fit, tos), Verdict::consumed;
        // The sender (a LAN host, or the gateway's own stack for transport mode) learns the
        // path MTU: the largest IP packet that still fits once encrypted.
        icmp_frag_needed(w, ip, ip_len, from, src_mac, static_cast<uint16_t>(fit + ihl));
        return drop(w, m, from, Drop::too_big, sa), Verdict::consumed;
    }
    uint8_t next_header = IPPROTO_IPIP;
    if (transport) {
        uint8_t tos_unused;
        if (!esp::transport_strip_ipv4(m, next_header, tos_unused))
            return drop(w, m, from, Drop::unsupported, sa), Verdict::consumed;
    }
    const uint32_t len = rte_pktmbuf_data_len(m);
    o.p.m = m;
    o.p.skip = 0;
    o.p.sa = sa;
    o.next_header = next_header;
    o.inner_len = len;
    o.tos = tos;
    return Verdict::seal;
}

Verdict inside_ipv6(Worker& w, unsigned from, rte_mbuf* m, const rte_ether_addr& src_mac, EspOut& o) {
    const Shared& s = *w.shared;
    if (from != kProtected || !s.v6[kProtected].on) return drop(w, m, from, Drop::unsupported), Verdict::consumed;
    if (!valid_ipv6(m)) return drop(w, m, from, Drop::malformed), Verdict::consumed;
    auto* ip = rte_pktmbuf_mtod(m, rte_ipv6_hdr*);
    const uint32_t len = rte_pktmbuf_data_len(m);
    if (is_ndp(ip, len)) {
        m->port = static_cast<uint16_t>(from);
        // The control core wants the Ethernet source (link-layer options may be absent).
        rte_pktmbuf_prepend(m, sizeof(rte_ether_hdr));
        if (rte_ring_mp_enqueue(s.slow_ring, m) != 0) drop(w, m, from, Drop::ring_full);
        return Verdict::consumed;
    }
    if (std::memcmp(ip->dst_addr, s.v6[kProtected].addr, 16) == 0)
        return drop(w, m, from, Drop::unsupported), Verdict::consumed;  // no IPv6 host stack
    const sa::Policy* pol = s.sas->lookup_policy_v6(ip->dst_addr);
    if (!pol) return drop(w, m, from, Drop::no_sa), Verdict::consumed;
    sa::Sa* sa = protecting_sa(w, from, m, *pol, 0, ip->dst_addr);
    if (!sa) return Verdict::consumed;
    if (!pol->selectors->local_has_v6(ip->src_addr)) return drop(w, m, from, Drop::policy, sa), Verdict::consumed;
    if (!decrement_hop_limit(ip)) return drop(w, m, from, Drop::ttl_expired, sa), Verdict::consumed;
    // IPv6 is never fragmented on the way (RFC 8200 §5): the inner packet may not be split, but
    // the tunnel may still fragment its own outer IPv4 packet when the policy says so.
    if (!fits(w, *sa, len, true, o.fragment)) {
        icmp6_packet_too_big(w, ip, len, from, src_mac, esp::esp_max_payload(*sa, s.public_mtu));
        return drop(w, m, from, Drop::too_big, sa), Verdict::consumed;
    }
    o.p.m = m;
    o.p.skip = 0;
    o.p.sa = sa;
    o.next_header = IPPROTO_IPV6;
    o.inner_len = len;
    o.tos = static_cast<uint8_t>(net::be32(ip->vtc_flow) >> 20);
    return Verdict::seal;
}

// The packet nearly every burst from the protected side is made of: Ethernet, IPv4 without
// options or padding, from the source and to the destination the packet before it had, whose
// policy, tunnel-mode SA and local selectors were found then (so the destination is not the
// gateway's own), TTL left to spend, small enough to seal without fragmenting. Recognised with
// a few compares, it is queued for sealing with no lookup or check repeated; anything else
// (false) goes through inside_ipv4, which decides as it would have anyway.
[[gnu::always_inline]] inline bool inside_ipv4_fast(Worker& w, rte_mbuf* m, EspOut& o, const LastLookup& last) {
    constexpr uint32_t kIp = sizeof(rte_ether_hdr);
    const uint32_t len = rte_pktmbuf_data_len(m);
    if (len < kIp + sizeof(rte_ipv4_hdr) || !last.src_ok) return false;
    auto* f = rte_pktmbuf_mtod(m, uint8_t*);
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(f + kIp);
    uint16_t type;
    std::memcpy(&type, f + 12, 2);
    const uint32_t ip_len = len - kIp;
    if (type != net::be16(RTE_ETHER_TYPE_IPV4) || ip->version_ihl != 0x45 || net::be16(ip->total_length) != ip_len ||
        net::be32(ip->dst_addr) != last.dst || net::be32(ip->src_addr) != last.src || ip->time_to_live <= 1)
        return false;
    sa::Sa* sa = last.sa;
    if (!fits(w, *sa, ip_len, /*may_fragment=*/false, o.fragment)) return false;  // too big: inside_ipv4 decides
    decrement_ttl(ip);
    o.p.m = m;
    o.p.skip = kIp;  // the outer headers take the Ethernet header's place
    o.p.sa = sa;
    o.next_header = IPPROTO_IPIP;
    o.inner_len = ip_len;
    o.tos = ip->type_of_service;
    return true;
}

}  // namespace

void rx_inside(Worker& w, unsigned from, rte_mbuf** pkts, uint16_t n) {
    EspOut out[kBurst];
    uint16_t n_queued = 0;
    LastLookup last;
    w.counters->rx[from] += n;

    prefetch_first(pkts, n);
    if (w.dst_spread > 2) last.prelookup(w, pkts, n);
    for (uint16_t i = 0; i < n; ++i) {
        prefetch_ahead(pkts, i, n);
        rte_mbuf* m = pkts[i];
        last.cur = i;
        EspOut& o = out[n_queued];
        if (from == kProtected && inside_ipv4_fast(w, m, o, last)) [[likely]] {
            ++n_queued;
            continue;
        }
        uint16_t type;
        rte_ether_addr src_mac;
        if (!strip_ethernet(w, m, from, type, src_mac)) continue;
        Verdict v;
        if (type == RTE_ETHER_TYPE_IPV4)
            v = inside_ipv4(w, from, m, src_mac, o, last);
        else if (type == RTE_ETHER_TYPE_IPV6)
            v = inside_ipv6(w, from, m, src_mac, o);
        else
            v = (drop(w, m, from, Drop::unsupported), Verdict::consumed);
        if (v == Verdict::consumed) continue;
        ++n_queued;
    }
    w.dst_spread = last.lookups;
    seal_batch(w, from, out, n_queued);
}

}  // namespace espgw::dp
