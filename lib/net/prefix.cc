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
    p.len = len > 32 ? 32 : len;
    const uint32_t mask = static_cast<uint32_t>(~uint64_t{0} << (32 - p.len));
    p.addr = IpAddr::v4(addr_host & mask);
    return p;
}

Prefix Prefix::v6(const uint8_t a[16], uint8_t len) {
    Prefix p;
    p.family = 6;
    p.len = len > 128 ? 128 : len;
    p.addr = IpAddr::v6(a);
    for (unsigned bit = p.len; bit < 128; ++bit) p.addr.b[bit / 8] &= static_cast<uint8_t>(~(0x80 >> (bit % 8)));
    return p;
}

bool Prefix::contains_v6(const uint8_t* a) const {
    if (family != 6) return false;
    const uint8_t full = len / 8, rest = len % 8;
    if (std::memcmp(a, addr.b, full) != 0) return false;
    if (rest == 0) return true;
    const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
    return ((a[full] ^ addr.b[full]) & mask) == 0;
}

std::string Prefix::str() const { return addr.str() + "/" + std::to_string(len); }

std::optional<Prefix> parse_prefix(std::string_view text) {
    const std::string a(text.substr(0, text.find('/')));
    uint8_t bytes[16];
    unsigned max;
    bool v4;
    if (inet_pton(AF_INET, a.c_str(), bytes) == 1) {
        v4 = true;
        max = 32;
    } else if (inet_pton(AF_INET6, a.c_str(), bytes) == 1) {
        v4 = false;
        max = 128;
    } else {
        return std::nullopt;
    }
    unsigned len = max;
    if (const size_t slash = text.find('/'); slash != std::string_view::npos) {
        const std::string_view l = text.substr(slash + 1);
        auto [end, ec] = std::from_chars(l.data(), l.data() + l.size(), len);
        if (ec != std::errc() || end != l.data() + l.size() || l.empty() || len > max) return std::nullopt;
    }
    // Host bits cleared so that equal prefixes compare equal.
    if (v4) return Prefix::v4(uint32_t{bytes[0]} << 24 | uint32_t{bytes[1]} << 16 | uint32_t{bytes[2]} << 8 | bytes[3],
                              static_cast<uint8_t>(len));
    return Prefix::v6(bytes, static_cast<uint8_t>(len));
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
