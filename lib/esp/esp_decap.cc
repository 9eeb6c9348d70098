#include "espgw/esp/esp_decap.h"

namespace espgw::esp {

namespace {

bool fail(InboundEsp& p, dp::Drop why) {
    p.drop = why;
    return false;
}

}  // namespace

bool esp_in_finish(InboundEsp& p) {
    bool ok;
    esp_in_accept_burst(&p, 1, &ok);
    return ok && esp_in_strip(p);
}

void esp_in_accept_burst(InboundEsp* p, uint16_t n, bool* ok) {
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
            ok[which[j]] = verdicts[j] == ReplayVerdict::ok || fail(q, replay_drop(verdicts[j]));
        }
    }
}

}  // namespace espgw::esp
