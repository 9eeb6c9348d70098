// IPv4/IPv6 addresses and prefixes as the data plane compares them.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace espgw::net {

struct Prefix {
    uint8_t family = 0;  // 4 or 6; 0 = unset
    uint8_t len = 0;     // prefix length in bits
    uint8_t addr[16]{};  // network byte order; IPv4 uses the first 4 bytes

    static Prefix v4(uint32_t addr_host, uint8_t len);
    uint32_t v4_host() const;  // IPv4 address in host order

    // addr: network byte order, 4 or 16 bytes according to family.
    bool contains_v4(uint32_t addr_host) const {
        if (family != 4) return false;
        const uint32_t mask = len == 0 ? 0 : ~uint32_t{0} << (32 - len);
        return ((addr_host ^ v4_host()) & mask) == 0;
    }
    bool contains_v6(const uint8_t* a) const;
    std::string str() const;
};

// "192.0.2.1", "192.0.2.0/24", "2001:db8::/32". A bare address is a host prefix.
std::optional<Prefix> parse_prefix(std::string_view text);
// An address without a length, IPv4 only; host order.
std::optional<uint32_t> parse_ipv4(std::string_view text);
std::string ipv4_str(uint32_t addr_host);

}  // namespace espgw::net
