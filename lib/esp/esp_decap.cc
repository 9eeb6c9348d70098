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
    // Otherwise the packets are chained per SA, in order, in one pass (a small table of the
    // SAs seen, open addressing on the SA's address): a burst over many peers costs one pass,
    // not one pass per SA.
    constexpr uint16_t kEnd = UINT16_MAX;
    constexpr unsigned kSlots = 2 * kMaxBurst;  // a power of two, at most half full
    struct Group {
        sa::Sa* sa;
        uint16_t first, last;
    } groups[kMaxBurst];
    uint16_t next[kMaxBurst];
    uint8_t slot_group[kSlots];
    uint64_t used[kSlots / 64] = {};  // which slots hold a group (no clearing of slot_group)
    uint16_t n_groups = 0;
    for (uint16_t k = 0; k < n; ++k) {
        next[k] = kEnd;
        if (!p[k].op.ok) {
            ok[k] = fail(p[k], dp::Drop::auth_failed);
            continue;
        }
        const auto a = reinterpret_cast<uintptr_t>(p[k].sa);
        unsigned h = static_cast<unsigned>((a >> 6) ^ (a >> 17)) % kSlots;
        const auto taken = [&used](unsigned slot) { return used[slot / 64] >> (slot % 64) & 1; };
        while (taken(h) && groups[slot_group[h]].sa != p[k].sa) h = (h + 1) % kSlots;
        if (!taken(h)) {
            used[h / 64] |= uint64_t{1} << (h % 64);
            slot_group[h] = static_cast<uint8_t>(n_groups);
            groups[n_groups++] = {p[k].sa, k, k};
        } else {
            Group& g = groups[slot_group[h]];
            next[g.last] = k;
            g.last = k;
        }
    }
    uint16_t which[kMaxBurst];
    for (uint16_t g = 0; g < n_groups; ++g) {
        uint16_t m = 0;
        for (uint16_t k = groups[g].first; k != kEnd; k = next[k]) {
            which[m] = k;
            seqs[m++] = p[k].seq;
        }
        groups[g].sa->replay.accept_burst(seqs, m, verdicts);
        for (uint16_t j = 0; j < m; ++j)
            ok[which[j]] = verdicts[j] == sa::ReplayVerdict::ok || fail(p[which[j]], replay_drop(verdicts[j]));
    }
}

}  // namespace espgw::esp
