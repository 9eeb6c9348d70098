// Sending IPv4 packets on: routing, Ethernet, ICMP errors, and notes to the control core.
#pragma once

#include <rte_ether.h>
#include <rte_ip.h>

#include <cstring>

#include "espgw/dp/datapath.h"
#include "espgw/net/byte_order.h"
#include "espgw/net/checksum.h"
#include "espgw/net/mbuf_edit.h"

namespace espgw::dp {

inline bool is_own_address(const Shared& s, uint32_t dst) {
    return dst == s.addr[kPublic] || dst == s.addr[kProtected];
}

// The per-packet forwarding steps are inline (they run for every packet of every burst); what
// is rare (configured routes, the host port, unresolved neighbours) is out of line.

// Configured routes and the default gateway, after the directly connected networks.
bool route_ipv4_slow(const Shared& s, uint32_t dst, unsigned& role, uint32_t& next_hop);

// Which port and next hop reach dst. False: no route.
inline bool route_ipv4(const Shared& s, uint32_t dst, unsigned& role, uint32_t& next_hop) {
    for (unsigned r : {kProtected, kPublic}) {
        if (((dst ^ s.addr[r]) & s.mask[r]) == 0) {
            role = r;
            next_hop = dst;
            return true;
        }
    }
    return route_ipv4_slow(s, dst, role, next_hop);
}

// The MAC of a resolved, unexpired neighbour, through the worker's cache of table slots.
inline bool neighbour_mac(Worker& w, uint32_t addr, net::Mac& mac) {
    Worker::NextHop& c = w.next_hops[(addr ^ addr >> 8) & 15];
    if (c.addr != addr || c.slot < 0) {
        c.slot = w.shared->neighbours->slot_of(net::IpAddr::v4(addr));
        c.addr = addr;
        if (c.slot < 0) return false;
    }
    return w.shared->neighbours->read(c.slot, w.now, mac);
}

// The Ethernet header of an IPv4 packet leaving port `role` toward dst_mac, written at `at`.
inline void write_ethernet(void* at, const Shared& s, unsigned role, const net::Mac& dst_mac) {
    auto* eth = static_cast<rte_ether_hdr*>(at);
    std::memcpy(&eth->dst_addr, dst_mac.b, 6);
    std::memcpy(&eth->src_addr, s.port_mac[role].b, 6);
    eth->ether_type = net::be16(RTE_ETHER_TYPE_IPV4);
}

// Adds Ethernet (IPv4) toward dst_mac and queues m on the port `role`.
inline void send_ethernet(Worker& w, rte_mbuf* m, unsigned from, unsigned role, const net::Mac& dst_mac) {
    void* eth = rte_pktmbuf_prepend(m, sizeof(rte_ether_hdr));
    if (!eth) return drop(w, m, from, Drop::no_mbuf);
    write_ethernet(eth, *w.shared, role, dst_mac);
    send(w, role, m);
}

// send_ipv4 for the host port and for next hops not (or no longer) resolved: those wait at
// the control core for ARP.
void send_ipv4_slow(Worker& w, rte_mbuf* m, unsigned from, unsigned role, uint32_t next_hop);
// Hands m (an IP packet for next_hop, unresolved, out of `role`) to the control core to wait.
void hold(Worker& w, rte_mbuf* m, unsigned from, unsigned role, const net::IpAddr& next_hop);

// Like forward_ipv4 with a known port and next hop.
inline void send_ipv4(Worker& w, rte_mbuf* m, unsigned from, unsigned role, uint32_t next_hop) {
    net::Mac dst_mac;
    if (role != kHost && neighbour_mac(w, next_hop, dst_mac)) return send_ethernet(w, m, from, role, dst_mac);
    send_ipv4_slow(w, m, from, role, next_hop);
}

// The last forwarding decision of a burst toward a resolved neighbour: packets of one flow
// come in runs, and within a burst the answer cannot change (the neighbour's expiry is
// judged at the burst's start time, w.now).
struct ForwardMemo {
    uint32_t dst = 0;
    unsigned role = 0;
    uint32_t next_hop = 0;                 // where dst's packets go: dst itself, or a router
    uint8_t eth[sizeof(rte_ether_hdr)]{};  // the whole Ethernet header toward the neighbour
    bool valid = false;
};

// forward_ipv4 for a packet that is not for the gateway itself, through the memo. sa: the SA
// a drop is also counted for, if any.
inline void forward_ipv4_transit(Worker& w, rte_mbuf* m, unsigned from, uint32_t dst, ForwardMemo& memo,
                                 sa::Sa* sa = nullptr) {
    if (!memo.valid || memo.dst != dst) {
        unsigned role;
        uint32_t next_hop;
        net::Mac mac;
        if (!route_ipv4(*w.shared, dst, role, next_hop)) return drop(w, m, from, Drop::no_route, sa);
        // Another destination behind the same next hop (peers behind one router: a
        // concentrator's usual case) keeps the Ethernet header the memo has.
        if (!memo.valid || memo.next_hop != next_hop || memo.role != role) {
            if (role == kHost || !neighbour_mac(w, next_hop, mac)) {
                memo.valid = false;
                return send_ipv4_slow(w, m, from, role, next_hop);
            }
            write_ethernet(memo.eth, *w.shared, role, mac);
            memo.role = role;
            memo.next_hop = next_hop;
        }
        memo.dst = dst;
        memo.valid = true;
    }
    // One 14-byte copy instead of building the header field by field for every packet.
    auto* eth = rte_pktmbuf_prepend(m, sizeof(rte_ether_hdr));
    if (!eth) return drop(w, m, from, Drop::no_mbuf, sa);
    std::memcpy(eth, memo.eth, sizeof memo.eth);
    send(w, memo.role, m);
}

// m starts at an IPv4 header addressed to dst: Ethernet is added and m queued on its port
// (or dropped and counted under `from`).
inline void forward_ipv4(Worker& w, rte_mbuf* m, unsigned from, uint32_t dst) {
    if (is_own_address(*w.shared, dst)) return send_ipv4_slow(w, m, from, kHost, dst);
    unsigned role;
    uint32_t next_hop;
    if (!route_ipv4(*w.shared, dst, role, next_hop)) return drop(w, m, from, Drop::no_route);
    send_ipv4(w, m, from, role, next_hop);
}

// Hands ev to the control core; never blocks. False (counted as ring_full) if the ring is full.
bool post_event(Worker& w, unsigned from, const ControlEvent& ev);

// Answers the IPv4 packet at ip (which came in on `from` from src_mac) with ICMP
// "fragmentation needed" carrying mtu (RFC 792, RFC 1191).
void icmp_frag_needed(Worker& w, const rte_ipv4_hdr* ip, uint32_t len, unsigned from,
                      const rte_ether_addr& src_mac, uint16_t mtu);

// Forwarding hop: TTL - 1 with an incremental checksum update. False if the TTL ran out.
inline bool decrement_ttl(rte_ipv4_hdr* ip) {
    if (ip->time_to_live <= 1) return false;
    --ip->time_to_live;
    ip->hdr_checksum = net::be16(net::checksum_after_ttl_decrement(net::be16(ip->hdr_checksum)));
    return true;
}

// Ethernet in: too-short frames are dropped and ARP goes to the control core (false: m was
// consumed); otherwise the header is stripped and its type and source returned.
inline bool strip_ethernet(Worker& w, rte_mbuf* m, unsigned from, uint16_t& type, rte_ether_addr& src) {
    if (rte_pktmbuf_data_len(m) < sizeof(rte_ether_hdr)) {
        drop(w, m, from, Drop::malformed);
        return false;
    }
    const auto* eth = rte_pktmbuf_mtod(m, const rte_ether_hdr*);
    type = net::be16(eth->ether_type);
    if (type == RTE_ETHER_TYPE_ARP) {
        m->port = static_cast<uint16_t>(from);
        if (rte_ring_mp_enqueue(w.shared->slow_ring, m) != 0) drop(w, m, from, Drop::ring_full);
        return false;
    }
    src = eth->src_addr;
    net::cut_front(m, sizeof(rte_ether_hdr));  // length checked above
    return true;
}

// Validates the IPv4 header at the start of m (version, lengths, checksum not checked: the
// NIC or the sender's ESP ICV covers it) and trims link-layer padding. False: malformed.
inline bool valid_ipv4(rte_mbuf* m) {
    const uint32_t len = rte_pktmbuf_data_len(m);
    if (len < sizeof(rte_ipv4_hdr)) return false;
    const auto* ip = rte_pktmbuf_mtod(m, const rte_ipv4_hdr*);
    // Version 4 and a header length of 5..15 words: version_ihl is 0x45..0x4f.
    if (static_cast<uint8_t>(ip->version_ihl - 0x45) > 0x0a) return false;
    const uint32_t ihl = rte_ipv4_hdr_len(ip);
    const uint32_t total = net::be16(ip->total_length);
    if (total < ihl || total > len) return false;
    if (total < len) rte_pktmbuf_trim(m, static_cast<uint16_t>(len - total));  // Ethernet padding
    return true;
}

// ---- IPv6 ----

// Version, lengths; trims link-layer padding. False: malformed.
bool valid_ipv6(rte_mbuf* m);

// Forwarding hop for IPv6 (no header checksum). False if the hop limit ran out.
inline bool decrement_hop_limit(rte_ipv6_hdr* ip) {
    if (ip->hop_limits <= 1) return false;
    --ip->hop_limits;
    return true;
}

// The last IPv6 forwarding decision of a burst (like ForwardMemo): destination, port and the
// whole Ethernet header toward its resolved next hop.
struct ForwardMemo6 {
    uint8_t dst[16]{};
    unsigned role = 0;
    uint8_t eth[sizeof(rte_ether_hdr)]{};
    bool valid = false;
};

// m starts at an IPv6 header for dst: out of port `role`, to dst if it is on that port's
// link, else to the port's IPv6 gateway (or dropped: no route). With a memo, a burst's
// packets to one destination share one route and neighbour lookup.
void forward_ipv6(Worker& w, rte_mbuf* m, unsigned from, unsigned role, const uint8_t dst[16],
                  ForwardMemo6* memo = nullptr);

// ICMPv6 "packet too big" (RFC 4443 §3.2) back to the sender of the packet at ip.
void icmp6_packet_too_big(Worker& w, const rte_ipv6_hdr* ip, uint32_t len, unsigned from,
                          const rte_ether_addr& src_mac, uint32_t mtu);

// Neighbour discovery (router/neighbour solicitations and advertisements, RFC 4861 §4):
// the control core answers and learns from them.
bool is_ndp(const rte_ipv6_hdr* ip, uint32_t len);

}  // namespace espgw::dp
