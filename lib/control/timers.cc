#include "espgw/control/timers.h"

namespace espgw::control {

void Timers::set(const std::string& name, uint64_t due, uint64_t period, Fn fn) {
    cancel(name);
    timers_.emplace(name, Timer{due, period, std::move(fn)});
    queue_.emplace(due, name);
}

bool Timers::cancel(const std::string& name) {
    auto it = timers_.find(name);
    if (it == timers_.end()) return false;
    queue_.erase({it->second.due, name});
    timers_.erase(it);
    return true;
}

unsigned Timers::run_due(uint64_t now) {
    unsigned ran = 0;
    while (!queue_.empty() && queue_.begin()->first <= now) {
        const std::string name = queue_.begin()->second;
        queue_.erase(queue_.begin());
        auto it = timers_.find(name);
        Fn fn;
        if (it->second.period) {
            it->second.due = now + it->second.period;
            queue_.emplace(it->second.due, name);
            fn = it->second.fn;  // a copy: the handler may replace or cancel its own timer
        } else {
            fn = std::move(it->second.fn);
            timers_.erase(it);
        }
        fn(now);
        ++ran;
    }
    return ran;
}

std::vector<std::pair<std::string, uint64_t>> Timers::list() const {
    std::vector<std::pair<std::string, uint64_t>> out;
    out.reserve(queue_.size());
    for (const auto& [due, name] : queue_) out.emplace_back(name, due);
    return out;
}

}  // namespace espgw::control
