// Anti-replay window for inbound ESP (RFC 4303 §3.4.3, App. A), safe for several workers.
//
// The window is a ring of 64-bit slots in the style of RFC 6479: each slot covers one block of
// 32 sequence numbers and carries the block number in its high half and the bitmap in its low
// half. A slot is reset simply by writing a newer block number into it, so no worker ever has
// to clear a range of bits while another is setting one: marking a sequence number is a single
// compare-and-swap on one slot, and advancing the top is an atomic max. A duplicate always finds
// either its own bit set or a newer block in its slot, so it is never accepted twice.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

namespace espgw::esp {

enum class ReplayVerdict : uint8_t { ok, replayed, too_old };

class ReplayWindow {
public:
    static constexpr uint32_t kMinSize = 64;
    static constexpr uint32_t kMaxSize = 32768;

    // size: number of sequence numbers in the window (kMinSize..kMaxSize, rounded up to 32).
    // initial_top: highest sequence number already seen (0 for a new SA).
    ReplayWindow(uint32_t size, bool esn, uint64_t initial_top = 0);

    uint32_t size() const { return size_; }
    bool esn() const { return esn_; }
    uint64_t top() const { return top_.load(std::memory_order_acquire); }

    // The full sequence number from the 32 bits on the wire. Without ESN it is the low bits;
    // with ESN the high half is inferred from the window position (RFC 4303 App. A2.1).
    uint64_t infer(uint32_t seq_low) const;

    // Before authentication: cheap, changes nothing.
    ReplayVerdict check(uint64_t seq) const;

    // After authentication: marks seq as seen and advances the window. The verdict is final:
    // two workers racing with copies of one packet get ok once and replayed once.
    ReplayVerdict accept(uint64_t seq);

private:
    static constexpr uint32_t kBlockShift = 5;  // 32 sequence numbers per slot

    uint32_t size_;
    bool esn_;
    uint32_t slot_mask_;
    std::atomic<uint64_t> top_;
    std::unique_ptr<std::atomic<uint64_t>[]> slots_;
};

}  // namespace espgw::esp
