// Anti-replay window for inbound ESP (RFC 4303 §3.4.3, App. A), safe for several workers.
//
// The window is a ring of 64-bit slots in the style of RFC 6479: each slot covers one block of
// 32 sequence numbers and carries the block number in its high half and the bitmap in its low
// half. A slot is reset simply by writing a newer block number into it, so no worker ever has
// to clear a range of bits while another is setting one: marking sequence numbers is a single
// compare-and-swap on one slot, and advancing the top is an atomic max. A duplicate always finds
// either its own bit set or a newer block in its slot, so it is never accepted twice.
//
// A burst of one SA usually holds consecutive sequence numbers, so accept_burst() marks all of
// a block's numbers with one compare-and-swap and advances the top once: the locked operations
// cost per burst what they used to cost per packet.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

namespace espgw::sa {

enum class ReplayVerdict : uint8_t { ok, replayed, too_old };

class ReplayWindow {
public:
    static constexpr uint32_t kMinSize = 64;
    static constexpr uint32_t kMaxSize = 32768;

    // size: number of sequence numbers in the window (kMinSize..kMaxSize, rounded up to 32),
    // or 0: no anti-replay service (RFC 4303 §3.4.3 lets the receiver switch it off; a
    // benchmark replaying a capture in a loop needs that). Without it the top stays 0, so
    // check() passes every number from 1 on and accept() marks nothing; ESN needs a window.
    // initial_top: highest sequence number already seen (0 for a new SA). single_writer: only
    // one thread ever accepts numbers (a gateway with one worker): the window is then updated
    // with plain stores instead of compare-and-swap. Readers still see whole values.
    ReplayWindow(uint32_t size, bool esn, uint64_t initial_top = 0, bool single_writer = false);
    bool single_writer() const { return single_writer_; }

    uint32_t size() const { return size_; }
    bool enabled() const { return size_ != 0; }
    bool esn() const { return esn_; }
    uint64_t top() const { return top_.load(std::memory_order_acquire); }

    // The full sequence number from the 32 bits on the wire. Without ESN it is the low bits;
    // with ESN the high half is inferred from the window position (RFC 4303 App. A2.1).
    uint64_t infer(uint32_t seq_low) const { return esn_ ? infer_esn(seq_low) : seq_low; }

    // Before authentication: cheap, changes nothing. Inline: it runs for every packet.
    ReplayVerdict check(uint64_t seq) const {
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

    // A hint, after check(): starts bringing seq's slot into the cache, so that accept(), after
    // the burst's decryption, finds it there. The slots are an allocation of their own: for an
    // SA not used lately that is a cache miss the decryption can hide.
    void prefetch(uint64_t seq) const {
        if (size_) __builtin_prefetch(&slots_[(seq >> kBlockShift) & slot_mask_], 1);
    }

    // After authentication: marks seq as seen and advances the window. The verdict is final:
    // two workers racing with copies of one packet get ok once and replayed once.
    ReplayVerdict accept(uint64_t seq);

    // accept() for n sequence numbers of one burst, as if accepted one after another in that
    // order (a repeat inside the burst is replayed); out[i] is the verdict for seqs[i].
    void accept_burst(const uint64_t* seqs, uint32_t n, ReplayVerdict* out);

private:
    static constexpr uint32_t kBlockShift = 5;  // 32 sequence numbers per slot
    static constexpr uint32_t kChunk = 64;      // accept_burst works on this many at a time

    void accept_chunk(const uint64_t* seqs, uint32_t n, ReplayVerdict* out);
    bool accept_ascending(const uint64_t* seqs, uint32_t n, ReplayVerdict* out);  // false: not that case
    void accept_consecutive(uint64_t first, uint32_t n, ReplayVerdict* out);
    // Sets bits in the slot of block; false if a newer block holds it. already: bits that were set.
    bool mark(uint32_t block, uint32_t bits, uint32_t& already);
    void advance_top(uint64_t seq);  // atomic max
    uint64_t infer_esn(uint32_t seq_low) const;

    static uint32_t slot_block(uint64_t slot) { return static_cast<uint32_t>(slot >> 32); }
    // A slot with no bit set records nothing: any block may take it. (Ages are compared modulo
    // 2^32 blocks, which is sound while a slot is touched at least once per 2^36 sequence
    // numbers — always, for a sender that counts up; the empty case covers a fresh window.)
    static bool slot_empty(uint64_t slot) { return static_cast<uint32_t>(slot) == 0; }

    uint32_t size_;
    bool esn_;
    bool single_writer_;
    uint32_t slot_mask_;
    std::atomic<uint64_t> top_;
    std::unique_ptr<std::atomic<uint64_t>[]> slots_;
};

}  // namespace espgw::sa
