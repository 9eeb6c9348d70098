// Public port (IPv4 and IPv6): RFC 3948 demultiplexing, then ESP decap in one batch per burst.
#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_ip_frag.h>
#include <rte_udp.h>

#include <cstring>

#include "espgw/dp/datapath.h"
#include "espgw/esp/natt_classify.h"
#include "forward.h"
#include "espgw/dp/fragments.h"
#include "espgw/net/byte_order.h"
#include "inbound.h"

namespace espgw::dp {

namespace {

void to_control(Worker& w, rte_ring* ring, rte_mbuf* m, uint64_t& counter) {
    if (rte_ring_mp_enqueue(ring, m) != 0) return drop(w, m, kPublic, Drop::ring_full);  // never wait
    ++counter;
}

// A UDP datagram to the gateway (data at the outer IP header, l3_len bytes long, UDP header
// known to fit): RFC 3948 §2 says what it is on the NAT-T port; the IKE port carries IKE.
// ESP is appended to esp[] for the batch; keepalives and IKE are handled here. False: not
// for the NAT-T or IKE port (the caller decides).
[[gnu::always_inline]] inline bool classify_udp(Worker& w, rte_mbuf* m, EspBatch& esp, uint32_t l3_len,
                                                OuterInfo from, bool v6) {
    const Shared& s = *w.shared;
    const auto* udp = rte_pktmbuf_mtod_offset(m, const rte_udp_hdr*, l3_len);
    const uint16_t dport = net::be16(udp->dst_port);
    if (dport != s.natt_port && dport != s.ike_port) return false;
    const uint32_t udp_len = net::be16(udp->dgram_len);
    // Source port 0 is no NAT's mapping and no IKE peer's port; refusing it also lets a packet's
    // UDP source port say whether it came encapsulated (OuterInfo::sport_be != 0).
    if (udp_len < sizeof(rte_udp_hdr) || l3_len + udp_len > rte_pktmbuf_data_len(m) || udp->src_port == 0) [[unlikely]] {
        drop(w, m, kPublic, Drop::malformed);
        return true;
    }
    const auto* payload = reinterpret_cast<const uint8_t*>(udp + 1);
    const uint32_t plen = udp_len - sizeof(rte_udp_hdr);
    const esp::NattKind kind = dport == s.ike_port ? esp::NattKind::ike : esp::classify_natt(payload, plen);
    from.sport_be = udp->src_port;
    if (v6 && kind != esp::NattKind::esp) {
        // IPv6 makes the UDP checksum mandatory (RFC 8200 §8.1). ESP skips the check: its ICV
        // covers the payload, and RFC 6936 lets tunnels send a zero checksum.
        const auto* ip6 = rte_pktmbuf_mtod(m, const rte_ipv6_hdr*);
        if (udp->dgram_cksum == 0 || rte_ipv6_udptcp_cksum_verify(ip6, udp) != 0) [[unlikely]] {
            drop(w, m, kPublic, Drop::malformed);
            return true;
        }
    }
    switch (kind) {
    case esp::NattKind::keepalive: {
        ++w.counters->keepalives;
        ControlEvent ev{ControlEvent::keepalive, kPublic, net::be16(from.sport_be), 0, v6 ? 0 : net::be32(from.src_be), {}};
        if (v6) {
            ev.v6 = true;
            std::memcpy(ev.addr6, rte_pktmbuf_mtod(m, const rte_ipv6_hdr*)->src_addr, 16);
        }
        post_event(w, kPublic, ev);
        rte_pktmbuf_free(m);
        return true;
    }
    case esp::NattKind::ike:
        // The control core gets IP+UDP and l4_len says where the IKE message starts: after
        // the non-ESP marker on the NAT-T port (RFC 3948 §2.2).
        m->l3_len = static_cast<uint16_t>(l3_len);
        m->l4_len = static_cast<uint16_t>(sizeof(rte_udp_hdr) + (dport == s.natt_port ? 4 : 0));
        to_control(w, s.ike_ring, m, w.counters->ike);
        return true;
    case esp::NattKind::malformed:
        drop(w, m, kPublic, Drop::malformed);
        return true;
    case esp::NattKind::esp:
        esp_inbound_add(w, esp, EspIn{m, from, sa::Encap::udp, v6, static_cast<uint16_t>(l3_len + sizeof(rte_udp_hdr))});
        return true;
    }
    return true;
}

// One whole IPv4 packet for the gateway (data at the IPv4 header, validated): ESP (in UDP or
// not) and IKE go on; everything else addressed to the gateway belongs to its host stack.
[[gnu::always_inline]] inline void classify_whole(Worker& w, rte_mbuf* m, EspBatch& esp) {
    const auto* ip = rte_pktmbuf_mtod(m, const rte_ipv4_hdr*);
    const uint32_t ihl = rte_ipv4_hdr_len(ip);
    const uint8_t proto = ip->next_proto_id;
    const OuterInfo from{ip->src_addr, 0, ip->time_to_live, ip->type_of_service};
    if (proto == IPPROTO_UDP && rte_pktmbuf_data_len(m) >= ihl + sizeof(rte_udp_hdr) &&
        classify_udp(w, m, esp, ihl, from, false))
        return;
    if (proto == IPPROTO_ESP)
        return esp_inbound_add(w, esp, EspIn{m, from, sa::Encap::none, false, static_cast<uint16_t>(ihl)});
    send_ipv4(w, m, kPublic, kHost, net::be32(ip->dst_addr));
}

// An outer packet a peer or a path fragmented: reassembled, then classified whole.
[[gnu::noinline]] void classify_fragment(Worker& w, rte_mbuf* m, EspBatch& esp) {
    if (rte_mbuf* whole = reassemble_ipv4(w, m)) classify_whole(w, whole, esp);
}

[[gnu::always_inline]] inline void classify(Worker& w, rte_mbuf* m, EspBatch& esp) {
    const auto* ip = rte_pktmbuf_mtod(m, const rte_ipv4_hdr*);
    const uint8_t proto = ip->next_proto_id;
    if ((proto == IPPROTO_UDP || proto == IPPROTO_ESP) && rte_ipv4_frag_pkt_is_fragmented(ip)) [[unlikely]]
        return classify_fragment(w, m, esp);
    classify_whole(w, m, esp);
}

// One IPv6 frame's packet (data at the IPv6 header) on the public port: neighbour discovery
// goes to the control core, ESP (in UDP or not) and IKE to the gateway's address go on. There
// is no IPv6 host stack behind the gateway, so the rest is dropped.
[[gnu::noinline]] void classify6(Worker& w, rte_mbuf* m, EspBatch& esp) {
    const Shared& s = *w.shared;
    const Shared::Port6& p6 = s.v6[kPublic];
    if (!p6.on) return drop(w, m, kPublic, Drop::unsupported);
    if (!valid_ipv6(m)) return drop(w, m, kPublic, Drop::malformed);
    const auto* ip = rte_pktmbuf_mtod(m, const rte_ipv6_hdr*);
    if (is_ndp(ip, rte_pktmbuf_data_len(m))) {
        m->port = kPublic;
        rte_pktmbuf_prepend(m, sizeof(rte_ether_hdr));  // the control core wants the frame
        if (rte_ring_mp_enqueue(s.slow_ring, m) != 0) drop(w, m, kPublic, Drop::ring_full);
        return;
    }
    if (std::memcmp(ip->dst_addr, p6.addr, 16) != 0) return drop(w, m, kPublic, Drop::not_for_us);
    if (ip->proto == IPPROTO_FRAGMENT) {
        // A peer's IPv6 stack fragments what does not fit its path (RFC 8200 §4.5).
        if (rte_mbuf* whole = reassemble_ipv6(w, m)) classify6(w, whole, esp);
        return;
    }
    constexpr uint32_t kLen = sizeof(rte_ipv6_hdr);
    const OuterInfo from{fold6(ip->src_addr), 0, ip->hop_limits, static_cast<uint8_t>(net::be32(ip->vtc_flow) >> 20)};
    if (ip->proto == IPPROTO_UDP && rte_pktmbuf_data_len(m) >= kLen + sizeof(rte_udp_hdr) &&
        classify_udp(w, m, esp, kLen, from, true))
        return;
    if (ip->proto == IPPROTO_ESP) return esp_inbound_add(w, esp, EspIn{m, from, sa::Encap::none, true, kLen});
    // Other extension headers before ESP or UDP are not taken apart here.
    drop(w, m, kPublic, Drop::unsupported);
}

// The shape nearly every frame on a concentrator's public port has: Ethernet, IPv4 without
// options or padding, to the gateway, not fragmented, UDP from a non-zero port to the NAT-T
// port, its length the rest of the packet, ESP in it (a non-zero SPI, not a keepalive or the
// non-ESP marker). Recognised with a handful of loads and compares of the frame, it goes to
// the ESP batch with its outer headers cut in one step. False: not that shape (or not sure);
// the general classification below then decides, as it would have anyway.
[[gnu::always_inline]] inline bool esp_in_udp_fast(Worker& w, rte_mbuf* m, EspBatch& esp) {
    constexpr uint32_t kIp = sizeof(rte_ether_hdr), kUdp = kIp + sizeof(rte_ipv4_hdr);
    constexpr uint32_t kEsp = kUdp + sizeof(rte_udp_hdr);
    const Shared& s = *w.shared;
    const uint32_t len = rte_pktmbuf_data_len(m);
    if (len < kEsp + esp::kMinEspInUdp) return false;
    const auto* f = rte_pktmbuf_mtod(m, const uint8_t*);
    const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(f + kIp);
    const auto* udp = reinterpret_cast<const rte_udp_hdr*>(f + kUdp);
    uint16_t type;
    std::memcpy(&type, f + 12, 2);
    if (type != net::be16(RTE_ETHER_TYPE_IPV4) || ip->version_ihl != 0x45 || ip->next_proto_id != IPPROTO_UDP ||
        net::be16(ip->total_length) != len - kIp || net::be32(ip->dst_addr) != s.addr[kPublic] ||
        (ip->fragment_offset & net::be16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) != 0 ||
        net::be16(udp->dst_port) != s.natt_port || udp->src_port == 0 || net::be16(udp->dgram_len) != len - kUdp ||
        esp::load_be32(f + kEsp) == 0)
        return false;
    esp_inbound_add(w, esp, EspIn{m, {ip->src_addr, udp->src_port, ip->time_to_live, ip->type_of_service},
                                  sa::Encap::udp, false, static_cast<uint16_t>(kEsp)});
    return true;
}

}  // namespace

void rx_public(Worker& w, rte_mbuf** pkts, uint16_t n) {
    const Shared& s = *w.shared;
    EspBatch esp;
    w.counters->rx[kPublic] += n;

    prefetch_first(pkts, n);
    if (w.spi_spread > 2) esp.prelookup(w, pkts, n);
    for (uint16_t i = 0; i < n; ++i) {
        prefetch_ahead(pkts, i, n);
        rte_mbuf* m = pkts[i];
        esp.cur = i;
        if (esp_in_udp_fast(w, m, esp)) [[likely]]
            continue;
        uint16_t type;
        rte_ether_addr src_mac;
        if (!strip_ethernet(w, m, kPublic, type, src_mac)) [[unlikely]]
            continue;
        if (type != RTE_ETHER_TYPE_IPV4) [[unlikely]] {
            if (type == RTE_ETHER_TYPE_IPV6)
                classify6(w, m, esp);
            else
                drop(w, m, kPublic, Drop::unsupported);
            continue;
        }
        if (!valid_ipv4(m)) [[unlikely]] {
            drop(w, m, kPublic, Drop::malformed);
            continue;
        }
        if (net::be32(rte_pktmbuf_mtod(m, const rte_ipv4_hdr*)->dst_addr) != s.addr[kPublic]) [[unlikely]] {
            drop(w, m, kPublic, Drop::not_for_us);
            continue;
        }
        classify(w, m, esp);
    }
    w.spi_spread = esp.misses;
    esp_inbound_run(w, esp);
}

}  // namespace espgw::dp
