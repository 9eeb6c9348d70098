// Network byte order on the packet path. DPDK's rte_be_to_cpu_16/32 are inline assembly on
// x86, which the compiler may neither fold nor move: a comparison of a header field with a
// configured port is swapped again for every packet. These builtins compile to the same
// instruction where one is needed and let the compiler do the rest.
#pragma once

#include <bit>
#include <cstdint>

namespace espgw::net {

constexpr uint16_t be16(uint16_t v) {
    if constexpr (std::endian::native == std::endian::little) return __builtin_bswap16(v);
    return v;
}
constexpr uint32_t be32(uint32_t v) {
    if constexpr (std::endian::native == std::endian::little) return __builtin_bswap32(v);
    return v;
}
constexpr uint64_t be64(uint64_t v) {
    if constexpr (std::endian::native == std::endian::little) return __builtin_bswap64(v);
    return v;
}

}  // namespace espgw::net
