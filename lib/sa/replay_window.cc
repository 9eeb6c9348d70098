#include "espgw/sa/replay_window.h"

#include <algorithm>
#include <bit>

namespace espgw::sa {

namespace {

uint64_t make_slot(uint32_t block, uint32_t bits) { return uint64_t{block} << 32 | bits; }

}  // namespace

ReplayWindow::ReplayWindow(uint32_t size, bool esn, uint64_t initial_top, bool single_writer)
    : size_(size == 0 && !esn ? 0 : ((size < kMinSize ? kMinSize : size > kMaxSize ? kMaxSize : size) + 31) & ~31u),
      esn_(esn),
      single_writer_(single_writer),
      // Every block that can hold a sequence number inside the window needs a slot of its own.
      slot_mask_(std::bit_ceil((size_ >> kBlockShift) + 1) - 1),
      top_(size_ ? initial_top : 0),
      slots_(new std::atomic<uint64_t>[slot_mask_ + 1]) {
    for (uint32_t i = 0; i <= slot_mask_; ++i) slots_[i].store(0, std::memory_order_relaxed);
}

uint64_t ReplayWindow::infer_esn(uint32_t seq_low) const {
    const uint64_t t = top();
    const uint32_t tl = static_cast<uint32_t>(t);
    const uint32_t th = static_cast<uint32_t>(t >> 32);
    const uint32_t bottom = tl - size_ + 1;  // wraps when the window spans a 2^32 boundary
    uint32_t sh;
    if (tl >= size_ - 1) {
        // Window lies within one 2^32 epoch: below it means the next epoch.
        sh = seq_low >= bottom ? th : th + 1;
    } else {
        // Window spans the epoch boundary: high values belong to the previous epoch.
        sh = seq_low >= bottom ? th - 1 : th;
        if (th == 0 && seq_low >= bottom) sh = 0;  // nothing before epoch 0
    }
    return uint64_t{sh} << 32 | seq_low;
}

ReplayVerdict ReplayWindow::accept(uint64_t seq) {
    ReplayVerdict v;
    accept_burst(&seq, 1, &v);
    return v;
}

void ReplayWindow::accept_burst(const uint64_t* seqs, uint32_t n, ReplayVerdict* out) {
    if (n == 1 && size_) {
        // One packet of this SA in the burst (a concentrator's bursts over many peers): its
        // block's slot and the top, without the burst machinery. The same verdicts as
        // accept_chunk gives one number.
        const uint64_t seq = seqs[0];
        const uint64_t t = top();
        if (seq <= t && t - seq >= size_) {
            out[0] = ReplayVerdict::too_old;
            return;
        }
        uint32_t already = 0;
        const uint32_t bit = 1u << (seq & 31);
        if (!mark(static_cast<uint32_t>(seq >> kBlockShift), bit, already)) {
            out[0] = ReplayVerdict::too_old;
            return;
        }
        if (already) {
            out[0] = ReplayVerdict::replayed;
            return;
        }
        out[0] = ReplayVerdict::ok;
        advance_top(seq);
        return;
    }
    for (uint32_t k = 0; k < n; k += kChunk) accept_chunk(seqs + k, n - k < kChunk ? n - k : kChunk, out + k);
}

void ReplayWindow::accept_chunk(const uint64_t* seqs, uint32_t n, ReplayVerdict* out) {
    if (!size_) {  // no anti-replay: every authenticated number passes, nothing is recorded
        for (uint32_t k = 0; k < n; ++k) out[k] = seqs[k] ? ReplayVerdict::ok : ReplayVerdict::too_old;
        return;
    }
    if (accept_ascending(seqs, n, out)) return;
    // The general case: any order, repeats within the burst, numbers below the window.
    // The bits to set per block touched, in order of first appearance.
    struct Group {
        uint32_t block;
        uint32_t bits;
        uint32_t already;  // bits another packet had set before ours
        bool too_old;      // a newer block took the slot
    };
    Group groups[kChunk];
    uint8_t group_of[kChunk];
    uint32_t n_groups = 0;

    // Pass 1, no shared writes: the verdicts a single worker would give in this order. The
    // current block's bits stay in a register (a burst is mostly one or two blocks), so the
    // loop does not wait on its own stores.
    uint64_t run_top = top();
    uint32_t cur = 0, cur_block = 0, cur_bits = 0;
    for (uint32_t i = 0; i < n; ++i) {
        const uint64_t seq = seqs[i];
        group_of[i] = UINT8_MAX;
        if (seq <= run_top && run_top - seq >= size_) {
            out[i] = ReplayVerdict::too_old;
            continue;
        }
        const auto block = static_cast<uint32_t>(seq >> kBlockShift);
        const uint32_t bit = 1u << (seq & 31);
        if (n_groups == 0 || block != cur_block) {
            if (n_groups) groups[cur].bits = cur_bits;
            uint32_t g = n_groups;
            while (g > 0 && groups[g - 1].block != block) --g;
            if (g == 0) {
                groups[n_groups] = Group{block, 0, 0, false};
                g = ++n_groups;
            }
            cur = g - 1;
            cur_block = block;
            cur_bits = groups[cur].bits;
        }
        if (cur_bits & bit) {
            out[i] = ReplayVerdict::replayed;  // the same number twice in one burst
            continue;
        }
        cur_bits |= bit;
        group_of[i] = static_cast<uint8_t>(cur);
        out[i] = ReplayVerdict::ok;
        if (seq > run_top) run_top = seq;
    }
    if (n_groups) groups[cur].bits = cur_bits;

    // Pass 2: one compare-and-swap per block.
    for (uint32_t g = 0; g < n_groups; ++g) groups[g].too_old = !mark(groups[g].block, groups[g].bits, groups[g].already);

    // Pass 3: final verdicts, and one atomic max of the top over what was accepted.
    uint64_t new_top = 0;
    for (uint32_t i = 0; i < n; ++i) {
        if (group_of[i] == UINT8_MAX) continue;
        const Group& grp = groups[group_of[i]];
        if (grp.too_old)
            out[i] = ReplayVerdict::too_old;
        else if (grp.already >> (seqs[i] & 31) & 1)
            out[i] = ReplayVerdict::replayed;
        else if (seqs[i] > new_top)
            new_top = seqs[i];
    }
    advance_top(new_top);
}

bool ReplayWindow::mark(uint32_t block, uint32_t bits, uint32_t& already) {
    std::atomic<uint64_t>& slot = slots_[block & slot_mask_];
    uint64_t cur = slot.load(std::memory_order_acquire);
    for (;;) {
        const auto age = static_cast<int32_t>(block - slot_block(cur));
        uint64_t next;
        if (age == 0) {
            already = static_cast<uint32_t>(cur) & bits;
            next = cur | bits;
        } else if (age > 0 || slot_empty(cur)) {
            already = 0;
            next = make_slot(block, bits);  // slot held an older block: reuse it
        } else {
            return false;  // a newer block already took the slot
        }
        if (single_writer_) {  // nobody else writes: a locked compare-and-swap buys nothing
            slot.store(next, std::memory_order_release);
            return true;
        }
        if (slot.compare_exchange_weak(cur, next, std::memory_order_acq_rel)) return true;
    }
}

void ReplayWindow::advance_top(uint64_t seq) {
    uint64_t t = top();
    if (single_writer_) {
        if (seq > t) top_.store(seq, std::memory_order_release);
        return;
    }
    while (seq > t && !top_.compare_exchange_weak(t, seq, std::memory_order_acq_rel)) {
    }
}

bool ReplayWindow::accept_ascending(const uint64_t* seqs, uint32_t n, ReplayVerdict* out) {
    // Strictly ascending and all above the top: no number repeats and none is too old for the
    // window as it will stand, so only other workers can make one fail. The usual burst.
    if (n == 0 || seqs[0] <= top()) return false;
    bool consecutive = true;
    for (uint32_t i = 1; i < n; ++i) {
        if (seqs[i] <= seqs[i - 1]) return false;
        consecutive &= seqs[i] == seqs[i - 1] + 1;
    }
    if (consecutive) {
        accept_consecutive(seqs[0], n, out);
        return true;
    }
    uint64_t new_top = 0;
    for (uint32_t i = 0; i < n;) {
        const auto block = static_cast<uint32_t>(seqs[i] >> kBlockShift);
        uint32_t bits = 0, j = i;
        for (; j < n && static_cast<uint32_t>(seqs[j] >> kBlockShift) == block; ++j) bits |= 1u << (seqs[j] & 31);
        uint32_t already = 0;
        const bool fresh = mark(block, bits, already);
        for (; i < j; ++i) {
            out[i] = !fresh ? ReplayVerdict::too_old
                     : already >> (seqs[i] & 31) & 1 ? ReplayVerdict::replayed
                                                      : ReplayVerdict::ok;
            if (out[i] == ReplayVerdict::ok) new_top = seqs[i];
        }
    }
    advance_top(new_top);
    return true;
}

void ReplayWindow::accept_consecutive(uint64_t first, uint32_t n, ReplayVerdict* out) {
    // Each block's share of first .. last is one range of bits. Verdicts are written one by
    // one only for a block another worker got to first.
    const uint64_t last = first + n - 1;
    std::fill(out, out + n, ReplayVerdict::ok);
    uint64_t new_top = 0;
    for (uint64_t lo = first;;) {  // (last may be 2^64 - 1: no lo <= last loop)
        const uint64_t hi = (lo | 31) < last ? (lo | 31) : last;
        const auto count = static_cast<uint32_t>(hi - lo + 1);  // 1..32
        const uint32_t bits = (count == 32 ? ~0u : (1u << count) - 1) << (lo & 31);
        uint32_t already = 0;
        const bool fresh = mark(static_cast<uint32_t>(lo >> kBlockShift), bits, already);
        if (!fresh || already) {
            for (uint32_t k = 0; k < count; ++k)
                out[lo - first + k] = !fresh ? ReplayVerdict::too_old
                                      : already >> ((lo + k) & 31) & 1 ? ReplayVerdict::replayed
                                                                        : ReplayVerdict::ok;
        }
        const uint32_t won = fresh ? bits & ~already : 0;
        if (won) new_top = (lo & ~uint64_t{31}) + (31 - static_cast<uint32_t>(__builtin_clz(won)));
        if (hi == last) break;
        lo = hi + 1;
    }
    advance_top(new_top);
}

}  // namespace espgw::sa
