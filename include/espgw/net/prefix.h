// IPv4/IPv6 addresses and prefixes as the data plane compares them.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace espgw::net {

// An IPv4 or IPv6 address as one 16-byte key (IPv4 as ::ffff:a.b.c.d, RFC 4291 §2.5.5.2).
struct IpAddr {
    uint8_t b[16]{};

    static IpAddr v4(uint32_t addr_host) {
        IpAddr a;
        a.b[10] = a.b[11] = 0xff;
        a.b[12] = static_cast<uint8_t>(addr_host >> 24);
        a.b[13] = static_cast<uint8_t>(addr_host >> 16);
        a.b[14] = static_cast<uint8_t>(addr_host >> 8);
        a.b[15] = static_cast<uint8_t>(addr_host);
        return a;
    }
    static IpAddr v6(const uint8_t* bytes) {
        IpAddr a;
        std::memcpy(a.b, bytes, 16);
        return a;
    }
    // The IPv4 address (host order) of a mapped address.
    uint32_t v4() const {
        return uint32_t{b[12]} << 24 | uint32_t{b[13]} << 16 | uint32_t{b[14]} << 8 | b[15];
    }
    bool is_v4() const {
        static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        return std::memcmp(b, kMapped, 12) == 0;
    }
    bool operator==(const IpAddr& o) const { return std::memcmp(b, o.b, 16) == 0; }
    bool operator<(const IpAddr& o) const { return std::memcmp(b, o.b, 16) < 0; }
    std::string str() const;
};

// An IPv4 or IPv6 prefix. The address is an IpAddr, IPv4 mapped as everywhere else; len
// counts bits of the address family's own length (0..32 for IPv4).
struct Prefix {
    uint8_t family = 0;  // 4 or 6; 0 = unset
    uint8_t len = 0;     // prefix length in bits
    IpAddr addr;         // host bits clear

    static Prefix v4(uint32_t addr_host, uint8_t len);
    static Prefix v6(const uint8_t a[16], uint8_t len);
    // The prefix of exactly one address (/32 or /128).
    static Prefix host(const IpAddr& a) { return a.is_v4() ? v4(a.v4(), 32) : v6(a.b, 128); }
    bool operator==(const Prefix& o) const { return family == o.family && len == o.len && addr == o.addr; }
    uint32_t v4_host() const { return addr.v4(); }  // IPv4 address in host order

    bool contains_v4(uint32_t addr_host) const {
        if (family != 4) return false;
        const auto mask = static_cast<uint32_t>(~uint64_t{0} << (32 - len));  // len 0..32, no branch
        return ((addr_host ^ v4_host()) & mask) == 0;
    }
    bool contains_v6(const uint8_t* a) const;  // a: 16 bytes, network order
    bool contains(const IpAddr& a) const { return family == 4 ? a.is_v4() && contains_v4(a.v4()) : contains_v6(a.b); }
    std::string str() const;
};

// "192.0.2.1", "192.0.2.0/24", "2001:db8::/32". A bare address is a host prefix.
std::optional<Prefix> parse_prefix(std::string_view text);
// An address without a length, IPv4 only; host order.
std::optional<uint32_t> parse_ipv4(std::string_view text);
std::string ipv4_str(uint32_t addr_host);

}  // namespace espgw::net
