// Named timers of the control core (keepalives due, neighbour retries and refresh, SA
// lifetimes, IKE retransmissions, ...). Times are in the caller's clock (TSC cycles in the
// gateway, anything monotonic in tests). A name identifies one timer: setting it again
// replaces it, so "rekey sa 0x1234" can be moved or cancelled by name.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace espgw::control {

class Timers {
public:
    using Fn = std::function<void(uint64_t now)>;

    // fn once at `due`.
    void at(const std::string& name, uint64_t due, Fn fn) { set(name, due, 0, std::move(fn)); }
    // fn every `period` (> 0), first at `first`. A run that comes late is not repeated to
    // catch up: the next one is a period after the late run.
    void every(const std::string& name, uint64_t period, uint64_t first, Fn fn) {
        set(name, first, period, std::move(fn));
    }
    bool cancel(const std::string& name);
    bool armed(const std::string& name) const { return timers_.count(name) != 0; }
    // When the next timer is due; UINT64_MAX if none.
    uint64_t next_due() const { return queue_.empty() ? UINT64_MAX : queue_.begin()->first; }
    // Runs every timer due at `now`, earliest first (a timer set or cancelled by a handler
    // takes effect at once). Returns how many ran.
    unsigned run_due(uint64_t now);
    // Name and due time of each timer, earliest first (for telemetry and tests).
    std::vector<std::pair<std::string, uint64_t>> list() const;
    size_t size() const { return timers_.size(); }

private:
    struct Timer {
        uint64_t due;
        uint64_t period;
        Fn fn;
    };
    void set(const std::string& name, uint64_t due, uint64_t period, Fn fn);
    std::map<std::string, Timer> timers_;
    std::set<std::pair<uint64_t, std::string>> queue_;  // (due, name)
};

}  // namespace espgw::control
