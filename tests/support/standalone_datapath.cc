#include "standalone_datapath.h"

#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_udp.h>
#include <pthread.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "espgw/crypto/esp_crypto.h"
#include "espgw/esp/esp_decap.h"
#include "espgw/dp/fragments.h"
#include "espgw/esp/esp_encap.h"

namespace espgw::testing {

namespace {

rte_mbuf* with_ethernet(rte_mbuf* m, uint16_t type) {
    auto* eth = reinterpret_cast<rte_ether_hdr*>(rte_pktmbuf_prepend(m, sizeof(rte_ether_hdr)));
    std::memset(eth, 0, sizeof *eth);
    eth->src_addr.addr_bytes[0] = 0x02;
    eth->ether_type = rte_cpu_to_be_16(type);
    return m;
}

dp::ReassemblyLimits test_reassembly_limits() {
    dp::ReassemblyLimits l;
    l.max_mbufs = 256;
    l.per_source = 256;
    l.timeout_tsc = rte_get_tsc_hz();
    return l;
}

}  // namespace

StandaloneDatapath::StandaloneDatapath(uint32_t mbufs, uint32_t max_sas) {
    static std::atomic<unsigned> instances{0};
    name_ = "sdp" + std::to_string(instances++);
    mgr = crypto::make_mb_mgr();
    shared.pool = rte_pktmbuf_pool_create((name_ + "_m").c_str(), mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
    shared.indirect_pool = rte_pktmbuf_pool_create((name_ + "_i").c_str(), 1023, 32, 0, 0, 0);
    shared.big_pool = rte_pktmbuf_pool_create((name_ + "_b").c_str(), 63, 0, 0, 9216 + RTE_PKTMBUF_HEADROOM, 0);
    rcu_ = static_cast<rte_rcu_qsbr*>(rte_zmalloc(nullptr, rte_rcu_qsbr_get_memsize(kMaxReaders), 64));
    if (!mgr || !shared.pool || !shared.indirect_pool || !shared.big_pool || !rcu_)
        throw std::runtime_error("standalone datapath: out of memory");
    rte_rcu_qsbr_init(rcu_, kMaxReaders);
    sas_ = std::make_unique<sa::SaTable>(max_sas, rcu_, 0);
    neighbours_ = std::make_unique<net::NeighbourTable>(64, 0);
    neighbours_->learn(net::IpAddr::v4(kPeer), net::Mac{{2, 0, 0, 0, 0, 1}}, UINT64_MAX);
    neighbours_->learn(net::IpAddr::v4(kLanHost), net::Mac{{2, 0, 0, 0, 0, 2}}, UINT64_MAX);
    shared.addr[dp::kPublic] = kGw;
    shared.mask[dp::kPublic] = 0xffffff00;
    shared.addr[dp::kProtected] = kGwLan;
    shared.mask[dp::kProtected] = 0xffff0000;
    shared.public_mtu = 1500;
    shared.sas = sas_.get();
    shared.neighbours = neighbours_.get();
    shared.event_interval_tsc = rte_get_tsc_hz() / 10;
    shared.last_seen_resolution_tsc = rte_get_tsc_hz() / 100;
    shared.event_ring = rte_ring_create_elem((name_ + "_e").c_str(), sizeof(dp::ControlEvent), 1024, 0, 0);
    shared.ike_ring = rte_ring_create((name_ + "_k").c_str(), 1024, 0, 0);
    shared.slow_ring = rte_ring_create((name_ + "_s").c_str(), 1024, 0, 0);
    shared.held_ring = rte_ring_create_elem((name_ + "_h").c_str(), sizeof(dp::HeldPacket), 1024, 0, 0);
    shared.tx_ring = rte_ring_create_elem((name_ + "_t").c_str(), sizeof(dp::TxRequest), 1024, 0, 0);
    worker.shared = &shared;
    worker.counters = &counters;
    worker.mgr = mgr;
    worker.flush = collect;
    worker.flush_ctx = this;
    if (!dp::reassembly_create(worker.reassembly, test_reassembly_limits(), 0))
        throw std::runtime_error("standalone datapath: out of memory");
}

StandaloneDatapath::~StandaloneDatapath() {
    for (auto& v : sent_)
        for (rte_mbuf* m : v) rte_pktmbuf_free(m);
    sas_.reset();
    neighbours_.reset();
    dp::reassembly_destroy(worker.reassembly);
    for (rte_ring* r : {shared.ike_ring, shared.slow_ring}) {
        void* m;
        while (rte_ring_dequeue(r, &m) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
        rte_ring_free(r);
    }
    dp::HeldPacket h;
    while (rte_ring_dequeue_elem(shared.held_ring, &h, sizeof h) == 0) rte_pktmbuf_free(h.m);
    dp::TxRequest t;
    while (rte_ring_dequeue_elem(shared.tx_ring, &t, sizeof t) == 0) rte_pktmbuf_free(t.m);
    for (rte_ring* r : {shared.held_ring, shared.tx_ring, shared.event_ring}) rte_ring_free(r);
    rte_mempool_free(shared.pool);
    rte_mempool_free(shared.indirect_pool);
    rte_mempool_free(shared.big_pool);
    rte_free(rcu_);
    crypto::release_mb_mgr(mgr);
}

void StandaloneDatapath::collect(dp::Worker& w, unsigned role) {
    auto* self = static_cast<StandaloneDatapath*>(w.flush_ctx);
    for (uint16_t k = 0; k < w.n_tx[role]; ++k) self->sent_[role].push_back(w.tx[role][k]);
    w.n_tx[role] = 0;
}

std::unique_ptr<sa::Sa> StandaloneDatapath::make_sa(sa::Direction dir, uint32_t spi, IMB_MGR* key_mgr,
                                                    bool outer6, std::shared_ptr<sa::Peer> peer) const {
    sa::SaParams p;
    p.name = "sa" + std::to_string(spi);
    p.spi = spi;
    p.direction = dir;
    p.local_addr = kGw;
    p.peer = {kPeer, 4500, true};
    p.local_ts = net::Prefix::v4(0x0a010000, 16);
    p.remote_ts = net::Prefix::v4(kInner, 32);
    p.replay_window = replay_window;
    if (outer6) {
        p.outer_v6 = true;
        p.peer.addr = 0;
        std::memcpy(p.local_addr6, kGw6, 16);
        std::memcpy(p.peer_addr6, kPeer6, 16);
    }
    auto s = sa::Sa::make(p, std::move(peer));
    std::string err;
    // Key material for any suite: the first bytes of a fixed pattern (for AES-128-GCM: 0, 1, ..., 19).
    static const auto pattern = [] {
        std::array<uint8_t, 96> b{};
        for (size_t k = 0; k < b.size(); ++k) b[k] = static_cast<uint8_t>(k);
        return b;
    }();
    const crypto::SuiteInfo info = crypto::suite_info(cipher, integrity);
    const std::span<const uint8_t> enc(pattern.data(), info.key_len + info.salt_len);
    const std::span<const uint8_t> auth(pattern.data() + 48, info.auth_key_len);
    if (!crypto::expand_sa_keys(key_mgr ? key_mgr : mgr, cipher, integrity, enc, auth, s->keys, err))
        throw std::runtime_error(err);
    return s;
}

sa::Sa* StandaloneDatapath::install(sa::Direction dir, uint32_t spi) {
    std::string err;
    if (!sas_->install(make_sa(dir, spi, nullptr, false, gw_peer()), err)) throw std::runtime_error(err);
    return sas_->find(dir, spi);
}

std::shared_ptr<sa::Peer> StandaloneDatapath::gw_peer(bool outer6) {
    std::shared_ptr<sa::Peer>& p = gw_peer_[outer6];
    if (!p) {
        sa::PeerInit init;
        init.name = outer6 ? "peer6" : "peer";
        init.id = outer6 ? 2 : 1;
        init.v6 = outer6;
        init.endpoint = {outer6 ? 0 : kPeer, 4500, true};
        std::memcpy(init.addr6, kPeer6, 16);
        p = std::make_shared<sa::Peer>(init);
    }
    return p;
}

rte_mbuf* StandaloneDatapath::inner_frame(uint32_t len, uint32_t src, uint32_t dst, bool df) {
    rte_mbuf* m = rte_pktmbuf_alloc(shared.pool);
    if (!m) throw std::runtime_error("standalone datapath: mbuf pool empty");
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(rte_pktmbuf_append(m, static_cast<uint16_t>(len)));
    for (uint32_t k = 0; k < len; ++k) reinterpret_cast<uint8_t*>(ip)[k] = static_cast<uint8_t>(k * 7 + 1);
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->type_of_service = 0;
    ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(len));
    ip->packet_id = rte_cpu_to_be_16(0x1234);
    ip->fragment_offset = rte_cpu_to_be_16(df ? RTE_IPV4_HDR_DF_FLAG : 0);
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
    return with_ethernet(m, RTE_ETHER_TYPE_IPV4);
}

rte_mbuf* StandaloneDatapath::esp_frame(sa::Sa& peer_sa, uint32_t len, uint16_t sport, uint32_t inner_dst) {
    return seal_as_peer(peer_sa, inner_frame(len, kInner, inner_dst), IPPROTO_IPIP, sport);
}

rte_mbuf* StandaloneDatapath::esp_frame6(sa::Sa& peer_sa, uint32_t len, const uint8_t inner_dst[16]) {
    return seal_as_peer(peer_sa, inner_frame6(len, kInner6, inner_dst), IPPROTO_IPV6, 4500);
}

rte_mbuf* StandaloneDatapath::seal_as_peer(sa::Sa& peer_sa, rte_mbuf* inner, uint8_t next_header, uint16_t sport) {
    rte_pktmbuf_adj(inner, sizeof(rte_ether_hdr));
    peer_sa.params.local_addr = kPeer;
    peer_sa.params.local_port = sport;
    if (peer_sa.params.outer_v6) {  // the peer's view: from kPeer6 to kGw6
        std::memcpy(peer_sa.params.local_addr6, kPeer6, 16);
        std::memcpy(peer_sa.params.peer_addr6, kGw6, 16);
        peer_sa.peer->move({0, 4500, true}, kGw6);
    } else {
        peer_sa.move_peer({kGw, 4500, true});
    }
    esp::OutboundEsp o{inner, &peer_sa, esp::reserve_seq(peer_sa, 1), {}, {}};
    if (!esp::esp_out_prepare(mgr, o, next_header, esp::OuterFields{})) throw std::runtime_error("peer encap failed");
    crypto::CryptoOp* op = &o.op;
    crypto::seal_burst(mgr, &op, 1);
    if (!peer_sa.params.outer_v6) return with_ethernet(inner, RTE_ETHER_TYPE_IPV4);
    esp::esp_out_finish_v6(inner);
    return with_ethernet(inner, RTE_ETHER_TYPE_IPV6);
}

rte_mbuf* StandaloneDatapath::inner_frame6(uint32_t len, const uint8_t src[16], const uint8_t dst[16],
                                           uint8_t hop_limit) {
    rte_mbuf* m = rte_pktmbuf_alloc(shared.pool);
    if (!m) throw std::runtime_error("standalone datapath: mbuf pool empty");
    auto* ip = reinterpret_cast<rte_ipv6_hdr*>(rte_pktmbuf_append(m, static_cast<uint16_t>(len)));
    for (uint32_t k = 0; k < len; ++k) reinterpret_cast<uint8_t*>(ip)[k] = static_cast<uint8_t>(k * 5 + 3);
    ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
    ip->payload_len = rte_cpu_to_be_16(static_cast<uint16_t>(len - sizeof *ip));
    ip->proto = IPPROTO_UDP;
    ip->hop_limits = hop_limit;
    std::memcpy(ip->src_addr, src, 16);
    std::memcpy(ip->dst_addr, dst, 16);
    auto* udp = reinterpret_cast<rte_udp_hdr*>(ip + 1);
    udp->src_port = rte_cpu_to_be_16(1000);
    udp->dst_port = rte_cpu_to_be_16(2000);
    udp->dgram_len = ip->payload_len;
    udp->dgram_cksum = 0;
    udp->dgram_cksum = rte_ipv6_udptcp_cksum(ip, udp);
    return with_ethernet(m, RTE_ETHER_TYPE_IPV6);
}

void StandaloneDatapath::enable_v6() {
    shared.v6[dp::kProtected].on = true;
    std::memcpy(shared.v6[dp::kProtected].addr, kGwLan6, 16);
    shared.v6[dp::kProtected].prefix_len = 64;
    neighbours_->learn(net::IpAddr::v6(kLanHost6), net::Mac{{2, 0, 0, 0, 0, 6}}, UINT64_MAX);
}

void StandaloneDatapath::enable_public_v6() {
    dp::Shared::Port6& p6 = shared.v6[dp::kPublic];
    p6.on = true;
    std::memcpy(p6.addr, kGw6, 16);
    p6.prefix_len = 64;
    neighbours_->learn(net::IpAddr::v6(kPeer6), net::Mac{{2, 0, 0, 0, 0, 0x66}}, UINT64_MAX);
}

std::unique_ptr<sa::Sa> StandaloneDatapath::make_sa6(sa::Direction dir, uint32_t spi) const {
    auto s = make_sa(dir, spi);
    s->params.local_ts = *net::parse_prefix("2001:db8:1::/64");
    s->params.remote_ts = *net::parse_prefix("2001:db8:2::2/128");
    return s;
}

void StandaloneDatapath::rx_public(std::vector<rte_mbuf*> pkts) { rx_public_at(rte_rdtsc(), std::move(pkts)); }

void StandaloneDatapath::rx_public_at(uint64_t now, std::vector<rte_mbuf*> pkts) {
    worker.now = now;
    dp::rx_public(worker, pkts.data(), static_cast<uint16_t>(pkts.size()));
    for (unsigned r = 0; r < dp::kRoles; ++r) collect(worker, r);
    dp::reassembly_sweep(worker);
}

void StandaloneDatapath::rx_protected(std::vector<rte_mbuf*> pkts) {
    worker.now = rte_rdtsc();
    dp::rx_inside(worker, dp::kProtected, pkts.data(), static_cast<uint16_t>(pkts.size()));
    for (unsigned r = 0; r < dp::kRoles; ++r) collect(worker, r);
}

std::vector<rte_mbuf*> StandaloneDatapath::take(unsigned role) {
    std::vector<rte_mbuf*> out = std::move(sent_[role]);
    // Room for the next bursts up front: collect() is inside the benchmark's timed region and
    // must cost what a tx burst hand-off costs, not a vector's growth.
    sent_[role].clear();
    sent_[role].reserve(8 * dp::kBurst);
    return out;
}

void StandaloneDatapath::reader_online(unsigned id) {
    rte_rcu_qsbr_thread_register(rcu_, id);
    rte_rcu_qsbr_thread_online(rcu_, id);
}

void StandaloneDatapath::reader_quiescent(unsigned id) { rte_rcu_qsbr_quiescent(rcu_, id); }

void StandaloneDatapath::reader_offline(unsigned id) {
    rte_rcu_qsbr_thread_offline(rcu_, id);
    rte_rcu_qsbr_thread_unregister(rcu_, id);
}

ExtraWorker::ExtraWorker(StandaloneDatapath& dp, unsigned id) {
    worker.id = id;
    worker.shared = &dp.shared;
    worker.counters = &counters;
    worker.mgr = crypto::make_mb_mgr();
    worker.flush = collect;
    worker.flush_ctx = this;
    if (!worker.mgr || !dp::reassembly_create(worker.reassembly, test_reassembly_limits(), 0)) throw std::runtime_error("extra worker: out of memory");
}

ExtraWorker::~ExtraWorker() {
    for (auto& v : sent_)
        for (rte_mbuf* m : v) rte_pktmbuf_free(m);
    dp::reassembly_destroy(worker.reassembly);
    crypto::release_mb_mgr(worker.mgr);
}

void ExtraWorker::collect(dp::Worker& w, unsigned role) {
    auto* self = static_cast<ExtraWorker*>(w.flush_ctx);
    for (uint16_t k = 0; k < w.n_tx[role]; ++k) self->sent_[role].push_back(w.tx[role][k]);
    w.n_tx[role] = 0;
}

void ExtraWorker::rx_public(std::vector<rte_mbuf*> pkts) {
    worker.now = rte_rdtsc();
    dp::rx_public(worker, pkts.data(), static_cast<uint16_t>(pkts.size()));
    for (unsigned r = 0; r < dp::kRoles; ++r) collect(worker, r);
    dp::reassembly_sweep(worker);
}

void ExtraWorker::rx_protected(std::vector<rte_mbuf*> pkts) {
    worker.now = rte_rdtsc();
    dp::rx_inside(worker, dp::kProtected, pkts.data(), static_cast<uint16_t>(pkts.size()));
    for (unsigned r = 0; r < dp::kRoles; ++r) collect(worker, r);
}

std::vector<rte_mbuf*> ExtraWorker::take(unsigned role) { return std::move(sent_[role]); }

void StandaloneDatapath::drain_control_rings() {
    void* held[64];
    unsigned n;
    for (rte_ring* r : {shared.ike_ring, shared.slow_ring})
        while ((n = rte_ring_dequeue_burst(r, held, 64, nullptr)) > 0)
            for (unsigned k = 0; k < n; ++k) rte_pktmbuf_free(static_cast<rte_mbuf*>(held[k]));
    dp::HeldPacket h;
    while (rte_ring_dequeue_elem(shared.held_ring, &h, sizeof h) == 0) rte_pktmbuf_free(h.m);
    dp::ControlEvent ev[64];
    while (rte_ring_dequeue_burst_elem(shared.event_ring, ev, sizeof ev[0], 64, nullptr) > 0) {
    }
}

void StandaloneDatapath::flush_reassembly() { set_reassembly(worker.reassembly.limits); }

void StandaloneDatapath::set_reassembly(const dp::ReassemblyLimits& limits) {
    dp::reassembly_destroy(worker.reassembly);
    if (!dp::reassembly_create(worker.reassembly, limits, 0)) throw std::runtime_error("reassembly: out of memory");
}

uint64_t StandaloneDatapath::rx_public_mutated(const std::vector<std::vector<uint8_t>>& models,
                                               const Mutations& how) {
    auto total_drops = [this] {
        uint64_t n = 0;
        for (unsigned r = 0; r < dp::kRoles; ++r)
            for (unsigned why = 0; why < dp::kDropReasons; ++why) n += counters.drops[r][why];
        return n;
    };
    const uint64_t before = total_drops();
    uint32_t x = how.seed;
    auto rnd = [&] { return x ^= x << 13, x ^= x >> 17, x ^= x << 5, x; };
    for (unsigned done = 0; done < how.frames; done += 32) {
        std::vector<rte_mbuf*> burst;
        for (unsigned k = 0; k < 32; ++k) {
            std::vector<uint8_t> f = models[rnd() % models.size()];
            const unsigned flips = 1 + rnd() % how.max_flips;
            for (unsigned j = 0; j < flips; ++j) {
                const uint32_t at = how.header_bias && rnd() % 4 ? rnd() % 80 : rnd();
                f[at % f.size()] = static_cast<uint8_t>(rnd());
            }
            if (rnd() % how.truncate_one_in == 0) f.resize(rnd() % f.size());  // even inside Ethernet
            rte_mbuf* m = rte_pktmbuf_alloc(shared.pool);
            if (!m) throw std::runtime_error("standalone datapath: mbuf pool empty");
            if (!f.empty()) std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(f.size())), f.data(), f.size());
            burst.push_back(m);
        }
        rx_public(burst);
        for (unsigned r = 0; r < dp::kRoles; ++r) free_all(take(r));
        drain_control_rings();
    }
    return total_drops() - before;
}

std::vector<uint8_t> bytes_of(const rte_mbuf* m, uint32_t offset) {
    const auto* d = rte_pktmbuf_mtod(m, const uint8_t*);
    return std::vector<uint8_t>(d + offset, d + rte_pktmbuf_data_len(m));
}

void free_all(const std::vector<rte_mbuf*>& v) {
    for (rte_mbuf* m : v) rte_pktmbuf_free(m);
}

rte_mbuf* with_ip_options(StandaloneDatapath& dp, rte_mbuf* frame) {
    const auto* f = rte_pktmbuf_mtod(frame, const uint8_t*);
    const uint16_t len = rte_pktmbuf_data_len(frame);
    rte_mbuf* m = rte_pktmbuf_alloc(dp.shared.pool);
    auto* o = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(len + 4)));
    std::memcpy(o, f, 34);
    const uint8_t options[4] = {1, 1, 1, 0};
    std::memcpy(o + 34, options, 4);
    std::memcpy(o + 38, f + 34, len - 34);
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(o + 14);
    ip->version_ihl = 0x46;
    ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(rte_be_to_cpu_16(ip->total_length) + 4));
    ip->hdr_checksum = 0;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    rte_pktmbuf_free(frame);
    return m;
}

std::vector<std::vector<uint8_t>> take_bytes(const std::vector<rte_mbuf*>& v) {
    std::vector<std::vector<uint8_t>> out;
    out.reserve(v.size());
    for (const rte_mbuf* m : v) out.push_back(bytes_of(m));
    free_all(v);
    return out;
}

void any_cpu() {
    cpu_set_t all;
    CPU_ZERO(&all);
    for (int c = 0; c < CPU_SETSIZE && c < static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)); ++c) CPU_SET(c, &all);
    pthread_setaffinity_np(pthread_self(), sizeof all, &all);
}

bool open_as_peer(IMB_MGR* mgr, sa::Sa& mirror, rte_mbuf* m, uint8_t* next_header, dp::Drop* why) {
    esp::InboundEsp p{};
    p.m = m;
    p.sa = &mirror;
    bool ok = esp::esp_in_prepare(p);
    if (ok) {
        crypto::CryptoOp* op = &p.op;
        crypto::open_burst(mgr, &op, 1);
        ok = esp::esp_in_finish(p);
    }
    if (next_header) *next_header = p.next_header;
    if (why) *why = p.drop;
    return ok;
}

uint64_t StandaloneDatapath::drops(dp::Drop why) const {
    uint64_t n = 0;
    for (unsigned r = 0; r < dp::kRoles; ++r) n += counters.drops[r][static_cast<unsigned>(why)];
    return n;
}

}  // namespace espgw::testing
