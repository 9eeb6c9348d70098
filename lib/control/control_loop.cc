#include "espgw/control/control_loop.h"

#include <time.h>

namespace espgw::control {

unsigned ControlLoop::poll_once(uint64_t now) {
    unsigned work = 0;
    for (Entry& e : sources_) {
        const unsigned n = e.fn(now);
        e.items += n;
        work += n;
    }
    return work + timers_.run_due(now);
}

uint64_t ControlLoop::nap_ns(unsigned idle_rounds, uint64_t now) const {
    constexpr uint64_t kMin = 50000, kMax = 1000000;
    uint64_t ns = idle_rounds >= 5 ? kMax : kMin << idle_rounds;
    if (ns > kMax) ns = kMax;
    const uint64_t due = timers_.next_due();
    if (due != UINT64_MAX && hz_) {
        const uint64_t until = due <= now ? 0 : (due - now) * 1000000000ull / hz_;
        if (until < ns) ns = until;
    }
    return ns;
}

void ControlLoop::run(const std::atomic<bool>& stop) {
    unsigned idle = 0;
    while (!stop.load(std::memory_order_relaxed)) {
        const uint64_t now = clock_();
        if (poll_once(now)) {
            idle = 0;
            continue;
        }
        const uint64_t ns = nap_ns(idle, now);
        if (idle < 32) ++idle;
        if (ns == 0) continue;
        const timespec ts{static_cast<time_t>(ns / 1000000000ull), static_cast<long>(ns % 1000000000ull)};
        nanosleep(&ts, nullptr);
    }
}

std::vector<ControlLoop::SourceStats> ControlLoop::stats() const {
    std::vector<SourceStats> out;
    for (const Entry& e : sources_) out.push_back({e.name, e.items});
    return out;
}

}  // namespace espgw::control
