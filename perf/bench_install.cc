// SA install benchmark: how long a concentrator takes to install N road warriors' SA pairs
// (inbound + outbound, AES-128-GCM, a /32 remote selector each, one peer each) through
// control::IpsecApi, the call IKE and the static config both use, into a table sized
// max_sas = N. Prints the total per N and the time of the first and the last tenth, whose
// ratio shows whether an install's cost grows with the table (it should stay near 1).
//
//   bench_install [--pairs N[,N...]] [--v6 1]     (default 10000,50000,100000; --v6: /128s)
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "espgw/control/ipsec_api.h"
#include "espgw/crypto/sa_keys.h"

using namespace espgw;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Road warrior k's inner address: from 10.64.0.1 on, each in a /24 of its own
// (the LPM's worst case: a tbl8 group per selector), or 2001:db8:ff::/96 + k for IPv6.
net::Prefix remote_of(uint32_t k, bool v6) {
    if (!v6) return net::Prefix::v4(0x0a400000 + (k << 8) + 1, 32);
    uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0xff};
    a[12] = static_cast<uint8_t>(k >> 24), a[13] = static_cast<uint8_t>(k >> 16);
    a[14] = static_cast<uint8_t>(k >> 8), a[15] = static_cast<uint8_t>(k);
    return net::Prefix::v6(a, 128);
}

sa::SaSpec spec_of(uint32_t k, sa::Direction dir, uint32_t spi, bool v6) {
    sa::SaSpec s;
    s.params.name = "rw" + std::to_string(k);
    s.params.spi = spi;
    s.params.direction = dir;
    s.params.local_addr = 0xc0000201;
    if (v6) {
        uint8_t lan[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1};
        s.params.local_ts = net::Prefix::v6(lan, 64);
    } else {
        s.params.local_ts = net::Prefix::v4(0x0a010000, 16);
    }
    s.params.remote_ts = remote_of(k, v6);
    s.cipher = crypto::Cipher::aes128_gcm;
    s.integrity = crypto::Integrity::none;
    s.key.assign(20, static_cast<uint8_t>(k));
    return s;
}

// Installs n pairs into a fresh table; false on the first refusal.
bool run(uint32_t n, bool v6, IMB_MGR* mgr) {
    const size_t rcu_size = rte_rcu_qsbr_get_memsize(1);
    auto* rcu = static_cast<rte_rcu_qsbr*>(rte_zmalloc(nullptr, rcu_size, 64));
    rte_rcu_qsbr_init(rcu, 1);
    bool ok = true;
    {
        const auto t_table = Clock::now();
        sa::SaTable table(n, rcu, 0);
        const double table_s = seconds_since(t_table);
        control::PeerTable peers;
        control::IpsecApi api(table, peers, mgr, rte_get_tsc_hz(), [](const control::SaEvent&) {});
        const uint32_t tenth = n / 10 ? n / 10 : 1;
        double first = 0, last = 0;
        const auto t0 = Clock::now();
        auto t_chunk = t0;
        for (uint32_t k = 0; k < n && ok; ++k) {
            sa::PeerInit init;
            init.id = k + 1;
            init.name = "rw" + std::to_string(k);
            init.endpoint = {0xc6336400 + k, 4500, true};  // behind NATs in 198.51.100.0/22 and on
            peers.add(init);
            std::string err;
            const uint32_t spi_in = api.alloc_spi();
            ok = api.add_sa(spec_of(k, sa::Direction::inbound, spi_in, v6), k + 1, rte_rdtsc(), err) &&
                 api.add_sa(spec_of(k, sa::Direction::outbound, 0x10000000 + k, v6), k + 1, rte_rdtsc(), err);
            if (!ok) fprintf(stderr, "pair %u refused: %s\n", k, err.c_str());
            if ((k + 1) % tenth == 0) {
                if (k + 1 == tenth) first = seconds_since(t_chunk);
                last = seconds_since(t_chunk);
                t_chunk = Clock::now();
            }
        }
        const double total = seconds_since(t0);
        // Every selector must lead to its SA, or the numbers would flatter a broken table.
        for (uint32_t k = 0; k < n && ok; ++k) {
            const net::Prefix r = remote_of(k, v6);
            const sa::Sa* sa = v6 ? table.lookup_outbound_v6(r.addr.b) : table.lookup_outbound_v4(r.v4_host());
            if (!sa || sa->params.spi != 0x10000000 + k) {
                fprintf(stderr, "selector %s does not lead to its SA\n", r.str().c_str());
                ok = false;
            }
        }
        if (ok)
            printf("%7u pairs (%s): %7.2f s  (%6.0f pairs/s; first tenth %.3f s, last tenth %.3f s; table made in %.2f s)\n",
                   n, v6 ? "IPv6 /128" : "IPv4 /32", total, n / total, first, last, table_s);
        // And all of them deleted again, outbound first (as hard lifetimes would), newest first.
        const auto t_del = Clock::now();
        for (uint32_t k = n; k-- > 0 && ok;) ok = api.delete_sa(sa::Direction::outbound, 0x10000000 + k);
        const double del_s = seconds_since(t_del);
        if (ok) printf("%7u outbound SAs deleted in %.2f s\n", n, del_s);
        fflush(stdout);
    }
    rte_free(rcu);
    return ok;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<uint32_t> sizes = {10000, 50000, 100000};
    bool v6 = false;
    for (int k = 1; k + 1 < argc; k += 2) {
        if (!strcmp(argv[k], "--v6")) v6 = atoi(argv[k + 1]) != 0;
        if (!strcmp(argv[k], "--pairs")) {
            sizes.clear();
            for (const char* p = argv[k + 1]; *p;) {
                char* end;
                sizes.push_back(static_cast<uint32_t>(strtoul(p, &end, 10)));
                p = *end == ',' ? end + 1 : end;
            }
        }
    }
    const std::string prefix = "espgw-bench-install-" + std::to_string(getpid());
    // The tables for 100 000 SAs: IPv4 LPM 64 MB + 100 MB of tbl8 groups, IPv6 two copies of
    // 64 MB + 200 MB; SAs themselves are ordinary heap memory.
    const char* eal[] = {"bench", "--no-pci", "--no-huge", "-m", v6 ? "1536" : "768", "--no-shconf", "-l", "0",
                         "--no-telemetry", "--log-level", "lib.eal:error", "--file-prefix", prefix.c_str()};
    if (rte_eal_init(static_cast<int>(std::size(eal)), const_cast<char**>(eal)) < 0) return 1;
    IMB_MGR* mgr = crypto::make_mb_mgr();
    printf("espgw SA install benchmark: SA pairs through IpsecApi into a table of max_sas = pairs\n");
    int rc = 0;
    for (uint32_t n : sizes)
        if (!run(n, v6, mgr)) rc = 1;
    crypto::release_mb_mgr(mgr);
    rte_eal_cleanup();
    const std::string dir = "/var/run/dpdk/" + prefix;
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);  // EAL leaves its runtime directory even with --no-shconf
    return rc;
}
