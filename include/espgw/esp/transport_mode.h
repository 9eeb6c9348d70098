// Transport-mode glue around ESP: the IPv4 header is taken off before encryption and rebuilt
// after decryption. With NAT between the peers the inner TCP/UDP checksum still covers the
// peer's original addresses, so it is fixed up incrementally from the NAT-OA addresses
// (RFC 3948 §3.1.2) and the host stack accepts the segment.
#pragma once

#include <rte_ip.h>
#include <rte_mbuf.h>

#include <cstdint>

namespace espgw::esp {

struct OuterAddrs {
    uint32_t src;  // host order
    uint32_t dst;
    uint8_t ttl;
    uint8_t tos;
};

// m starts at an IPv4 header; removes it. Returns false if the header is not plain IPv4
// (options are allowed and dropped with it; fragments are refused).
bool transport_strip_ipv4(rte_mbuf* m, uint8_t& protocol, uint8_t& tos);

// m holds the decrypted transport payload; prepends an IPv4 header with the outer addresses.
// nat_oa_peer / nat_oa_local: the original addresses the peer's checksum used (0 = unchanged).
bool transport_rebuild_ipv4(rte_mbuf* m, uint8_t protocol, const OuterAddrs& outer,
                            uint32_t nat_oa_peer, uint32_t nat_oa_local);

// The TCP or UDP checksum of the segment at l4 (len bytes) after the pseudo-header addresses
// changed from (old_src, old_dst) to (new_src, new_dst). Other protocols are left alone.
void fix_l4_checksum(uint8_t protocol, uint8_t* l4, uint32_t len, uint32_t old_src,
                     uint32_t new_src, uint32_t old_dst, uint32_t new_dst);

}  // namespace espgw::esp
