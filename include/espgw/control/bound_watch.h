// Telling the operator when a resource bound refuses work. The data plane only counts (it may
// not log); the control core reads the counts once a second and logs one line per bound that
// refused something since the last look, with the setting that sets the bound, instead of a
// line per packet during a flood.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace espgw::control {

struct BoundReading {
    std::string what;   // e.g. "reassembly full"
    std::string bound;  // what sets it, e.g. "reassembly_mbufs = 2047"
    uint64_t refused;   // total so far (a counter that only grows)
};

class BoundWatch {
public:
    // The log lines for the readings whose count grew since the previous call (the first call
    // compares with zero).
    std::vector<std::string> check(const std::vector<BoundReading>& readings);

private:
    std::map<std::string, uint64_t> last_;
};

}  // namespace espgw::control
