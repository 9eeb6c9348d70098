#include "espgw/net/prefix.h"

#include <arpa/inet.h>

#include <charconv>

namespace espgw::net {

std::string IpAddr::str() const {
    char buf[INET6_ADDRSTRLEN];
    if (is_v4())
        inet_ntop(AF_INET, b + 12, buf, sizeof buf);
    else
        inet_ntop(AF_INET6, b, buf, sizeof buf);
    return buf;
}

Prefix Prefix::v4(uint32_t addr_host, uint8_t len) {
    Prefix p;
    p.family = 4;
    p.len = len;
    const uint32_t be = htonl(addr_host);
    std::memcpy(p.addr, &be, 4);
    return p;
}

bool Prefix::contains_v6(const uint8_t* a) const {
    if (family != 6) return false;
    const uint8_t full = len / 8, rest = len % 8;
    if (std::memcmp(a, addr, full) != 0) return false;
    if (rest == 0) return true;
    const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
    return ((a[full] ^ addr[full]) & mask) == 0;
}

std::string Prefix::str() const {
    char buf[INET6_ADDRSTRLEN];
    inet_ntop(family == 6 ? AF_INET6 : AF_INET, addr, buf, sizeof buf);
    return std::string(buf) + "/" + std::to_string(len);
}

std::optional<Prefix> parse_prefix(std::string_view text) {
    Prefix p;
    std::string addr(text.substr(0, text.find('/')));
    if (inet_pton(AF_INET, addr.c_str(), p.addr) == 1) {
        p.family = 4;
        p.len = 32;
    } else if (inet_pton(AF_INET6, addr.c_str(), p.addr) == 1) {
        p.family = 6;
        p.len = 128;
    } else {
        return std::nullopt;
    }
    if (const size_t slash = text.find('/'); slash != std::string_view::npos) {
        const std::string_view len = text.substr(slash + 1);
        unsigned v = 0;
        auto [end, ec] = std::from_chars(len.data(), len.data() + len.size(), v);
        if (ec != std::errc() || end != len.data() + len.size() || len.empty() || v > p.len)
            return std::nullopt;
        p.len = static_cast<uint8_t>(v);
    }
    // Clear host bits so equal prefixes compare equal.
    for (unsigned bit = p.len; bit < (p.family == 4 ? 32u : 128u); ++bit)
        p.addr[bit / 8] &= static_cast<uint8_t>(~(0x80 >> (bit % 8)));
    return p;
}

std::optional<uint32_t> parse_ipv4(std::string_view text) {
    std::string s(text);
    uint32_t be;
    if (inet_pton(AF_INET, s.c_str(), &be) != 1) return std::nullopt;
    return ntohl(be);
}

std::string ipv4_str(uint32_t addr_host) {
    const uint32_t be = htonl(addr_host);
    char buf[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &be, buf, sizeof buf);
    return buf;
}

}  // namespace espgw::net
