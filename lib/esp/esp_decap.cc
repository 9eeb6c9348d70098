#include "espgw/esp/esp_decap.h"

#include "esp_op.h"

namespace espgw::esp {

namespace {

bool fail(InboundEsp& p, dp::Drop why) {
    p.drop = why;
    return false;
}

}  // namespace

bool esp_in_prepare(InboundEsp& p) {
    sa::Sa& sa = *p.sa;
    const crypto::SuiteInfo& s = sa.keys.info;
    if (!rte_pktmbuf_is_contiguous(p.m)) return fail(p, dp::Drop::unsupported);
    const uint32_t len = rte_pktmbuf_data_len(p.m);
    const uint32_t overhead = kEspHeaderLen + s.iv_len + s.icv_len;
    if (len < overhead + 2) return fail(p, dp::Drop::malformed);
    const uint32_t payload_len = len - overhead;
    // The trailer ends on a 4-byte boundary (RFC 4303 §2.4) and CBC works on whole blocks.
    if (payload_len & (s.block_len - 1u))  // block lengths are powers of two
        return fail(p, dp::Drop::malformed);

    uint8_t* esp = rte_pktmbuf_mtod(p.m, uint8_t*);
    const uint32_t seq_low = load_be32(esp + 4);
    p.seq = sa.replay.infer(seq_low);
    if (p.seq == 0) return fail(p, dp::Drop::malformed);  // ESP never sends sequence number 0
    switch (sa.replay.check(p.seq)) {
    case ReplayVerdict::ok: break;
    case ReplayVerdict::replayed: return fail(p, dp::Drop::replayed);
    case ReplayVerdict::too_old: return fail(p, dp::Drop::too_old);
    }

    bind_op(p.op, sa.keys, esp, payload_len, p.seq, sa.params.esn, /*inbound=*/true);
    return true;
}

bool esp_in_finish(InboundEsp& p) {
    sa::Sa& sa = *p.sa;
    const crypto::SuiteInfo& s = sa.keys.info;
    if (!p.op.ok) return fail(p, dp::Drop::auth_failed);
    switch (sa.replay.accept(p.seq)) {
    case ReplayVerdict::ok: break;
    case ReplayVerdict::replayed: return fail(p, dp::Drop::replayed);
    case ReplayVerdict::too_old: return fail(p, dp::Drop::too_old);
    }
    const uint8_t* payload = p.op.payload;
    const uint32_t payload_len = p.op.payload_len;
    const uint8_t pad_len = payload[payload_len - 2];
    p.next_header = payload[payload_len - 1];
    if (uint32_t{pad_len} + 2 > payload_len) return fail(p, dp::Drop::bad_padding);
    const uint8_t* pad = payload + payload_len - 2 - pad_len;
    for (uint8_t k = 0; k < pad_len; ++k)
        if (pad[k] != k + 1) return fail(p, dp::Drop::bad_padding);

    rte_pktmbuf_adj(p.m, static_cast<uint16_t>(kEspHeaderLen + s.iv_len));
    rte_pktmbuf_trim(p.m, static_cast<uint16_t>(pad_len + 2 + s.icv_len));
    return true;
}

}  // namespace espgw::esp
