#include "espgw/ike/traffic_selectors.h"

#include <algorithm>

namespace espgw::ike {

namespace {

// Addresses as 128-bit numbers (IPv4 as mapped addresses, so one arithmetic for both).
__extension__ using U128 = unsigned __int128;

U128 to_num(const net::IpAddr& a) {
    U128 v = 0;
    for (uint8_t b : a.b) v = (v << 8) | b;
    return v;
}

net::IpAddr from_num(U128 v) {
    net::IpAddr a;
    for (int k = 15; k >= 0; --k) {
        a.b[k] = static_cast<uint8_t>(v);
        v >>= 8;
    }
    return a;
}

// The bits a prefix of family f leaves to the host part, as a 128-bit number of length len.
unsigned host_bits(int family, unsigned len) { return (family == 4 ? 32u : 128u) - len; }

U128 first_of(const net::Prefix& p) {
    const unsigned h = host_bits(p.family, p.len);
    const U128 a = to_num(p.family == 4 ? net::IpAddr::v4(p.addr.v4()) : p.addr);
    return h >= 128 ? 0 : (a >> h) << h;
}

U128 last_of(const net::Prefix& p) {
    const unsigned h = host_bits(p.family, p.len);
    const U128 ones = h >= 128 ? ~U128{0} : (U128{1} << h) - 1;
    return first_of(p) | ones;
}

bool is_v4_range(U128 v) { return (v >> 32) == 0xffff; }

net::Prefix prefix_at(U128 start, unsigned host, bool v4) {
    const net::IpAddr a = from_num(start);
    if (v4) return net::Prefix::v4(a.v4(), static_cast<uint8_t>(32 - host));
    return net::Prefix::v6(a.b, static_cast<uint8_t>(128 - host));
}

bool full_ports(const TrafficSelector& t) { return t.ip_protocol == 0 && t.start_port == 0 && t.end_port == 65535; }

}  // namespace

TrafficSelector selector_of(const net::Prefix& p) {
    TrafficSelector t;
    t.type = p.family == 4 ? TsType::kIpv4AddrRange : TsType::kIpv6AddrRange;
    t.start = from_num(first_of(p));
    t.end = from_num(last_of(p));
    return t;
}

std::vector<net::Prefix> range_to_prefixes(const net::IpAddr& start, const net::IpAddr& end) {
    std::vector<net::Prefix> out;
    U128 lo = to_num(start);
    const U128 hi = to_num(end);
    if (lo > hi || start.is_v4() != end.is_v4()) return out;
    const bool v4 = start.is_v4();
    const unsigned width = v4 ? 32 : 128;
    for (;;) {
        // The largest block that starts at lo (aligned) and does not pass hi.
        unsigned host = 0;
        while (host < width) {
            const unsigned next = host + 1;
            const U128 size = next >= 128 ? 0 : U128{1} << next;  // 0 stands for 2^128
            const U128 mask = size ? size - 1 : ~U128{0};
            if ((lo & mask) != 0) break;
            if ((lo | mask) > hi) break;
            if (v4 && next > 32) break;
            host = next;
        }
        out.push_back(prefix_at(lo, host, v4));
        const U128 block_last = lo | (host >= 128 ? ~U128{0} : (U128{1} << host) - 1);
        if (block_last >= hi) break;
        lo = block_last + 1;
    }
    return out;
}

Narrowed narrow(const TsPayload& theirs, const std::vector<net::Prefix>& allowed, size_t max_prefixes) {
    Narrowed n;
    for (const TrafficSelector& t : theirs.selectors) {
        if (!full_ports(t)) continue;
        const U128 lo = to_num(t.start), hi = to_num(t.end);
        if (lo > hi) continue;
        const bool v4 = t.type == TsType::kIpv4AddrRange;
        if (v4 != (is_v4_range(lo) && is_v4_range(hi))) continue;
        for (const net::Prefix& p : allowed) {
            if ((p.family == 4) != v4) continue;
            const U128 a = std::max(lo, first_of(p)), b = std::min(hi, last_of(p));
            if (a > b) continue;
            const net::IpAddr sa = from_num(a), sb = from_num(b);
            std::vector<net::Prefix> parts = range_to_prefixes(sa, sb);
            // An IPv6 range with just one end in ::ffff:0:0/96 (read as IPv4 everywhere in
            // espgw) is no run of prefixes of one family: answering it would promise a
            // selector that no installed prefix holds.
            if (parts.empty()) continue;
            if (n.prefixes.size() + parts.size() > max_prefixes) {
                // Narrowing may leave out what does not fit; a range is kept whole or not at all.
                continue;
            }
            if (std::any_of(n.selectors.begin(), n.selectors.end(),
                            [&](const TrafficSelector& s) { return s.start == sa && s.end == sb; }))
                continue;
            TrafficSelector r;
            r.type = t.type;
            r.start = sa;
            r.end = sb;
            n.selectors.push_back(r);
            n.prefixes.insert(n.prefixes.end(), parts.begin(), parts.end());
        }
    }
    return n;
}

}  // namespace espgw::ike
