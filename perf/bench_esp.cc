// ESP data-plane benchmark: espgw's real receive and transmit pipelines (classification, SA
// lookup, anti-replay, AES-128-GCM through IPsec-MB, checks, forwarding decision and Ethernet)
// on pre-built packets in memory, one core, no I/O. Beside each result: the bare IPsec-MB
// cost of the same buffers (precomputed key, direct GCM call) measured in the same run.
//
//   bench_esp [--packets N] [--rounds R] [--size S] [--only decap|encap] [--sas K] [--outer6 1]
//   (BENCH_HUGE=1: hugepage memory; BENCH_LCORE: the lcore, default 1)
// Sizes are inner IPv4 packet lengths: 64, 512, 1420 bytes unless --size names one. --only
// runs one direction (the other column shows 0), which is what a profiler wants to see.
// --sas K spreads the packets over K SAs in turn (K peers' SAs inbound, K destinations'
// outbound), so that every burst interleaves them: a concentrator's worst case, where the
// per-burst memos of SA and route do not help. The default is one SA. --outer6 1 reaches the
// peer over IPv6 instead (a 40-byte outer header, and on encap the UDP checksum IPv6 needs).
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "support/standalone_datapath.h"

using namespace espgw;
using espgw::testing::StandaloneDatapath;

namespace {

constexpr uint32_t kSpiIn = 0x1001, kSpiOut = 0x2001;
bool g_outer6 = false;  // --outer6: the peer is reached over IPv6

sa::Sa* install(StandaloneDatapath& dp, sa::Direction dir, uint32_t spi) {
    std::string err;
    if (!dp.table().install(dp.make_sa(dir, spi, nullptr, g_outer6), err)) {
        fprintf(stderr, "%s\n", err.c_str());
        exit(1);
    }
    return dp.table().find(dir, spi);
}

// Best cycles per packet of each and their ratio, and the median of the per-round ratios.
// Rounds alternate pipeline and bare runs, so both see the same machine. On a shared VM the
// machine itself changes for tens of milliseconds at a time (a busy sibling hyperthread slows
// scalar code more than the AES units), so the median takes one of two values from run to
// run, while the best rounds of both come from the quiet periods and their ratio holds still.
struct Result {
    double pipeline, bare, best_ratio, ratio;
};

struct Rounds {
    std::vector<double> p, b;
    uint64_t start = 0;
    // `rounds` rounds, and unless --rounds said exactly how many, at least a second of them:
    // the quiet and the busy periods of a shared VM last tens of milliseconds, and a 64-byte
    // round is over in 0.1 ms. (Exact counts are for profilers and instruction counters.)
    static inline bool exact = false;
    bool more(unsigned rounds) {
        if (start == 0) start = rte_rdtsc();
        return p.size() < rounds || (!exact && rte_rdtsc() - start < rte_get_tsc_hz());
    }
    void add(uint64_t pipeline, uint64_t bare) { p.push_back(double(pipeline)), b.push_back(double(bare)); }
    Result result(uint32_t packets) const {
        std::vector<double> r;
        for (size_t k = 0; k < p.size(); ++k) r.push_back(p[k] / b[k]);
        std::sort(r.begin(), r.end());
        const double best_p = *std::min_element(p.begin(), p.end()), best_b = *std::min_element(b.begin(), b.end());
        return {best_p / packets, best_b / packets, best_p / best_b, r[r.size() / 2]};
    }
};

using Frames = std::vector<std::vector<uint8_t>>;

// Takes the frames' bytes and frees the mbufs.
Frames frames_of(const std::vector<rte_mbuf*>& ms) {
    Frames f;
    for (rte_mbuf* m : ms) {
        const auto* d = rte_pktmbuf_mtod(m, const uint8_t*);
        f.emplace_back(d, d + rte_pktmbuf_data_len(m));
        rte_pktmbuf_free(m);
    }
    return f;
}

// Fresh mbufs holding the frames, as an rx burst would hand them over (recently written).
std::vector<rte_mbuf*> copies(StandaloneDatapath& dp, const Frames& frames) {
    std::vector<rte_mbuf*> out;
    for (const auto& f : frames) {
        rte_mbuf* m = rte_pktmbuf_alloc(dp.shared.pool);
        std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(f.size())), f.data(), f.size());
        out.push_back(m);
    }
    return out;
}

// Runs the pipeline burst by burst on fresh copies of the frames, timing only the pipeline:
// like an rx burst, each burst's mbufs were just written when processing starts.
uint64_t run(StandaloneDatapath& dp, const Frames& frames, bool decap) {
    const unsigned role = decap ? dp::kProtected : dp::kPublic;
    uint64_t cycles = 0;
    size_t sent = 0;
    for (size_t k = 0; k < frames.size(); k += dp::kBurst) {
        const size_t n = std::min<size_t>(dp::kBurst, frames.size() - k);
        std::vector<rte_mbuf*> ms = copies(dp, Frames(frames.begin() + k, frames.begin() + k + n));
        const uint64_t t0 = rte_rdtsc_precise();
        dp.worker.now = t0;
        if (decap)
            dp::rx_public(dp.worker, ms.data(), static_cast<uint16_t>(n));
        else
            dp::rx_inside(dp.worker, dp::kProtected, ms.data(), static_cast<uint16_t>(n));
        dp.worker.flush(dp.worker, role);
        cycles += rte_rdtsc_precise() - t0;
        const std::vector<rte_mbuf*> out = dp.take(role);
        sent += out.size();
        for (rte_mbuf* m : out) rte_pktmbuf_free(m);
    }
    if (sent != frames.size()) {
        fprintf(stderr, "%s: %zu of %zu packets forwarded\n", decap ? "decap" : "encap", sent, frames.size());
        exit(1);
    }
    return cycles;
}

// The same for bare IPsec-MB: fn(mbuf) on each packet of fresh burst copies.
template <typename Fn>
uint64_t run_bare(StandaloneDatapath& dp, const Frames& frames, Fn fn) {
    uint64_t cycles = 0;
    for (size_t k = 0; k < frames.size(); k += dp::kBurst) {
        const size_t n = std::min<size_t>(dp::kBurst, frames.size() - k);
        std::vector<rte_mbuf*> ms = copies(dp, Frames(frames.begin() + k, frames.begin() + k + n));
        const uint64_t t0 = rte_rdtsc_precise();
        for (rte_mbuf* m : ms) fn(m);
        cycles += rte_rdtsc_precise() - t0;
        for (rte_mbuf* m : ms) rte_pktmbuf_free(m);
    }
    return cycles;
}

// Decap: ESP-in-UDP frames as a peer would send them, through rx_public.
Result bench_decap(StandaloneDatapath& dp, uint32_t size, uint32_t packets, unsigned rounds, unsigned n_sas) {
    std::vector<std::unique_ptr<sa::Sa>> peers;
    for (unsigned k = 0; k < n_sas; ++k) peers.push_back(dp.make_sa(sa::Direction::outbound, kSpiIn + k, nullptr, g_outer6));
    std::vector<rte_mbuf*> built;
    for (uint32_t k = 0; k < packets; ++k) built.push_back(dp.esp_frame(*peers[k % n_sas], size));
    const Frames templates = frames_of(built);
    Rounds rs;
    while (rs.more(rounds)) {
        // Fresh inbound SAs each round: the same sequence numbers are new to them.
        for (unsigned k = 0; k < n_sas; ++k) dp.shared.sas->remove(sa::Direction::inbound, kSpiIn + k);
        const sa::Sa* in = nullptr;
        for (unsigned k = 0; k < n_sas; ++k) in = install(dp, sa::Direction::inbound, kSpiIn + k);
        const uint64_t pipeline = run(dp, templates, true);
        // Bare IPsec-MB on the same ciphertexts: one direct GCM decrypt per packet. (All the
        // bench's SAs share one key, so one SA's expanded key decrypts every packet.)
        const uint32_t esp_off = sizeof(rte_ether_hdr) + (g_outer6 ? 40 : 20) + 8;
        const uint64_t bare = run_bare(dp, templates, [&](rte_mbuf* m) {
            uint8_t* esp = rte_pktmbuf_mtod_offset(m, uint8_t*, esp_off);
            const uint32_t len = rte_pktmbuf_data_len(m) - esp_off - 8 - 8 - 16;
            uint8_t nonce[12], tag[16];
            std::memcpy(nonce, in->keys.salt, 4);
            std::memcpy(nonce + 4, esp + 8, 8);
            gcm_context_data ctx;
            IMB_AES128_GCM_DEC(dp.mgr, &in->keys.gcm, &ctx, esp + 16, esp + 16, len, nonce, esp, 8, tag, 16);
        });
        rs.add(pipeline, bare);
    }
    for (unsigned k = 0; k < n_sas; ++k) dp.shared.sas->remove(sa::Direction::inbound, kSpiIn + k);
    return rs.result(packets);
}

// Encap: LAN frames through rx_inside to ESP-in-UDP toward the peer.
// With n_sas > 1 the packets go to n_sas destinations in turn, each covered by its own SA.
Result bench_encap(StandaloneDatapath& dp, uint32_t size, uint32_t packets, unsigned rounds, unsigned n_sas) {
    std::vector<rte_mbuf*> built;
    for (uint32_t k = 0; k < packets; ++k)
        built.push_back(dp.inner_frame(size, espgw::testing::kLanHost, espgw::testing::kInner + k % n_sas));
    const Frames templates = frames_of(built);
    const sa::Sa* out = dp.shared.sas->find(sa::Direction::outbound, kSpiOut);
    Rounds rs;
    while (rs.more(rounds)) {
        const uint64_t pipeline = run(dp, templates, false);
        // Bare IPsec-MB: one direct GCM encrypt of the same payload (inner packet + trailer).
        const uint32_t plen = (size + 2 + 3) & ~3u;
        const uint64_t bare = run_bare(dp, templates, [&](rte_mbuf* m) {
            uint8_t* p = rte_pktmbuf_mtod_offset(m, uint8_t*, sizeof(rte_ether_hdr));
            uint8_t nonce[12] = {}, aad[8] = {}, tag[16];
            gcm_context_data ctx;
            IMB_AES128_GCM_ENC(dp.mgr, &out->keys.gcm, &ctx, p, p, std::min<uint32_t>(plen, size), nonce, aad, 8, tag, 16);
        });
        rs.add(pipeline, bare);
    }
    return rs.result(packets);
}

std::string cpu_model() {
    std::ifstream f("/proc/cpuinfo");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
    return "unknown CPU";
}

}  // namespace

int main(int argc, char** argv) {
    // 512 packets of up to 1.5 KB stay in L2, as a burst being forwarded does.
    uint32_t packets = 512;
    unsigned rounds = 200;
    std::vector<uint32_t> sizes = {64, 512, 1420};
    std::string only;
    unsigned n_sas = 1;
    for (int k = 1; k + 1 < argc; k += 2) {
        if (!strcmp(argv[k], "--packets")) packets = static_cast<uint32_t>(atoi(argv[k + 1]));
        if (!strcmp(argv[k], "--rounds")) rounds = static_cast<unsigned>(atoi(argv[k + 1])), Rounds::exact = true;
        if (!strcmp(argv[k], "--size")) sizes = {static_cast<uint32_t>(atoi(argv[k + 1]))};
        if (!strcmp(argv[k], "--only")) only = argv[k + 1];
        if (!strcmp(argv[k], "--sas")) n_sas = static_cast<unsigned>(std::clamp(atoi(argv[k + 1]), 1, 16));
        if (!strcmp(argv[k], "--outer6")) g_outer6 = atoi(argv[k + 1]) != 0;
    }
    const std::string prefix = "espgw-bench-" + std::to_string(getpid());
    // Over IPv6 the outer header is 20 bytes longer: 1400 is the largest of the three sizes
    // that still fits a 1500-byte MTU.
    if (g_outer6 && sizes.size() == 3) sizes[2] = 1400;
    const bool huge = access("/dev/hugepages", F_OK) == 0 && getenv("BENCH_HUGE");
    const char* lcore = getenv("BENCH_LCORE") ? getenv("BENCH_LCORE") : "1";
    std::vector<const char*> eal = {"bench", "--no-pci", "-l", lcore, "--no-telemetry", "--log-level", "lib.eal:error",
                                    "--file-prefix", prefix.c_str()};
    if (huge) {
        eal.push_back("--in-memory");
    } else {
        for (const char* a : {"--no-huge", "-m", "768", "--no-shconf"}) eal.push_back(a);
    }
    if (rte_eal_init(static_cast<int>(eal.size()), const_cast<char**>(eal.data())) < 0) return 1;
    {
        StandaloneDatapath dp(packets * 2 + 1023);
        if (g_outer6) dp.enable_public_v6();
        install(dp, sa::Direction::outbound, kSpiOut);
        for (unsigned k = 1; k < n_sas; ++k) {
            auto out = dp.make_sa(sa::Direction::outbound, kSpiOut + k, nullptr, g_outer6);
            out->params.remote_ts = net::Prefix::v4(espgw::testing::kInner + k, 32);
            std::string err;
            if (!dp.table().install(std::move(out), err)) return fprintf(stderr, "%s\n", err.c_str()), 1;
        }
        printf("espgw ESP benchmark: AES-128-GCM, ESP-in-UDP over %s, one core, %u packets, %u rounds, %s memory, "
               "%u SA%s\n", g_outer6 ? "IPv6" : "IPv4", packets, rounds, huge ? "hugepage" : "no-huge", n_sas,
               n_sas > 1 ? "s interleaved" : "");
        printf("CPU: %s, TSC %.3f GHz. TSC cycles per packet: best of the rounds; ratio: best to best, then\n"
               "the median of the per-round ratios (rounds alternate espgw and bare IPsec-MB on the same buffers).\n",
               cpu_model().c_str(), rte_get_tsc_hz() / 1e9);
        printf("%6s | %12s %10s %6s %6s | %12s %10s %6s %6s\n", "size", "decap espgw", "bare", "ratio", "median",
               "encap espgw", "bare", "ratio", "median");
        for (uint32_t size : sizes) {
            const Result d = only == "encap" ? Result{} : bench_decap(dp, size, packets, rounds, n_sas);
            const Result e = only == "decap" ? Result{} : bench_encap(dp, size, packets, rounds, n_sas);
            printf("%6u | %12.1f %10.1f %6.2f %6.2f | %12.1f %10.1f %6.2f %6.2f\n", size, d.pipeline, d.bare,
                   d.best_ratio, d.ratio, e.pipeline, e.bare, e.best_ratio, e.ratio);
        }
        fflush(stdout);
    }
    rte_eal_cleanup();
    return 0;
}
