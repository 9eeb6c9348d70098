#include "ndp.h"

#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_ip.h>

#include <cstring>

#include "log.h"

namespace espgw {

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
        if (opt[0] == type && olen >= 8) return opt + 2;
        opt += olen;
        len -= olen;
    }
    return nullptr;
}

}  // namespace

void Ndp::send(unsigned role, uint8_t type, const uint8_t* dst_mac, const uint8_t* dst_ip, const uint8_t* target) {
    const dp::Shared& s = gw_.shared;
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
    m->port = static_cast<uint16_t>(role);
    m->hash.usr = 0;
    if (rte_ring_sp_enqueue(s.tx_ring, m) != 0) rte_pktmbuf_free(m);
}

void Ndp::receive(rte_mbuf* m) {
    const dp::Shared& s = gw_.shared;
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
    if (ip->hop_limits == 255 && (type == kNeighbourSolicitation || type == kNeighbourAdvertisement)) {
        const uint8_t* lla = link_addr_option(icmp + 24, icmp_len - 24,
                                              type == kNeighbourSolicitation ? kOptSourceLinkAddr : kOptTargetLinkAddr);
        const net::IpAddr who = net::IpAddr::v6(type == kNeighbourSolicitation ? ip->src_addr : target);
        const bool for_us = type == kNeighbourSolicitation && std::memcmp(target, s.v6[role].addr, 16) == 0;
        if (lla && !from_unspecified && (for_us || gw_.neighbours->known(who))) {
            net::Mac mac;
            std::memcpy(mac.b, lla, 6);
            net::Mac old;
            const uint64_t now = rte_rdtsc();
            const bool fresh = !gw_.neighbours->lookup(who, now, old) || std::memcmp(old.b, mac.b, 6) != 0;
            gw_.neighbours->learn(who, mac, now + gw_.tsc_hz * gw_.cfg.neighbour_timeout_s);
            pending_.erase(who);
            if (fresh)
                log_line("neighbour %s is %02x:%02x:%02x:%02x:%02x:%02x on the %s port", who.str().c_str(),
                         mac.b[0], mac.b[1], mac.b[2], mac.b[3], mac.b[4], mac.b[5], dp::role_name(role));
        }
        if (for_us && !from_unspecified)
            send(role, kNeighbourAdvertisement, eth->src_addr.addr_bytes, ip->src_addr, s.v6[role].addr);
    }
    rte_pktmbuf_free(m);
}

void Ndp::want(const net::IpAddr& addr, unsigned role) {
    if (role >= dp::kHost || !gw_.shared.v6[role].on || pending_.count(addr)) return;
    gw_.neighbours->want(addr);
    pending_[addr] = Pending{0, 0, role};
}

unsigned Ndp::role_of(const net::IpAddr& addr) const {
    const dp::Shared::Port6& pub = gw_.shared.v6[dp::kPublic];
    if (!pub.on) return dp::kProtected;
    net::Prefix link;
    link.family = 6;
    link.len = pub.prefix_len;
    std::memcpy(link.addr, pub.addr, 16);
    const bool gateway = pub.has_gateway && std::memcmp(pub.gateway, addr.b, 16) == 0;
    return link.contains_v6(addr.b) || gateway ? dp::kPublic : dp::kProtected;
}

void Ndp::refresh(uint64_t now) {
    const uint64_t margin = gw_.tsc_hz * (gw_.cfg.neighbour_timeout_s / 10 + 2);
    for (const auto& e : gw_.neighbours->snapshot())
        if (!e.addr.is_v4() && e.resolved && e.expires_tsc != UINT64_MAX && e.expires_tsc <= now + margin)
            want(e.addr, role_of(e.addr));
}

void Ndp::tick(uint64_t now) {
    for (auto it = pending_.begin(); it != pending_.end();) {
        Pending& p = it->second;
        if (now < p.next_try) {
            ++it;
            continue;
        }
        if (p.tries == 3) {  // RFC 4861 §10 MAX_MULTICAST_SOLICIT
            log_line("neighbour %s does not answer NDP on the %s port", it->first.str().c_str(), dp::role_name(p.role));
            it = pending_.erase(it);
            continue;
        }
        // To the solicited-node multicast group (RFC 4291 §2.7.1) and its MAC (RFC 2464 §7).
        const uint8_t* a = it->first.b;
        const uint8_t group[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, a[13], a[14], a[15]};
        const uint8_t mac[6] = {0x33, 0x33, 0xff, a[13], a[14], a[15]};
        send(p.role, kNeighbourSolicitation, mac, group, a);
        ++p.tries;
        p.next_try = now + gw_.tsc_hz;
        ++it;
    }
}

}  // namespace espgw
