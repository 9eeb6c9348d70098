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

void move_peer(Worker& w, sa::Sa& sa, uint32_t src, uint16_t sport, const uint8_t* src6, sa::Endpoint cur, bool udp,
               uint64_t newest);

// RFC 7296 §2.23 in the data plane, once per run of authenticated packets of one SA from one
// source (newest: the run's highest sequence number; src6: the IPv6 source, if over IPv6).
// A peer heard from somewhere new is moved right here, before this burst's packets are even
// sent on, so the reply to the very first packet after a NAT rebinding (or after the port is
// learned) already goes to the new mapping. Only the newest packet of the SA moves it: one
// overtaken on the way, or late from an old mapping, does not move the peer back. The control
// core hears of it afterwards, once per move that it has not taken yet.
void follow_peer(Worker& w, sa::Sa& sa, const OuterInfo& from, const uint8_t* src6, uint64_t newest) {
    sa::Peer& peer = *sa.peer;
    const uint64_t resolution = w.shared->last_seen_resolution_tsc;
    if (w.now - peer.last_seen_tsc.load(std::memory_order_relaxed) > resolution)
        peer.last_seen_tsc.store(w.now, std::memory_order_relaxed);
    if (w.now - sa.last_used_tsc.load(std::memory_order_relaxed) > resolution)
        sa.last_used_tsc.store(w.now, std::memory_order_relaxed);
    const bool udp = from.sport_be != 0;  // as this run came (classification drops UDP from port 0)
    const uint32_t src = net::be32(from.src_be);
    const uint16_t sport = net::be16(from.sport_be);
    // (esp_inbound_add made sure the packet's address family is the SA's.)
    sa::Endpoint cur;
    bool addr_moved;
    if (src6) {
        uint8_t cur6[16];
        cur = peer.load6(cur6);
        addr_moved = std::memcmp(src6, cur6, 16) != 0;
    } else {
        cur = peer.endpoint();
        addr_moved = cur.addr != src;
    }
    if (!addr_moved && !(udp && (!cur.known || cur.port != sport))) [[likely]]
        return;
    move_peer(w, sa, src6 ? 0 : src, sport, src6, cur, udp, newest);
}

// The rare part of follow_peer, out of line: the peer was heard from somewhere new.
[[gnu::noinline, gnu::cold]] void move_peer(Worker& w, sa::Sa& sa, uint32_t src, uint16_t sport, const uint8_t* src6,
                                           sa::Endpoint cur, bool udp, uint64_t newest) {
    sa::Peer& peer = *sa.peer;
    // Only an authenticated packet that is not a replay may move a peer (RFC 7296 §2.23), and
    // without anti-replay nothing says it is not one.
    if (!peer.follows() || !sa.replay.enabled() || newest < sa.replay.top()) return;
    const sa::Endpoint to{src, udp ? sport : cur.port, udp || cur.known};
    if (!peer.try_move(to, src6)) return;  // another worker is moving it right now
    if (peer.move_reported.exchange(true, std::memory_order_acq_rel)) return;  // news not taken yet
    ControlEvent ev{ControlEvent::peer_moved, kPublic, sport, peer.id, src, {}};
    if (!post_event(w, kPublic, ev)) peer.move_reported.store(false, std::memory_order_release);
}

void deliver_tunnel6(Worker& w, sa::Sa& sa, rte_mbuf* m) {
    if (!valid_ipv6(m)) return drop(w, m, kPublic, Drop::malformed, &sa);
    auto* ip = rte_pktmbuf_mtod(m, rte_ipv6_hdr*);
    if (!sa.selectors->remote_has_v6(ip->src_addr) || !sa.selectors->local_has_v6(ip->dst_addr))
        return drop(w, m, kPublic, Drop::policy, &sa);
    if (!decrement_hop_limit(ip)) return drop(w, m, kPublic, Drop::ttl_expired, &sa);
    forward_ipv6(w, m, kPublic, kProtected, ip->dst_addr);
}

// The last inner source and destination an SA's selectors were found to hold: a run of one
// flow's packets is checked once.
struct SelectorMemo {
    const sa::Sa* sa = nullptr;
    uint32_t src = 0, dst = 0;
};

void deliver_tunnel(Worker& w, sa::Sa& sa, rte_mbuf* m, uint8_t next_header, ForwardMemo& memo, SelectorMemo& sel) {
    if (next_header == IPPROTO_IPV6) return deliver_tunnel6(w, sa, m);
    if (next_header != IPPROTO_IPIP) return drop(w, m, kPublic, Drop::bad_next_header, &sa);
    if (!valid_ipv4(m)) return drop(w, m, kPublic, Drop::malformed, &sa);
    auto* ip = rte_pktmbuf_mtod(m, rte_ipv4_hdr*);
    const uint32_t src = net::be32(ip->src_addr), dst = net::be32(ip->dst_addr);
    // RFC 4301 §5.2: the inner packet must match the SA's selectors.
    if (sel.sa != &sa || sel.src != src || sel.dst != dst) {
        if (!sa.selectors->remote_has_v4(src) || !sa.selectors->local_has_v4(dst))
            return drop(w, m, kPublic, Drop::policy, &sa);
        sel = {&sa, src, dst};
    }
    if (is_own_address(*w.shared, dst)) return send_ipv4_slow(w, m, kPublic, kHost, dst);
    if (!decrement_ttl(ip)) return drop(w, m, kPublic, Drop::ttl_expired, &sa);
    forward_ipv4_transit(w, m, kPublic, dst, memo, &sa);
}

// deliver_tunnel for an IPv4 packet of the run the packets before it made: same SA, source
// and destination (its selectors found to hold), destination neither the gateway's own nor
// unresolved (the forwarding memo holds it), no options, no padding, TTL left. The decrypted
// packet (len bytes at p.op.payload, the mbuf not yet cut) gets its Ethernet header in front
// and is sent, the mbuf set once. False: not such a packet (nothing changed); deliver_tunnel
// decides.
bool deliver_run_ipv4(Worker& w, esp::InboundEsp& p, uint32_t len, const ForwardMemo& memo, const SelectorMemo& sel) {
    if (p.next_header != IPPROTO_IPIP || len < sizeof(rte_ipv4_hdr) || !memo.valid || sel.sa != p.sa) return false;
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p.op.payload);
    const uint32_t src = net::be32(ip->src_addr), dst = net::be32(ip->dst_addr);
    if (ip->version_ihl != 0x45 || net::be16(ip->total_length) != len || sel.src != src || sel.dst != dst ||
        memo.dst != dst || ip->time_to_live <= 1)
        return false;
    decrement_ttl(ip);
    // The ESP, UDP and outer IP headers were in front: room for Ethernet.
    uint8_t* eth = p.op.payload - sizeof(rte_ether_hdr);
    std::memcpy(eth, memo.eth, sizeof memo.eth);
    rte_mbuf* m = p.m;
    m->data_off = static_cast<uint16_t>(eth - static_cast<uint8_t*>(m->buf_addr));
    m->data_len = static_cast<uint16_t>(len + sizeof(rte_ether_hdr));
    m->pkt_len = len + sizeof(rte_ether_hdr);
    send(w, memo.role, m);
    return true;
}

void deliver_transport(Worker& w, sa::Sa& sa, rte_mbuf* m, const OuterInfo& in, uint8_t next_header) {
    if (sa.params.outer_v6) return drop(w, m, kPublic, Drop::unsupported, &sa);  // the config refuses such SAs
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

    // Counters and the peer's location once per run of packets of one SA from one address
    // and port: a burst is usually a single run.
    sa::Sa* run_sa = nullptr;
    OuterInfo run_from{};
    uint8_t run_src6[16];
    uint64_t run_packets = 0, run_bytes = 0, run_newest = 0;
    const auto end_run = [&] {
        if (!run_sa) return;
        count_run(w, run_sa, run_packets, run_bytes, w.counters->esp_in);
        follow_peer(w, *run_sa, run_from, run_sa->params.outer_v6 ? run_src6 : nullptr, run_newest);
    };
    ForwardMemo memo;
    SelectorMemo sel;
    for (uint16_t k = 0; k < n_ops; ++k) {
        esp::InboundEsp& p = pkt[k];
        sa::Sa& sa = *p.sa;
        uint32_t len;
        if (!ok[k] || !esp::esp_in_trailer(p, len)) [[unlikely]] {
            drop(w, p.m, kPublic, p.drop, &sa);
            continue;
        }
        const OuterInfo& from = b.from[k];
        // (Over IPv6 src_be is a fold of the source: a run may hide a move to an address with
        // the same fold until a later burst, never forever.)
        if (&sa != run_sa || from.src_be != run_from.src_be || from.sport_be != run_from.sport_be) {
            end_run();
            run_sa = &sa;
            run_from = from;
            run_packets = run_bytes = run_newest = 0;
            // Copied now: the packet may be freed before the run ends.
            if (sa.params.outer_v6) std::memcpy(run_src6, outer_src6(from.sport_be != 0, p.op.auth_start), 16);
        }
        ++run_packets;
        run_bytes += len;
        if (p.seq > run_newest) run_newest = p.seq;
        if (sa.params.mode == sa::Mode::tunnel && deliver_run_ipv4(w, p, len, memo, sel)) continue;
        esp::esp_in_cut(p, len);
        if (sa.params.mode == sa::Mode::tunnel)
            deliver_tunnel(w, sa, p.m, p.next_header, memo, sel);
        else
            deliver_transport(w, sa, p.m, from, p.next_header);
    }
    end_run();
}

}  // namespace espgw::dp
