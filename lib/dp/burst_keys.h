// The distinct 32-bit keys of a burst (SPIs, destination addresses) gathered for one bulk
// lookup, and which of them each packet carries: the pre-lookups of both directions.
#pragma once

#include <cstdint>

#include "espgw/dp/datapath.h"

namespace espgw::dp {

struct BurstKeys {
    uint32_t keys[kBurst];
    unsigned n = 0;

    // key's place in keys, added if it is new. Direct-mapped on the key's low bits: two keys
    // that share a way are both kept (then one may be added twice), never mixed up.
    uint8_t add(uint32_t key) {
        Way& e = ways[(key ^ key >> 8) % kWays];
        if (!e.valid || e.key != key) {
            e = {key, static_cast<uint8_t>(n), true};
            keys[n++] = key;
        }
        return e.index;
    }

private:
    static constexpr unsigned kWays = 16;
    struct Way {
        uint32_t key;
        uint8_t index;
        bool valid;
    } ways[kWays]{};
};

}  // namespace espgw::dp
