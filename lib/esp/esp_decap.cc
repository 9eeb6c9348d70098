#include "espgw/esp/esp_decap.h"

#include <cstring>

namespace espgw::esp {

namespace {

bool fail(InboundEsp& p, dp::Drop why) {
    p.drop = why;
    return false;
}

// Padding must be 1, 2, 3, ... (RFC 4303 §2.4). end: where the padding ends (the pad length
// byte). Up to 8 pad bytes, which covers every sender that pads only to the block or word
// size, are checked with one 8-byte load; longer padding byte by byte.
bool padding_ok(const uint8_t* payload, uint32_t end, uint8_t pad_len) {
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

// Trailer checks (RFC 4303 §2.4, §2.5) and the strip, once the packet is authentic and new.
bool finish_trailer(InboundEsp& p) {
    const crypto::SuiteInfo& s = p.sa->keys.info;
    const uint8_t* payload = p.op.payload;
    const uint32_t payload_len = p.op.payload_len;
    const uint8_t pad_len = payload[payload_len - 2];
    p.next_header = payload[payload_len - 1];
    if (uint32_t{pad_len} + 2 > payload_len) return fail(p, dp::Drop::bad_padding);
    if (!padding_ok(payload, payload_len - 2, pad_len)) return fail(p, dp::Drop::bad_padding);

    rte_pktmbuf_adj(p.m, static_cast<uint16_t>(kEspHeaderLen + s.iv_len));
    rte_pktmbuf_trim(p.m, static_cast<uint16_t>(pad_len + 2 + s.icv_len));
    return true;
}

}  // namespace

bool esp_in_finish(InboundEsp& p) {
    bool ok;
    esp_in_finish_burst(&p, 1, &ok);
    return ok;
}

void esp_in_finish_burst(InboundEsp* p, uint16_t n, bool* ok) {
    uint64_t seqs[kMaxBurst];
    ReplayVerdict verdicts[kMaxBurst];
    uint16_t which[kMaxBurst];
    for (uint16_t k = 0; k < n;) {
        // A run of packets of one SA. The window is updated only for authentic packets
        // (RFC 4303 §3.4.3: after the integrity check).
        sa::Sa* sa = p[k].sa;
        uint16_t m = 0;
        for (; k < n && p[k].sa == sa; ++k) {
            if (!p[k].op.ok) {
                ok[k] = fail(p[k], dp::Drop::auth_failed);
                continue;
            }
            which[m] = k;
            seqs[m++] = p[k].seq;
        }
        if (m == 0) continue;
        sa->replay.accept_burst(seqs, m, verdicts);
        for (uint16_t j = 0; j < m; ++j) {
            InboundEsp& q = p[which[j]];
            ok[which[j]] = verdicts[j] == ReplayVerdict::ok ? finish_trailer(q) : fail(q, replay_drop(verdicts[j]));
        }
    }
}

}  // namespace espgw::esp
