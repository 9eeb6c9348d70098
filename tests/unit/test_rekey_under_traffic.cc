// A CHILD SA rekey while two workers carry traffic both ways, done as IKE will do it through
// the IPsec API: the new inbound SA first, then the new outbound SA bound to the policy, the
// old pair deleted once the peer has switched. Nothing may be lost or fail to decrypt. And two
// workers authenticating packets of one peer from different NAT ports at once.
#include <gtest/gtest.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include <atomic>
#include <map>
#include <thread>
#include <vector>

#include "espgw/control/ipsec_api.h"
#include "support/standalone_datapath.h"

using namespace espgw;
using testing_dp = espgw::testing::StandaloneDatapath;
namespace T = espgw::testing;

namespace {

constexpr uint32_t kIn1 = 0x1001, kOut1 = 0x2001, kIn2 = 0x1002, kOut2 = 0x2002;
constexpr unsigned kFramesPerSa = 1200;  // inbound, per SA, split between the workers

sa::SaSpec spec(sa::Direction dir, uint32_t spi, uint8_t key_byte) {
    sa::SaSpec s;
    s.params.name = "child-" + std::to_string(spi);
    s.params.spi = spi;
    s.params.direction = dir;
    s.params.local_addr = T::kGw;
    s.params.replay_window = 32768;  // the workers' shares interleave arbitrarily
    s.cipher = crypto::Cipher::aes128_gcm;
    s.key.assign(20, key_byte);
    return s;
}

// An SA with spec's SPI and key on the other side (direction flipped), with its own Peer.
std::unique_ptr<sa::Sa> other_side(IMB_MGR* mgr, const sa::SaSpec& s) {
    sa::SaParams p = s.params;
    p.direction = p.direction == sa::Direction::inbound ? sa::Direction::outbound : sa::Direction::inbound;
    p.peer = {T::kGw, 4500, true};
    p.local_ts = net::Prefix::v4(0, 0);
    p.remote_ts = net::Prefix::v4(0, 0);
    auto sa = sa::Sa::make(p);
    std::string err;
    EXPECT_TRUE(crypto::expand_sa_keys(mgr, s.cipher, s.integrity, s.key, s.auth_key, sa->keys, err)) << err;
    return sa;
}

uint32_t spi_of(const rte_mbuf* m) {
    const auto* esp = rte_pktmbuf_mtod_offset(m, const uint8_t*,
                                              sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr) + sizeof(rte_udp_hdr));
    return uint32_t{esp[0]} << 24 | esp[1] << 16 | esp[2] << 8 | esp[3];
}

uint64_t all_drops(const dp::WorkerCounters& c) {
    uint64_t n = 0;
    for (unsigned r = 0; r < dp::kRoles; ++r)
        for (unsigned why = 0; why < dp::kDropReasons; ++why) n += c.drops[r][why];
    return n;
}

}  // namespace

TEST(RekeyUnderTraffic, MakeBeforeBreakWithTwoWorkersLosesNothing) {
    testing_dp dp(32767);
    control::PeerTable peers;
    sa::PeerInit init;
    init.id = 1;
    init.name = "site";
    init.endpoint = {T::kPeer, 4500, true};
    peers.add(init);
    control::IpsecApi api(dp.table(), peers, dp.mgr, rte_get_tsc_hz(), [](const control::SaEvent&) {});
    std::string err;
    const uint32_t pol = api.add_policy({"site", {net::Prefix::v4(0x0a010000, 16)}, {net::Prefix::v4(T::kInner, 32)}, {}}, err);
    ASSERT_NE(pol, 0u) << err;
    const sa::SaSpec in1 = spec(sa::Direction::inbound, kIn1, 0x11), out1 = spec(sa::Direction::outbound, kOut1, 0x21);
    const sa::SaSpec in2 = spec(sa::Direction::inbound, kIn2, 0x12), out2 = spec(sa::Direction::outbound, kOut2, 0x22);
    ASSERT_TRUE(api.add_sa(in1, 1, 0, err, pol)) << err;
    ASSERT_TRUE(api.add_sa(out1, 1, 0, err, pol)) << err;

    // What the peer sends: first under the old SA, then (after the rekey) under the new one.
    std::vector<rte_mbuf*> frames[2][2];  // [old/new][worker]
    auto peer1 = other_side(dp.mgr, in1), peer2 = other_side(dp.mgr, in2);
    for (unsigned k = 0; k < kFramesPerSa; ++k) {
        frames[0][k % 2].push_back(dp.esp_frame(*peer1, 100));
        frames[1][k % 2].push_back(dp.esp_frame(*peer2, 100));
    }

    std::atomic<bool> new_inbound_ready{false}, stop{false};
    std::atomic<unsigned> old_done{0}, sent_old_progress{0};
    struct Result {
        uint64_t delivered = 0, sealed = 0, bad = 0, drops = 0;
        std::map<uint32_t, uint64_t> by_spi;
    } result[2];

    auto run = [&](unsigned w) {
        T::any_cpu();
        T::ExtraWorker worker(dp, w + 1);
        std::map<uint32_t, std::unique_ptr<sa::Sa>> mirrors;  // the peer's inbound SAs
        mirrors[kOut1] = other_side(worker.worker.mgr, out1);
        mirrors[kOut2] = other_side(worker.worker.mgr, out2);
        Result& r = result[w];
        dp.reader_online(w + 1);
        auto encap_burst = [&] {
            std::vector<rte_mbuf*> burst;
            for (int k = 0; k < 16; ++k) burst.push_back(dp.inner_frame(100, T::kLanHost, T::kInner));
            worker.rx_protected(burst);
            for (rte_mbuf* m : worker.take(dp::kPublic)) {
                const uint32_t spi = spi_of(m);
                ++r.by_spi[spi];
                ++r.sealed;
                auto it = mirrors.find(spi);
                rte_pktmbuf_adj(m, sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr) + sizeof(rte_udp_hdr));
                if (it == mirrors.end() || !T::open_as_peer(worker.worker.mgr, *it->second, m)) ++r.bad;
                rte_pktmbuf_free(m);
            }
        };
        auto decap = [&](std::vector<rte_mbuf*>& mine, bool old) {
            for (size_t at = 0; at < mine.size(); at += 16) {
                std::vector<rte_mbuf*> burst(mine.begin() + static_cast<long>(at),
                                             mine.begin() + static_cast<long>(std::min(at + 16, mine.size())));
                worker.rx_public(burst);
                auto lan = worker.take(dp::kProtected);
                r.delivered += lan.size();
                T::free_all(lan);
                encap_burst();
                dp.reader_quiescent(w + 1);
                if (old) sent_old_progress.fetch_add(1);
            }
        };
        decap(frames[0][w], true);
        ++old_done;
        while (!new_inbound_ready.load()) {  // the peer switches only once the new SA is in
            encap_burst();
            dp.reader_quiescent(w + 1);
        }
        decap(frames[1][w], false);
        while (!stop.load()) {
            encap_burst();
            dp.reader_quiescent(w + 1);
        }
        dp.reader_offline(w + 1);
        r.drops = all_drops(worker.counters);
    };
    std::thread t0(run, 0), t1(run, 1);

    // The rekey, while both workers are busy with the old SAs.
    while (sent_old_progress.load() < kFramesPerSa / 16 / 2) std::this_thread::yield();
    EXPECT_TRUE(api.add_sa(in2, 1, 0, err, pol)) << err;
    new_inbound_ready = true;
    EXPECT_TRUE(api.add_sa(out2, 1, 0, err, pol)) << err;  // from the next packet on
    while (old_done.load() < 2) std::this_thread::yield();
    // The peer has switched: the old pair goes, under traffic.
    EXPECT_TRUE(api.delete_sa(sa::Direction::inbound, kIn1));
    EXPECT_TRUE(api.delete_sa(sa::Direction::outbound, kOut1));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    stop = true;
    t0.join();
    t1.join();

    const uint64_t delivered = result[0].delivered + result[1].delivered;
    EXPECT_EQ(delivered, 2u * kFramesPerSa) << "every packet of the old and of the new SA";
    for (const Result& r : result) {
        EXPECT_EQ(r.bad, 0u) << "of " << r.sealed;
        EXPECT_EQ(r.drops, 0u);
        EXPECT_GT(r.by_spi.count(kOut2) ? r.by_spi.at(kOut2) : 0, 0u) << "the new SA was used";
    }
    EXPECT_GT(result[0].by_spi[kOut1] + result[1].by_spi[kOut1], 0u) << "the old SA was used before";
}

// Two workers authenticate packets of one peer arriving from two NAT ports at once: each may
// move the peer; nothing is lost or torn, the control core hears, and the next packet (alone)
// settles the peer where it came from.
TEST(RekeyUnderTraffic, TwoWorkersMovingOnePeer) {
    testing_dp dp(16383);
    dp.install(sa::Direction::inbound, kIn1);
    auto peer_side = dp.make_sa(sa::Direction::outbound, kIn1);
    std::vector<rte_mbuf*> frames[2];
    for (unsigned k = 0; k < 2000; ++k) frames[k % 2].push_back(dp.esp_frame(*peer_side, 100, k % 2 ? 6000 : 5000));
    // (2000 packets fit the installed SA's 4096-packet window however the workers interleave.)
    std::atomic<uint64_t> delivered{0}, drops{0};
    std::atomic<bool> seen_bad_port{false};
    auto run = [&](unsigned w) {
        T::any_cpu();
        T::ExtraWorker worker(dp, w + 1);
        dp.reader_online(w + 1);
        for (size_t at = 0; at < frames[w].size(); at += 8) {
            std::vector<rte_mbuf*> burst(frames[w].begin() + static_cast<long>(at),
                                         frames[w].begin() + static_cast<long>(std::min(at + 8, frames[w].size())));
            worker.rx_public(burst);
            auto lan = worker.take(dp::kProtected);
            delivered += lan.size();
            T::free_all(lan);
            const uint16_t port = dp.gw_peer()->endpoint().port;
            if (port != 4500 && port != 5000 && port != 6000) seen_bad_port = true;
            dp.reader_quiescent(w + 1);
        }
        dp.reader_offline(w + 1);
        drops += all_drops(worker.counters);
    };
    std::thread t0(run, 0), t1(run, 1);
    t0.join();
    t1.join();
    EXPECT_EQ(delivered.load(), 2000u);
    EXPECT_EQ(drops.load(), 0u);
    EXPECT_FALSE(seen_bad_port.load()) << "a location no packet came from";
    dp::ControlEvent ev;
    EXPECT_EQ(rte_ring_dequeue_elem(dp.shared.event_ring, &ev, sizeof ev), 0) << "the control core was told";
    dp.gw_peer()->move_reported = false;
    dp.rx_public({dp.esp_frame(*peer_side, 100, 7000)});
    T::free_all(dp.take(dp::kProtected));
    EXPECT_EQ(dp.gw_peer()->endpoint().port, 7000);
}
