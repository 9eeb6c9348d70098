#include "espgw/ike/payloads.h"

#include "wire.h"

namespace espgw::ike {

namespace {

using K = ParseErrorKind;

ParseError error(K kind, size_t offset, uint32_t value, const char* what) {
    return ParseError{kind, offset, value, what};
}
ParseError too_short(std::span<const uint8_t> body) {
    return error(K::kBodyTooShort, body.size(), static_cast<uint32_t>(body.size()),
                 "payload body shorter than its fixed fields");
}
std::vector<uint8_t> bytes(std::span<const uint8_t> s) { return std::vector<uint8_t>(s.begin(), s.end()); }

// --- SA ----------------------------------------------------------------------------------

// Substructure headers (§3.3.1, §3.3.2): the first octet says whether another substructure
// of the same kind follows (2 proposal, 3 transform) or this is the last (0).
constexpr uint8_t kLast = 0;
constexpr uint8_t kMoreProposals = 2;
constexpr uint8_t kMoreTransforms = 3;
constexpr size_t kProposalHeader = 8;
constexpr size_t kTransformHeader = 8;
constexpr uint16_t kAttrFormatTv = 0x8000;  // AF bit: a 2-octet value instead of a length

// The marker must agree with the lengths: "more" exactly when bytes remain in the parent.
std::optional<ParseError> check_marker(uint8_t marker, uint8_t more, bool bytes_follow, size_t at) {
    if ((marker != kLast && marker != more) || (marker == more) != bytes_follow)
        return error(K::kBadLastSubstructure, at, marker, "last-substructure marker disagrees with the lengths");
    return std::nullopt;
}

// Attributes of one transform, b[at, end) (§3.3.5).
std::optional<ParseError> parse_attributes(std::span<const uint8_t> b, size_t at, size_t end, Transform& t) {
    while (at < end) {
        if (end - at < 4) return error(K::kBadAttribute, at, 0, "attribute header past the transform end");
        const uint16_t word = wire::get16(&b[at]);
        const uint16_t type = word & ~kAttrFormatTv;
        size_t len = 4;
        if (!(word & kAttrFormatTv)) len += wire::get16(&b[at + 2]);
        if (len > end - at) return error(K::kBadAttribute, at, type, "attribute runs past the transform end");
        if (type == kAttrKeyLength) {
            if (!(word & kAttrFormatTv))
                return error(K::kBadAttribute, at, type, "Key Length attribute not in TV format");
            if (t.key_length) return error(K::kBadAttribute, at, type, "Key Length attribute twice");
            t.key_length = wire::get16(&b[at + 2]);
        } else {
            t.other_attributes.insert(t.other_attributes.end(), &b[at], &b[at] + len);
        }
        at += len;
    }
    return std::nullopt;
}

// The transforms of a proposal, b[at, end), which must be `count` of them.
std::optional<ParseError> parse_transforms(std::span<const uint8_t> b, size_t at, size_t end, uint8_t count,
                                           std::vector<Transform>& out) {
    const size_t first = at;
    while (at < end) {
        if (end - at < kTransformHeader)
            return error(K::kBadTransformLength, at, 0, "transform header past the proposal end");
        const uint16_t len = wire::get16(&b[at + 2]);
        if (len < kTransformHeader || len > end - at)
            return error(K::kBadTransformLength, at, len, "transform length outside its proposal");
        if (auto e = check_marker(b[at], kMoreTransforms, at + len < end, at)) return e;
        Transform& t = out.emplace_back();
        t.type = TransformType{b[at + 4]};
        t.id = wire::get16(&b[at + 6]);
        if (auto e = parse_attributes(b, at + kTransformHeader, at + len, t)) return e;
        at += len;
    }
    // Zero transforms is a count mismatch too: a proposal without any offers nothing.
    if (out.size() != count || count == 0)
        return error(K::kBadCount, first, count, "transform count disagrees with the transforms");
    return std::nullopt;
}

// §3.3.1: ESP and AH SPIs are 4 octets; an IKE proposal carries none in IKE_SA_INIT and the
// new 8-octet SPI when rekeying the IKE SA. Other protocols are left to the engine.
bool spi_size_ok(ProtocolId protocol, size_t size) {
    switch (protocol) {
        case ProtocolId::kIke: return size == 0 || size == 8;
        case ProtocolId::kAh:
        case ProtocolId::kEsp: return size == 4;
        default: return true;
    }
}

std::optional<ParseError> parse_proposal(std::span<const uint8_t> b, size_t at, Proposal& p, size_t& end) {
    if (b.size() - at < kProposalHeader)
        return error(K::kBadProposalLength, at, 0, "proposal header past the SA end");
    const uint16_t len = wire::get16(&b[at + 2]);
    const uint8_t spi_size = b[at + 6];
    if (len < kProposalHeader + spi_size || len > b.size() - at)
        return error(K::kBadProposalLength, at, len, "proposal length outside the SA payload");
    end = at + len;
    if (auto e = check_marker(b[at], kMoreProposals, end < b.size(), at)) return e;
    p.number = b[at + 4];
    p.protocol = ProtocolId{b[at + 5]};
    if (!spi_size_ok(p.protocol, spi_size))
        return error(K::kBadSpiSize, at + 6, spi_size, "SPI size wrong for the protocol");
    const size_t spi = at + kProposalHeader;
    p.spi = bytes(b.subspan(spi, spi_size));
    return parse_transforms(b, spi + spi_size, end, b[at + 7], p.transforms);
}

void build_transform(const Transform& t, bool last, std::vector<uint8_t>& out) {
    const size_t start = out.size();
    wire::put8(out, last ? kLast : kMoreTransforms);
    wire::put8(out, 0);
    wire::put16(out, 0);  // Length, patched below
    wire::put8(out, static_cast<uint8_t>(t.type));
    wire::put8(out, 0);
    wire::put16(out, t.id);
    if (t.key_length) {
        wire::put16(out, kAttrFormatTv | kAttrKeyLength);
        wire::put16(out, *t.key_length);
    }
    wire::append(out, t.other_attributes);
    wire::patch16(out, start + 2, static_cast<uint16_t>(out.size() - start));
}

// --- Traffic selectors ---------------------------------------------------------------------

constexpr size_t kTsV4Length = 16;  // type, protocol, length, 2 ports, 2 IPv4 addresses
constexpr size_t kTsV6Length = 40;  // the same with IPv6 addresses

std::optional<ParseError> parse_selector(std::span<const uint8_t> b, size_t at, TrafficSelector& ts, size_t& len) {
    if (b.size() - at < 4) return error(K::kBadSelectorLength, at, 0, "selector header past the payload end");
    const uint8_t type = b[at];
    len = wire::get16(&b[at + 2]);
    if (type != static_cast<uint8_t>(TsType::kIpv4AddrRange) && type != static_cast<uint8_t>(TsType::kIpv6AddrRange))
        return error(K::kUnsupportedSelectorType, at, type, "traffic selector type not supported");
    const bool v4 = type == static_cast<uint8_t>(TsType::kIpv4AddrRange);
    if (len != (v4 ? kTsV4Length : kTsV6Length) || len > b.size() - at)
        return error(K::kBadSelectorLength, at, static_cast<uint32_t>(len), "selector length wrong for its type");
    ts.type = TsType{type};
    ts.ip_protocol = b[at + 1];
    ts.start_port = wire::get16(&b[at + 4]);
    ts.end_port = wire::get16(&b[at + 6]);
    const uint8_t* addr = &b[at + 8];
    if (v4) {
        ts.start = net::IpAddr::v4(wire::get32(addr));
        ts.end = net::IpAddr::v4(wire::get32(addr + 4));
    } else {
        ts.start = net::IpAddr::v6(addr);
        ts.end = net::IpAddr::v6(addr + 16);
    }
    return std::nullopt;
}

}  // namespace

// --- SA ----------------------------------------------------------------------------------

Parsed<SaPayload> parse_sa(std::span<const uint8_t> b, SaKind kind) {
    if (b.empty()) return error(K::kNoProposal, 0, 0, "SA payload without a proposal");
    SaPayload sa;
    size_t at = 0;
    while (at < b.size()) {
        Proposal& p = sa.proposals.emplace_back();
        size_t end = 0;
        if (auto e = parse_proposal(b, at, p, end)) return *e;
        if (kind == SaKind::kAccepted) {
            if (sa.proposals.size() > 1)
                return error(K::kBadProposalCount, at, 0, "an accepted SA carries exactly one proposal");
            if (p.number == 0) return error(K::kBadProposalNumber, at + 4, 0, "proposal number 0");
        } else if (p.number != sa.proposals.size()) {
            return error(K::kBadProposalNumber, at + 4, p.number, "offered proposals are numbered 1, 2, 3...");
        }
        at = end;
    }
    return sa;
}

std::vector<uint8_t> build_sa(const SaPayload& sa) {
    std::vector<uint8_t> out;
    for (size_t i = 0; i < sa.proposals.size(); ++i) {
        const Proposal& p = sa.proposals[i];
        const size_t start = out.size();
        wire::put8(out, i + 1 < sa.proposals.size() ? kMoreProposals : kLast);
        wire::put8(out, 0);
        wire::put16(out, 0);  // Length, patched below
        wire::put8(out, p.number);
        wire::put8(out, static_cast<uint8_t>(p.protocol));
        wire::put8(out, static_cast<uint8_t>(p.spi.size()));
        wire::put8(out, static_cast<uint8_t>(p.transforms.size()));
        wire::append(out, p.spi);
        for (size_t j = 0; j < p.transforms.size(); ++j)
            build_transform(p.transforms[j], j + 1 == p.transforms.size(), out);
        wire::patch16(out, start + 2, static_cast<uint16_t>(out.size() - start));
    }
    return out;
}

// --- KE: group (2), reserved (2), data --------------------------------------------------------

Parsed<KePayload> parse_ke(std::span<const uint8_t> b) {
    if (b.size() < 4) return too_short(b);
    return KePayload{wire::get16(&b[0]), bytes(b.subspan(4))};
}

std::vector<uint8_t> build_ke(const KePayload& ke) {
    return wire::concat({static_cast<uint8_t>(ke.group >> 8), static_cast<uint8_t>(ke.group), 0, 0}, ke.data);
}

// --- Nonce ---------------------------------------------------------------------------------

Parsed<NoncePayload> parse_nonce(std::span<const uint8_t> b) {
    if (b.size() < kNonceMin || b.size() > kNonceMax)
        return error(K::kBadNonceLength, 0, static_cast<uint32_t>(b.size()), "nonce not 16 to 256 octets");
    return NoncePayload{bytes(b)};
}

std::vector<uint8_t> build_nonce(const NoncePayload& n) { return n.nonce; }

// --- Notify: protocol (1), SPI size (1), type (2), SPI, data ------------------------------------

Parsed<NotifyPayload> parse_notify(std::span<const uint8_t> b) {
    if (b.size() < 4) return too_short(b);
    const uint8_t spi_size = b[1];
    if (spi_size > b.size() - 4) return error(K::kBadSpiSize, 1, spi_size, "SPI runs past the notify payload");
    return NotifyPayload{ProtocolId{b[0]}, NotifyType{wire::get16(&b[2])}, bytes(b.subspan(4, spi_size)),
                         bytes(b.subspan(4 + spi_size))};
}

std::vector<uint8_t> build_notify(const NotifyPayload& n) {
    const auto type = static_cast<uint16_t>(n.type);
    return wire::concat({static_cast<uint8_t>(n.protocol), static_cast<uint8_t>(n.spi.size()),
                         static_cast<uint8_t>(type >> 8), static_cast<uint8_t>(type)},
                        n.spi, n.data);
}

// --- ID and AUTH: one type octet, 3 reserved, data ----------------------------------------------

Parsed<IdPayload> parse_id(std::span<const uint8_t> b) {
    if (b.size() < 4) return too_short(b);
    return IdPayload{IdType{b[0]}, bytes(b.subspan(4))};
}

std::vector<uint8_t> build_id(const IdPayload& id) {
    return wire::concat({static_cast<uint8_t>(id.type), 0, 0, 0}, id.data);
}

Parsed<AuthPayload> parse_auth(std::span<const uint8_t> b) {
    if (b.size() < 4) return too_short(b);
    return AuthPayload{AuthMethod{b[0]}, bytes(b.subspan(4))};
}

std::vector<uint8_t> build_auth(const AuthPayload& a) {
    return wire::concat({static_cast<uint8_t>(a.method), 0, 0, 0}, a.data);
}

// --- Vendor ID: opaque ------------------------------------------------------------------------

Parsed<VendorIdPayload> parse_vendor_id(std::span<const uint8_t> b) { return VendorIdPayload{bytes(b)}; }

std::vector<uint8_t> build_vendor_id(const VendorIdPayload& v) { return v.id; }

// --- Delete: protocol (1), SPI size (1), number of SPIs (2), SPIs --------------------------------

Parsed<DeletePayload> parse_delete(std::span<const uint8_t> b) {
    if (b.size() < 4) return too_short(b);
    const ProtocolId protocol{b[0]};
    const uint8_t spi_size = b[1];
    const uint16_t count = wire::get16(&b[2]);
    const bool ike = protocol == ProtocolId::kIke;
    const bool child = protocol == ProtocolId::kAh || protocol == ProtocolId::kEsp;
    if (!(ike && spi_size == 0) && !(child && spi_size == 4))
        return error(K::kBadSpiSize, 1, spi_size, "SPI size is neither 0 for IKE nor 4 for AH/ESP");
    // IKE: no SPIs at all (§3.11), so a nonzero count is as wrong as missing SPIs.
    if (b.size() - 4 != size_t{spi_size} * count || (ike && count != 0))
        return error(K::kBadCount, 2, count, "number of SPIs disagrees with the payload length");
    DeletePayload d{protocol, {}};
    for (size_t at = 4; at < b.size(); at += 4) d.spis.push_back(wire::get32(&b[at]));
    return d;
}

std::vector<uint8_t> build_delete(const DeletePayload& d) {
    std::vector<uint8_t> out;
    const bool ike = d.protocol == ProtocolId::kIke;
    wire::put8(out, static_cast<uint8_t>(d.protocol));
    wire::put8(out, ike ? 0 : 4);
    wire::put16(out, ike ? 0 : static_cast<uint16_t>(d.spis.size()));
    if (!ike)
        for (uint32_t spi : d.spis) wire::put32(out, spi);
    return out;
}

// --- Traffic selectors: count (1), reserved (3), selectors ----------------------------------------

Parsed<TsPayload> parse_ts(std::span<const uint8_t> b) {
    if (b.size() < 4) return too_short(b);
    const uint8_t count = b[0];
    TsPayload ts;
    size_t at = 4;
    for (unsigned i = 0; i < count; ++i) {
        if (at == b.size()) return error(K::kBadCount, 0, count, "fewer selectors than counted");
        size_t len = 0;
        if (auto e = parse_selector(b, at, ts.selectors.emplace_back(), len)) return *e;
        at += len;
    }
    if (at != b.size()) return error(K::kBadCount, 0, count, "more octets than the selectors counted");
    return ts;
}

std::vector<uint8_t> build_ts(const TsPayload& ts) {
    std::vector<uint8_t> out{static_cast<uint8_t>(ts.selectors.size()), 0, 0, 0};
    for (const TrafficSelector& s : ts.selectors) {
        const bool v4 = s.type == TsType::kIpv4AddrRange;
        wire::put8(out, static_cast<uint8_t>(s.type));
        wire::put8(out, s.ip_protocol);
        wire::put16(out, static_cast<uint16_t>(v4 ? kTsV4Length : kTsV6Length));
        wire::put16(out, s.start_port);
        wire::put16(out, s.end_port);
        if (v4) {
            wire::put32(out, s.start.v4());
            wire::put32(out, s.end.v4());
        } else {
            wire::append(out, s.start.b);
            wire::append(out, s.end.b);
        }
    }
    return out;
}

// --- CERT, CERTREQ: encoding (1), data ------------------------------------------------------------

Parsed<CertPayload> parse_cert(std::span<const uint8_t> b) {
    if (b.empty()) return too_short(b);
    return CertPayload{b[0], bytes(b.subspan(1))};
}

std::vector<uint8_t> build_cert(const CertPayload& c) { return wire::concat({c.encoding}, c.data); }

}  // namespace espgw::ike
