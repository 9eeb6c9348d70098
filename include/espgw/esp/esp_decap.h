// Inbound ESP (RFC 4303 §3.4) in steps, so that the crypto and the anti-replay update run once
// per burst: prepare (lengths, sequence number, replay pre-check, crypto op) per packet, the
// burst crypto (crypto::open_burst), accept (ICV verdict, replay update) per burst, strip
// (trailer checks) per packet. The per-packet steps are inline: they run for every packet.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>
#include <cstring>

#include "espgw/crypto/esp_crypto.h"
#include "espgw/stats/drop_reason.h"
#include "espgw/esp/esp_op.h"
#include "espgw/net/mbuf_edit.h"
#include "espgw/sa/sa.h"

namespace espgw::esp {

struct InboundEsp {
    rte_mbuf* m;  // contiguous; data starts at the ESP header and ends with the ICV
    sa::Sa* sa;
    uint64_t seq;
    dp::Drop drop;
    uint8_t next_header;  // set by finish
    crypto::CryptoOp op;
};

inline dp::Drop replay_drop(sa::ReplayVerdict v) {
    return v == sa::ReplayVerdict::replayed ? dp::Drop::replayed : dp::Drop::too_old;
}

// False (with p.drop set) if the packet cannot be a valid ESP packet of this SA. Inline: it
// runs for every packet of every burst.
inline bool esp_in_prepare(InboundEsp& p) {
    const auto fail = [&p](dp::Drop why) {
        p.drop = why;
        return false;
    };
    sa::Sa& sa = *p.sa;
    const crypto::SuiteInfo& s = sa.keys.info;
    if (!rte_pktmbuf_is_contiguous(p.m)) return fail(dp::Drop::unsupported);
    const uint32_t len = rte_pktmbuf_data_len(p.m);
    const uint32_t overhead = kEspHeaderLen + s.iv_len + s.icv_len;
    if (len < overhead + 2) return fail(dp::Drop::malformed);
    const uint32_t payload_len = len - overhead;
    // The trailer ends on a 4-byte boundary (RFC 4303 §2.4) and CBC works on whole blocks.
    if (payload_len & (s.block_len - 1u))  // block lengths are powers of two
        return fail(dp::Drop::malformed);

    uint8_t* esp = rte_pktmbuf_mtod(p.m, uint8_t*);
    const uint32_t seq_low = load_be32(esp + 4);
    p.seq = sa.replay.infer(seq_low);
    if (p.seq == 0) return fail(dp::Drop::malformed);  // ESP never sends sequence number 0
    if (const sa::ReplayVerdict v = sa.replay.check(p.seq); v != sa::ReplayVerdict::ok) return fail(replay_drop(v));
    sa.replay.prefetch(p.seq);

    bind_op(p.op, sa.keys, esp, payload_len, p.seq, sa.params.esn, /*inbound=*/true);
    return true;
}

// After crypto::open_burst, for a burst (n <= kMaxBurst): the ICV verdict and the anti-replay
// update (RFC 4303 §3.4.3: only authentic packets move the window). ok[i] says whether p[i]
// goes on to esp_in_strip. Consecutive packets of one SA share one window update.
constexpr uint16_t kMaxBurst = 64;
void esp_in_accept_burst(InboundEsp* p, uint16_t n, bool* ok);

// Padding must be 1, 2, 3, ... (RFC 4303 §2.4). end: where the padding ends (the pad length
// byte). Up to 8 pad bytes, which covers every sender that pads only to the block or word
// size, are checked with one 8-byte load; longer padding byte by byte.
inline bool padding_ok(const uint8_t* payload, uint32_t end, uint8_t pad_len) {
    if (pad_len <= 8 && end >= 8) {
        static constexpr uint64_t kPattern = 0x0807060504030201;
        uint64_t tail;
        std::memcpy(&tail, payload + end - 8, 8);
        if (pad_len == 0) return true;
        const unsigned shift = 8 * (8 - pad_len);
        return tail >> shift == (kPattern & (~uint64_t{0} >> shift));
    }
    const uint8_t* pad = payload + end - pad_len;
    for (uint8_t k = 0; k < pad_len; ++k)
        if (pad[k] != k + 1) return false;
    return true;
}

// The trailer of an accepted packet (RFC 4303 §2.4, §2.5): padding checked, next_header
// set, and len, the protected payload's length (it starts at p.op.payload). The mbuf is left
// as it is (esp_in_cut). False (p.drop set): bad padding.
inline bool esp_in_trailer(InboundEsp& p, uint32_t& len) {
    const uint8_t* payload = p.op.payload;
    const uint32_t payload_len = p.op.payload_len;
    const uint8_t pad_len = payload[payload_len - 2];
    p.next_header = payload[payload_len - 1];
    if (uint32_t{pad_len} + 2 > payload_len || !padding_ok(payload, payload_len - 2, pad_len)) {
        p.drop = dp::Drop::bad_padding;
        return false;
    }
    len = payload_len - pad_len - 2;
    return true;
}

// Leaves exactly the protected payload (len bytes, esp_in_trailer) in the mbuf. Lengths were
// checked by esp_in_prepare (contiguous, room for header, IV, trailer and ICV).
inline void esp_in_cut(InboundEsp& p, uint32_t len) {
    net::keep_only(p.m, static_cast<uint16_t>(kEspHeaderLen + p.sa->keys.info.iv_len), len);
}

// The trailer of an accepted packet (RFC 4303 §2.4, §2.5): padding checked, ESP header, IV,
// trailer and ICV stripped. On success m holds exactly the protected payload (the inner
// packet in tunnel mode, the transport payload otherwise) and next_header says what it is.
inline bool esp_in_strip(InboundEsp& p) {
    uint32_t len;
    if (!esp_in_trailer(p, len)) return false;
    esp_in_cut(p, len);
    return true;
}

// esp_in_accept_burst and esp_in_strip for one packet.
bool esp_in_finish(InboundEsp& p);

}  // namespace espgw::esp
