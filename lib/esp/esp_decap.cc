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
    // One window update per SA of the burst, with that SA's packets in their order: a burst
    // of one SA is one update, and one that interleaves peers one per peer rather than one
    // per packet. The window takes only authentic packets (RFC 4303 §3.4.3).
    if (n == 0) return;
    uint64_t seqs[kMaxBurst];
    sa::ReplayVerdict verdicts[kMaxBurst];
    // The usual burst: one SA's packets, every ICV good. One pass gathers the sequence numbers.
    sa::Sa* const sa0 = p[0].sa;
    bool one_sa = true;
    for (uint16_t k = 0; k < n; ++k) {
        one_sa &= (p[k].sa == sa0) & p[k].op.ok;
        seqs[k] = p[k].seq;
    }
    if (one_sa) {
        sa0->replay.accept_burst(seqs, n, verdicts);
        for (uint16_t k = 0; k < n; ++k)
            ok[k] = verdicts[k] == sa::ReplayVerdict::ok || fail(p[k], replay_drop(verdicts[k]));
        return;
    }
    uint16_t which[kMaxBurst];
    bool done[kMaxBurst] = {};
    for (uint16_t first = 0; first < n; ++first) {
        if (done[first]) continue;
        sa::Sa* sa = p[first].sa;
        uint16_t m = 0;
        for (uint16_t k = first; k < n; ++k) {
            if (p[k].sa != sa) continue;
            done[k] = true;
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
            ok[which[j]] = verdicts[j] == sa::ReplayVerdict::ok || fail(q, replay_drop(verdicts[j]));
        }
    }
}

}  // namespace espgw::esp
