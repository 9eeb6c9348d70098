#include "arp.h"

#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_ether.h>

#include <cstring>

#include "log.h"

namespace espgw {

void Arp::send_arp(unsigned role, uint16_t op, const uint8_t* target_mac, uint32_t target_ip, uint32_t sender_ip) {
    rte_mbuf* m = rte_pktmbuf_alloc(gw_.shared.pool);
    if (!m) return;
    auto* eth = reinterpret_cast<rte_ether_hdr*>(rte_pktmbuf_append(m, sizeof(rte_ether_hdr) + sizeof(rte_arp_hdr)));
    if (!eth) {
        rte_pktmbuf_free(m);
        return;
    }
    const net::Mac& own = gw_.shared.port_mac[role];
    static const uint8_t broadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    std::memcpy(&eth->dst_addr, target_mac ? target_mac : broadcast, 6);
    std::memcpy(&eth->src_addr, own.b, 6);
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
    auto* arp = reinterpret_cast<rte_arp_hdr*>(eth + 1);
    arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
    arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
    arp->arp_hlen = 6;
    arp->arp_plen = 4;
    arp->arp_opcode = rte_cpu_to_be_16(op);
    std::memcpy(&arp->arp_data.arp_sha, own.b, 6);
    arp->arp_data.arp_sip = rte_cpu_to_be_32(sender_ip);
    if (target_mac)
        std::memcpy(&arp->arp_data.arp_tha, target_mac, 6);
    else
        std::memset(&arp->arp_data.arp_tha, 0, 6);
    arp->arp_data.arp_tip = rte_cpu_to_be_32(target_ip);
    m->port = static_cast<uint16_t>(role);
    m->hash.usr = 0;
    if (rte_ring_sp_enqueue(gw_.shared.tx_ring, m) != 0) rte_pktmbuf_free(m);
}

void Arp::receive(rte_mbuf* m) {
    const unsigned role = m->port;
    const dp::Shared& s = gw_.shared;
    if (rte_pktmbuf_data_len(m) < sizeof(rte_ether_hdr) + sizeof(rte_arp_hdr)) {
        rte_pktmbuf_free(m);
        return;
    }
    const auto* arp = rte_pktmbuf_mtod_offset(m, const rte_arp_hdr*, sizeof(rte_ether_hdr));
    const uint16_t op = rte_be_to_cpu_16(arp->arp_opcode);
    const uint32_t sip = rte_be_to_cpu_32(arp->arp_data.arp_sip);
    const uint32_t tip = rte_be_to_cpu_32(arp->arp_data.arp_tip);
    uint8_t sha[6];
    std::memcpy(sha, &arp->arp_data.arp_sha, 6);
    rte_pktmbuf_free(m);
    if (rte_be_to_cpu_16(arp->arp_hardware) != RTE_ARP_HRD_ETHER || arp->arp_hlen != 6 || arp->arp_plen != 4) return;

    if (role == dp::kHost) {
        // Proxy ARP toward the host stack: every address is reached through the gateway.
        if (op == RTE_ARP_OP_REQUEST && sip != tip) {
            send_arp(role, RTE_ARP_OP_REPLY, sha, sip, tip);
            gw_.control_stats.arp_replies_sent++;
        }
        return;
    }
    const uint32_t own = s.addr[role];
    const bool on_link = ((sip ^ own) & s.mask[role]) == 0 && sip != 0;
    // Learn from replies we asked for and from anyone who asks for us (RFC 826 merge rule).
    if (on_link && (tip == own || gw_.neighbours->known(net::IpAddr::v4(sip)))) {
        const uint64_t ttl = gw_.tsc_hz * gw_.cfg.neighbour_timeout_s;
        net::Mac mac;
        std::memcpy(mac.b, sha, 6);
        net::Mac old;
        const uint64_t now = rte_rdtsc();
        const bool fresh = !gw_.neighbours->lookup(sip, now, old) || std::memcmp(old.b, mac.b, 6) != 0;
        gw_.neighbours->learn(net::IpAddr::v4(sip), mac, now + ttl);
        if (fresh)
            log_line("neighbour %s is %02x:%02x:%02x:%02x:%02x:%02x on the %s port", net::ipv4_str(sip).c_str(),
                     sha[0], sha[1], sha[2], sha[3], sha[4], sha[5], dp::role_name(role));
        release(sip, sha);
        pending_.erase(sip);
    }
    if (op == RTE_ARP_OP_REQUEST && tip == own) {
        send_arp(role, RTE_ARP_OP_REPLY, sha, sip, own);
        gw_.control_stats.arp_replies_sent++;
    }
}

void Arp::want(unsigned role, uint32_t addr) {
    if (role == dp::kHost || pending_.count(addr)) return;
    gw_.neighbours->want(net::IpAddr::v4(addr));
    pending_[addr] = Pending{role, 0, 0, {}, 0};
}

void Arp::hold(rte_mbuf* m) {
    const auto addr = static_cast<uint32_t>(m->hash.usr);
    net::Mac mac;
    if (gw_.neighbours->lookup(addr, rte_rdtsc(), mac)) {  // answered meanwhile
        pending_.erase(addr);
        auto* eth = reinterpret_cast<rte_ether_hdr*>(rte_pktmbuf_prepend(m, sizeof(rte_ether_hdr)));
        if (!eth || rte_ring_sp_enqueue(gw_.shared.tx_ring, m) != 0) {
            rte_pktmbuf_free(m);
            return;
        }
        std::memcpy(&eth->dst_addr, mac.b, 6);
        std::memcpy(&eth->src_addr, gw_.shared.port_mac[m->port].b, 6);
        eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
        m->hash.usr = 0;
        return;
    }
    want(m->port, addr);
    Pending& p = pending_[addr];
    if (p.n_held == kHeldPerNeighbour) {
        rte_pktmbuf_free(p.held[0]);  // keep the newest, as Linux does
        std::memmove(p.held, p.held + 1, sizeof(p.held[0]) * (kHeldPerNeighbour - 1));
        --p.n_held;
        gw_.control_stats.held_dropped++;
    }
    p.held[p.n_held++] = m;
}

void Arp::release(uint32_t addr, const uint8_t* mac) {
    auto it = pending_.find(addr);
    if (it == pending_.end()) return;
    Pending& p = it->second;
    for (unsigned k = 0; k < p.n_held; ++k) {
        rte_mbuf* m = p.held[k];
        auto* eth = mac ? reinterpret_cast<rte_ether_hdr*>(rte_pktmbuf_prepend(m, sizeof(rte_ether_hdr))) : nullptr;
        if (!eth) {
            rte_pktmbuf_free(m);
            gw_.control_stats.held_dropped++;
            continue;
        }
        std::memcpy(&eth->dst_addr, mac, 6);
        std::memcpy(&eth->src_addr, gw_.shared.port_mac[p.role].b, 6);
        eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
        m->port = static_cast<uint16_t>(p.role);
        m->hash.usr = 0;
        if (rte_ring_sp_enqueue(gw_.shared.tx_ring, m) != 0) rte_pktmbuf_free(m);
    }
    p.n_held = 0;
}

void Arp::refresh(uint64_t now) {
    // Ask again before a learned neighbour expires, so traffic to it never stalls on a
    // re-resolution; one that stops answering expires as it should.
    const uint64_t margin = gw_.tsc_hz * (gw_.cfg.neighbour_timeout_s / 10 + 2);
    for (const auto& e : gw_.neighbours->snapshot()) {
        if (!e.addr.is_v4() || !e.resolved || e.expires_tsc == UINT64_MAX || e.expires_tsc > now + margin) continue;
        const uint32_t a = uint32_t{e.addr.b[12]} << 24 | uint32_t{e.addr.b[13]} << 16 | e.addr.b[14] << 8 | e.addr.b[15];
        for (unsigned role : {dp::kPublic, dp::kProtected})
            if (((a ^ gw_.shared.addr[role]) & gw_.shared.mask[role]) == 0) want(role, a);
    }
}

void Arp::tick(uint64_t now) {
    for (auto it = pending_.begin(); it != pending_.end();) {
        Pending& p = it->second;
        if (now < p.next_try) {
            ++it;
            continue;
        }
        if (p.tries == 5) {
            log_line("neighbour %s does not answer ARP on the %s port", net::ipv4_str(it->first).c_str(),
                     dp::role_name(p.role));
            release(it->first, nullptr);
            it = pending_.erase(it);  // a later packet asks again
            continue;
        }
        send_arp(p.role, RTE_ARP_OP_REQUEST, nullptr, it->first, gw_.shared.addr[p.role]);
        gw_.control_stats.arp_requests_sent++;
        ++p.tries;
        p.next_try = now + gw_.tsc_hz;  // once a second
        ++it;
    }
}

}  // namespace espgw
