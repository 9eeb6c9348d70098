#include "espgw/control/ndp.h"

#include <rte_ether.h>
#include <rte_ip.h>

#include <cstring>

namespace espgw::control {

namespace {

constexpr uint8_t kNeighbourSolicitation = 135;
constexpr uint8_t kNeighbourAdvertisement = 136;
constexpr uint8_t kOptSourceLinkAddr = 1;
constexpr uint8_t kOptTargetLinkAddr = 2;

// Finds a link-layer address option (RFC 4861 §4.6.1) among the options of an NS/NA.
const uint8_t* link_addr_option(const uint8_t* opt, uint32_t len, uint8_t type) {
    while (len >= 8) {
        const uint32_t olen = opt[1] * 8u;
        if (olen == 0 || olen > len) return nullptr;
        if (opt[0] == type) return opt + 2;
        opt += olen;
        len -= olen;
    }
    return nullptr;
}

}  // namespace

void Ndp::send(unsigned role, uint8_t type, const uint8_t* dst_mac, const uint8_t* dst_ip, const uint8_t* target) {
    const dp::Shared& s = env_.shared;
    rte_mbuf* m = rte_pktmbuf_alloc(s.pool);
    if (!m) return;
    constexpr uint16_t icmp_len = 4 + 4 + 16 + 8;  // header, flags/reserved, target, one option
    auto* eth = reinterpret_cast<rte_ether_hdr*>(
        rte_pktmbuf_append(m, sizeof(rte_ether_hdr) + sizeof(rte_ipv6_hdr) + icmp_len));
    if (!eth) {
        rte_pktmbuf_free(m);
        return;
    }
    const net::Mac& own = s.port_mac[role];
    std::memcpy(&eth->dst_addr, dst_mac, 6);
    std::memcpy(&eth->src_addr, own.b, 6);
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);
    auto* ip = reinterpret_cast<rte_ipv6_hdr*>(eth + 1);
    ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
    ip->payload_len = rte_cpu_to_be_16(icmp_len);
    ip->proto = IPPROTO_ICMPV6;
    ip->hop_limits = 255;  // RFC 4861 §7.1: receivers drop NDP with any other hop limit
    std::memcpy(ip->src_addr, s.v6[role].addr, 16);
    std::memcpy(ip->dst_addr, dst_ip, 16);
    auto* icmp = reinterpret_cast<uint8_t*>(ip + 1);
    std::memset(icmp, 0, icmp_len);
    icmp[0] = type;
    if (type == kNeighbourAdvertisement) icmp[4] = 0x40 | 0x20;  // solicited, override
    std::memcpy(icmp + 8, target, 16);
    icmp[24] = type == kNeighbourAdvertisement ? kOptTargetLinkAddr : kOptSourceLinkAddr;
    icmp[25] = 1;
    std::memcpy(icmp + 26, own.b, 6);
    const uint16_t sum = rte_ipv6_udptcp_cksum(ip, icmp);
    std::memcpy(icmp + 2, &sum, 2);
    if (!env_.tx.frame(role, m)) return;
    if (type == kNeighbourSolicitation)
        env_.stats.nd_solicitations_sent++;
    else
        env_.stats.nd_advertisements_sent++;
}

void Ndp::solicit(unsigned role, const net::IpAddr& target) {
    // To the solicited-node multicast group (RFC 4291 §2.7.1) and its MAC (RFC 2464 §7).
    const uint8_t* a = target.b;
    const uint8_t group[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, a[13], a[14], a[15]};
    const uint8_t mac[6] = {0x33, 0x33, 0xff, a[13], a[14], a[15]};
    send(role, kNeighbourSolicitation, mac, group, a);
}

void Ndp::receive(rte_mbuf* m, uint64_t now) {
    const dp::Shared& s = env_.shared;
    const uint32_t len = rte_pktmbuf_data_len(m);
    const unsigned role = m->port;
    constexpr uint32_t kMin = sizeof(rte_ether_hdr) + sizeof(rte_ipv6_hdr) + 24;
    if (len < kMin || role >= dp::kHost || !s.v6[role].on) {
        rte_pktmbuf_free(m);
        return;
    }
    const auto* eth = rte_pktmbuf_mtod(m, const rte_ether_hdr*);
    const auto* ip = reinterpret_cast<const rte_ipv6_hdr*>(eth + 1);
    const auto* icmp = reinterpret_cast<const uint8_t*>(ip + 1);
    const uint32_t icmp_len = len - sizeof(rte_ether_hdr) - sizeof(rte_ipv6_hdr);
    const uint8_t type = icmp[0];
    const uint8_t* target = icmp + 8;
    static const uint8_t unspecified[16] = {};
    const bool from_unspecified = std::memcmp(ip->src_addr, unspecified, 16) == 0;
    // RFC 4861 §7.1.1/§7.1.2: only hop limit 255 proves the sender is on the link.
    if (ip->proto == IPPROTO_ICMPV6 && ip->hop_limits == 255 &&
        (type == kNeighbourSolicitation || type == kNeighbourAdvertisement)) {
        const uint8_t* lla = link_addr_option(icmp + 24, icmp_len - 24,
                                              type == kNeighbourSolicitation ? kOptSourceLinkAddr : kOptTargetLinkAddr);
        const net::IpAddr who = net::IpAddr::v6(type == kNeighbourSolicitation ? ip->src_addr : target);
        const bool for_us = type == kNeighbourSolicitation && std::memcmp(target, s.v6[role].addr, 16) == 0;
        if (lla && !from_unspecified && (for_us || env_.table.known(who))) resolver_.learned(role, who, lla, now);
        if (for_us && !from_unspecified)
            send(role, kNeighbourAdvertisement, eth->src_addr.addr_bytes, ip->src_addr, s.v6[role].addr);
    }
    rte_pktmbuf_free(m);
}

}  // namespace espgw::control
