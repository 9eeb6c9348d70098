// The control core's loop: polls registered sources (the rings workers fill: IKE, ARP/NDP,
// held packets, events), runs timers that are due, and naps when there is nothing to do, never
// past the next timer. One thread; handlers run to completion.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "espgw/control/timers.h"

namespace espgw::control {

class ControlLoop {
public:
    // A source: takes what is waiting (a bounded amount) and says how much it took.
    using Source = std::function<unsigned(uint64_t now)>;
    // clock: monotonic ticks (TSC); ticks_per_second converts naps.
    ControlLoop(std::function<uint64_t()> clock, uint64_t ticks_per_second)
        : clock_(std::move(clock)), hz_(ticks_per_second) {}

    void add_source(std::string name, Source s) { sources_.push_back({std::move(name), std::move(s)}); }
    Timers& timers() { return timers_; }

    // One round: every source once, then the timers due. Returns the work done (items taken
    // plus timers run).
    unsigned poll_once(uint64_t now);
    // Rounds until stop; while idle, naps from 50 us growing to 1 ms (an idle gateway costs
    // next to no CPU and still answers within a millisecond), cut short by the next timer.
    void run(const std::atomic<bool>& stop);
    // How long the loop would nap now after `idle_rounds` idle rounds, in nanoseconds.
    uint64_t nap_ns(unsigned idle_rounds, uint64_t now) const;

    struct SourceStats {
        std::string name;
        uint64_t items;
    };
    std::vector<SourceStats> stats() const;

private:
    struct Entry {
        std::string name;
        Source fn;
        uint64_t items = 0;
    };
    std::function<uint64_t()> clock_;
    uint64_t hz_;
    std::vector<Entry> sources_;
    Timers timers_;
};

}  // namespace espgw::control
