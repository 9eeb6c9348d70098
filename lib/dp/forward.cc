#include "forward.h"

#include <rte_icmp.h>

#include <cstring>

#include "espgw/net/byte_order.h"

namespace espgw::dp {

bool route_ipv4_slow(const Shared& s, uint32_t dst, unsigned& role, uint32_t& next_hop) {
    for (unsigned k = 0; k < s.n_routes; ++k) {
        const Route& rt = s.routes[k];
        if (rt.prefix.contains_v4(dst)) {
            role = rt.public_side ? kPublic : kProtected;
            next_hop = rt.via ? rt.via : dst;
            return true;
        }
    }
    if (s.public_gateway) {
        role = kPublic;
        next_hop = s.public_gateway;
        return true;
    }
    return false;
}

bool post_event(Worker& w, unsigned from, const ControlEvent& ev) {
    if (rte_ring_mp_enqueue_elem(w.shared->event_ring, const_cast<ControlEvent*>(&ev), sizeof ev) != 0) {
        ++w.counters->drops[from][static_cast<unsigned>(Drop::ring_full)];
        return false;
    }
    ++w.counters->events;
    return true;
}

void send_ipv4_slow(Worker& w, rte_mbuf* m, unsigned from, unsigned role, uint32_t next_hop) {
    const Shared& s = *w.shared;
    net::Mac dst_mac;
    if (role == kHost) {
        if (!s.has_host) return drop(w, m, from, Drop::no_route);
        ++w.counters->to_host;
        return send_ethernet(w, m, from, role, s.host_mac);
    }
    if (neighbour_mac(w, next_hop, dst_mac)) return send_ethernet(w, m, from, role, dst_mac);
    hold(w, m, from, role, net::IpAddr::v4(next_hop));
}

void hold(Worker& w, rte_mbuf* m, unsigned from, unsigned role, const net::IpAddr& next_hop) {
    HeldPacket h{m, next_hop, static_cast<uint8_t>(role)};
    if (rte_ring_mp_enqueue_elem(w.shared->held_ring, &h, sizeof h) != 0) return drop(w, m, from, Drop::ring_full);
    ++w.counters->held;
}

void forward_from_control(Worker& w, rte_mbuf* m) {
    const auto* ip = rte_pktmbuf_mtod(m, const rte_ipv4_hdr*);
    if ((ip->version_ihl >> 4) == 6) {
        // IPv6 from the control core goes to peers (keepalives): out of the public port.
        uint8_t dst[16];
        std::memcpy(dst, rte_pktmbuf_mtod(m, const rte_ipv6_hdr*)->dst_addr, 16);
        return forward_ipv6(w, m, kHost, kPublic, dst);
    }
    forward_ipv4(w, m, kHost, net::be32(ip->dst_addr));
}

void drain_control_tx(Worker& w) {
    TxRequest req[kBurst];
    const unsigned n = rte_ring_sc_dequeue_burst_elem(w.shared->tx_ring, req, sizeof req[0], kBurst, nullptr);
    for (unsigned k = 0; k < n; ++k) {
        if (req[k].kind == TxRequest::route)
            forward_from_control(w, req[k].m);
        else
            send(w, req[k].role, req[k].m);
    }
}

namespace {

// A frame of len bytes after Ethernet, back to to_mac out of port `from`; nullptr (counted)
// if no mbuf is left. Used for the ICMP errors the data plane answers with.
rte_ether_hdr* error_frame(Worker& w, unsigned from, const rte_ether_addr& to_mac, uint16_t type, uint32_t len,
                           rte_mbuf*& m) {
    m = rte_pktmbuf_alloc(w.shared->pool);
    auto* eth = m ? reinterpret_cast<rte_ether_hdr*>(rte_pktmbuf_append(m, static_cast<uint16_t>(sizeof(rte_ether_hdr) + len)))
                  : nullptr;
    if (!eth) {
        rte_pktmbuf_free(m);
        ++w.counters->drops[from][static_cast<unsigned>(Drop::no_mbuf)];
        return nullptr;
    }
    eth->dst_addr = to_mac;
    std::memcpy(&eth->src_addr, w.shared->port_mac[from].b, 6);
    eth->ether_type = net::be16(type);
    return eth;
}

}  // namespace

void icmp_frag_needed(Worker& w, const rte_ipv4_hdr* ip, uint32_t len, unsigned from,
                      const rte_ether_addr& src_mac, uint16_t mtu) {
    const Shared& s = *w.shared;
    // Quote the original header and as much data as keeps the error within 576 bytes.
    const uint32_t quote = len < 576 - 28 ? len : 576 - 28;
    const uint32_t total = sizeof(rte_ipv4_hdr) + sizeof(rte_icmp_hdr) + quote;
    rte_mbuf* m;
    rte_ether_hdr* eth = error_frame(w, from, src_mac, RTE_ETHER_TYPE_IPV4, total, m);
    if (!eth) return;
    auto* out = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
    out->version_ihl = RTE_IPV4_VHL_DEF;
    out->type_of_service = 0;
    out->total_length = net::be16(static_cast<uint16_t>(total));
    out->packet_id = 0;
    out->fragment_offset = 0;
    out->time_to_live = 64;
    out->next_proto_id = IPPROTO_ICMP;
    // From our address on that port; toward the host stack our addresses are its own, and
    // Linux drops a packet from a local source, so the error names the destination instead.
    out->src_addr = from == kHost ? ip->dst_addr : net::be32(s.addr[from]);
    out->dst_addr = ip->src_addr;
    out->hdr_checksum = 0;
    out->hdr_checksum = rte_ipv4_cksum(out);
    auto* icmp = reinterpret_cast<rte_icmp_hdr*>(out + 1);
    icmp->icmp_type = 3  /* destination unreachable */;
    icmp->icmp_code = 4;  // fragmentation needed and DF set
    icmp->icmp_ident = 0;
    icmp->icmp_seq_nb = net::be16(mtu);  // RFC 1191: next-hop MTU in the low 16 bits
    std::memcpy(icmp + 1, ip, quote);
    icmp->icmp_cksum = 0;
    icmp->icmp_cksum = static_cast<uint16_t>(~rte_raw_cksum(icmp, sizeof(rte_icmp_hdr) + quote));
    send(w, from, m);
}

bool valid_ipv6(rte_mbuf* m) {
    const uint32_t len = rte_pktmbuf_data_len(m);
    if (len < sizeof(rte_ipv6_hdr)) return false;
    const auto* ip = rte_pktmbuf_mtod(m, const rte_ipv6_hdr*);
    const uint32_t total = sizeof(rte_ipv6_hdr) + net::be16(ip->payload_len);
    if ((net::be32(ip->vtc_flow) >> 28) != 6 || total > len) return false;
    if (total < len) rte_pktmbuf_trim(m, static_cast<uint16_t>(len - total));
    return true;
}

namespace {

bool on_link6(const Shared::Port6& p6, const uint8_t* a) {
    net::Prefix p;  // not Prefix::v6: only the first prefix_len bits are compared anyway
    p.family = 6;
    p.len = p6.prefix_len;
    p.addr = net::IpAddr::v6(p6.addr);
    return p.contains_v6(a);
}

}  // namespace

void forward_ipv6(Worker& w, rte_mbuf* m, unsigned from, unsigned role, const uint8_t dst[16],
                  ForwardMemo6* memo) {
    if (memo && memo->valid && memo->role == role && std::memcmp(memo->dst, dst, 16) == 0) {
        void* eth = rte_pktmbuf_prepend(m, sizeof(rte_ether_hdr));
        if (!eth) return drop(w, m, from, Drop::no_mbuf);
        std::memcpy(eth, memo->eth, sizeof memo->eth);
        return send(w, role, m);
    }
    const Shared& s = *w.shared;
    const Shared::Port6& p6 = s.v6[role];
    if (!p6.on) return drop(w, m, from, Drop::no_route);
    const uint8_t* next_hop = on_link6(p6, dst) ? dst : p6.has_gateway ? p6.gateway : nullptr;
    if (!next_hop) return drop(w, m, from, Drop::no_route);
    net::Mac mac;
    if (!s.neighbours->lookup(net::IpAddr::v6(next_hop), w.now, mac)) {
        // Kept by the control core while it solicits (RFC 4861 §7.2.2), as IPv4 waits for ARP.
        return hold(w, m, from, role, net::IpAddr::v6(next_hop));
    }
    auto* eth = reinterpret_cast<rte_ether_hdr*>(rte_pktmbuf_prepend(m, sizeof(rte_ether_hdr)));
    if (!eth) return drop(w, m, from, Drop::no_mbuf);
    std::memcpy(&eth->dst_addr, mac.b, 6);
    std::memcpy(&eth->src_addr, s.port_mac[role].b, 6);
    eth->ether_type = net::be16(RTE_ETHER_TYPE_IPV6);
    if (memo) {
        std::memcpy(memo->dst, dst, 16);
        memo->role = role;
        std::memcpy(memo->eth, eth, sizeof memo->eth);
        memo->valid = true;
    }
    send(w, role, m);
}

void icmp6_packet_too_big(Worker& w, const rte_ipv6_hdr* ip, uint32_t len, unsigned from,
                          const rte_ether_addr& src_mac, uint32_t mtu) {
    const Shared& s = *w.shared;
    if (!s.v6[from].on) return;
    // The error may not exceed the IPv6 minimum MTU (RFC 4443 §2.4 (c)).
    const uint32_t quote = len < 1280 - 48 ? len : 1280 - 48;
    const uint32_t icmp_len = 8 + quote;
    rte_mbuf* m;
    rte_ether_hdr* eth = error_frame(w, from, src_mac, RTE_ETHER_TYPE_IPV6, sizeof(rte_ipv6_hdr) + icmp_len, m);
    if (!eth) return;
    auto* out = reinterpret_cast<rte_ipv6_hdr*>(eth + 1);
    out->vtc_flow = net::be32(6u << 28);
    out->payload_len = net::be16(static_cast<uint16_t>(icmp_len));
    out->proto = IPPROTO_ICMPV6;
    out->hop_limits = 64;
    std::memcpy(out->src_addr, s.v6[from].addr, 16);
    std::memcpy(out->dst_addr, ip->src_addr, 16);
    auto* icmp = reinterpret_cast<uint8_t*>(out + 1);
    icmp[0] = 2;  // packet too big
    icmp[1] = 0;
    icmp[2] = icmp[3] = 0;
    const uint32_t mtu_be = net::be32(mtu);
    std::memcpy(icmp + 4, &mtu_be, 4);
    std::memcpy(icmp + 8, ip, quote);
    const uint16_t sum = rte_ipv6_udptcp_cksum(out, icmp);
    std::memcpy(icmp + 2, &sum, 2);
    send(w, from, m);
}

bool is_ndp(const rte_ipv6_hdr* ip, uint32_t len) {
    if (ip->proto != IPPROTO_ICMPV6 || len < sizeof(rte_ipv6_hdr) + 4) return false;
    const uint8_t type = reinterpret_cast<const uint8_t*>(ip + 1)[0];
    return type >= 133 && type <= 137;
}

}  // namespace espgw::dp
