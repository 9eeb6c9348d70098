// What the data-plane fuzz targets share: a small EAL (started once, from
// LLVMFuzzerInitialize), one in-memory data path (tests/support) reset to a known state before
// every input, frames made from input bytes, and the check that every mbuf came back.
//
// mbufs come from DPDK's pools, not malloc, so LeakSanitizer cannot see one the pipeline
// keeps: after each input the pools must be exactly as full as before it.
#pragma once

#include <rte_eal.h>
#include <rte_ether.h>
#include <rte_mempool.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <utility>
#include <string>
#include <vector>

#include "fuzz_support.h"
#include "support/standalone_datapath.h"

namespace espgw::fuzz {

inline void start_eal() {
    static const bool started = [] {
        static std::string prefix = "espgw-fuzz-" + std::to_string(getpid());
        const char* eal[] = {"fuzz", "--no-pci", "--no-huge", "-m", "512", "--no-shconf", "--no-telemetry",
                             "-l", "0", "--log-level", "lib.eal:error", "--file-prefix", prefix.c_str()};
        return rte_eal_init(static_cast<int>(std::size(eal)), const_cast<char**>(eal)) >= 0;
    }();
    if (!started) std::abort();
}

}  // namespace espgw::fuzz

// Every data-plane target starts the EAL before its first input (one definition per target:
// each includes this header once).
extern "C" int LLVMFuzzerInitialize(int*, char***) {
    espgw::fuzz::start_eal();
    return 0;
}

namespace espgw::fuzz {

// An mbuf holding `bytes` (nullptr for an empty frame or a frame that does not fit an mbuf).
inline rte_mbuf* frame(testing::StandaloneDatapath& dp, std::span<const uint8_t> bytes) {
    if (bytes.empty()) return nullptr;
    rte_mbuf* m = rte_pktmbuf_alloc(dp.shared.pool);
    FUZZ_CHECK(m != nullptr);  // the pool ran dry: an earlier input's mbufs were not returned
    if (bytes.size() > rte_pktmbuf_tailroom(m)) {
        rte_pktmbuf_free(m);
        return nullptr;
    }
    std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(bytes.size())), bytes.data(), bytes.size());
    return m;
}

// Frees everything the pipeline handed on (ports, control rings, reassembly) and checks that
// every pool is as full as `baseline` says.
struct PoolLevels {
    unsigned pool, indirect, big;
    static PoolLevels of(const testing::StandaloneDatapath& dp) {
        return {rte_mempool_avail_count(dp.shared.pool), rte_mempool_avail_count(dp.shared.indirect_pool),
                rte_mempool_avail_count(dp.shared.big_pool)};
    }
};

inline void settle_and_check(testing::StandaloneDatapath& dp, const PoolLevels& baseline) {
    for (unsigned r = 0; r < dp::kRoles; ++r) testing::free_all(dp.take(r));
    dp.drain_control_rings();
    dp.flush_reassembly();
    const PoolLevels now = PoolLevels::of(dp);
    FUZZ_CHECK(now.pool == baseline.pool);
    FUZZ_CHECK(now.indirect == baseline.indirect);
    FUZZ_CHECK(now.big == baseline.big);
}

}  // namespace espgw::fuzz
