#include "espgw/ike/config_payload.h"

#include <algorithm>

namespace espgw::ike {

namespace {

ParseError err(ParseErrorKind k, size_t off, uint32_t v, const char* what) { return ParseError{k, off, v, what}; }

}  // namespace

bool CpPayload::asks(uint16_t attr) const {
    return std::any_of(attributes.begin(), attributes.end(), [&](const CfgAttribute& a) { return a.type == attr; });
}

Parsed<CpPayload> parse_cp(std::span<const uint8_t> body) {
    // CFG Type (1), RESERVED (3), then attributes: type (2, top bit reserved), length (2), value.
    if (body.size() < 4) return err(ParseErrorKind::kBodyTooShort, 0, static_cast<uint32_t>(body.size()), "CP body shorter than 4 octets");
    CpPayload cp;
    cp.type = static_cast<CfgType>(body[0]);
    size_t off = 4;
    while (off < body.size()) {
        if (body.size() - off < 4) return err(ParseErrorKind::kBadAttribute, off, 0, "CP attribute header truncated");
        const uint16_t type = static_cast<uint16_t>((body[off] << 8 | body[off + 1]) & 0x7fff);
        const size_t len = static_cast<size_t>(body[off + 2] << 8 | body[off + 3]);
        if (body.size() - off - 4 < len) return err(ParseErrorKind::kBadAttribute, off, type, "CP attribute runs past the payload");
        CfgAttribute a;
        a.type = type;
        a.value.assign(body.begin() + static_cast<long>(off + 4), body.begin() + static_cast<long>(off + 4 + len));
        cp.attributes.push_back(std::move(a));
        off += 4 + len;
    }
    return cp;
}

std::vector<uint8_t> build_cp(const CpPayload& cp) {
    std::vector<uint8_t> out = {static_cast<uint8_t>(cp.type), 0, 0, 0};
    for (const CfgAttribute& a : cp.attributes) {
        out.push_back(static_cast<uint8_t>((a.type >> 8) & 0x7f));
        out.push_back(static_cast<uint8_t>(a.type));
        out.push_back(static_cast<uint8_t>(a.value.size() >> 8));
        out.push_back(static_cast<uint8_t>(a.value.size()));
        out.insert(out.end(), a.value.begin(), a.value.end());
    }
    return out;
}

CfgAttribute ip4_attribute(uint16_t type, const net::IpAddr& a) {
    return CfgAttribute{type, {a.b[12], a.b[13], a.b[14], a.b[15]}};
}

CfgAttribute ip6_attribute(uint16_t type, const net::IpAddr& a, uint8_t prefix_len) {
    CfgAttribute c{type, std::vector<uint8_t>(a.b, a.b + 16)};
    if (type == cfg_attr::kInternalIp6Address) c.value.push_back(prefix_len);
    return c;
}

}  // namespace espgw::ike
