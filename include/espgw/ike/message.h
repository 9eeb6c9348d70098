// IKEv2 messages on the wire (RFC 7296 §3.1-3.2): the IKE header and the chain of generic
// payloads behind it. The IKE engine parses every received Datagram::message with this and
// builds every message it sends; what is inside each payload is payloads.h. No DPDK here:
// the engine is built and tested without the data plane.
//
// Parsing never throws. A malformed message gives a ParseError that says what was wrong,
// where, and the value the engine needs to answer it (the major version for
// INVALID_MAJOR_VERSION, the payload type for UNSUPPORTED_CRITICAL_PAYLOAD).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace espgw::ike {

// Payload type codes (RFC 7296 §3.2, SKF from RFC 7383 §2.5). A RawPayload may hold a value
// not named here: an unknown payload without the critical bit is kept, not dropped.
enum class PayloadType : uint8_t {
    kNone = 0,  // "no next payload": ends the chain
    kSa = 33,
    kKe = 34,
    kIdi = 35,
    kIdr = 36,
    kCert = 37,
    kCertReq = 38,
    kAuth = 39,
    kNonce = 40,
    kNotify = 41,
    kDelete = 42,
    kVendorId = 43,
    kTsi = 44,
    kTsr = 45,
    kEncrypted = 46,  // SK
    kConfig = 47,     // CP
    kEap = 48,
    kEncryptedFragment = 53,  // SKF
};

// The payload types this codec understands: RFC 7296's own (33..48) and SKF. Only an
// unknown type with the critical bit set fails a message (§2.5); for known types the bit is
// ignored on receipt.
bool is_known_payload_type(uint8_t type);

enum class ExchangeType : uint8_t {
    kIkeSaInit = 34,
    kIkeAuth = 35,
    kCreateChildSa = 36,
    kInformational = 37,
};

constexpr uint8_t kMajorVersion = 2;
constexpr size_t kHeaderSize = 28;        // §3.1
constexpr size_t kPayloadHeaderSize = 4;  // §3.2: next payload, C bit, length
constexpr uint32_t kHeaderLengthOffset = 24;

struct Header {
    uint64_t spi_i = 0;  // both SPIs as 8 octets in network order, read as one number
    uint64_t spi_r = 0;  // zero in the first IKE_SA_INIT request
    // Sent as 0 and ignored on receipt (§2.5); kept so a message re-encodes as it came.
    uint8_t minor_version = 0;
    ExchangeType exchange{};
    bool initiator = false;       // I: sent by the original initiator of the IKE SA
    bool higher_version = false;  // V: the sender could speak a higher major version
    bool response = false;        // R: a response to a request with the same message ID
    uint32_t message_id = 0;
    // The Length field and the first payload type are not here: parse checks them, build
    // computes them.
    bool operator==(const Header&) const = default;
};

// One payload of the chain with its body (everything after the 4-octet generic header)
// undecoded: payloads.h turns bodies into typed payloads. Keeping the raw body matters
// beyond laziness: AUTH (§2.15) signs the ID payload body exactly as received.
struct RawPayload {
    PayloadType type{};
    bool critical = false;
    // SK and SKF only: their Next Payload field names the first payload inside the
    // encrypted data (§3.14, RFC 7383 §2.5), not a payload after them (there is none).
    uint8_t inner_next = 0;
    std::vector<uint8_t> body;
    bool operator==(const RawPayload&) const = default;
};

struct Message {
    Header header;
    std::vector<RawPayload> payloads;  // in wire order
    // The first payload of that type, nullptr if none.
    const RawPayload* find(PayloadType type) const;
    bool operator==(const Message&) const = default;
};

enum class ParseErrorKind : uint8_t {
    // The message and its payload chain (parse_message).
    kTooShort,                    // fewer octets than the IKE header
    kInvalidMajorVersion,         // value: the major version; answer INVALID_MAJOR_VERSION
    kLengthMismatch,              // value: the header's Length, which is not the datagram size
    kPayloadHeaderTruncated,      // the chain names one more payload, its header does not fit
    kPayloadTooShort,             // value: a payload Length below 4
    kPayloadOverrun,              // value: a payload Length running past the message end
    kTrailingData,                // value: octets left after the chain's last payload
    kUnsupportedCriticalPayload,  // value: the type; answer UNSUPPORTED_CRITICAL_PAYLOAD
    kEncryptedNotLast,            // value: 46 or 53; SK / SKF must end the message
    // Payload bodies (payloads.h). All of these call for INVALID_SYNTAX, except where said.
    kBodyTooShort,         // value: body size; the fixed part of the body does not fit
    kNoProposal,           // an SA payload without any proposal
    kBadProposalLength,    // value: the proposal's Length
    kBadProposalNumber,    // value: the number found
    kBadProposalCount,     // an accepted SA must carry exactly one proposal
    kBadLastSubstructure,  // value: the marker; it disagrees with where the lengths end
    kBadTransformLength,   // value: the transform's Length
    kBadAttribute,         // value: the attribute type; malformed or misused attribute
    kBadSpiSize,           // value: the SPI Size; wrong for the protocol or past the end
    kBadCount,             // value: the count field; disagrees with the contents
    kBadNonceLength,       // value: the nonce size, outside 16..256 (§3.9)
    kBadSelectorLength,    // value: the selector's Length
    kUnsupportedSelectorType,  // value: the TS type; answer TS_UNACCEPTABLE rather
};
const char* to_string(ParseErrorKind kind);

struct ParseError {
    ParseErrorKind kind{};
    size_t offset = 0;      // where the problem was found: in the message, or in the body
    uint32_t value = 0;     // the offending field's value, see the kind
    const char* what = "";  // a fixed sentence for logs
};
// "payload overrun at 216 (value 29): payload runs past the end of the message"
std::string describe(const ParseError& e);

// A parsed value or why there is none.
template <class T>
class [[nodiscard]] Parsed {
public:
    Parsed(T value) : v_(std::move(value)) {}
    Parsed(ParseError error) : v_(error) {}
    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    // Only when ok().
    const T& value() const& { return std::get<0>(v_); }
    T& value() & { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    const T& operator*() const& { return value(); }
    const T* operator->() const { return &value(); }
    // Only when !ok().
    const ParseError& error() const { return std::get<1>(v_); }

private:
    std::variant<T, ParseError> v_;
};

// A whole message, from the IKE header on (without a non-ESP marker).
Parsed<Message> parse_message(std::span<const uint8_t> bytes);

// The message as it goes on the wire: the header's Length, its first payload type and each
// payload's Next Payload and Length are computed here. Empty if a payload body does not fit
// a payload's 16-bit Length (a message that large is fragmented first, RFC 7383).
std::vector<uint8_t> build_message(const Message& m);

// A bare payload chain whose first payload is of type `first`: the plaintext of an SK payload
// (§3.14). Error offsets count from the chain's start.
Parsed<std::vector<RawPayload>> parse_payloads(std::span<const uint8_t> chain, uint8_t first);
// The chain's bytes (the first payload's type goes elsewhere: the SK payload's Next Payload).
std::vector<uint8_t> build_payloads(const std::vector<RawPayload>& payloads);

}  // namespace espgw::ike
