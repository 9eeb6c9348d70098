// RFC 7296 §2.23 in the data plane: a worker that authenticates a packet from a new NAT
// mapping moves the peer itself, so the reply to that very packet already goes there (the
// defect this guards against: the first reply after every port learning or NAT rebinding was
// sent to the old mapping). And the rules that keep a move safe: only authenticated, newest
// packets move a peer; a peer that must not follow stays; the control core hears once.
#include <gtest/gtest.h>
#include <rte_ether.h>
#include <rte_pause.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "espgw/sa/peer.h"
#include "support/standalone_datapath.h"

using namespace espgw;
using testing_dp = espgw::testing::StandaloneDatapath;
namespace T = espgw::testing;

namespace {

constexpr uint32_t kSpiIn = 0x1001, kSpiOut = 0x2001;

// The gateway's SA pair toward kPeer, sharing one Peer, and the peer's side of the inbound SA.
struct Tunnel {
    explicit Tunnel(testing_dp& dp) : dp(dp) {
        dp.install(sa::Direction::inbound, kSpiIn);
        dp.install(sa::Direction::outbound, kSpiOut);
        peer_side = dp.make_sa(sa::Direction::outbound, kSpiIn);
    }
    sa::Peer& peer() { return *dp.gw_peer(); }
    rte_mbuf* from(uint16_t sport) { return dp.esp_frame(*peer_side, 120, sport); }
    // Where the gateway's reply from the LAN host goes: the outer destination and UDP port
    // of the one frame it sends (0, 0 if it sends none).
    std::pair<uint32_t, uint16_t> reply_goes_to() {
        dp.rx_protected({dp.inner_frame(100, T::kLanHost, T::kInner)});
        auto out = dp.take(dp::kPublic);
        if (out.size() != 1) {
            T::free_all(out);
            return {0, 0};
        }
        const auto* ip = rte_pktmbuf_mtod_offset(out[0], const rte_ipv4_hdr*, sizeof(rte_ether_hdr));
        const auto* udp = reinterpret_cast<const rte_udp_hdr*>(ip + 1);
        std::pair<uint32_t, uint16_t> to{rte_be_to_cpu_32(ip->dst_addr), rte_be_to_cpu_16(udp->dst_port)};
        T::free_all(out);
        return to;
    }
    // Delivers frames, one burst, and returns how many reached the LAN.
    size_t deliver(std::vector<rte_mbuf*> frames) {
        dp.rx_public(std::move(frames));
        auto lan = dp.take(dp::kProtected);
        const size_t n = lan.size();
        T::free_all(lan);
        return n;
    }
    std::vector<dp::ControlEvent> events() {
        std::vector<dp::ControlEvent> got;
        dp::ControlEvent ev;
        while (rte_ring_dequeue_elem(dp.shared.event_ring, &ev, sizeof ev) == 0) got.push_back(ev);
        return got;
    }

    testing_dp& dp;
    std::unique_ptr<sa::Sa> peer_side;
};

void set_sport(rte_mbuf* frame, uint16_t sport) {
    auto* ip = rte_pktmbuf_mtod_offset(frame, rte_ipv4_hdr*, sizeof(rte_ether_hdr));
    reinterpret_cast<rte_udp_hdr*>(ip + 1)->src_port = rte_cpu_to_be_16(sport);
}

}  // namespace

TEST(PeerFollow, TheFirstReplyGoesToTheLearnedPort) {
    testing_dp dp;
    Tunnel t(dp);
    t.peer().move({T::kPeer, 0, false});  // configured without a port: learn it
    EXPECT_EQ(t.reply_goes_to(), std::make_pair(0u, uint16_t{0})) << "nowhere to send before the port is known";
    ASSERT_EQ(t.deliver({t.from(31337)}), 1u);
    EXPECT_EQ(t.reply_goes_to(), std::make_pair(T::kPeer, uint16_t{31337}));
    auto ev = t.events();
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].kind, dp::ControlEvent::peer_moved);
    EXPECT_EQ(ev[0].id, t.peer().id);
    EXPECT_EQ(ev[0].port, 31337);
    EXPECT_EQ(ev[0].addr, T::kPeer);
}

TEST(PeerFollow, TheFirstReplyAfterANatRebindingGoesToTheNewPort) {
    testing_dp dp;
    Tunnel t(dp);
    ASSERT_EQ(t.deliver({t.from(4500), t.from(4500)}), 2u);
    EXPECT_EQ(t.reply_goes_to(), std::make_pair(T::kPeer, uint16_t{4500}));
    EXPECT_TRUE(t.events().empty()) << "no move, no news";
    for (uint16_t port : {40001, 40002, 40003}) {  // rebinding after rebinding
        ASSERT_EQ(t.deliver({t.from(port)}), 1u);
        EXPECT_EQ(t.reply_goes_to(), std::make_pair(T::kPeer, port));
        t.peer().move_reported.store(false);  // as the control core does when it takes the news
    }
}

TEST(PeerFollow, EverySaOfThePeerMovesAtOnce) {
    testing_dp dp;
    Tunnel t(dp);
    sa::Sa* second_out = dp.install(sa::Direction::outbound, 0x2002);
    ASSERT_EQ(t.deliver({t.from(5555)}), 1u);
    EXPECT_EQ(second_out->current_peer(), (sa::Endpoint{T::kPeer, 5555, true}));
}

TEST(PeerFollow, MovesWithinOneBurstEndAtTheNewestMapping) {
    testing_dp dp;
    Tunnel t(dp);
    ASSERT_EQ(t.deliver({t.from(4500), t.from(6000), t.from(6000), t.from(7000)}), 4u);
    EXPECT_EQ(t.reply_goes_to(), std::make_pair(T::kPeer, uint16_t{7000}));
    EXPECT_EQ(t.events().size(), 1u) << "one report until the control core takes it";
}

// A packet overtaken on the way (or late from the old mapping) is accepted by the replay
// window but must not move the peer back.
TEST(PeerFollow, AnOlderPacketFromTheOldMappingDoesNotMoveThePeerBack) {
    testing_dp dp;
    Tunnel t(dp);
    rte_mbuf* seq1 = t.from(4500);
    rte_mbuf* seq2 = t.from(4500);
    rte_mbuf* seq3 = t.from(8000);
    ASSERT_EQ(t.deliver({seq1}), 1u);
    ASSERT_EQ(t.deliver({seq3}), 1u);
    ASSERT_EQ(t.deliver({seq2}), 1u) << "inside the window: delivered";
    EXPECT_EQ(t.reply_goes_to(), std::make_pair(T::kPeer, uint16_t{8000}));
    // The same in one burst: the newest packet wins, wherever it is in the burst.
    rte_mbuf* seq4 = t.from(9000);
    rte_mbuf* seq5 = t.from(9100);
    ASSERT_EQ(t.deliver({seq5, seq4}), 2u);
    EXPECT_EQ(t.reply_goes_to(), std::make_pair(T::kPeer, uint16_t{9100}));
}

TEST(PeerFollow, ReplaysAndForgeriesFromElsewhereDoNotMoveThePeer) {
    testing_dp dp;
    Tunnel t(dp);
    rte_mbuf* good = t.from(4500);
    rte_mbuf* replay = rte_pktmbuf_copy(good, dp.shared.pool, 0, UINT32_MAX);
    ASSERT_NE(replay, nullptr);
    set_sport(replay, 6666);  // the UDP header is not covered by the ICV
    ASSERT_EQ(t.deliver({good}), 1u);
    EXPECT_EQ(t.deliver({replay}), 0u);
    EXPECT_EQ(dp.drops(dp::Drop::replayed), 1u);

    rte_mbuf* forged = t.from(7777);
    uint8_t* last = rte_pktmbuf_mtod_offset(forged, uint8_t*, rte_pktmbuf_data_len(forged) - 1);
    *last ^= 1;  // the ICV fails
    EXPECT_EQ(t.deliver({forged}), 0u);
    EXPECT_EQ(dp.drops(dp::Drop::auth_failed), 1u);

    EXPECT_EQ(t.reply_goes_to(), std::make_pair(T::kPeer, uint16_t{4500}));
    EXPECT_TRUE(t.events().empty());
}

// replay_window = 0 (a benchmark replaying a capture): copies are delivered, but since nothing
// then tells a replay from a new packet, no packet may move the peer.
TEST(PeerFollow, WithoutAntiReplayCopiesPassButNoPacketMovesThePeer) {
    testing_dp dp;
    dp.replay_window = 0;
    Tunnel t(dp);
    rte_mbuf* good = t.from(4500);
    rte_mbuf* copy = rte_pktmbuf_copy(good, dp.shared.pool, 0, UINT32_MAX);
    ASSERT_NE(copy, nullptr);
    set_sport(copy, 6666);
    ASSERT_EQ(t.deliver({good}), 1u);
    EXPECT_EQ(t.deliver({copy}), 1u) << "no anti-replay: the copy is delivered";
    EXPECT_EQ(t.deliver({t.from(7777)}), 1u);
    EXPECT_EQ(dp.drops(dp::Drop::replayed), 0u);
    EXPECT_EQ(t.reply_goes_to(), std::make_pair(T::kPeer, uint16_t{4500}));
    EXPECT_TRUE(t.events().empty());
}

// RFC 7296 §2.23: when we are the NATed side, the peer does not move.
TEST(PeerFollow, APeerThatMustNotFollowStays) {
    testing_dp dp;
    Tunnel t(dp);
    t.peer().set_follows(false);
    EXPECT_EQ(t.deliver({t.from(12345)}), 1u) << "still delivered";
    EXPECT_EQ(t.reply_goes_to(), std::make_pair(T::kPeer, uint16_t{4500}));
    EXPECT_TRUE(t.events().empty());
}

// The report is not lost when the event ring is full: the next move reports again.
TEST(PeerFollow, AReportThatFoundTheRingFullIsMadeAgain) {
    testing_dp dp;
    Tunnel t(dp);
    dp::ControlEvent filler{};
    unsigned filled = 0;
    while (rte_ring_enqueue_elem(dp.shared.event_ring, &filler, sizeof filler) == 0) ++filled;
    ASSERT_GT(filled, 0u);
    ASSERT_EQ(t.deliver({t.from(5001)}), 1u);
    EXPECT_EQ(t.reply_goes_to(), std::make_pair(T::kPeer, uint16_t{5001})) << "moved all the same";
    EXPECT_FALSE(t.peer().move_reported.load());
    EXPECT_EQ(t.events().size(), filled) << "only the filler";
    ASSERT_EQ(t.deliver({t.from(5002)}), 1u);
    auto ev = t.events();
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].port, 5002);
}

// Peer::try_move from several writers (workers) while readers load: an IPv6 peer's address
// and port are always read as one of the locations written, never a mix.
TEST(PeerFollow, IPv6LocationsAreNeverTornByRacingWriters) {
    sa::PeerInit init;
    init.v6 = true;
    init.endpoint = {0, 1111, true};
    std::memset(init.addr6, 0x11, 16);
    sa::Peer peer(init);
    std::atomic<bool> stop{false};
    std::atomic<unsigned> moves[2]{};
    std::vector<std::thread> writers;
    for (unsigned w = 0; w < 2; ++w)
        writers.emplace_back([&, w] {
            T::any_cpu();
            uint8_t a[16];
            std::memset(a, w ? 0xee : 0x11, 16);
            const sa::Endpoint e{0, static_cast<uint16_t>(w ? 2222 : 1111), true};
            while (!stop.load(std::memory_order_relaxed)) {
                if (peer.try_move(e, a)) moves[w].fetch_add(1, std::memory_order_relaxed);
                // A breath between moves, as workers have a burst between theirs: without it
                // one writer can keep the other (and the reader) from ever getting in.
                for (int k = 0; k < 64; ++k) rte_pause();
            }
        });
    unsigned seen[2]{}, torn = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    for (unsigned k = 0; k < 2000000 || ((!seen[0] || !seen[1]) && std::chrono::steady_clock::now() < deadline); ++k) {
        uint8_t got[16];
        const sa::Endpoint e = peer.load6(got);
        const uint8_t b = got[0];
        bool same = true;
        for (uint8_t x : got) same &= x == b;
        if (same && b == 0x11 && e.port == 1111) ++seen[0];
        else if (same && b == 0xee && e.port == 2222) ++seen[1];
        else ++torn;
    }
    stop = true;
    for (auto& t : writers) t.join();
    EXPECT_EQ(torn, 0u);
    EXPECT_GT(seen[0], 0u);
    EXPECT_GT(seen[1], 0u);
    EXPECT_GT(moves[0].load() + moves[1].load(), 0u);
}
