// Inbound ESP (RFC 4303 §3.4) on one mbuf, in three steps so that the crypto runs on a whole
// burst in between: prepare (lengths, sequence number, replay pre-check, crypto op), the burst
// crypto (crypto::open_burst), finish (ICV verdict, replay update, trailer, strip).
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "espgw/crypto/esp_crypto.h"
#include "espgw/dp/drop_reason.h"
#include "espgw/esp/esp_op.h"
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

inline dp::Drop replay_drop(ReplayVerdict v) {
    return v == ReplayVerdict::replayed ? dp::Drop::replayed : dp::Drop::too_old;
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
    if (const ReplayVerdict v = sa.replay.check(p.seq); v != ReplayVerdict::ok) return fail(replay_drop(v));

    bind_op(p.op, sa.keys, esp, payload_len, p.seq, sa.params.esn, /*inbound=*/true);
    return true;
}

// After crypto::open_burst. On success m holds exactly the protected payload (the inner
// packet in tunnel mode, the transport payload otherwise) and next_header says what it is.
bool esp_in_finish(InboundEsp& p);

// esp_in_finish() for a burst (n <= kMaxBurst): ok[i] is its result for p[i]. Consecutive
// packets of one SA share one anti-replay update.
constexpr uint16_t kMaxBurst = 64;
void esp_in_finish_burst(InboundEsp* p, uint16_t n, bool* ok);

}  // namespace espgw::esp
