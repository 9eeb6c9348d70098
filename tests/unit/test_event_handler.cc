// The control core's handling of worker events: a moved peer is taken once (and reports its
// next move again), keepalives mark the peer at that location alive, acquires reach the API.
#include <gtest/gtest.h>

#include <mutex>
#include <vector>

#include "espgw/control/event_handler.h"
#include "support/standalone_datapath.h"

using namespace espgw;
using testing_dp = espgw::testing::StandaloneDatapath;
namespace T = espgw::testing;

namespace {

struct Handling {
    Handling()
        : api(dp.table(), peers, dp.mgr, 1000, [this](const control::SaEvent& e) { sa_events.push_back(e); }),
          handler(peers, api, stats, lock, [this] { return now; }) {
        sa::PeerInit init;
        init.id = 3;
        init.name = "rw";
        init.endpoint = {T::kPeer, 4500, true};
        peer = peers.add(init);
    }
    dp::ControlEvent event(dp::ControlEvent::Kind kind, uint32_t id, uint32_t addr, uint16_t port) {
        dp::ControlEvent ev{};
        ev.kind = kind;
        ev.id = id;
        ev.addr = addr;
        ev.port = port;
        return ev;
    }

    testing_dp dp;
    control::PeerTable peers;
    std::vector<control::SaEvent> sa_events;
    control::IpsecApi api;
    control::ControlStats stats;
    std::mutex lock;
    uint64_t now = 1;
    control::EventHandler handler;
    std::shared_ptr<sa::Peer> peer;
};

}  // namespace

TEST(EventHandler, AMovedPeerIsTakenOnceAndReportsItsNextMove) {
    Handling h;
    h.peer->try_move({T::kPeer, 31337, true});  // as a worker does
    h.peer->move_reported = true;
    h.handler.handle(h.event(dp::ControlEvent::peer_moved, 3, T::kPeer, 31337));
    EXPECT_EQ(h.stats.mapping_changes.load(), 1u);
    EXPECT_FALSE(h.peer->move_reported.load()) << "the next move is reported again";
    EXPECT_EQ(h.peers.find_at(net::IpAddr::v4(T::kPeer), 31337), h.peer.get());
    h.handler.handle(h.event(dp::ControlEvent::peer_moved, 3, T::kPeer, 31337));  // a stale duplicate
    EXPECT_EQ(h.stats.mapping_changes.load(), 1u);
    h.handler.handle(h.event(dp::ControlEvent::peer_moved, 99, T::kPeer, 1));  // a peer since removed
    EXPECT_EQ(h.stats.mapping_changes.load(), 1u);
}

TEST(EventHandler, KeepalivesMarkThePeerAtThatLocationAlive) {
    Handling h;
    h.now = 12345;
    h.handler.handle(h.event(dp::ControlEvent::keepalive, 0, T::kPeer, 4500));
    EXPECT_EQ(h.peer->last_seen_tsc.load(), 12345u);
    h.now = 99999;
    h.handler.handle(h.event(dp::ControlEvent::keepalive, 0, T::kPeer, 4501));  // not where the peer is
    EXPECT_EQ(h.peer->last_seen_tsc.load(), 12345u);
    EXPECT_EQ(h.stats.keepalives_seen.load(), 2u);
    EXPECT_EQ(h.stats.keepalives_unmatched.load(), 1u);
    EXPECT_EQ(h.peer->endpoint().port, 4500) << "a keepalive moves nothing";
}

TEST(EventHandler, AcquiresReachTheIpsecApi) {
    Handling h;
    std::string err;
    const uint32_t pol = h.api.add_policy({"net", {net::Prefix::v4(0x0a010000, 16)}, {net::Prefix::v4(0x0a020000, 16)}, {}}, err);
    ASSERT_NE(pol, 0u) << err;
    h.handler.handle(h.event(dp::ControlEvent::acquire, pol, 0x0a020009, 0));
    ASSERT_EQ(h.sa_events.size(), 1u);
    EXPECT_EQ(h.sa_events[0].kind, control::SaEvent::acquire);
    EXPECT_EQ(h.sa_events[0].policy_id, pol);
    EXPECT_EQ(h.sa_events[0].dst, net::IpAddr::v4(0x0a020009));
    EXPECT_EQ(h.stats.acquires.load(), 1u);
}
