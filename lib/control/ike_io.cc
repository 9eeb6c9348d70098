#include "espgw/control/ike_io.h"

#include <rte_ip.h>
#include <rte_udp.h>

#include <cstring>

namespace espgw::control {

namespace {

constexpr uint8_t kMarker[4] = {0, 0, 0, 0};

}  // namespace

std::optional<ike::Datagram> datagram_from_packet(const rte_mbuf* m) {
    const uint32_t len = rte_pktmbuf_data_len(m);
    const uint32_t l3 = m->l3_len, l4 = m->l4_len;
    if (len < 1 || l4 < sizeof(rte_udp_hdr) || l3 + l4 > len) return std::nullopt;
    ike::Datagram d;
    const auto* head = rte_pktmbuf_mtod(m, const uint8_t*);
    const unsigned version = head[0] >> 4;
    if (version == 4 && l3 >= sizeof(rte_ipv4_hdr)) {
        const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(head);
        d.src = net::IpAddr::v4(rte_be_to_cpu_32(ip->src_addr));
        d.dst = net::IpAddr::v4(rte_be_to_cpu_32(ip->dst_addr));
    } else if (version == 6 && l3 >= sizeof(rte_ipv6_hdr)) {
        const auto* ip = reinterpret_cast<const rte_ipv6_hdr*>(head);
        d.src = net::IpAddr::v6(ip->src_addr);
        d.dst = net::IpAddr::v6(ip->dst_addr);
    } else {
        return std::nullopt;
    }
    const auto* udp = reinterpret_cast<const rte_udp_hdr*>(head + l3);
    const uint32_t udp_len = rte_be_to_cpu_16(udp->dgram_len);
    if (udp_len < l4 || l3 + udp_len > len) return std::nullopt;
    d.sport = rte_be_to_cpu_16(udp->src_port);
    d.dport = rte_be_to_cpu_16(udp->dst_port);
    d.non_esp_marker = l4 == sizeof(rte_udp_hdr) + sizeof kMarker;
    if (d.non_esp_marker && std::memcmp(udp + 1, kMarker, sizeof kMarker) != 0) return std::nullopt;
    d.message.assign(head + l3 + l4, head + l3 + udp_len);
    return d;
}

rte_mbuf* packet_from_datagram(rte_mempool* pool, const ike::Datagram& d) {
    const bool v6 = !d.src.is_v4();
    if (v6 == d.dst.is_v4()) return nullptr;
    const uint32_t l3 = v6 ? sizeof(rte_ipv6_hdr) : sizeof(rte_ipv4_hdr);
    const uint32_t udp_len = sizeof(rte_udp_hdr) + (d.non_esp_marker ? sizeof kMarker : 0) + d.message.size();
    const uint32_t total = l3 + udp_len;
    if (total > UINT16_MAX) return nullptr;
    rte_mbuf* m = rte_pktmbuf_alloc(pool);
    if (!m) return nullptr;
    auto* head = total <= rte_pktmbuf_tailroom(m) ? reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, total)) : nullptr;
    if (!head) {
        rte_pktmbuf_free(m);
        return nullptr;
    }
    std::memset(head, 0, l3 + sizeof(rte_udp_hdr));
    auto* udp = reinterpret_cast<rte_udp_hdr*>(head + l3);
    udp->src_port = rte_cpu_to_be_16(d.sport);
    udp->dst_port = rte_cpu_to_be_16(d.dport);
    udp->dgram_len = rte_cpu_to_be_16(static_cast<uint16_t>(udp_len));
    uint8_t* payload = reinterpret_cast<uint8_t*>(udp + 1);
    if (d.non_esp_marker) {
        std::memcpy(payload, kMarker, sizeof kMarker);
        payload += sizeof kMarker;
    }
    if (!d.message.empty()) std::memcpy(payload, d.message.data(), d.message.size());
    if (v6) {
        auto* ip = reinterpret_cast<rte_ipv6_hdr*>(head);
        ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
        ip->payload_len = rte_cpu_to_be_16(static_cast<uint16_t>(udp_len));
        ip->proto = IPPROTO_UDP;
        ip->hop_limits = 64;
        std::memcpy(ip->src_addr, d.src.b, 16);
        std::memcpy(ip->dst_addr, d.dst.b, 16);
        udp->dgram_cksum = rte_ipv6_udptcp_cksum(ip, udp);
    } else {
        auto* ip = reinterpret_cast<rte_ipv4_hdr*>(head);
        ip->version_ihl = RTE_IPV4_VHL_DEF;
        ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(total));
        ip->time_to_live = 64;
        ip->next_proto_id = IPPROTO_UDP;
        ip->src_addr = rte_cpu_to_be_32(d.src.v4());
        ip->dst_addr = rte_cpu_to_be_32(d.dst.v4());
        ip->hdr_checksum = rte_ipv4_cksum(ip);
        udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
    }
    m->l3_len = static_cast<uint16_t>(l3);
    m->l4_len = sizeof(rte_udp_hdr);
    return m;
}

}  // namespace espgw::control
