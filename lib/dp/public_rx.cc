// Public port: RFC 3948 demultiplexing, then ESP decap in one batch per burst.
#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_ip_frag.h>
#include <rte_udp.h>

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

// One IPv4 packet for the gateway (data at the IPv4 header, validated): RFC 3948 §2 says
// what it is. ESP is appended to esp[] for the batch; everything else is handled here.
void classify(Worker& w, rte_mbuf* m, EspBatch& esp) {
    const Shared& s = *w.shared;
    const auto* ip = rte_pktmbuf_mtod(m, const rte_ipv4_hdr*);
    const uint32_t ihl = rte_ipv4_hdr_len(ip);
    const uint8_t proto = ip->next_proto_id;
    if ((proto == IPPROTO_UDP || proto == IPPROTO_ESP) && rte_ipv4_frag_pkt_is_fragmented(ip)) [[unlikely]] {
        // An outer packet a peer or a path fragmented: reassembled, then classified whole.
        if (rte_mbuf* whole = reassemble_ipv4(w, m)) classify(w, whole, esp);
        return;
    }
    if (proto == IPPROTO_UDP && rte_pktmbuf_data_len(m) >= ihl + sizeof(rte_udp_hdr)) {
        const auto* udp = rte_pktmbuf_mtod_offset(m, const rte_udp_hdr*, ihl);
        const uint16_t dport = net::be16(udp->dst_port);
        const uint32_t udp_len = net::be16(udp->dgram_len);
        if (dport == s.natt_port || dport == s.ike_port) {
            if (udp_len < sizeof(rte_udp_hdr) || ihl + udp_len > rte_pktmbuf_data_len(m)) [[unlikely]]
                return drop(w, m, kPublic, Drop::malformed);
            const auto* payload = reinterpret_cast<const uint8_t*>(udp + 1);
            const uint32_t plen = udp_len - sizeof(rte_udp_hdr);
            const esp::NattKind kind = dport == s.ike_port ? esp::NattKind::ike : esp::classify_natt(payload, plen);
            switch (kind) {
            case esp::NattKind::keepalive:
                ++w.counters->keepalives;
                post_event(w, kPublic, ControlEvent{ControlEvent::keepalive, kPublic, net::be16(udp->src_port),
                                                    0, net::be32(ip->src_addr), {}});
                rte_pktmbuf_free(m);
                return;
            case esp::NattKind::ike:
                // The control core gets IPv4+UDP and l4_len says where the IKE message
                // starts: after the non-ESP marker on the NAT-T port (RFC 3948 §2.2).
                m->l3_len = static_cast<uint16_t>(ihl);
                m->l4_len = static_cast<uint16_t>(sizeof(rte_udp_hdr) + (dport == s.natt_port ? 4 : 0));
                return to_control(w, s.ike_ring, m, w.counters->ike);
            case esp::NattKind::malformed:
                return drop(w, m, kPublic, Drop::malformed);
            case esp::NattKind::esp:
                return esp_inbound_add(w, esp,
                                       EspIn{m, {ip->src_addr, udp->src_port, ip->time_to_live, ip->type_of_service},
                                             sa::Encap::udp, static_cast<uint16_t>(ihl + sizeof(rte_udp_hdr))});
            }
        }
    }
    if (proto == IPPROTO_ESP) {
        return esp_inbound_add(w, esp, EspIn{m, {ip->src_addr, 0, ip->time_to_live, ip->type_of_service},
                                             sa::Encap::none, static_cast<uint16_t>(ihl)});
    }
    // Everything else addressed to the gateway belongs to its host stack.
    send_ipv4(w, m, kPublic, kHost, net::be32(ip->dst_addr));
}

}  // namespace

void rx_public(Worker& w, rte_mbuf** pkts, uint16_t n) {
    const Shared& s = *w.shared;
    EspBatch esp;
    w.counters->rx[kPublic] += n;

    prefetch_first(pkts, n);
    for (uint16_t i = 0; i < n; ++i) {
        prefetch_ahead(pkts, i, n);
        rte_mbuf* m = pkts[i];
        uint16_t type;
        rte_ether_addr src_mac;
        if (!strip_ethernet(w, m, kPublic, type, src_mac)) [[unlikely]]
            continue;
        if (type != RTE_ETHER_TYPE_IPV4) [[unlikely]] {
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
    esp_inbound_run(w, esp);
}

}  // namespace espgw::dp
