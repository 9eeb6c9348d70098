// The control core's peer table: peers by id, name and location, and following the moves
// that workers make (the keepalive index must follow, or keepalives stop matching).
#include <gtest/gtest.h>

#include "espgw/control/peer_table.h"

using namespace espgw;

namespace {

sa::PeerInit peer(uint32_t id, const std::string& name, uint32_t addr, uint16_t port, bool known = true) {
    sa::PeerInit p;
    p.id = id;
    p.name = name;
    p.endpoint = {addr, port, known};
    return p;
}

constexpr uint32_t kNat = 0xc00002fe;

}  // namespace

TEST(PeerTable, FindsPeersByIdNameAndLocation) {
    control::PeerTable t;
    ASSERT_NE(t.add(peer(1, "alice", kNat, 4500)), nullptr);
    ASSERT_NE(t.add(peer(2, "bob", kNat, 4501)), nullptr);
    EXPECT_EQ(t.add(peer(2, "carol", kNat, 9)), nullptr) << "id taken";
    EXPECT_EQ(t.add(peer(3, "bob", kNat, 9)), nullptr) << "name taken";
    EXPECT_EQ(t.add(peer(0, "nobody", kNat, 9)), nullptr) << "id 0";
    EXPECT_EQ(t.size(), 2u);
    EXPECT_EQ(t.find("bob")->id, 2u);
    EXPECT_EQ(t.find(1)->name, "alice");
    EXPECT_EQ(t.find_at(net::IpAddr::v4(kNat), 4501)->name, "bob");
    EXPECT_EQ(t.find_at(net::IpAddr::v4(kNat), 4502), nullptr);
    const uint32_t fresh = t.unused_id();
    EXPECT_TRUE(fresh != 0 && fresh != 1 && fresh != 2);
    EXPECT_TRUE(t.remove(1));
    EXPECT_EQ(t.find("alice"), nullptr);
    EXPECT_EQ(t.find_at(net::IpAddr::v4(kNat), 4500), nullptr);
}

TEST(PeerTable, FollowsAWorkersMove) {
    control::PeerTable t;
    auto alice = t.add(peer(1, "alice", kNat, 0, /*known=*/false));
    EXPECT_FALSE(t.sync(1).has_value()) << "nothing moved";
    alice->move_reported = true;
    alice->try_move({kNat, 31337, true});  // as a worker does
    auto m = t.sync(1);
    ASSERT_TRUE(m.has_value());
    EXPECT_TRUE(m->port_learned);
    EXPECT_FALSE(m->address_changed);
    EXPECT_EQ(m->to, "192.0.2.254:31337");
    EXPECT_FALSE(alice->move_reported.load()) << "the news is taken: the next move reports again";
    EXPECT_EQ(t.find_at(net::IpAddr::v4(kNat), 31337), alice.get());

    alice->try_move({0xc6336401, 40000, true});  // a new address
    m = t.sync(1);
    ASSERT_TRUE(m.has_value());
    EXPECT_FALSE(m->port_learned);
    EXPECT_TRUE(m->address_changed);
    EXPECT_EQ(m->from, "192.0.2.254:31337");
    EXPECT_EQ(t.find_at(net::IpAddr::v4(kNat), 31337), nullptr) << "the old location is forgotten";
    EXPECT_EQ(t.find_at(net::IpAddr::v4(0xc6336401), 40000), alice.get());
    EXPECT_FALSE(t.sync(1).has_value());
}

TEST(PeerTable, ListsPeersWithTheirSas) {
    control::PeerTable t;
    t.add(peer(1, "alice", kNat, 4500));
    t.add(peer(2, "bob", kNat, 4501));
    t.attach(1, true);
    t.attach(1, false);
    t.attach(2, false);
    t.detach(2, false);
    auto l = t.list();
    ASSERT_EQ(l.size(), 2u);
    EXPECT_EQ(l[0].sas, 2u);
    EXPECT_EQ(l[0].udp_sas, 1u);
    EXPECT_EQ(l[1].sas, 0u);
    EXPECT_EQ(l[0].endpoint.port, 4500);
}
