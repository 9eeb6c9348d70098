// What it costs two workers to share one SA, measured on the worker pipeline in memory.
//
//   bench_shared_sa [--size S[,S...]] [--packets N] [--json FILE]
//   (needs two lcores: it runs on lcores 0 and 1)
//
// With RSS a NIC spreads flows over workers. A NAT-T peer's ESP is one outer 5-tuple, so its
// inbound SA stays on one worker; but the LAN traffic toward one peer is many inner flows, so
// several workers encrypt on one outbound SA at once and share its sequence number and
// counters; and plain ESP hashed without the SPI (or one peer's many SAs) can put one inbound
// SA's packets on several workers, which then share its replay window. Each case runs three
// ways, rounds alternating, on the same machine: one worker alone; two workers, each on its
// own SA; two workers on the same SA (decap: the SA's packets dealt out in turn, the worst
// case for the replay window's shared cache lines). The table gives each worker's cycles per
// packet (best round, TSC) and what sharing adds over separate SAs.
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "espgw/dp/datapath.h"
#include "support/standalone_datapath.h"

using namespace espgw;
using espgw::testing::ExtraWorker;
using espgw::testing::StandaloneDatapath;

namespace {

constexpr uint32_t kSpiA = 0x1000, kSpiB = 0x1001;  // inbound
constexpr uint32_t kSpiOutA = 0x40000000, kSpiOutB = 0x40000001;

using Frames = std::vector<std::vector<uint8_t>>;


// One worker's share of a round: its frames, and after the round its cycles and output.
struct Lane {
    dp::Worker* w = nullptr;
    rte_mempool* pool = nullptr;
    const Frames* frames = nullptr;
    bool decap = true;
    std::atomic<int>* start = nullptr;
    uint64_t cycles = 0;
};

// As perf/bench_esp's run(): bursts of fresh copies, only the pipeline timed.
int run_lane(void* arg) {
    Lane& l = *static_cast<Lane*>(arg);
    const unsigned role = l.decap ? dp::kProtected : dp::kPublic;
    l.start->fetch_add(1);
    while (l.start->load() < 2) {
    }
    l.cycles = 0;
    const Frames& fr = *l.frames;
    rte_mbuf* ms[dp::kBurst];
    for (size_t k = 0; k < fr.size(); k += dp::kBurst) {
        const uint16_t n = uint16_t(std::min<size_t>(dp::kBurst, fr.size() - k));
        if (rte_pktmbuf_alloc_bulk(l.pool, ms, n) != 0) return -1;
        for (uint16_t j = 0; j < n; ++j)
            std::memcpy(rte_pktmbuf_append(ms[j], uint16_t(fr[k + j].size())), fr[k + j].data(), fr[k + j].size());
        const uint64_t t0 = rte_rdtsc_precise();
        l.w->now = t0;
        if (l.decap)
            dp::rx_public(*l.w, ms, n);
        else
            dp::rx_inside(*l.w, dp::kProtected, ms, n);
        l.w->flush(*l.w, role);
        l.cycles += rte_rdtsc_precise() - t0;
    }
    return 0;
}

enum class Mode { alone, separate, shared };

struct Best {
    std::vector<double> w0, w1;
    double best0() const { return *std::min_element(w0.begin(), w0.end()); }
    double best1() const { return w1.empty() ? 0 : *std::min_element(w1.begin(), w1.end()); }
};

std::vector<std::string> split(const std::string& s) {
    std::vector<std::string> out;
    std::stringstream in(s);
    for (std::string item; std::getline(in, item, ',');) out.push_back(item);
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    uint32_t packets = 512;
    std::vector<uint32_t> sizes = {64, 1420};
    std::string json;
    for (int k = 1; k + 1 < argc; k += 2) {
        const std::string a = argv[k], v = argv[k + 1];
        if (a == "--packets") packets = uint32_t(std::stoul(v));
        else if (a == "--json") json = v;
        else if (a == "--size") {
            sizes.clear();
            for (const std::string& s : split(v)) sizes.push_back(uint32_t(std::stoul(s)));
        } else return fprintf(stderr, "unknown option %s\n", a.c_str()), 1;
    }
    const std::string prefix = "espgw-shared-" + std::to_string(getpid());
    std::vector<const char*> eal = {"bench", "--no-pci", "-l", "0,1", "--no-telemetry", "--log-level", "lib.eal:error",
                                    "--file-prefix", prefix.c_str(), "--no-huge", "-m", "512", "--no-shconf"};
    if (rte_eal_init(int(eal.size()), const_cast<char**>(eal.data())) < 0) return 1;
    espgw::sa::Sa::set_workers(2);  // SAs with counters for two workers
    if (rte_lcore_count() < 2) return fprintf(stderr, "needs two lcores\n"), 1;
    const unsigned other = rte_get_next_lcore(rte_lcore_id(), 1, 0);
    std::string rows;
    {
        StandaloneDatapath dp(packets * 4 + 2047, 64);
        dp.shared.public_mtu = 9000;
        dp.replay_window = 32768;  // two workers may be up to a round apart on a shared SA
        ExtraWorker second(dp, 1);
        // Inbound A and B; outbound A (to kInner) and B (to kInner + 1); the peer's side of A and B.
        dp.install(sa::Direction::inbound, kSpiA);
        dp.install(sa::Direction::inbound, kSpiB);
        std::string err;
        for (uint32_t k = 0; k < 2; ++k) {
            auto sa = dp.make_sa(sa::Direction::outbound, kSpiOutA + k, nullptr, false, dp.gw_peer());
            sa->params.remote_ts = net::Prefix::v4(espgw::testing::kInner + k, 32);
            if (!dp.table().install(std::move(sa), err)) return fprintf(stderr, "%s\n", err.c_str()), 1;
        }
        auto peer_a = dp.make_sa(sa::Direction::outbound, kSpiA);
        auto peer_b = dp.make_sa(sa::Direction::outbound, kSpiB);
        uint32_t seq_a = 0, seq_b = 0;

        printf("espgw: two workers on one SA against each on its own, AES-128-GCM, ESP in UDP over IPv4,\n"
               "%u packets per worker per round, lcores %u and %u, TSC %.3f GHz. Cycles per packet, best round.\n",
               packets, rte_lcore_id(), other, rte_get_tsc_hz() / 1e9);
        printf("%-6s %5s | %8s | %8s %8s | %8s %8s | %8s\n", "dir", "size", "alone", "sep w0", "sep w1", "shared w0",
               "shared w1", "shared/sep");
        for (bool decap : {true, false})
            for (uint32_t size : sizes) {
                Best best[3];
                uint64_t drops_before = 0;
                for (unsigned r = 0; r < dp::kRoles; ++r)
                    for (unsigned why = 0; why < dp::kDropReasons; ++why)
                        drops_before += dp.counters.drops[r][why] + second.counters.drops[r][why];
                const uint64_t t_end = rte_rdtsc() + rte_get_tsc_hz() * 3 / 2;
                for (unsigned round = 0; round < 50 || rte_rdtsc() < t_end; ++round)
                    for (Mode mode : {Mode::alone, Mode::separate, Mode::shared}) {
                        // The frames of each worker, built outside the timing.
                        std::vector<rte_mbuf*> b0, b1;
                        for (uint32_t k = 0; k < packets; ++k) {
                            if (decap) {
                                // Shared: A's packets dealt out in turn; separate: A to one, B to the other.
                                peer_a->seq_out.store(seq_a++, std::memory_order_relaxed);
                                b0.push_back(dp.esp_frame(*peer_a, size));
                                if (mode == Mode::alone) continue;
                                sa::Sa& p1 = mode == Mode::shared ? *peer_a : *peer_b;
                                p1.seq_out.store(mode == Mode::shared ? seq_a++ : seq_b++, std::memory_order_relaxed);
                                b1.push_back(dp.esp_frame(p1, size));
                            } else {
                                using espgw::testing::kInner;
                                using espgw::testing::kLanHost;
                                b0.push_back(dp.inner_frame(size, kLanHost, kInner));
                                if (mode != Mode::alone)
                                    b1.push_back(dp.inner_frame(size, kLanHost, mode == Mode::shared ? kInner : kInner + 1));
                            }
                        }
                        const Frames f0 = espgw::testing::take_bytes(b0), f1 = espgw::testing::take_bytes(b1);
                        std::atomic<int> start{mode == Mode::alone ? 1 : 0};
                        Lane l0{&dp.worker, dp.shared.pool, &f0, decap, &start};
                        Lane l1{&second.worker, dp.shared.pool, &f1, decap, &start};
                        if (mode != Mode::alone) rte_eal_remote_launch(run_lane, &l1, other);
                        run_lane(&l0);
                        if (mode != Mode::alone) rte_eal_wait_lcore(other);
                        const unsigned role = decap ? dp::kProtected : dp::kPublic;
                        for (rte_mbuf* m : dp.take(role)) rte_pktmbuf_free(m);
                        for (rte_mbuf* m : second.take(role)) rte_pktmbuf_free(m);
                        Best& bm = best[int(mode)];
                        bm.w0.push_back(double(l0.cycles) / packets);
                        if (mode != Mode::alone) bm.w1.push_back(double(l1.cycles) / packets);
                    }
                uint64_t drops = 0;
                for (unsigned r = 0; r < dp::kRoles; ++r)
                    for (unsigned why = 0; why < dp::kDropReasons; ++why)
                        drops += dp.counters.drops[r][why] + second.counters.drops[r][why];
                drops -= drops_before;
                const double sep = (best[1].best0() + best[1].best1()) / 2;
                const double shr = (best[2].best0() + best[2].best1()) / 2;
                printf("%-6s %5u | %8.1f | %8.1f %8.1f | %8.1f %8.1f | %8.2f%s\n", decap ? "decap" : "encap", size,
                       best[0].best0(), best[1].best0(), best[1].best1(), best[2].best0(), best[2].best1(), shr / sep,
                       drops ? (" (" + std::to_string(drops) + " dropped)").c_str() : "");
                fflush(stdout);
                char row[400];
                snprintf(row, sizeof row,
                         "%s\n  {\"direction\": \"%s\", \"size\": %u, \"alone\": %.1f, \"separate\": [%.1f, %.1f], "
                         "\"shared\": [%.1f, %.1f], \"shared_over_separate\": %.3f, \"dropped\": %llu}",
                         rows.empty() ? "" : ",", decap ? "decap" : "encap", size, best[0].best0(), best[1].best0(),
                         best[1].best1(), best[2].best0(), best[2].best1(), shr / sep, (unsigned long long)drops);
                rows += row;
            }
    }
    if (!json.empty()) {
        std::ofstream f(json);
        f << "{\"tsc_ghz\": " << rte_get_tsc_hz() / 1e9 << ", \"packets_per_round\": " << packets << ", \"results\": ["
          << rows << "\n]}\n";
    }
    rte_eal_cleanup();
    return 0;
}
