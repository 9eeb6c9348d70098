// Big-endian fields for the IKE codec (RFC 7296 §3: multi-octet integers are in network
// byte order). Internal to lib/ike: readers take a pointer the caller has already bounds-
// checked, writers append to the message being built. Byte by byte, so no alignment or
// host byte order question arises.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <vector>

namespace espgw::ike::wire {

inline uint16_t get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t get32(const uint8_t* p) {
    return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
inline uint64_t get64(const uint8_t* p) { return uint64_t{get32(p)} << 32 | get32(p + 4); }

inline void put8(std::vector<uint8_t>& out, uint8_t v) { out.push_back(v); }
inline void put16(std::vector<uint8_t>& out, uint16_t v) {
    out.push_back(static_cast<uint8_t>(v >> 8));
    out.push_back(static_cast<uint8_t>(v));
}
inline void put32(std::vector<uint8_t>& out, uint32_t v) {
    put16(out, static_cast<uint16_t>(v >> 16));
    put16(out, static_cast<uint16_t>(v));
}
inline void put64(std::vector<uint8_t>& out, uint64_t v) {
    put32(out, static_cast<uint32_t>(v >> 32));
    put32(out, static_cast<uint32_t>(v));
}
// SPIs as the payloads carry them (4 octets for ESP, 8 for IKE).
inline std::vector<uint8_t> bytes32(uint32_t v) {
    std::vector<uint8_t> out;
    put32(out, v);
    return out;
}
inline std::vector<uint8_t> bytes64(uint64_t v) {
    std::vector<uint8_t> out;
    put64(out, v);
    return out;
}
inline void append(std::vector<uint8_t>& out, std::span<const uint8_t> bytes) {
    out.insert(out.end(), bytes.begin(), bytes.end());
}
// A few fixed octets followed by opaque data, sized once. Appending data to a vector of a
// few octets instead makes g++ 12 report a read past a region of size 0 on the reallocation
// path (-Wstringop-overread, a false positive that -Werror turns into a failed build).
inline std::vector<uint8_t> concat(std::initializer_list<uint8_t> head, std::span<const uint8_t> a,
                                   std::span<const uint8_t> b = {}) {
    std::vector<uint8_t> out(head.size() + a.size() + b.size());
    auto it = std::copy(head.begin(), head.end(), out.begin());
    it = std::copy(a.begin(), a.end(), it);
    std::copy(b.begin(), b.end(), it);
    return out;
}
// Length fields are written as a placeholder first and patched once the contents are known.
inline void patch16(std::vector<uint8_t>& out, size_t at, uint16_t v) {
    out[at] = static_cast<uint8_t>(v >> 8);
    out[at + 1] = static_cast<uint8_t>(v);
}
inline void patch32(std::vector<uint8_t>& out, size_t at, uint32_t v) {
    patch16(out, at, static_cast<uint16_t>(v >> 16));
    patch16(out, at + 2, static_cast<uint16_t>(v));
}

}  // namespace espgw::ike::wire
