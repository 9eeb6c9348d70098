// ESP data-plane benchmark: espgw's real receive and transmit pipelines (classification, SA
// lookup, anti-replay, AES-128-GCM through IPsec-MB, checks, forwarding decision and Ethernet)
// on pre-built packets in memory, one core, no I/O. Beside each result: the bare IPsec-MB
// cost of the same buffers (precomputed key, direct GCM call) measured in the same run.
//
//   bench_esp [--packets N] [--rounds R]
// Sizes are inner IPv4 packet lengths: 64, 512, 1420 bytes.
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_udp.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "espgw/dp/datapath.h"
#include "espgw/esp/esp_encap.h"

using namespace espgw;

namespace {

constexpr uint32_t kGw = 0xc0000201, kPeer = 0xc00002fe, kLanHost = 0x0a010002, kInner = 0x0a020002;
constexpr uint32_t kSpiIn = 0x1001, kSpiOut = 0x2001;
const uint8_t kKey[20] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19};

struct Bench {
    dp::Shared shared;
    dp::WorkerCounters counters;
    dp::Worker w;
    rte_rcu_qsbr* rcu;
    std::unique_ptr<sa::SaTable> sas;
    std::unique_ptr<net::NeighbourTable> nbrs;
    std::vector<rte_mbuf*> sunk;
};

Bench* g_bench;

void sink(dp::Worker& w, unsigned role) {
    for (uint16_t k = 0; k < w.n_tx[role]; ++k) g_bench->sunk.push_back(w.tx[role][k]);
    w.n_tx[role] = 0;
}

std::unique_ptr<sa::Sa> make_sa(IMB_MGR* mgr, sa::Direction dir, uint32_t spi) {
    sa::SaParams p;
    p.name = dir == sa::Direction::inbound ? "bench-in" : "bench-out";
    p.spi = spi;
    p.direction = dir;
    p.local_addr = kGw;
    p.peer = {kPeer, 4500, true};
    p.local_ts = net::Prefix::v4(0x0a010000, 16);
    p.remote_ts = net::Prefix::v4(kInner, 32);
    p.replay_window = 4096;
    auto s = std::make_unique<sa::Sa>(p);
    std::string err;
    if (!crypto::expand_sa_keys(mgr, crypto::Cipher::aes128_gcm, crypto::Integrity::none, kKey, {}, s->keys, err)) {
        fprintf(stderr, "%s\n", err.c_str());
        exit(1);
    }
    return s;
}

// An inner IPv4/UDP packet of total length len from src to dst.
void fill_inner(uint8_t* p, uint32_t len, uint32_t src, uint32_t dst) {
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p);
    std::memset(p, 0xab, len);
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->type_of_service = 0;
    ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(len));
    ip->packet_id = 0;
    ip->fragment_offset = 0;
    ip->time_to_live = 64;
    ip->next_proto_id = IPPROTO_UDP;
    ip->src_addr = rte_cpu_to_be_32(src);
    ip->dst_addr = rte_cpu_to_be_32(dst);
    ip->hdr_checksum = 0;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    auto* udp = reinterpret_cast<rte_udp_hdr*>(ip + 1);
    udp->src_port = rte_cpu_to_be_16(1000);
    udp->dst_port = rte_cpu_to_be_16(2000);
    udp->dgram_len = rte_cpu_to_be_16(static_cast<uint16_t>(len - 20));
    udp->dgram_cksum = 0;
}

rte_mbuf* frame(rte_mempool* pool, const std::vector<uint8_t>& bytes) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool);
    std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(bytes.size())), bytes.data(), bytes.size());
    return m;
}

std::vector<uint8_t> eth_wrap(const std::vector<uint8_t>& ip) {
    std::vector<uint8_t> f(14 + ip.size());
    f[12] = 0x08;
    std::memcpy(f.data() + 14, ip.data(), ip.size());
    return f;
}

// Best cycles per packet of each, and the median of the per-round ratios: rounds alternate
// pipeline and bare runs, so drift on a shared VM moves both and the ratio stays honest.
struct Result {
    double pipeline, bare, ratio;
};

struct Rounds {
    std::vector<double> p, b;
    void add(uint64_t pipeline, uint64_t bare) { p.push_back(double(pipeline)), b.push_back(double(bare)); }
    Result result(uint32_t packets) const {
        std::vector<double> r;
        for (size_t k = 0; k < p.size(); ++k) r.push_back(p[k] / b[k]);
        std::sort(r.begin(), r.end());
        return {*std::min_element(p.begin(), p.end()) / packets, *std::min_element(b.begin(), b.end()) / packets,
                r[r.size() / 2]};
    }
};

// Decap: ESP-in-UDP frames as a peer would send them, through rx_public.
Result bench_decap(Bench& b, IMB_MGR* mgr, uint32_t size, uint32_t packets, unsigned rounds) {
    // The peer's side: an outbound SA with the gateway's inbound key builds the packets.
    auto peer = make_sa(mgr, sa::Direction::outbound, kSpiIn);
    peer->params.local_addr = kPeer;
    peer->move_peer({kGw, 4500, true});
    peer->params.local_addr = kPeer;
    std::vector<std::vector<uint8_t>> frames;
    for (uint32_t k = 0; k < packets; ++k) {
        rte_mbuf* m = rte_pktmbuf_alloc(b.shared.pool);
        fill_inner(reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(size))), size, kInner, kLanHost);
        esp::OutboundEsp o{m, peer.get(), esp::reserve_seq(*peer, 1), {}, {}};
        esp::esp_out_prepare(mgr, o, IPPROTO_IPIP, esp::OuterIpv4{});
        crypto::CryptoOp* op = &o.op;
        crypto::seal_burst(mgr, &op, 1);
        const uint8_t* d = rte_pktmbuf_mtod(m, uint8_t*);
        frames.push_back(eth_wrap(std::vector<uint8_t>(d, d + rte_pktmbuf_data_len(m))));
        rte_pktmbuf_free(m);
    }
    Rounds rs;
    std::vector<rte_mbuf*> ms(packets);
    for (unsigned r = 0; r < rounds; ++r) {
        // A fresh inbound SA each round: the same sequence numbers are new to it.
        b.sas->remove(sa::Direction::inbound, kSpiIn);
        std::string err;
        b.sas->install(make_sa(mgr, sa::Direction::inbound, kSpiIn), err);
        for (uint32_t k = 0; k < packets; ++k) ms[k] = frame(b.shared.pool, frames[k]);
        b.sunk.clear();
        const uint64_t t0 = rte_rdtsc_precise();
        for (uint32_t k = 0; k < packets; k += dp::kBurst) {
            b.w.now = rte_rdtsc();
            dp::rx_public(b.w, &ms[k], static_cast<uint16_t>(std::min<uint32_t>(dp::kBurst, packets - k)));
        }
        for (unsigned role = 0; role < dp::kRoles; ++role) sink(b.w, role);
        const uint64_t t1 = rte_rdtsc_precise();
        if (b.sunk.size() != packets) {
            fprintf(stderr, "decap: %zu of %u packets forwarded\n", b.sunk.size(), packets);
            exit(1);
        }
        for (rte_mbuf* m : b.sunk) rte_pktmbuf_free(m);

        // Bare IPsec-MB on the same ciphertexts: one direct GCM decrypt per packet.
        const sa::Sa* in = b.sas->find(sa::Direction::inbound, kSpiIn);
        for (uint32_t k = 0; k < packets; ++k) ms[k] = frame(b.shared.pool, frames[k]);
        const uint32_t esp_off = 14 + 20 + 8;
        const uint64_t t2 = rte_rdtsc_precise();
        for (uint32_t k = 0; k < packets; ++k) {
            uint8_t* esp = rte_pktmbuf_mtod_offset(ms[k], uint8_t*, esp_off);
            const uint32_t len = rte_pktmbuf_data_len(ms[k]) - esp_off - 8 - 8 - 16;
            uint8_t nonce[12], tag[16];
            std::memcpy(nonce, in->keys.salt, 4);
            std::memcpy(nonce + 4, esp + 8, 8);
            gcm_context_data ctx;
            IMB_AES128_GCM_DEC(mgr, &in->keys.gcm, &ctx, esp + 16, esp + 16, len, nonce, esp, 8, tag, 16);
        }
        const uint64_t t3 = rte_rdtsc_precise();
        rs.add(t1 - t0, t3 - t2);
        for (rte_mbuf* m : ms) rte_pktmbuf_free(m);
    }
    return rs.result(packets);
}

// Encap: LAN frames through rx_inside to ESP-in-UDP toward the peer.
Result bench_encap(Bench& b, IMB_MGR* mgr, uint32_t size, uint32_t packets, unsigned rounds) {
    std::vector<uint8_t> inner(size);
    fill_inner(inner.data(), size, kLanHost, kInner);
    const std::vector<uint8_t> f = eth_wrap(inner);
    Rounds rs;
    std::vector<rte_mbuf*> ms(packets);
    const sa::Sa* out = b.sas->find(sa::Direction::outbound, kSpiOut);
    for (unsigned r = 0; r < rounds; ++r) {
        for (uint32_t k = 0; k < packets; ++k) ms[k] = frame(b.shared.pool, f);
        b.sunk.clear();
        const uint64_t t0 = rte_rdtsc_precise();
        for (uint32_t k = 0; k < packets; k += dp::kBurst) {
            b.w.now = rte_rdtsc();
            dp::rx_inside(b.w, dp::kProtected, &ms[k], static_cast<uint16_t>(std::min<uint32_t>(dp::kBurst, packets - k)));
        }
        for (unsigned role = 0; role < dp::kRoles; ++role) sink(b.w, role);
        const uint64_t t1 = rte_rdtsc_precise();
        if (b.sunk.size() != packets) {
            fprintf(stderr, "encap: %zu of %u packets sent\n", b.sunk.size(), packets);
            exit(1);
        }
        for (rte_mbuf* m : b.sunk) rte_pktmbuf_free(m);

        // Bare IPsec-MB: one direct GCM encrypt of the same payload length per packet.
        for (uint32_t k = 0; k < packets; ++k) ms[k] = frame(b.shared.pool, f);
        const uint32_t plen = (size + 2 + 3) & ~3u;
        const uint64_t t2 = rte_rdtsc_precise();
        for (uint32_t k = 0; k < packets; ++k) {
            uint8_t* p = rte_pktmbuf_mtod_offset(ms[k], uint8_t*, 14);
            uint8_t nonce[12] = {}, aad[8] = {}, tag[16];
            gcm_context_data ctx;
            IMB_AES128_GCM_ENC(mgr, &out->keys.gcm, &ctx, p, p, std::min<uint32_t>(plen, size), nonce, aad, 8, tag, 16);
        }
        const uint64_t t3 = rte_rdtsc_precise();
        rs.add(t1 - t0, t3 - t2);
        for (rte_mbuf* m : ms) rte_pktmbuf_free(m);
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
    for (int k = 1; k + 1 < argc; k += 2) {
        if (!strcmp(argv[k], "--packets")) packets = static_cast<uint32_t>(atoi(argv[k + 1]));
        if (!strcmp(argv[k], "--rounds")) rounds = static_cast<unsigned>(atoi(argv[k + 1]));
    }
    const std::string prefix = "espgw-bench-" + std::to_string(getpid());
    const bool huge = access("/dev/hugepages", F_OK) == 0 && getenv("BENCH_HUGE");
    std::vector<const char*> eal = {"bench", "--no-pci", "-l", "0", "--no-telemetry", "--log-level", "lib.eal:error",
                                    "--file-prefix", prefix.c_str()};
    if (huge) {
        eal.push_back("--in-memory");
    } else {
        for (const char* a : {"--no-huge", "-m", "768", "--no-shconf"}) eal.push_back(a);
    }
    if (rte_eal_init(static_cast<int>(eal.size()), const_cast<char**>(eal.data())) < 0) return 1;

    Bench b;
    g_bench = &b;
    IMB_MGR* mgr = crypto::make_mb_mgr();
    b.shared.pool = rte_pktmbuf_pool_create("bench", packets * 2 + 1023, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
    b.rcu = static_cast<rte_rcu_qsbr*>(rte_zmalloc("rcu", rte_rcu_qsbr_get_memsize(1), 64));
    rte_rcu_qsbr_init(b.rcu, 1);
    b.sas = std::make_unique<sa::SaTable>(64, b.rcu, 0);
    b.nbrs = std::make_unique<net::NeighbourTable>(64, 0);
    b.nbrs->learn(net::IpAddr::v4(kPeer), net::Mac{{2, 0, 0, 0, 0, 1}}, UINT64_MAX);
    b.nbrs->learn(net::IpAddr::v4(kLanHost), net::Mac{{2, 0, 0, 0, 0, 2}}, UINT64_MAX);
    std::string err;
    b.sas->install(make_sa(mgr, sa::Direction::inbound, kSpiIn), err);
    b.sas->install(make_sa(mgr, sa::Direction::outbound, kSpiOut), err);
    dp::Shared& s = b.shared;
    s.addr[dp::kPublic] = kGw;
    s.mask[dp::kPublic] = 0xffffff00;
    s.addr[dp::kProtected] = 0x0a010001;
    s.mask[dp::kProtected] = 0xffff0000;
    s.public_mtu = 1500;
    s.sas = b.sas.get();
    s.neighbours = b.nbrs.get();
    s.event_interval_tsc = rte_get_tsc_hz() / 10;
    s.last_seen_resolution_tsc = rte_get_tsc_hz() / 100;
    s.event_ring = rte_ring_create_elem("ev", sizeof(dp::ControlEvent), 1024, 0, 0);
    s.ike_ring = s.slow_ring = rte_ring_create("r", 1024, 0, 0);
    b.w.shared = &s;
    b.w.counters = &b.counters;
    b.w.mgr = mgr;
    b.w.flush = sink;

    printf("espgw ESP benchmark: AES-128-GCM, ESP-in-UDP, one core, %u packets x best of %u rounds, %s memory\n",
           packets, rounds, huge ? "hugepage" : "no-huge");
    printf("CPU: %s, TSC %.3f GHz. Cycles are TSC cycles per packet.\n", cpu_model().c_str(), rte_get_tsc_hz() / 1e9);
    printf("Best cycles of %u rounds; ratio = median of the per-round ratios.\n", rounds);
    printf("%6s | %12s %10s %6s | %12s %10s %6s\n", "size", "decap espgw", "bare", "ratio", "encap espgw", "bare", "ratio");
    for (uint32_t size : {64u, 512u, 1420u}) {
        const Result d = bench_decap(b, mgr, size, packets, rounds);
        const Result e = bench_encap(b, mgr, size, packets, rounds);
        printf("%6u | %12.1f %10.1f %6.2f | %12.1f %10.1f %6.2f\n", size, d.pipeline, d.bare, d.ratio, e.pipeline,
               e.bare, e.ratio);
    }
    fflush(stdout);
    b.sas.reset();
    b.nbrs.reset();
    rte_eal_cleanup();
    return 0;
}
