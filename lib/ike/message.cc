#include "espgw/ike/message.h"

#include <optional>

#include "wire.h"

namespace espgw::ike {

namespace {

// Header octet offsets (RFC 7296 §3.1, Figure 4).
constexpr size_t kSpiROffset = 8;
constexpr size_t kNextPayloadOffset = 16;
constexpr size_t kVersionOffset = 17;
constexpr size_t kExchangeOffset = 18;
constexpr size_t kFlagsOffset = 19;
constexpr size_t kMessageIdOffset = 20;

// Flags (§3.1): bit 3 I, bit 4 V, bit 5 R; the other bits are sent as zero and ignored.
constexpr uint8_t kFlagInitiator = 0x08;
constexpr uint8_t kFlagVersion = 0x10;
constexpr uint8_t kFlagResponse = 0x20;
constexpr uint8_t kCriticalBit = 0x80;

constexpr size_t kMaxPayloadBody = UINT16_MAX - kPayloadHeaderSize;

bool is_encrypted(uint8_t type) {
    return type == static_cast<uint8_t>(PayloadType::kEncrypted) ||
           type == static_cast<uint8_t>(PayloadType::kEncryptedFragment);
}

ParseError error(ParseErrorKind kind, size_t offset, uint32_t value, const char* what) {
    return ParseError{kind, offset, value, what};
}

// The chain after the header (§3.2): each payload's first octet names the type of the next
// one, the header's names the first. Appends to m.payloads.
std::optional<ParseError> parse_chain(std::span<const uint8_t> in, size_t start, uint8_t next,
                                      std::vector<RawPayload>& out) {
    using K = ParseErrorKind;
    const uint8_t* p = in.data();
    size_t off = start;
    while (next != 0) {
        if (in.size() - off < kPayloadHeaderSize)
            return error(K::kPayloadHeaderTruncated, off, next, "the chain names a payload past the message end");
        const uint16_t len = wire::get16(p + off + 2);
        if (len < kPayloadHeaderSize)
            return error(K::kPayloadTooShort, off, len, "payload length is below its own header");
        if (len > in.size() - off)
            return error(K::kPayloadOverrun, off, len, "payload runs past the end of the message");
        const bool critical = p[off + 1] & kCriticalBit;
        if (critical && !is_known_payload_type(next))
            return error(K::kUnsupportedCriticalPayload, off, next, "unknown payload type marked critical");
        RawPayload& pl = out.emplace_back();
        pl.type = PayloadType{next};
        pl.critical = critical;
        pl.body.assign(p + off + kPayloadHeaderSize, p + off + len);
        const uint8_t following = p[off];
        const uint8_t type = next;
        off += len;
        if (is_encrypted(type)) {
            // §3.14: nothing follows the encrypted data; its Next Payload is the inner chain's.
            pl.inner_next = following;
            if (off != in.size())
                return error(K::kEncryptedNotLast, off, type, "octets follow an encrypted payload");
            break;
        }
        next = following;
    }
    if (off != in.size())
        return error(K::kTrailingData, off, static_cast<uint32_t>(in.size() - off),
                     "octets after the last payload of the chain");
    return std::nullopt;
}

}  // namespace

bool is_known_payload_type(uint8_t type) {
    return (type >= static_cast<uint8_t>(PayloadType::kSa) && type <= static_cast<uint8_t>(PayloadType::kEap)) ||
           type == static_cast<uint8_t>(PayloadType::kEncryptedFragment);
}

const RawPayload* Message::find(PayloadType type) const {
    for (const RawPayload& p : payloads)
        if (p.type == type) return &p;
    return nullptr;
}

Parsed<Message> parse_message(std::span<const uint8_t> in) {
    using K = ParseErrorKind;
    if (in.size() < kHeaderSize)
        return error(K::kTooShort, in.size(), static_cast<uint32_t>(in.size()), "shorter than the IKE header");
    const uint8_t* p = in.data();
    // The version before the length: only version 2 defines what the rest of the header
    // means, and the answer to another version needs nothing but the SPIs (§2.5).
    const uint8_t major = p[kVersionOffset] >> 4;
    if (major != kMajorVersion)
        return error(K::kInvalidMajorVersion, kVersionOffset, major, "major version is not 2");
    const uint32_t length = wire::get32(p + kHeaderLengthOffset);
    if (length != in.size())
        return error(K::kLengthMismatch, kHeaderLengthOffset, length, "header length is not the datagram size");

    Message m;
    Header& h = m.header;
    h.spi_i = wire::get64(p);
    h.spi_r = wire::get64(p + kSpiROffset);
    h.minor_version = p[kVersionOffset] & 0x0f;
    h.exchange = ExchangeType{p[kExchangeOffset]};
    const uint8_t flags = p[kFlagsOffset];
    h.initiator = flags & kFlagInitiator;
    h.higher_version = flags & kFlagVersion;
    h.response = flags & kFlagResponse;
    h.message_id = wire::get32(p + kMessageIdOffset);
    if (auto e = parse_chain(in, kHeaderSize, p[kNextPayloadOffset], m.payloads)) return *e;
    return m;
}

Parsed<std::vector<RawPayload>> parse_payloads(std::span<const uint8_t> chain, uint8_t first) {
    std::vector<RawPayload> out;
    if (auto e = parse_chain(chain, 0, first, out)) return *e;
    return out;
}

std::vector<uint8_t> build_payloads(const std::vector<RawPayload>& payloads) {
    std::vector<uint8_t> out;
    for (size_t i = 0; i < payloads.size(); ++i) {
        const RawPayload& pl = payloads[i];
        if (pl.body.size() > kMaxPayloadBody) return {};
        uint8_t next = i + 1 < payloads.size() ? static_cast<uint8_t>(payloads[i + 1].type) : 0;
        if (is_encrypted(static_cast<uint8_t>(pl.type))) next = pl.inner_next;
        wire::put8(out, next);
        wire::put8(out, pl.critical ? kCriticalBit : 0);
        wire::put16(out, static_cast<uint16_t>(kPayloadHeaderSize + pl.body.size()));
        wire::append(out, pl.body);
    }
    return out;
}

std::vector<uint8_t> build_message(const Message& m) {
    const Header& h = m.header;
    std::vector<uint8_t> out;
    size_t size = kHeaderSize;
    for (const RawPayload& pl : m.payloads) size += kPayloadHeaderSize + pl.body.size();
    out.reserve(size);

    wire::put64(out, h.spi_i);
    wire::put64(out, h.spi_r);
    wire::put8(out, m.payloads.empty() ? 0 : static_cast<uint8_t>(m.payloads.front().type));
    wire::put8(out, static_cast<uint8_t>(kMajorVersion << 4 | (h.minor_version & 0x0f)));
    wire::put8(out, static_cast<uint8_t>(h.exchange));
    wire::put8(out, static_cast<uint8_t>((h.initiator ? kFlagInitiator : 0) | (h.higher_version ? kFlagVersion : 0) |
                                         (h.response ? kFlagResponse : 0)));
    wire::put32(out, h.message_id);
    wire::put32(out, 0);  // Length, patched below

    const std::vector<uint8_t> chain = build_payloads(m.payloads);
    if (chain.empty() && !m.payloads.empty()) return {};
    wire::append(out, chain);
    wire::patch32(out, kHeaderLengthOffset, static_cast<uint32_t>(out.size()));
    return out;
}

const char* to_string(ParseErrorKind kind) {
    using K = ParseErrorKind;
    switch (kind) {
        case K::kTooShort: return "too short";
        case K::kInvalidMajorVersion: return "invalid major version";
        case K::kLengthMismatch: return "length mismatch";
        case K::kPayloadHeaderTruncated: return "payload header truncated";
        case K::kPayloadTooShort: return "payload too short";
        case K::kPayloadOverrun: return "payload overrun";
        case K::kTrailingData: return "trailing data";
        case K::kUnsupportedCriticalPayload: return "unsupported critical payload";
        case K::kEncryptedNotLast: return "encrypted payload not last";
        case K::kBodyTooShort: return "payload body too short";
        case K::kNoProposal: return "no proposal";
        case K::kBadProposalLength: return "bad proposal length";
        case K::kBadProposalNumber: return "bad proposal number";
        case K::kBadProposalCount: return "bad proposal count";
        case K::kBadLastSubstructure: return "bad last substructure";
        case K::kBadTransformLength: return "bad transform length";
        case K::kBadAttribute: return "bad attribute";
        case K::kBadSpiSize: return "bad SPI size";
        case K::kBadCount: return "bad count";
        case K::kBadNonceLength: return "bad nonce length";
        case K::kBadSelectorLength: return "bad selector length";
        case K::kUnsupportedSelectorType: return "unsupported selector type";
    }
    return "unknown parse error";
}

std::string describe(const ParseError& e) {
    return std::string(to_string(e.kind)) + " at " + std::to_string(e.offset) + " (value " +
           std::to_string(e.value) + "): " + e.what;
}

}  // namespace espgw::ike
