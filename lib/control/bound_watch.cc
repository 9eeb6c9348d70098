#include "espgw/control/bound_watch.h"

namespace espgw::control {

std::vector<std::string> BoundWatch::check(const std::vector<BoundReading>& readings) {
    std::vector<std::string> lines;
    for (const BoundReading& r : readings) {
        uint64_t& last = last_[r.what];
        if (r.refused > last)
            lines.push_back("limit reached: " + r.what + " (" + r.bound + "): " + std::to_string(r.refused - last) +
                            " dropped since the last report, " + std::to_string(r.refused) + " in all");
        last = r.refused;
    }
    return lines;
}

}  // namespace espgw::control
