// The control core's loop and named timers, on a clock the test moves.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <vector>

#include "espgw/control/bound_watch.h"
#include "espgw/control/control_loop.h"
#include "espgw/control/timers.h"

using espgw::control::ControlLoop;
using espgw::control::Timers;

TEST(Timers, RunInDueOrderOnceOrPeriodically) {
    Timers t;
    std::vector<std::string> ran;
    t.at("b", 20, [&](uint64_t) { ran.push_back("b"); });
    t.at("a", 10, [&](uint64_t) { ran.push_back("a"); });
    t.every("tick", 15, 5, [&](uint64_t now) { ran.push_back("tick@" + std::to_string(now)); });
    EXPECT_EQ(t.next_due(), 5u);
    EXPECT_EQ(t.run_due(4), 0u);
    EXPECT_EQ(t.run_due(10), 2u);
    EXPECT_EQ(ran, (std::vector<std::string>{"tick@10", "a"}));
    EXPECT_FALSE(t.armed("a")) << "one-shot timers go once";
    EXPECT_TRUE(t.armed("tick"));
    EXPECT_EQ(t.next_due(), 20u);
    ran.clear();
    EXPECT_EQ(t.run_due(100), 2u) << "a late periodic timer runs once, not to catch up";
    EXPECT_EQ(ran, (std::vector<std::string>{"b", "tick@100"}));
    EXPECT_EQ(t.next_due(), 115u);
}

TEST(Timers, ANameIsOneTimer) {
    Timers t;
    int which = 0;
    t.at("rekey sa 0x1001", 50, [&](uint64_t) { which = 1; });
    t.at("rekey sa 0x1001", 30, [&](uint64_t) { which = 2; });  // moved earlier, replaced
    EXPECT_EQ(t.size(), 1u);
    EXPECT_EQ(t.run_due(40), 1u);
    EXPECT_EQ(which, 2);
    EXPECT_EQ(t.run_due(60), 0u);
    t.at("x", 10, [&](uint64_t) { which = 3; });
    EXPECT_TRUE(t.cancel("x"));
    EXPECT_FALSE(t.cancel("x"));
    EXPECT_EQ(t.run_due(100), 0u);
    EXPECT_EQ(which, 2);
    EXPECT_EQ(t.next_due(), UINT64_MAX);
}

// Handlers change the timers: cancel themselves, re-arm, add another that is due at once.
TEST(Timers, HandlersMaySetAndCancelTimers) {
    Timers t;
    int periodic = 0, chained = 0;
    t.every("p", 10, 10, [&](uint64_t) {
        if (++periodic == 2) t.cancel("p");
    });
    t.at("first", 5, [&](uint64_t now) { t.at("second", now, [&](uint64_t) { ++chained; }); });
    t.run_due(5);
    EXPECT_EQ(chained, 1) << "a timer set due now runs in the same round";
    t.run_due(10);
    t.run_due(20);
    t.run_due(30);
    EXPECT_EQ(periodic, 2);
    EXPECT_EQ(t.size(), 0u);
}

TEST(ControlLoop, PollsEverySourceThenDueTimers) {
    uint64_t clock = 0;
    ControlLoop loop([&] { return clock; }, 1000000000);  // 1 tick = 1 ns
    std::vector<int> queue_a = {1, 2, 3}, queue_b;
    std::string order;
    loop.add_source("a", [&](uint64_t) {
        const unsigned n = static_cast<unsigned>(queue_a.size());
        queue_a.clear();
        order += "a";
        return n;
    });
    loop.add_source("b", [&](uint64_t) {
        order += "b";
        return 0u;
    });
    loop.timers().at("t", 100, [&](uint64_t) { order += "t"; });
    EXPECT_EQ(loop.poll_once(50), 3u);
    EXPECT_EQ(loop.poll_once(100), 1u) << "the timer is work too";
    EXPECT_EQ(order, "abab" "t");
    auto st = loop.stats();
    ASSERT_EQ(st.size(), 2u);
    EXPECT_EQ(st[0].name, "a");
    EXPECT_EQ(st[0].items, 3u);
}

TEST(ControlLoop, NapsGrowButNeverPastTheNextTimer) {
    ControlLoop loop([] { return uint64_t{0}; }, 1000000000);  // ticks are ns
    EXPECT_EQ(loop.nap_ns(0, 0), 50000u);
    EXPECT_EQ(loop.nap_ns(1, 0), 100000u);
    EXPECT_EQ(loop.nap_ns(10, 0), 1000000u);
    loop.timers().at("soon", 30000, [](uint64_t) {});
    EXPECT_EQ(loop.nap_ns(10, 0), 30000u);
    EXPECT_EQ(loop.nap_ns(10, 40000), 0u) << "overdue: no nap";
}

TEST(ControlLoop, RunStopsWhenAskedAndRunsTimersOnTheRealClock) {
    std::atomic<bool> stop{false};
    uint64_t clock = 0;
    ControlLoop loop([&] { return clock += 1000; }, 1000000000);
    int ran = 0;
    loop.timers().every("stop after 3", 5000, 0, [&](uint64_t) {
        if (++ran == 3) stop = true;
    });
    loop.run(stop);
    EXPECT_EQ(ran, 3);
}

namespace espgw::control {

// A bound that refuses during a flood gets one line per report, naming the setting, and
// none while it refuses nothing more.
TEST(BoundWatch, OneLinePerBoundThatRefusedSinceTheLastReport) {
    BoundWatch watch;
    EXPECT_TRUE(watch.check({{"reassembly full", "reassembly_mbufs = 2047", 0}, {"mbuf pool empty", "mbufs = 16383", 0}})
                    .empty());
    auto lines = watch.check({{"reassembly full", "reassembly_mbufs = 2047", 500}, {"mbuf pool empty", "mbufs = 16383", 0}});
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_NE(lines[0].find("reassembly full (reassembly_mbufs = 2047): 500 dropped"), std::string::npos) << lines[0];
    lines = watch.check({{"reassembly full", "reassembly_mbufs = 2047", 700}, {"mbuf pool empty", "mbufs = 16383", 3}});
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_NE(lines[0].find("200 dropped since the last report, 700 in all"), std::string::npos) << lines[0];
    EXPECT_NE(lines[1].find("mbuf pool empty"), std::string::npos) << lines[1];
    EXPECT_TRUE(watch.check({{"reassembly full", "reassembly_mbufs = 2047", 700}, {"mbuf pool empty", "mbufs = 16383", 3}})
                    .empty());
}

}  // namespace espgw::control
