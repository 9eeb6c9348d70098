#include "espgw/esp/replay_window.h"

#include <bit>

namespace espgw::esp {

namespace {

uint64_t make_slot(uint32_t block, uint32_t bits) { return uint64_t{block} << 32 | bits; }
uint32_t slot_block(uint64_t slot) { return static_cast<uint32_t>(slot >> 32); }
// A slot with no bit set records nothing: any block may take it. (Ages are compared modulo
// 2^32 blocks, which is sound while a slot is touched at least once per 2^36 sequence
// numbers — always, for a sender that counts up; the empty case covers a fresh window.)
bool slot_empty(uint64_t slot) { return static_cast<uint32_t>(slot) == 0; }

}  // namespace

ReplayWindow::ReplayWindow(uint32_t size, bool esn, uint64_t initial_top)
    : size_(((size < kMinSize ? kMinSize : size > kMaxSize ? kMaxSize : size) + 31) & ~31u),
      esn_(esn),
      // Every block that can hold a sequence number inside the window needs a slot of its own.
      slot_mask_(std::bit_ceil((size_ >> kBlockShift) + 1) - 1),
      top_(initial_top),
      slots_(new std::atomic<uint64_t>[slot_mask_ + 1]) {
    for (uint32_t i = 0; i <= slot_mask_; ++i) slots_[i].store(0, std::memory_order_relaxed);
}

uint64_t ReplayWindow::infer(uint32_t seq_low) const {
    if (!esn_) return seq_low;
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

ReplayVerdict ReplayWindow::check(uint64_t seq) const {
    const uint64_t t = top();
    if (seq > t) return ReplayVerdict::ok;
    if (t - seq >= size_) return ReplayVerdict::too_old;
    const uint64_t block = seq >> kBlockShift;
    const uint64_t slot = slots_[block & slot_mask_].load(std::memory_order_acquire);
    if (slot_empty(slot)) return ReplayVerdict::ok;
    const auto age = static_cast<int32_t>(static_cast<uint32_t>(block) - slot_block(slot));
    if (age < 0) return ReplayVerdict::too_old;
    if (age == 0 && (slot >> (seq & 31) & 1)) return ReplayVerdict::replayed;
    return ReplayVerdict::ok;
}

ReplayVerdict ReplayWindow::accept(uint64_t seq) {
    uint64_t t = top();
    if (seq <= t && t - seq >= size_) return ReplayVerdict::too_old;

    const uint64_t block64 = seq >> kBlockShift;
    const auto block = static_cast<uint32_t>(block64);
    const uint32_t bit = 1u << (seq & 31);
    std::atomic<uint64_t>& slot = slots_[block64 & slot_mask_];
    uint64_t cur = slot.load(std::memory_order_acquire);
    for (;;) {
        const auto age = static_cast<int32_t>(block - slot_block(cur));
        uint64_t next;
        if (age == 0) {
            if (cur & bit) return ReplayVerdict::replayed;
            next = cur | bit;
        } else if (age > 0 || slot_empty(cur)) {
            next = make_slot(block, bit);  // slot held an older block: reuse it
        } else {
            return ReplayVerdict::too_old;  // a newer block already took the slot
        }
        if (slot.compare_exchange_weak(cur, next, std::memory_order_acq_rel)) break;
    }
    while (seq > t && !top_.compare_exchange_weak(t, seq, std::memory_order_acq_rel)) {
    }
    return ReplayVerdict::ok;
}

}  // namespace espgw::esp
