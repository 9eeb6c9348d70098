#include "espgw/control/arp.h"

#include <rte_arp.h>
#include <rte_ether.h>

#include <cstring>

namespace espgw::control {

void Arp::send(unsigned role, uint16_t op, const uint8_t* target_mac, uint32_t target_ip, uint32_t sender_ip) {
    rte_mbuf* m = rte_pktmbuf_alloc(env_.shared.pool);
    if (!m) return;
    auto* eth = reinterpret_cast<rte_ether_hdr*>(rte_pktmbuf_append(m, sizeof(rte_ether_hdr) + sizeof(rte_arp_hdr)));
    if (!eth) {
        rte_pktmbuf_free(m);
        return;
    }
    const net::Mac& own = env_.shared.port_mac[role];
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
    if (!env_.tx.frame(role, m)) return;
    if (op == RTE_ARP_OP_REQUEST)
        env_.stats.arp_requests_sent++;
    else
        env_.stats.arp_replies_sent++;
}

void Arp::request(unsigned role, uint32_t target) {
    send(role, RTE_ARP_OP_REQUEST, nullptr, target, env_.shared.addr[role]);
}

void Arp::receive(rte_mbuf* m, uint64_t now) {
    const unsigned role = m->port;
    const dp::Shared& s = env_.shared;
    if (rte_pktmbuf_data_len(m) < sizeof(rte_ether_hdr) + sizeof(rte_arp_hdr) || role >= dp::kRoles) {
        rte_pktmbuf_free(m);
        return;
    }
    // Everything needed is copied out before the frame is freed.
    const auto* arp = rte_pktmbuf_mtod_offset(m, const rte_arp_hdr*, sizeof(rte_ether_hdr));
    const bool ethernet_ipv4 = rte_be_to_cpu_16(arp->arp_hardware) == RTE_ARP_HRD_ETHER &&
                               rte_be_to_cpu_16(arp->arp_protocol) == RTE_ETHER_TYPE_IPV4 && arp->arp_hlen == 6 &&
                               arp->arp_plen == 4;
    const uint16_t op = rte_be_to_cpu_16(arp->arp_opcode);
    const uint32_t sip = rte_be_to_cpu_32(arp->arp_data.arp_sip);
    const uint32_t tip = rte_be_to_cpu_32(arp->arp_data.arp_tip);
    uint8_t sha[6];
    std::memcpy(sha, &arp->arp_data.arp_sha, 6);
    rte_pktmbuf_free(m);
    if (!ethernet_ipv4) return;

    if (role == dp::kHost) {
        // Proxy ARP toward the host stack: every address is reached through the gateway.
        if (op == RTE_ARP_OP_REQUEST && sip != tip) send(role, RTE_ARP_OP_REPLY, sha, sip, tip);
        return;
    }
    const uint32_t own = s.addr[role];
    const bool on_link = ((sip ^ own) & s.mask[role]) == 0 && sip != 0 && sip != own;
    // Learn from those we asked (or know) and from anyone who asks for us. Unlike RFC 826's
    // merge rule, a reply nobody asked for creates no entry (as Linux with arp_accept=0):
    // it would let anyone on the link redirect traffic for a host not resolved yet.
    const bool asks_for_us = op == RTE_ARP_OP_REQUEST && tip == own;
    if (on_link && (asks_for_us || env_.table.known(net::IpAddr::v4(sip))))
        resolver_.learned(role, net::IpAddr::v4(sip), sha, now);
    if (asks_for_us && sip != own) send(role, RTE_ARP_OP_REPLY, sha, sip, own);
}

}  // namespace espgw::control
