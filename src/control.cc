// The control core: drains what the workers hand over (IKE messages, events, ARP), takes the
// news of peers the workers moved, sends NAT keepalives and resolves neighbours. IKE itself
// arrives in later work; for now IKE messages are counted and logged.
#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_udp.h>
#include <time.h>

#include <utility>
#include <vector>

#include "arp.h"
#include "ndp.h"
#include "gateway.h"
#include "log.h"

namespace espgw {

namespace {

// A worker moved a peer (RFC 7296 §2.23, in the data plane): the control core takes the news,
// logs it once and keeps its index of locations right for keepalives.
void on_peer_moved(Gateway& gw, const dp::ControlEvent& ev) {
    std::lock_guard lock(gw.control_mutex);
    const auto moved = gw.peers.sync(ev.id);
    if (!moved) return;  // removed meanwhile, or already taken
    gw.control_stats.mapping_changes++;
    const sa::Peer* peer = gw.peers.find(ev.id);
    log_line("peer %s moved: %s -> %s (%s)", peer->name.c_str(), moved->from.c_str(), moved->to.c_str(),
             moved->port_learned       ? "port learned"
             : !moved->address_changed ? "NAT mapping changed"
             : peer->v6                ? "the peer moved"
                                       : "new address");
}

// A NAT keepalive says the peer at that location is alive (it moves nothing: it is not
// authenticated).
void note_keepalive(Gateway& gw, const dp::ControlEvent& ev) {
    gw.control_stats.keepalives_seen++;
    std::lock_guard lock(gw.control_mutex);
    sa::Peer* peer = gw.peers.find_at(ev.v6 ? net::IpAddr::v6(ev.addr6) : net::IpAddr::v4(ev.addr), ev.port);
    if (!peer) {
        gw.control_stats.keepalives_unmatched++;
        return;
    }
    peer->last_seen_tsc.store(rte_rdtsc(), std::memory_order_relaxed);
}

// One NAT keepalive (RFC 3948 §2.3: a single 0xFF octet from the NAT-T port) to a peer over
// IPv4 or IPv6, as an IP packet for a worker to route. nullptr: out of mbufs.
rte_mbuf* keepalive_packet(const dp::Shared& s, const net::IpAddr& peer, uint16_t port) {
    rte_mbuf* m = rte_pktmbuf_alloc(s.pool);
    if (!m) return nullptr;
    const bool v6 = !peer.is_v4();
    const uint16_t ip_len = v6 ? sizeof(rte_ipv6_hdr) : sizeof(rte_ipv4_hdr);
    const uint16_t len = ip_len + sizeof(rte_udp_hdr) + 1;
    auto* head = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, len));
    if (!head) {
        rte_pktmbuf_free(m);
        return nullptr;
    }
    std::memset(head, 0, len);
    auto* udp = reinterpret_cast<rte_udp_hdr*>(head + ip_len);
    udp->src_port = rte_cpu_to_be_16(s.natt_port);
    udp->dst_port = rte_cpu_to_be_16(port);
    udp->dgram_len = rte_cpu_to_be_16(sizeof(rte_udp_hdr) + 1);
    reinterpret_cast<uint8_t*>(udp + 1)[0] = 0xff;
    if (v6) {
        auto* ip = reinterpret_cast<rte_ipv6_hdr*>(head);
        ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
        ip->payload_len = rte_cpu_to_be_16(sizeof(rte_udp_hdr) + 1);
        ip->proto = IPPROTO_UDP;
        ip->hop_limits = 64;
        std::memcpy(ip->src_addr, s.v6[dp::kPublic].addr, 16);
        std::memcpy(ip->dst_addr, peer.b, 16);
        udp->dgram_cksum = rte_ipv6_udptcp_cksum(ip, udp);  // mandatory over IPv6
    } else {
        auto* ip = reinterpret_cast<rte_ipv4_hdr*>(head);
        ip->version_ihl = RTE_IPV4_VHL_DEF;
        ip->total_length = rte_cpu_to_be_16(len);
        ip->time_to_live = 64;
        ip->next_proto_id = IPPROTO_UDP;
        ip->src_addr = rte_cpu_to_be_32(s.addr[dp::kPublic]);
        ip->dst_addr = rte_cpu_to_be_32(uint32_t{peer.b[12]} << 24 | uint32_t{peer.b[13]} << 16 |
                                        uint32_t{peer.b[14]} << 8 | peer.b[15]);
        ip->hdr_checksum = rte_ipv4_cksum(ip);
    }
    m->hash.usr = 1;
    return m;
}

// RFC 3948 §2.3: a keepalive to each peer with SAs in UDP whose location is known.
void send_keepalives(Gateway& gw) {
    std::vector<std::pair<net::IpAddr, uint16_t>> to;
    {
        std::lock_guard lock(gw.control_mutex);
        for (const control::PeerTable::Info& p : gw.peers.list())
            if (p.udp_sas && p.endpoint.known) to.emplace_back(p.addr, p.endpoint.port);
    }
    for (const auto& [addr, port] : to) {
        rte_mbuf* m = keepalive_packet(gw.shared, addr, port);
        if (!m) return;
        if (rte_ring_sp_enqueue(gw.shared.tx_ring, m) != 0) {
            rte_pktmbuf_free(m);
            return;
        }
        gw.control_stats.keepalives_sent++;
    }
}

void handle_ike(Gateway& gw, rte_mbuf* m) {
    const uint64_t n = ++gw.control_stats.ike_messages;
    const auto* udp = rte_pktmbuf_mtod_offset(m, const rte_udp_hdr*, m->l3_len);
    const uint32_t len = rte_pktmbuf_data_len(m) - m->l3_len - m->l4_len;
    // The workers hand over IPv4 or IPv6 (l3_len says which header ends where).
    const auto* ip4 = rte_pktmbuf_mtod(m, const rte_ipv4_hdr*);
    const std::string from = (ip4->version_ihl >> 4) == 6
                                 ? "[" + net::IpAddr::v6(rte_pktmbuf_mtod(m, const rte_ipv6_hdr*)->src_addr).str() + "]"
                                 : net::ipv4_str(rte_be_to_cpu_32(ip4->src_addr));
    // No IKE daemon yet: log the first messages so an operator sees IKE arriving.
    if (n <= 10)
        log_line("IKE message (%u bytes) from %s:%u to port %u: no IKE responder yet, dropped", len, from.c_str(),
                 rte_be_to_cpu_16(udp->src_port), rte_be_to_cpu_16(udp->dst_port));
    rte_pktmbuf_free(m);
}

}  // namespace

void control_main(Gateway& gw) {
    Arp arp(gw);
    Ndp ndp(gw);
    const dp::Shared& s = gw.shared;
    const uint64_t keepalive_tsc = gw.tsc_hz * gw.cfg.keepalive_interval_s;
    uint64_t next_keepalive = rte_rdtsc() + keepalive_tsc;
    uint64_t next_tick = 0;
    uint64_t next_refresh = 0;
    uint64_t nap_ns = 50000;
    void* burst[dp::kBurst];
    dp::ControlEvent events[dp::kBurst];

    while (!gw.stop.load(std::memory_order_relaxed)) {
        unsigned work = 0;
        unsigned n = rte_ring_sc_dequeue_burst(s.ike_ring, burst, dp::kBurst, nullptr);
        for (unsigned k = 0; k < n; ++k) handle_ike(gw, static_cast<rte_mbuf*>(burst[k]));
        work += n;
        n = rte_ring_sc_dequeue_burst(s.slow_ring, burst, dp::kBurst, nullptr);
        for (unsigned k = 0; k < n; ++k) {
            auto* m = static_cast<rte_mbuf*>(burst[k]);
            const auto* eth = rte_pktmbuf_mtod(m, const rte_ether_hdr*);
            if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6))
                ndp.receive(m);
            else
                arp.receive(m);
        }
        work += n;
        n = rte_ring_sc_dequeue_burst(s.held_ring, burst, dp::kBurst, nullptr);
        for (unsigned k = 0; k < n; ++k) arp.hold(static_cast<rte_mbuf*>(burst[k]));
        work += n;
        n = rte_ring_sc_dequeue_burst_elem(s.event_ring, events, sizeof(dp::ControlEvent), dp::kBurst, nullptr);
        for (unsigned k = 0; k < n; ++k) {
            const dp::ControlEvent& ev = events[k];
            switch (ev.kind) {
            case dp::ControlEvent::peer_moved: on_peer_moved(gw, ev); break;
            case dp::ControlEvent::keepalive: note_keepalive(gw, ev); break;
            case dp::ControlEvent::resolve6: ndp.want(net::IpAddr::v6(ev.addr6), ev.role); break;
            }
        }
        work += n;

        const uint64_t now = rte_rdtsc();
        if (now >= next_tick || n) {
            if (now >= next_refresh) {
                arp.refresh(now);
                ndp.refresh(now);
                next_refresh = now + gw.tsc_hz;
            }
            arp.tick(now);
            ndp.tick(now);
            next_tick = now + gw.tsc_hz / 10;
        }
        if (keepalive_tsc && now >= next_keepalive) {
            send_keepalives(gw);
            next_keepalive = now + keepalive_tsc;
        }
        // The control core never spins: naps grow from 50 us to 1 ms while nothing comes in,
        // which keeps an idle gateway near zero CPU and answers IKE/ARP within a millisecond.
        if (work == 0) {
            const timespec ts{0, static_cast<long>(nap_ns)};
            nanosleep(&ts, nullptr);
            nap_ns = nap_ns * 2 > 1000000 ? 1000000 : nap_ns * 2;
        } else {
            nap_ns = 50000;
        }
    }
}

}  // namespace espgw
