#include "espgw/esp/transport_mode.h"

#include <netinet/in.h>
#include <rte_ip_frag.h>

#include <cstring>

#include "espgw/net/byte_order.h"
#include "espgw/net/checksum.h"

namespace espgw::esp {

bool transport_strip_ipv4(rte_mbuf* m, uint8_t& protocol, uint8_t& tos) {
    if (rte_pktmbuf_data_len(m) < sizeof(rte_ipv4_hdr)) return false;
    const auto* ip = rte_pktmbuf_mtod(m, const rte_ipv4_hdr*);
    const uint32_t ihl = rte_ipv4_hdr_len(ip);
    if ((ip->version_ihl >> 4) != 4 || ihl < sizeof(rte_ipv4_hdr) || ihl > rte_pktmbuf_data_len(m))
        return false;
    if (rte_ipv4_frag_pkt_is_fragmented(ip)) return false;
    protocol = ip->next_proto_id;
    tos = ip->type_of_service;
    rte_pktmbuf_adj(m, static_cast<uint16_t>(ihl));
    return true;
}

void fix_l4_checksum(uint8_t protocol, uint8_t* l4, uint32_t len, uint32_t old_src,
                     uint32_t new_src, uint32_t old_dst, uint32_t new_dst) {
    uint32_t offset;
    if (protocol == IPPROTO_TCP)
        offset = 16;
    else if (protocol == IPPROTO_UDP)
        offset = 6;
    else
        return;
    if (len < offset + 2) return;
    uint16_t be;
    std::memcpy(&be, l4 + offset, 2);
    uint16_t sum = net::be16(be);
    if (protocol == IPPROTO_UDP && sum == 0) return;  // no checksum was sent
    if (old_src != new_src) sum = net::checksum_update32(sum, old_src, new_src);
    if (old_dst != new_dst) sum = net::checksum_update32(sum, old_dst, new_dst);
    if (protocol == IPPROTO_UDP && sum == 0) sum = 0xffff;  // RFC 768: computed zero is sent as ones
    be = net::be16(sum);
    std::memcpy(l4 + offset, &be, 2);
}

bool transport_rebuild_ipv4(rte_mbuf* m, uint8_t protocol, const OuterAddrs& outer,
                            uint32_t nat_oa_peer, uint32_t nat_oa_local) {
    const uint32_t l4_len = rte_pktmbuf_data_len(m);
    fix_l4_checksum(protocol, rte_pktmbuf_mtod(m, uint8_t*), l4_len,
                    nat_oa_peer ? nat_oa_peer : outer.src, outer.src,
                    nat_oa_local ? nat_oa_local : outer.dst, outer.dst);
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(rte_pktmbuf_prepend(m, sizeof(rte_ipv4_hdr)));
    if (!ip) return false;
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->type_of_service = outer.tos;
    ip->total_length = net::be16(static_cast<uint16_t>(l4_len + sizeof(rte_ipv4_hdr)));
    ip->packet_id = 0;
    ip->fragment_offset = 0;
    ip->time_to_live = outer.ttl;
    ip->next_proto_id = protocol;
    ip->src_addr = net::be32(outer.src);
    ip->dst_addr = net::be32(outer.dst);
    ip->hdr_checksum = 0;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    return true;
}

}  // namespace espgw::esp
