// ESP data-plane benchmark: espgw's real receive and transmit pipelines (classification, SA
// lookup, anti-replay, crypto through IPsec-MB, checks, forwarding decision and Ethernet) on
// pre-built packets in memory, one core, no I/O. Beside each result: the bare IPsec-MB cost
// of the same buffers (precomputed keys, the library called directly) measured in the same
// run, and their ratio.
//
//   bench_esp [--cipher C[,C...]] [--size S[,S...]] [--sas K[,K...]] [--access seq|random]
//             [--only decap|encap] [--packets N] [--rounds R] [--outer6 1] [--json FILE]
//   (BENCH_HUGE=1: hugepage memory; BENCH_LCORE: the lcore, default 1)
//
// Ciphers: aes128-gcm (default), aes256-gcm, aes128-cbc-sha256 (HMAC-SHA-256-128),
// chacha20-poly1305, or "all". Sizes are inner IPv4 packet lengths: 64, 512, 1420 by
// default; "imix" is 7:4:1 of 64/576/1500 in a shuffled order (the public MTU is raised to
// 9000 so that a 1500-byte inner packet is not fragmented before encryption). --sas K puts
// K SAs in the table (K peers' inbound SAs for decap, K destinations' outbound SAs for
// encap) and spreads the packets over them: in turn (--access seq, the default) or at random
// (--access random: a concentrator's cache-miss worst case once K is large). --only runs one
// direction, which is what a profiler wants to see. --json writes every result.
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "espgw/crypto/cipher_suite.h"
#include "espgw/esp/esp_encap.h"
#include "support/standalone_datapath.h"

using namespace espgw;
using espgw::testing::StandaloneDatapath;

namespace {

constexpr uint32_t kSpiIn = 0x1000, kSpiOut = 0x40000000;
bool g_outer6 = false;  // --outer6: the peer is reached over IPv6
// The next sequence number each inbound SA expects (reset when the SAs are installed afresh).
std::vector<uint64_t> g_next_seq;

struct Suite {
    const char* name;
    crypto::Cipher cipher;
    crypto::Integrity integrity;
};
constexpr Suite kSuites[] = {
    {"aes128-gcm", crypto::Cipher::aes128_gcm, crypto::Integrity::none},
    {"aes256-gcm", crypto::Cipher::aes256_gcm, crypto::Integrity::none},
    {"aes128-cbc-sha256", crypto::Cipher::aes128_cbc, crypto::Integrity::hmac_sha256_128},
    {"chacha20-poly1305", crypto::Cipher::chacha20_poly1305, crypto::Integrity::none},
};

// Best cycles per packet of each and their ratio, and the median of the per-round ratios.
// Rounds alternate pipeline and bare runs, so both see the same machine. On a shared VM the
// machine itself changes for tens of milliseconds at a time (a busy sibling hyperthread slows
// scalar code more than the AES units), so the median takes one of two values from run to
// run, while the best rounds of both come from the quiet periods and their ratio holds still.
struct Result {
    double pipeline = 0, bare = 0, best_ratio = 0, ratio = 0;
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


// Fresh mbufs holding the frames, as an rx burst would hand them over (recently written).
std::vector<rte_mbuf*> copies(StandaloneDatapath& dp, const Frames& frames, size_t from, size_t n) {
    std::vector<rte_mbuf*> out;
    for (size_t k = from; k < from + n; ++k) {
        const auto& f = frames[k];
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
        std::vector<rte_mbuf*> ms = copies(dp, frames, k, n);
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
        fprintf(stderr, "%s: %zu of %zu packets forwarded; dropped:", decap ? "decap" : "encap", sent, frames.size());
        for (unsigned r = 0; r < dp::kRoles; ++r)
            for (unsigned why = 0; why < dp::kDropReasons; ++why)
                if (dp.counters.drops[r][why])
                    fprintf(stderr, " %s %llu", std::string(dp::drop_name(static_cast<dp::Drop>(why))).c_str(),
                            static_cast<unsigned long long>(dp.counters.drops[r][why]));
        fprintf(stderr, "\n");
        exit(1);
    }
    return cycles;
}

// --- Bare IPsec-MB on the same buffers --------------------------------------------------------

// What one packet asks of the library: the ESP header (AAD, or the start of what HMAC covers),
// the IV in the packet, the payload to en- or decrypt, and where the ICV goes.
struct Region {
    uint8_t* esp;
    uint8_t* iv;
    uint8_t* payload;
    uint32_t payload_len;
};

// The whole burst through IPsec-MB: GCM by its direct API (as espgw calls it), the others as
// jobs submitted together and flushed (as espgw submits them). All SAs share keys in this
// benchmark, so one SA's expanded keys serve every packet.
void bare_burst(IMB_MGR* mgr, const sa::Sa& sa, const std::vector<Region>& rs, bool decrypt) {
    const crypto::SaKeys& k = sa.keys;
    alignas(16) uint8_t tag[32];
    if (k.cipher == crypto::Cipher::aes128_gcm || k.cipher == crypto::Cipher::aes256_gcm) {
        for (const Region& r : rs) {
            uint8_t nonce[12];
            std::memcpy(nonce, k.salt, 4);
            std::memcpy(nonce + 4, r.iv, 8);
            gcm_context_data ctx;
            const bool g128 = k.cipher == crypto::Cipher::aes128_gcm;
            if (decrypt && g128)
                IMB_AES128_GCM_DEC(mgr, &k.gcm, &ctx, r.payload, r.payload, r.payload_len, nonce, r.esp, 8, tag, 16);
            else if (decrypt)
                IMB_AES256_GCM_DEC(mgr, &k.gcm, &ctx, r.payload, r.payload, r.payload_len, nonce, r.esp, 8, tag, 16);
            else if (g128)
                IMB_AES128_GCM_ENC(mgr, &k.gcm, &ctx, r.payload, r.payload, r.payload_len, nonce, r.esp, 8, tag, 16);
            else
                IMB_AES256_GCM_ENC(mgr, &k.gcm, &ctx, r.payload, r.payload, r.payload_len, nonce, r.esp, 8, tag, 16);
        }
        return;
    }
    alignas(16) uint8_t nonces[dp::kBurst][12];
    unsigned j = 0;
    for (const Region& r : rs) {
        IMB_JOB* job = IMB_GET_NEXT_JOB(mgr);
        job->cipher_direction = decrypt ? IMB_DIR_DECRYPT : IMB_DIR_ENCRYPT;
        job->chain_order = decrypt ? IMB_ORDER_HASH_CIPHER : IMB_ORDER_CIPHER_HASH;
        job->src = r.esp;
        job->dst = r.payload;
        job->cipher_start_src_offset_in_bytes = static_cast<uint64_t>(r.payload - r.esp);
        job->msg_len_to_cipher_in_bytes = r.payload_len;
        job->auth_tag_output = tag;
        job->auth_tag_output_len_in_bytes = k.info.icv_len;
        if (k.cipher == crypto::Cipher::chacha20_poly1305) {
            std::memcpy(nonces[j], k.salt, 4);
            std::memcpy(nonces[j] + 4, r.iv, 8);
            job->cipher_mode = IMB_CIPHER_CHACHA20_POLY1305;
            job->hash_alg = IMB_AUTH_CHACHA20_POLY1305;
            job->enc_keys = job->dec_keys = k.chacha_key;
            job->key_len_in_bytes = 32;
            job->iv = nonces[j];
            job->iv_len_in_bytes = 12;
            job->hash_start_src_offset_in_bytes = job->cipher_start_src_offset_in_bytes;
            job->msg_len_to_hash_in_bytes = r.payload_len;
            job->u.CHACHA20_POLY1305.aad = r.esp;
            job->u.CHACHA20_POLY1305.aad_len_in_bytes = 8;
        } else {
            job->cipher_mode = IMB_CIPHER_CBC;
            job->hash_alg = IMB_AUTH_HMAC_SHA_256;
            job->enc_keys = k.aes_enc;
            job->dec_keys = k.aes_dec;
            job->key_len_in_bytes = k.info.key_len;
            job->iv = r.iv;
            job->iv_len_in_bytes = 16;
            job->hash_start_src_offset_in_bytes = 0;
            job->msg_len_to_hash_in_bytes = static_cast<uint64_t>(r.payload - r.esp) + r.payload_len;
            job->u.HMAC._hashed_auth_key_xor_ipad = k.hmac_ipad;
            job->u.HMAC._hashed_auth_key_xor_opad = k.hmac_opad;
        }
        IMB_SUBMIT_JOB(mgr);
        j = (j + 1) % dp::kBurst;
    }
    while (IMB_FLUSH_JOB(mgr) != nullptr) {
    }
}

// Times bare_burst over fresh copies of the frames, burst by burst; region(m) says what a
// packet asks for.
template <typename RegionOf>
uint64_t run_bare(StandaloneDatapath& dp, const sa::Sa& sa, const Frames& frames, bool decrypt, RegionOf region) {
    uint64_t cycles = 0;
    std::vector<Region> rs;
    for (size_t k = 0; k < frames.size(); k += dp::kBurst) {
        const size_t n = std::min<size_t>(dp::kBurst, frames.size() - k);
        std::vector<rte_mbuf*> ms = copies(dp, frames, k, n);
        rs.clear();
        for (rte_mbuf* m : ms) rs.push_back(region(m));
        const uint64_t t0 = rte_rdtsc_precise();
        bare_burst(dp.mgr, sa, rs, decrypt);
        cycles += rte_rdtsc_precise() - t0;
        for (rte_mbuf* m : ms) rte_pktmbuf_free(m);
    }
    return cycles;
}

// --- The cases ------------------------------------------------------------------------------

// Inner packet lengths for one round: all `size`, or IMIX (7:4:1 of 64/576/1500, shuffled).
std::vector<uint32_t> lengths(uint32_t size, uint32_t packets) {
    std::vector<uint32_t> v;
    static constexpr uint32_t kImix[12] = {64, 64, 64, 64, 64, 64, 64, 576, 576, 576, 576, 1500};
    for (uint32_t k = 0; k < packets; ++k) v.push_back(size ? size : kImix[k % 12]);
    if (!size) std::shuffle(v.begin(), v.end(), std::mt19937(7));
    return v;
}

// Which of the K SAs each packet goes to.
std::vector<uint32_t> picks(uint32_t packets, uint32_t n_sas, bool random, std::mt19937& rng) {
    std::vector<uint32_t> v;
    std::uniform_int_distribution<uint32_t> any(0, n_sas - 1);
    for (uint32_t k = 0; k < packets; ++k) v.push_back(random ? any(rng) : k % n_sas);
    return v;
}

struct Case {
    const Suite* suite;
    uint32_t size;  // 0: IMIX
    uint32_t n_sas;
    bool random;
    uint32_t packets;
    unsigned rounds;
};

// Decap: ESP-in-UDP frames as K peers would send them (one peer-side SA playing each in
// turn, with each SA's own next sequence number), sealed afresh each round outside the
// timing, through rx_public.
Result bench_decap(StandaloneDatapath& dp, const Case& c) {
    auto peer = dp.make_sa(sa::Direction::outbound, kSpiIn, nullptr, g_outer6);
    const std::vector<uint32_t> lens = lengths(c.size, c.packets);
    const crypto::SuiteInfo info = crypto::suite_info(c.suite->cipher, c.suite->integrity);
    const uint32_t esp_off = sizeof(rte_ether_hdr) + (g_outer6 ? 40 : 20) + 8;
    const sa::Sa* any_in = dp.table().find(sa::Direction::inbound, kSpiIn);
    std::mt19937 rng(1);
    Rounds rs;
    while (rs.more(c.rounds)) {
        const std::vector<uint32_t> to = picks(c.packets, c.n_sas, c.random, rng);
        std::vector<rte_mbuf*> built;
        for (uint32_t k = 0; k < c.packets; ++k) {
            peer->params.spi = kSpiIn + to[k];
            peer->seq_out.store(g_next_seq[to[k]]++, std::memory_order_relaxed);
            built.push_back(dp.esp_frame(*peer, lens[k]));
        }
        const Frames frames = espgw::testing::take_bytes(built);
        const uint64_t pipeline = run(dp, frames, true);
        const uint64_t bare = run_bare(dp, *any_in, frames, true, [&](rte_mbuf* m) {
            uint8_t* esp = rte_pktmbuf_mtod_offset(m, uint8_t*, esp_off);
            const uint32_t len = rte_pktmbuf_data_len(m) - esp_off;
            return Region{esp, esp + 8, esp + 8 + info.iv_len, len - 8 - info.iv_len - info.icv_len};
        });
        rs.add(pipeline, bare);
    }
    return rs.result(c.packets);
}

// Encap: LAN frames through rx_inside to ESP-in-UDP toward K destinations' SAs. The bare
// baseline encrypts (and for CBC authenticates) as many bytes as ESP would: the inner packet
// and its trailer padded to the block, behind room for the ESP header and IV.
Result bench_encap(StandaloneDatapath& dp, const Case& c) {
    const std::vector<uint32_t> lens = lengths(c.size, c.packets);
    const crypto::SuiteInfo info = crypto::suite_info(c.suite->cipher, c.suite->integrity);
    const sa::Sa* any_out = dp.table().find(sa::Direction::outbound, kSpiOut);
    std::mt19937 rng(2);
    Rounds rs;
    while (rs.more(c.rounds)) {
        const std::vector<uint32_t> to = picks(c.packets, c.n_sas, c.random, rng);
        std::vector<rte_mbuf*> built;
        for (uint32_t k = 0; k < c.packets; ++k)
            built.push_back(dp.inner_frame(lens[k], espgw::testing::kLanHost, espgw::testing::kInner + to[k]));
        const Frames frames = espgw::testing::take_bytes(built);
        const uint64_t pipeline = run(dp, frames, false);
        const uint64_t bare = run_bare(dp, *any_out, frames, false, [&](rte_mbuf* m) {
            const uint32_t inner = rte_pktmbuf_data_len(m) - sizeof(rte_ether_hdr);
            const uint32_t block = std::max<uint32_t>(info.block_len, 4);
            const uint32_t plen = (inner + 2 + block - 1) / block * block;
            uint8_t* esp = rte_pktmbuf_mtod(m, uint8_t*);  // the mbuf's tailroom takes what passes the frame
            return Region{esp, esp + 8, esp + 8 + info.iv_len, plen};
        });
        rs.add(pipeline, bare);
    }
    return rs.result(c.packets);
}

// The SA table for one suite and K SAs of one direction (the other direction's are removed:
// a million SAs of both at once would double the memory for nothing measured).
void install_sas(StandaloneDatapath& dp, const Suite& s, sa::Direction dir, uint32_t n_sas) {
    dp.cipher = s.cipher;
    dp.integrity = s.integrity;
    for (sa::Direction d : {sa::Direction::inbound, sa::Direction::outbound}) {
        std::vector<uint32_t> spis;
        dp.table().for_each([&](sa::Sa& sa) {
            if (sa.params.direction == d) spis.push_back(sa.params.spi);
        });
        for (uint32_t spi : spis) dp.table().remove(d, spi);
    }
    g_next_seq.assign(n_sas, 0);
    std::string err;
    for (uint32_t k = 0; k < n_sas; ++k) {
        std::unique_ptr<sa::Sa> sa;
        if (dir == sa::Direction::inbound) {
            sa = dp.make_sa(dir, kSpiIn + k, nullptr, g_outer6);
        } else {
            sa = dp.make_sa(dir, kSpiOut + k, nullptr, g_outer6);
            sa->params.remote_ts = net::Prefix::v4(espgw::testing::kInner + k, 32);
        }
        if (!dp.table().install(std::move(sa), err)) {
            fprintf(stderr, "installing SA %u of %u: %s\n", k, n_sas, err.c_str());
            exit(1);
        }
    }
}

std::string cpu_model() {
    std::ifstream f("/proc/cpuinfo");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
    return "unknown CPU";
}

std::vector<std::string> split(const std::string& s) {
    std::vector<std::string> out;
    std::stringstream in(s);
    for (std::string item; std::getline(in, item, ',');) out.push_back(item);
    return out;
}

std::string size_name(uint32_t size) { return size ? std::to_string(size) : "imix"; }

}  // namespace

int main(int argc, char** argv) {
    // 512 packets of up to 1.5 KB stay in L2, as a burst being forwarded does.
    uint32_t packets = 512;
    unsigned rounds = 200;
    std::vector<uint32_t> sizes = {64, 512, 1420};
    std::vector<const Suite*> suites = {&kSuites[0]};
    std::vector<uint32_t> sa_counts = {1};
    bool random = false;
    std::string only, json;
    for (int k = 1; k + 1 < argc; k += 2) {
        const std::string a = argv[k], v = argv[k + 1];
        if (a == "--packets") packets = static_cast<uint32_t>(std::stoul(v));
        else if (a == "--rounds") rounds = static_cast<unsigned>(std::stoul(v)), Rounds::exact = true;
        else if (a == "--only") only = v;
        else if (a == "--outer6") g_outer6 = v != "0";
        else if (a == "--access") random = v == "random";
        else if (a == "--json") json = v;
        else if (a == "--size") {
            sizes.clear();
            for (const std::string& s : split(v)) sizes.push_back(s == "imix" ? 0 : static_cast<uint32_t>(std::stoul(s)));
        } else if (a == "--sas") {
            sa_counts.clear();
            for (const std::string& s : split(v)) sa_counts.push_back(std::clamp<uint32_t>(static_cast<uint32_t>(std::stoul(s)), 1, 1u << 20));
        } else if (a == "--cipher") {
            suites.clear();
            for (const std::string& s : split(v))
                for (const Suite& su : kSuites)
                    if (s == "all" || s == su.name) suites.push_back(&su);
            if (suites.empty()) return fprintf(stderr, "unknown cipher %s\n", v.c_str()), 1;
        } else {
            return fprintf(stderr, "unknown option %s\n", a.c_str()), 1;
        }
    }
    const uint32_t max_sas = *std::max_element(sa_counts.begin(), sa_counts.end());
    const std::string prefix = "espgw-bench-" + std::to_string(getpid());
    // Over IPv6 the outer header is 20 bytes longer: 1400 is the largest that fits 1500 bytes.
    if (g_outer6) std::replace(sizes.begin(), sizes.end(), 1420u, 1400u);
    const bool huge = access("/dev/hugepages", F_OK) == 0 && getenv("BENCH_HUGE");
    const char* lcore = getenv("BENCH_LCORE") ? getenv("BENCH_LCORE") : "1";
    // The SA table's LPM takes 64 MB + 1 KB per SA of capacity.
    const std::string mem = std::to_string(768 + max_sas / 512);
    std::vector<const char*> eal = {"bench", "--no-pci", "-l", lcore, "--no-telemetry", "--log-level", "lib.eal:error",
                                    "--file-prefix", prefix.c_str()};
    if (huge) {
        eal.push_back("--in-memory");
    } else {
        for (const char* a : {"--no-huge", "-m", mem.c_str(), "--no-shconf"}) eal.push_back(a);
    }
    if (rte_eal_init(static_cast<int>(eal.size()), const_cast<char**>(eal.data())) < 0) return 1;
    espgw::sa::Sa::set_workers(1);  // SAs with counters for one worker, as the gateway this measures
    std::string rows;
    {
        StandaloneDatapath dp(packets * 2 + 1023, std::max<uint32_t>(max_sas, 64));
        if (g_outer6) dp.enable_public_v6();
        dp.shared.public_mtu = 9000;  // IMIX's 1500-byte packets go whole, as on a jumbo uplink
        printf("espgw ESP benchmark: ESP-in-UDP over %s, one core, %u packets per round, %s memory, SAs accessed %s\n",
               g_outer6 ? "IPv6" : "IPv4", packets, huge ? "hugepage" : "no-huge", random ? "at random" : "in turn");
        printf("CPU: %s, TSC %.3f GHz. TSC cycles per packet: best of the rounds; ratio: best to best, then\n"
               "the median of the per-round ratios (rounds alternate espgw and bare IPsec-MB on the same buffers).\n",
               cpu_model().c_str(), rte_get_tsc_hz() / 1e9);
        printf("%-18s %8s %5s | %12s %10s %6s %6s | %12s %10s %6s %6s\n", "cipher", "SAs", "size", "decap espgw",
               "bare", "ratio", "median", "encap espgw", "bare", "ratio", "median");
        for (const Suite* s : suites)
            for (uint32_t n : sa_counts) {
                std::vector<Result> dec(sizes.size()), enc(sizes.size());
                if (only != "encap") {
                    install_sas(dp, *s, sa::Direction::inbound, n);
                    for (size_t k = 0; k < sizes.size(); ++k) dec[k] = bench_decap(dp, {s, sizes[k], n, random, packets, rounds});
                }
                if (only != "decap") {
                    install_sas(dp, *s, sa::Direction::outbound, n);
                    for (size_t k = 0; k < sizes.size(); ++k) enc[k] = bench_encap(dp, {s, sizes[k], n, random, packets, rounds});
                }
                for (size_t k = 0; k < sizes.size(); ++k) {
                    const Result& d = dec[k];
                    const Result& e = enc[k];
                    printf("%-18s %8u %5s | %12.1f %10.1f %6.2f %6.2f | %12.1f %10.1f %6.2f %6.2f\n", s->name, n,
                           size_name(sizes[k]).c_str(), d.pipeline, d.bare, d.best_ratio, d.ratio, e.pipeline, e.bare,
                           e.best_ratio, e.ratio);
                    fflush(stdout);
                    char row[512];
                    snprintf(row, sizeof row,
                             "%s\n  {\"cipher\": \"%s\", \"sas\": %u, \"access\": \"%s\", \"size\": \"%s\", "
                             "\"decap\": {\"espgw\": %.1f, \"bare\": %.1f, \"ratio\": %.3f, \"median\": %.3f}, "
                             "\"encap\": {\"espgw\": %.1f, \"bare\": %.1f, \"ratio\": %.3f, \"median\": %.3f}}",
                             rows.empty() ? "" : ",", s->name, n, random ? "random" : "seq", size_name(sizes[k]).c_str(),
                             d.pipeline, d.bare, d.best_ratio, d.ratio, e.pipeline, e.bare, e.best_ratio, e.ratio);
                    rows += row;
                }
            }
    }
    if (!json.empty()) {
        std::ofstream f(json);
        f << "{\"cpu\": \"" << cpu_model() << "\", \"tsc_ghz\": " << rte_get_tsc_hz() / 1e9 << ", \"memory\": \""
          << (huge ? "hugepage" : "no-huge") << "\", \"outer\": \"" << (g_outer6 ? "ipv6" : "ipv4")
          << "\", \"packets_per_round\": " << packets << ", \"results\": [" << rows << "\n]}\n";
    }
    rte_eal_cleanup();
    return 0;
}
