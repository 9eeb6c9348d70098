// Outbound ESP (RFC 4303 §3.3) in ESP-in-UDP (RFC 3948) or plain IP protocol 50, in two steps
// around the burst crypto: prepare (sequence number, IV, padding, headers, crypto op), then
// crypto::seal_burst. The outer IPv4 header is complete after prepare; the caller adds L2.
#pragma once

#include <intel-ipsec-mb.h>
#include <rte_mbuf.h>

#include <cstdint>

#include "espgw/crypto/esp_crypto.h"
#include "espgw/dp/drop_reason.h"
#include "espgw/sa/sa.h"

namespace espgw::esp {

struct OuterIpv4 {
    uint16_t id = 0;   // IPv4 identification (matters only if the packet may be fragmented)
    bool df = true;    // Don't Fragment on the outer header
    uint8_t tos = 0;   // DSCP/ECN copied from the inner header (RFC 4301 §5.1.2.1)
    uint8_t ttl = 64;
};

struct OutboundEsp {
    rte_mbuf* m;  // contiguous; data starts at the payload to protect
    sa::Sa* sa;
    uint64_t seq;  // from reserve_seq
    dp::Drop drop;
    crypto::CryptoOp op;
};

// Outer IPv4, UDP if encapsulated, ESP header and IV.
inline uint32_t esp_header_len(const sa::Sa& sa) {
    return 20 + (sa.params.encap == sa::Encap::udp ? 8 : 0) + 8 + sa.keys.info.iv_len;
}

// Padding so that payload, pad length and next header end on the block length.
inline uint32_t esp_pad_len(const sa::Sa& sa, uint32_t payload_len) {
    // Block lengths are powers of two (4 or 16): a mask, not a division, on the packet path.
    const uint32_t mask = sa.keys.info.block_len - 1u;
    return (0u - (payload_len + 2)) & mask;
}

// Bytes ESP adds around a payload of payload_len for this SA, outer IPv4 (and UDP) included.
// Inline: checked for every packet against the MTU.
inline uint32_t esp_overhead(const sa::Sa& sa, uint32_t payload_len) {
    return esp_header_len(sa) + esp_pad_len(sa, payload_len) + 2 + sa.keys.info.icv_len;
}
// The largest payload that still fits in an outer packet of mtu bytes.
uint32_t esp_max_payload(const sa::Sa& sa, uint32_t mtu);

// Takes n consecutive outbound sequence numbers of sa and returns the first. One atomic
// add per run of packets of the same SA in a burst, so several workers can share an SA.
inline uint64_t reserve_seq(sa::Sa& sa, uint32_t n) {
    return sa.seq_out.fetch_add(n, std::memory_order_relaxed) + 1;
}

// next_header: 4 (IPv4) or 41 (IPv6) in tunnel mode, the transport protocol otherwise.
bool esp_out_prepare(IMB_MGR* mgr, OutboundEsp& p, uint8_t next_header, const OuterIpv4& outer);

}  // namespace espgw::esp
