// Outbound ESP (RFC 4303 §3.3) in ESP-in-UDP (RFC 3948) or plain IP protocol 50, in two steps
// around the burst crypto: prepare (sequence number, IV, padding, headers, crypto op), then
// crypto::seal_burst. The outer IPv4 header is complete after prepare; the caller adds L2.
// Toward a peer reached over IPv6 the outer header is IPv6 and the UDP checksum, which IPv6
// requires (RFC 8200 §8.1) and which covers the ciphertext, is set after sealing
// (esp_out_finish_v6).
#pragma once

#include <intel-ipsec-mb.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include <cstdint>
#include <cstring>

#include "espgw/crypto/esp_crypto.h"
#include "espgw/stats/drop_reason.h"
#include "espgw/esp/esp_op.h"
#include "espgw/net/byte_order.h"
#include "espgw/net/checksum.h"
#include "espgw/net/mbuf_edit.h"
#include "espgw/sa/sa.h"

namespace espgw::esp {

// The outer header's per-packet fields. Over IPv6 tos and ttl are the traffic class and the
// hop limit; id and df do not apply (IPv6 outer packets are never fragmented here).
struct OuterFields {
    uint16_t id = 0;   // IPv4 identification (matters only if the packet may be fragmented)
    bool df = true;    // Don't Fragment on the outer header
    uint8_t tos = 0;   // DSCP/ECN copied from the inner header (RFC 4301 §5.1.2.1)
    uint8_t ttl = 64;
};

inline uint32_t outer_ip_len(const sa::Sa& sa) { return sa.outer_ip_len; }

struct OutboundEsp {
    rte_mbuf* m;  // contiguous; data starts at the payload to protect, or `skip` bytes before it
    sa::Sa* sa;
    uint64_t seq;  // from reserve_seq
    dp::Drop drop;
    crypto::CryptoOp op;
    // Bytes in front of the payload that are still in the mbuf (the Ethernet header the
    // receive path left there rather than cutting it, only for the outer headers to take
    // its place).
    uint16_t skip = 0;
};

// Outer IP, UDP if encapsulated, ESP header and IV.
inline uint32_t esp_header_len(const sa::Sa& sa) {
    return outer_ip_len(sa) + (sa.params.encap == sa::Encap::udp ? 8 : 0) + 8 + sa.keys.info.iv_len;
}

// Padding so that payload, pad length and next header end on the block length.
inline uint32_t esp_pad_len(const sa::Sa& sa, uint32_t payload_len) {
    // Block lengths are powers of two (4 or 16): a mask, not a division, on the packet path.
    const uint32_t mask = sa.keys.info.block_len - 1u;
    return (0u - (payload_len + 2)) & mask;
}

// Bytes ESP adds around a payload of payload_len for this SA, outer IP (and UDP) included.
// Inline: checked for every packet against the MTU.
inline uint32_t esp_overhead(const sa::Sa& sa, uint32_t payload_len) {
    return esp_header_len(sa) + esp_pad_len(sa, payload_len) + 2 + sa.keys.info.icv_len;
}
// The largest payload that still fits in an outer packet of mtu bytes.
uint32_t esp_max_payload(const sa::Sa& sa, uint32_t mtu);

// Takes n consecutive outbound sequence numbers of sa and returns the first. One atomic
// add per run of packets of the same SA in a burst, so several workers can share an SA.
inline uint64_t reserve_seq(sa::Sa& sa, uint32_t n) {
    // With one worker nobody else takes numbers: a plain add (the flag shares seq_out's line).
    if (sa.replay.single_writer()) {
        const uint64_t first = sa.seq_out.load(std::memory_order_relaxed) + 1;
        sa.seq_out.store(first + n - 1, std::memory_order_relaxed);
        return first;
    }
    return sa.seq_out.fetch_add(n, std::memory_order_relaxed) + 1;
}

// The UDP header of ESP-in-UDP (RFC 3948 §2.1) at at; returns where ESP starts.
inline uint8_t* write_natt_udp(uint8_t* at, const sa::Sa& sa, const sa::Endpoint& peer, uint32_t udp_len) {
    auto* uh = reinterpret_cast<rte_udp_hdr*>(at);
    uh->src_port = net::be16(sa.params.local_port);
    uh->dst_port = net::be16(peer.port);
    uh->dgram_len = net::be16(static_cast<uint16_t>(udp_len));
    uh->dgram_cksum = 0;  // zero for IPv4 (RFC 3948 §2.1); IPv6: esp_out_finish_v6
    return at + sizeof(rte_udp_hdr);
}

// Outer IPv4 (and UDP) at head for a packet of total bytes; returns where ESP starts.
inline uint8_t* write_outer_ipv4(uint8_t* head, const sa::Sa& sa, const sa::Endpoint& peer, uint32_t total,
                                 uint8_t proto, const OuterFields& outer) {
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(head);
    const uint16_t frag = outer.df ? RTE_IPV4_HDR_DF_FLAG : 0;
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->type_of_service = outer.tos;
    ip->total_length = net::be16(static_cast<uint16_t>(total));
    ip->packet_id = net::be16(outer.id);
    ip->fragment_offset = net::be16(frag);
    ip->time_to_live = outer.ttl;
    ip->next_proto_id = proto;
    ip->src_addr = net::be32(sa.params.local_addr);
    ip->dst_addr = net::be32(peer.addr);
    ip->hdr_checksum = net::be16(net::ipv4_header_checksum(
        outer.tos, static_cast<uint16_t>(total), outer.id, frag, outer.ttl, proto, sa.params.local_addr, peer.addr));
    uint8_t* next = head + sizeof(rte_ipv4_hdr);
    return proto == IPPROTO_UDP ? write_natt_udp(next, sa, peer, total - sizeof(rte_ipv4_hdr)) : next;
}

// Outer IPv6 (and UDP) at head for a packet of total bytes; returns where ESP starts. Out of
// line: it must not weigh on esp_out_prepare's inlining for the common IPv4 case.
[[gnu::noinline]] inline uint8_t* write_outer_ipv6(uint8_t* head, const sa::Sa& sa, uint32_t total, uint8_t proto,
                                                   const OuterFields& outer) {
    auto* ip = reinterpret_cast<rte_ipv6_hdr*>(head);
    const uint32_t payload = total - sizeof(rte_ipv6_hdr);
    ip->vtc_flow = net::be32(6u << 28 | uint32_t{outer.tos} << 20);
    ip->payload_len = net::be16(static_cast<uint16_t>(payload));
    ip->proto = proto;
    ip->hop_limits = outer.ttl;
    std::memcpy(ip->src_addr, sa.params.local_addr6, 16);
    // The address and the port of one location (peer: only said the port is known, which
    // never becomes unknown again).
    const sa::Endpoint now = sa.peer->load6(ip->dst_addr);
    uint8_t* next = head + sizeof(rte_ipv6_hdr);
    return proto == IPPROTO_UDP ? write_natt_udp(next, sa, now, payload) : next;
}

// After sealing, for an SA with an IPv6 outer header (m: data at that header): the UDP
// checksum over the finished datagram, if ESP is in UDP.
inline void esp_out_finish_v6(rte_mbuf* m) {
    auto* ip = rte_pktmbuf_mtod(m, rte_ipv6_hdr*);
    if (ip->proto != IPPROTO_UDP) return;
    auto* udp = reinterpret_cast<rte_udp_hdr*>(ip + 1);
    udp->dgram_cksum = 0;
    udp->dgram_cksum = rte_ipv6_udptcp_cksum(ip, udp);  // never 0: all ones instead
}

// next_header: 4 (IPv4) or 41 (IPv6) in tunnel mode, the transport protocol otherwise.
// Inline: it runs for every packet sent.
[[gnu::always_inline]] inline bool esp_out_prepare(IMB_MGR* mgr, OutboundEsp& p, uint8_t next_header,
                                                   const OuterFields& outer) {
    const auto fail = [&p](dp::Drop why) {
        p.drop = why;
        return false;
    };
    sa::Sa& sa = *p.sa;
    const crypto::SuiteInfo& s = sa.keys.info;
    const sa::Endpoint peer = sa.current_peer();
    const bool udp = sa.params.encap == sa::Encap::udp;
    if (udp && !peer.known) return fail(dp::Drop::peer_unknown);
    if (!rte_pktmbuf_is_contiguous(p.m)) return fail(dp::Drop::unsupported);

    if (!sa.params.esn && p.seq > UINT32_MAX) return fail(dp::Drop::seq_overflow);

    const uint32_t payload_len = rte_pktmbuf_data_len(p.m) - p.skip;
    const uint32_t pad = esp_pad_len(sa, payload_len);
    const uint32_t hdr = esp_header_len(sa);
    const uint32_t trailer = pad + 2 + s.icv_len;
    // Headers in front, trailer behind, the mbuf's offsets and lengths set once (contiguous:
    // checked).
    if (trailer > rte_pktmbuf_tailroom(p.m) || hdr > uint32_t{rte_pktmbuf_headroom(p.m)} + p.skip)
        return fail(dp::Drop::no_mbuf);
    uint8_t* start = rte_pktmbuf_mtod_offset(p.m, uint8_t*, p.skip);
    uint8_t* head = start - hdr;
    uint8_t* tail = start + payload_len;
    const uint32_t total = hdr + payload_len + trailer;
    p.m->data_off = static_cast<uint16_t>(p.m->data_off + p.skip - hdr);
    p.m->data_len = static_cast<uint16_t>(total);
    p.m->pkt_len = total;
    // Trailer: monotonic padding 1, 2, 3, ... (RFC 4303 §2.4), pad length, next header.
    // Fixed-size copies (no library call): the trailer area is pad + 2 + ICV bytes, and every
    // suite has an ICV of at least 12 (expand_sa_keys refuses ESP without integrity), so
    // 8 bytes always fit and 16 do once pad > 8; what lands past the padding is overwritten
    // by the pad length, next header and ICV.
    static constexpr uint8_t kPad[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    static_assert(sizeof kPad == 16);
    std::memcpy(tail, kPad, 8);
    if (pad > 8) std::memcpy(tail + 8, kPad + 8, 8);  // pad < block length <= 16
    tail[pad] = static_cast<uint8_t>(pad);
    tail[pad + 1] = next_header;

    const uint8_t proto = udp ? IPPROTO_UDP : IPPROTO_ESP;
    uint8_t* esp;
    if (sa.params.outer_v6) [[unlikely]] {
        esp = write_outer_ipv6(head, sa, total, proto, outer);
    } else {
        esp = write_outer_ipv4(head, sa, peer, total, proto, outer);
    }
    store_be32(esp, sa.params.spi);
    store_be32(esp + 4, static_cast<uint32_t>(p.seq));
    uint8_t* iv = esp + kEspHeaderLen;
    if (s.aead) {
        // A counter is a fine GCM/ChaCha IV: it only has to be unique per key (RFC 4106 §3.1).
        const uint64_t be = net::be64(p.seq);
        std::memcpy(iv, &be, 8);
    } else {
        crypto::make_cbc_iv(mgr, sa.keys, p.seq, iv);
    }

    bind_op(p.op, sa.keys, esp, payload_len + pad + 2, p.seq, sa.params.esn, /*inbound=*/false);
    return true;
}


}  // namespace espgw::esp
