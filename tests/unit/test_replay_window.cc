// Anti-replay window: RFC 4303 §3.4.3 behaviour, ESN inference (App. A2), and races between
// workers accepting the same sequence numbers.
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include "espgw/sa/replay_window.h"

using espgw::sa::ReplayVerdict;
using espgw::sa::ReplayWindow;

TEST(ReplayWindow, AcceptsNewRejectsDuplicates) {
    ReplayWindow w(64, false);
    EXPECT_EQ(w.accept(1), ReplayVerdict::ok);
    EXPECT_EQ(w.check(1), ReplayVerdict::replayed);
    EXPECT_EQ(w.accept(1), ReplayVerdict::replayed);
    EXPECT_EQ(w.accept(3), ReplayVerdict::ok);
    EXPECT_EQ(w.accept(2), ReplayVerdict::ok);  // out of order but inside the window
    EXPECT_EQ(w.accept(2), ReplayVerdict::replayed);
    EXPECT_EQ(w.top(), 3u);
}

TEST(ReplayWindow, LeftEdgeIsExact) {
    for (uint32_t size : {64u, 128u, 1024u, 4096u}) {
        ReplayWindow w(size, false);
        const uint64_t top = 10 * size;
        ASSERT_EQ(w.accept(top), ReplayVerdict::ok);
        // The window covers top-size+1 .. top.
        EXPECT_EQ(w.check(top - size + 1), ReplayVerdict::ok) << size;
        EXPECT_EQ(w.check(top - size), ReplayVerdict::too_old) << size;
        EXPECT_EQ(w.accept(top - size + 1), ReplayVerdict::ok) << size;
        EXPECT_EQ(w.accept(top - size), ReplayVerdict::too_old) << size;
    }
}

TEST(ReplayWindow, EverySequenceInsideAWindowOnce) {
    ReplayWindow w(256, false);
    ASSERT_EQ(w.accept(1000), ReplayVerdict::ok);
    for (uint64_t s = 1000 - 255; s < 1000; ++s) EXPECT_EQ(w.accept(s), ReplayVerdict::ok) << s;
    for (uint64_t s = 1000 - 255; s <= 1000; ++s) EXPECT_EQ(w.accept(s), ReplayVerdict::replayed) << s;
}

TEST(ReplayWindow, BigJumpForgetsOldBits) {
    ReplayWindow w(64, false);
    for (uint64_t s = 1; s <= 64; ++s) ASSERT_EQ(w.accept(s), ReplayVerdict::ok);
    // Jump far ahead: slots of the old blocks are reused, nothing stale may look seen.
    ASSERT_EQ(w.accept(100000), ReplayVerdict::ok);
    for (uint64_t s = 100000 - 63; s < 100000; ++s) EXPECT_EQ(w.check(s), ReplayVerdict::ok) << s;
    EXPECT_EQ(w.check(64), ReplayVerdict::too_old);
}

TEST(ReplayWindow, SizeIsClampedAndRounded) {
    EXPECT_EQ(ReplayWindow(1, false).size(), 64u);
    EXPECT_EQ(ReplayWindow(100, false).size(), 128u);
    EXPECT_EQ(ReplayWindow(1 << 20, false).size(), ReplayWindow::kMaxSize);
}

// RFC 4303 Appendix A2.1: the receiver infers the high 32 bits of the ESN.
TEST(ReplayWindow, EsnInferenceWithinOneEpoch) {
    ReplayWindow w(64, true);
    ASSERT_EQ(w.accept((uint64_t{5} << 32) | 1000), ReplayVerdict::ok);  // Th=5, Tl=1000
    EXPECT_EQ(w.infer(990), (uint64_t{5} << 32) | 990);    // inside the window
    EXPECT_EQ(w.infer(2000), (uint64_t{5} << 32) | 2000);  // ahead
    EXPECT_EQ(w.infer(900), (uint64_t{6} << 32) | 900);    // below the window: next epoch
}

TEST(ReplayWindow, EsnInferenceAcrossTheWrap) {
    ReplayWindow w(64, true);
    // Top just past the 2^32 boundary: Tl=10 < W-1, so the window spans the boundary.
    ASSERT_EQ(w.accept((uint64_t{1} << 32) | 10), ReplayVerdict::ok);
    EXPECT_EQ(w.infer(0xfffffff0u), 0xfffffff0u);  // previous epoch, inside the window
    EXPECT_EQ(w.infer(5), (uint64_t{1} << 32) | 5);
    EXPECT_EQ(w.infer(20), (uint64_t{1} << 32) | 20);
    EXPECT_EQ(w.accept(0xfffffff0u), ReplayVerdict::ok);
    EXPECT_EQ(w.accept(0xfffffff0u), ReplayVerdict::replayed);
}

TEST(ReplayWindow, EsnSequenceRunsThroughTheWrap) {
    ReplayWindow w(128, true);
    uint64_t s = 0xffffff00u;
    ASSERT_EQ(w.accept(s), ReplayVerdict::ok);
    for (int k = 0; k < 512; ++k) {
        ++s;
        const uint64_t inferred = w.infer(static_cast<uint32_t>(s));
        ASSERT_EQ(inferred, s) << k;
        ASSERT_EQ(w.accept(inferred), ReplayVerdict::ok) << k;
    }
    EXPECT_EQ(w.top(), s);
    EXPECT_GT(w.top(), uint64_t{0xffffffffu});
    // A replay of a pre-wrap packet still inside the window is caught.
    EXPECT_EQ(w.accept(w.infer(static_cast<uint32_t>(s - 5))), ReplayVerdict::replayed);
}

// Several workers accept overlapping copies of a sequence stream: each number is accepted
// exactly once in total, whatever the interleaving.
TEST(ReplayWindow, ConcurrentWorkersAcceptEachNumberOnce) {
    constexpr uint64_t kCount = 200000;
    ReplayWindow w(4096, false);
    std::atomic<uint64_t> accepted{0};
    auto worker = [&](uint64_t offset) {
        for (uint64_t s = 1; s <= kCount; ++s) {
            const uint64_t seq = s + (s % 7 == 0 ? offset % 3 : 0);  // some reordering
            if (w.accept(seq) == ReplayVerdict::ok) accepted.fetch_add(1);
        }
    };
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) threads.emplace_back(worker, t);
    for (auto& t : threads) t.join();
    // Every distinct number 1..kCount+2 seen by any worker is accepted once at most; the
    // in-order numbers are all accepted once.
    EXPECT_LE(accepted.load(), kCount + 2);
    EXPECT_GE(accepted.load(), kCount - kCount / 7);
    for (uint64_t s = kCount - 100; s <= kCount; ++s) EXPECT_NE(w.check(s), ReplayVerdict::ok);
}

// A burst is judged as if its numbers came one after another: repeats inside the burst, a
// number made too old by a later one earlier in the same burst, and numbers already seen.
// Also across the two ways of writing the window: a single-writer window (plain stores, one
// worker) must give exactly the verdicts of a shared one (compare-and-swap), whichever of
// the two takes the burst and which the numbers one by one.
TEST(ReplayWindow, BurstVerdictsMatchOneByOne) {
    std::mt19937_64 rng(7);
    for (int round = 0; round < 2000; ++round) {
        const uint32_t size = round % 2 ? 64 : 256;
        const bool single = round % 4 >= 2;
        ReplayWindow one(size, false, 0, single), burst(size, false, 0, !single);
        uint64_t base = 1000;
        for (int b = 0; b < 20; ++b) {
            std::vector<uint64_t> seqs;
            const unsigned n = 1 + rng() % 40;
            for (unsigned k = 0; k < n; ++k) {
                // Mostly ahead of the stream, with repeats, stragglers and jumps.
                const uint64_t r = rng() % 100;
                uint64_t s = r < 60 ? base + k : r < 75 ? base - rng() % (2 * size) : r < 90 && !seqs.empty()
                                                                       ? seqs[rng() % seqs.size()]
                                                                       : base + rng() % (4 * size);
                seqs.push_back(s ? s : 1);
            }
            base += n;
            std::vector<ReplayVerdict> got(n);
            burst.accept_burst(seqs.data(), n, got.data());
            for (unsigned k = 0; k < n; ++k)
                ASSERT_EQ(got[k], one.accept(seqs[k])) << "round " << round << " burst " << b << " seq " << seqs[k];
            ASSERT_EQ(burst.top(), one.top());
        }
    }
}

// The same race as above, with workers handing whole bursts to accept_burst.
// The same race as above, with workers handing whole bursts to accept_burst: some in their
// own order (the general path), and short ascending bursts offered by several workers at once
// (the fast path, where only the slot's compare-and-swap can tell that another worker won).
void race_bursts(uint32_t burst, const std::vector<unsigned>& rotations) {
    constexpr uint64_t kCount = 300000;
    ReplayWindow w(1024, false);
    std::vector<std::atomic<uint8_t>> times(kCount + 1);
    auto worker = [&](unsigned rotation) {
        std::vector<uint64_t> seqs(burst);
        std::vector<ReplayVerdict> v(burst);
        for (uint64_t s = 1; s + burst <= kCount; s += burst) {
            for (uint32_t k = 0; k < burst; ++k) seqs[k] = s + (k + rotation) % burst;
            w.accept_burst(seqs.data(), burst, v.data());
            for (uint32_t k = 0; k < burst; ++k)
                if (v[k] == ReplayVerdict::ok) times[seqs[k]].fetch_add(1);
        }
    };
    std::vector<std::thread> threads;
    for (unsigned r : rotations) threads.emplace_back(worker, r);
    for (auto& t : threads) t.join();
    // Every number offered is accepted exactly once: when its burst is first offered, the top
    // is less than a burst ahead of it, well inside the window, so some worker gets it.
    uint64_t offered = 0;
    for (uint64_t s = 1; s + burst <= kCount; s += burst) offered += burst;
    for (uint64_t s = 1; s <= kCount; ++s) ASSERT_EQ(times[s].load(), s <= offered ? 1u : 0u) << s;
}

TEST(ReplayWindow, ConcurrentBurstsAcceptEachNumberOnce) { race_bursts(32, {0, 5, 10, 15}); }

TEST(ReplayWindow, ConcurrentAscendingBurstsAcceptEachNumberOnce) {
    for (int round = 0; round < 20; ++round) race_bursts(2, {0, 0});
}

// A burst that ends at the very last sequence number (2^64 - 1) terminates and is judged like
// any other (a loop on "lo <= last" would never end there).
TEST(ReplayWindow, BurstEndingAtTheLastSequenceNumber) {
    ReplayWindow w(64, true, UINT64_MAX - 40);
    const uint64_t seqs[] = {UINT64_MAX - 2, UINT64_MAX - 1, UINT64_MAX};
    ReplayVerdict v[3];
    w.accept_burst(seqs, 3, v);
    for (ReplayVerdict x : v) EXPECT_EQ(x, ReplayVerdict::ok);
    EXPECT_EQ(w.top(), UINT64_MAX);
    w.accept_burst(seqs, 3, v);
    for (ReplayVerdict x : v) EXPECT_EQ(x, ReplayVerdict::replayed);
}

// Size 0: no anti-replay service. Every number from 1 passes, again and again, and the top
// never moves (so check() stays a pass); 0 itself is never a valid sequence number.
TEST(ReplayWindow, SizeZeroSwitchesAntiReplayOff) {
    ReplayWindow w(0, false, 500);
    EXPECT_FALSE(w.enabled());
    EXPECT_EQ(w.top(), 0u);
    for (int round = 0; round < 2; ++round)
        for (uint64_t s : {5, 3, 5, 1000000, 2}) {
            EXPECT_EQ(w.check(s), ReplayVerdict::ok);
            EXPECT_EQ(w.accept(s), ReplayVerdict::ok);
        }
    uint64_t burst[4] = {9, 9, 8, 0};
    ReplayVerdict v[4];
    w.accept_burst(burst, 4, v);
    EXPECT_EQ(v[0], ReplayVerdict::ok);
    EXPECT_EQ(v[1], ReplayVerdict::ok);
    EXPECT_EQ(v[2], ReplayVerdict::ok);
    EXPECT_EQ(v[3], ReplayVerdict::too_old);
    EXPECT_EQ(w.check(0), ReplayVerdict::too_old);
    EXPECT_EQ(w.top(), 0u);
    // ESN infers the high half from the window: it keeps one.
    EXPECT_TRUE(ReplayWindow(0, true).enabled());
}
