// The payloads inside an IKEv2 message (RFC 7296 §3.3-3.13), each parsed from and built into
// a RawPayload body (message.h), that is without the 4-octet generic header. The codec checks
// syntax only: whether a proposal is acceptable, an ID matches or a selector is allowed is
// the engine's business. Bodies this codec does not type (SK, SKF, CP, EAP) stay raw.
//
// Numbers are from RFC 7296 and the IANA "Internet Key Exchange Version 2 (IKEv2)
// Parameters" registry. Fields that may carry values not named here are plain integers or
// enums with a fixed underlying type, so an unknown value survives parse and build.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "espgw/ike/message.h"
#include "espgw/ike/transform_ids.h"
#include "espgw/net/prefix.h"

namespace espgw::ike {

// Security protocol IDs (§3.3.1). kNone is what a Notify without SPI carries (§3.10).
enum class ProtocolId : uint8_t { kNone = 0, kIke = 1, kAh = 2, kEsp = 3 };

// Transform types (§3.3.2) and, per type, the transform IDs the gateway may offer or accept.

// Notify message types (§3.10.1): below 16384 errors, from 16384 on status.
enum class NotifyType : uint16_t {
    kUnsupportedCriticalPayload = 1,
    kInvalidIkeSpi = 4,
    kInvalidMajorVersion = 5,
    kInvalidSyntax = 7,
    kInvalidMessageId = 9,
    kInvalidSpi = 11,
    kNoProposalChosen = 14,
    kInvalidKePayload = 17,
    kAuthenticationFailed = 24,
    kSinglePairRequired = 34,
    kNoAdditionalSas = 35,
    kInternalAddressFailure = 36,
    kFailedCpRequired = 37,
    kTsUnacceptable = 38,
    kInvalidSelectors = 39,
    kTemporaryFailure = 43,
    kChildSaNotFound = 44,
    kInitialContact = 16384,
    kSetWindowSize = 16385,
    kAdditionalTsPossible = 16386,
    kIpcompSupported = 16387,
    kNatDetectionSourceIp = 16388,
    kNatDetectionDestinationIp = 16389,
    kCookie = 16390,
    kUseTransportMode = 16391,
    kHttpCertLookupSupported = 16392,
    kRekeySa = 16393,
    kEspTfcPaddingNotSupported = 16394,
    kNonFirstFragmentsAlso = 16395,
    kMobikeSupported = 16396,            // RFC 4555
    kIkev2FragmentationSupported = 16430,  // RFC 7383
    kSignatureHashAlgorithms = 16431,      // RFC 7427
};
constexpr bool is_error(NotifyType t) { return static_cast<uint16_t>(t) < 16384; }

// Identification types (§3.5).
enum class IdType : uint8_t {
    kIpv4Addr = 1,
    kFqdn = 2,
    kRfc822Addr = 3,
    kIpv6Addr = 5,
    kDerAsn1Dn = 9,
    kDerAsn1Gn = 10,
    kKeyId = 11,
};

// Authentication methods (§3.8; 14 from RFC 7427).
enum class AuthMethod : uint8_t { kRsaSig = 1, kSharedKeyMic = 2, kDssSig = 3, kDigitalSignature = 14 };

// Certificate encodings (§3.6) for CERT and CERTREQ.
namespace cert_encoding {
constexpr uint8_t kX509Signature = 4;
constexpr uint8_t kHashUrlX509 = 12;
}  // namespace cert_encoding

// Traffic selector types (§3.13.1).
enum class TsType : uint8_t { kIpv4AddrRange = 7, kIpv6AddrRange = 8 };

// --- SA (§3.3) -------------------------------------------------------------------------

struct Transform {
    TransformType type{};
    uint16_t id = 0;
    std::optional<uint16_t> key_length;  // bits; the Key Length attribute
    // Attributes this codec does not know, raw (TV or TLV, in wire order after Key Length).
    // The engine must not pick a transform it does not fully understand (§3.3.6).
    std::vector<uint8_t> other_attributes;
    bool operator==(const Transform&) const = default;
};

struct Proposal {
    uint8_t number = 1;
    ProtocolId protocol{};
    std::vector<uint8_t> spi;  // empty (IKE_SA_INIT), 8 octets (IKE rekey) or 4 (AH, ESP)
    std::vector<Transform> transforms;
    bool operator==(const Proposal&) const = default;
};

struct SaPayload {
    std::vector<Proposal> proposals;
    bool operator==(const SaPayload&) const = default;
};

// §3.3.1: an offer numbers its proposals 1, 2, 3...; the answer carries the one proposal it
// accepted, under the number it had in the offer. So the numbering check depends on which.
enum class SaKind : uint8_t { kOffer, kAccepted };

Parsed<SaPayload> parse_sa(std::span<const uint8_t> body, SaKind kind = SaKind::kOffer);
std::vector<uint8_t> build_sa(const SaPayload& sa);

// --- KE (§3.4) ---------------------------------------------------------------------------

struct KePayload {
    uint16_t group = 0;  // dh_id::
    std::vector<uint8_t> data;
    bool operator==(const KePayload&) const = default;
};
Parsed<KePayload> parse_ke(std::span<const uint8_t> body);
std::vector<uint8_t> build_ke(const KePayload& ke);

// --- Nonce (§3.9) ------------------------------------------------------------------------

constexpr size_t kNonceMin = 16, kNonceMax = 256;
struct NoncePayload {
    std::vector<uint8_t> nonce;
    bool operator==(const NoncePayload&) const = default;
};
Parsed<NoncePayload> parse_nonce(std::span<const uint8_t> body);
std::vector<uint8_t> build_nonce(const NoncePayload& n);

// --- Notify (§3.10) ----------------------------------------------------------------------

struct NotifyPayload {
    ProtocolId protocol = ProtocolId::kNone;  // kNone with an empty SPI
    NotifyType type{};
    std::vector<uint8_t> spi;
    std::vector<uint8_t> data;
    bool operator==(const NotifyPayload&) const = default;
};
Parsed<NotifyPayload> parse_notify(std::span<const uint8_t> body);
std::vector<uint8_t> build_notify(const NotifyPayload& n);

// --- Identification, IDi and IDr (§3.5) -----------------------------------------------------

struct IdPayload {
    IdType type{};
    std::vector<uint8_t> data;
    bool operator==(const IdPayload&) const = default;
};
Parsed<IdPayload> parse_id(std::span<const uint8_t> body);
std::vector<uint8_t> build_id(const IdPayload& id);

// --- Authentication (§3.8) ---------------------------------------------------------------

struct AuthPayload {
    AuthMethod method{};
    std::vector<uint8_t> data;
    bool operator==(const AuthPayload&) const = default;
};
Parsed<AuthPayload> parse_auth(std::span<const uint8_t> body);
std::vector<uint8_t> build_auth(const AuthPayload& a);

// --- Vendor ID (§3.12) -------------------------------------------------------------------

struct VendorIdPayload {
    std::vector<uint8_t> id;
    bool operator==(const VendorIdPayload&) const = default;
};
Parsed<VendorIdPayload> parse_vendor_id(std::span<const uint8_t> body);
std::vector<uint8_t> build_vendor_id(const VendorIdPayload& v);

// --- Delete (§3.11) ----------------------------------------------------------------------

// IKE: no SPI (the IKE SA is the one of the header). AH, ESP: 4-octet SPIs, the SPIs the
// sender would expect inbound. Other protocols are rejected (kBadSpiSize).
struct DeletePayload {
    ProtocolId protocol{};
    std::vector<uint32_t> spis;
    bool operator==(const DeletePayload&) const = default;
};
Parsed<DeletePayload> parse_delete(std::span<const uint8_t> body);
std::vector<uint8_t> build_delete(const DeletePayload& d);

// --- Traffic Selectors, TSi and TSr (§3.13) -------------------------------------------------

struct TrafficSelector {
    TsType type = TsType::kIpv4AddrRange;
    uint8_t ip_protocol = 0;  // 0: any
    // Inclusive. 0..65535 is any port; start > end is OPAQUE (§3.13.1), kept as it came.
    uint16_t start_port = 0, end_port = 65535;
    net::IpAddr start, end;  // IPv4 as mapped addresses, as everywhere in espgw
    bool operator==(const TrafficSelector&) const = default;
};
struct TsPayload {
    std::vector<TrafficSelector> selectors;
    bool operator==(const TsPayload&) const = default;
};
// A selector type other than the two ranges gives kUnsupportedSelectorType.
Parsed<TsPayload> parse_ts(std::span<const uint8_t> body);
std::vector<uint8_t> build_ts(const TsPayload& ts);

// --- CERT and CERTREQ (§3.6, §3.7): the same layout, encoding + opaque data -----------------

struct CertPayload {
    uint8_t encoding = 0;  // cert_encoding::
    std::vector<uint8_t> data;  // the certificate, or for CERTREQ the CA key hashes
    bool operator==(const CertPayload&) const = default;
};
Parsed<CertPayload> parse_cert(std::span<const uint8_t> body);
std::vector<uint8_t> build_cert(const CertPayload& c);

}  // namespace espgw::ike
