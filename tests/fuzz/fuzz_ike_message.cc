// The IKEv2 message codec on arbitrary datagrams: parse_message, then every payload's typed
// parser by its type (and the Encrypted payload's body as a plaintext payload chain, as if
// it had been decrypted). What parses must build back into what parses the same:
//
//   - parse_message(build_message(m)) == m, and building that again gives the same octets
//     (the first build need not give the input back: reserved bits and the flags other than
//     I, V, R are dropped, as RFC 7296 §2.5 says to ignore them);
//   - for each typed payload p = parse_X(body): parse_X(build_X(p)) == p, and the second
//     build equals the first (reserved octets, TLV attribute order, Key Length placement
//     may differ from the input);
//   - the same for a plaintext chain (parse_payloads / build_payloads).
//
// Input: one IKE message from the IKE header on (as Datagram::message holds it).
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "espgw/ike/config_payload.h"
#include "espgw/ike/message.h"
#include "espgw/ike/payloads.h"
#include "fuzz_support.h"

using namespace espgw::ike;

namespace {

// parse(build(v)) == v and build(parse(build(v))) == build(v).
template <class T, class Parse, class Build>
void round_trip(const T& v, Parse parse, Build build) {
    const std::vector<uint8_t> once = build(v);
    const auto again = parse(std::span<const uint8_t>(once));
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(*again == v);
    FUZZ_CHECK(build(*again) == once);
}

template <class Parse, class Build>
void typed(std::span<const uint8_t> body, Parse parse, Build build) {
    const auto p = parse(body);
    if (p.ok()) round_trip(*p, parse, build);
}

void payload(const RawPayload& p) {
    const std::span<const uint8_t> b = p.body;
    switch (p.type) {
    case PayloadType::kSa:
        // The same body as an offer and as an answer: the numbering rules differ.
        typed(b, [](auto s) { return parse_sa(s, SaKind::kOffer); }, build_sa);
        typed(b, [](auto s) { return parse_sa(s, SaKind::kAccepted); }, build_sa);
        break;
    case PayloadType::kKe: typed(b, parse_ke, build_ke); break;
    case PayloadType::kIdi:
    case PayloadType::kIdr: typed(b, parse_id, build_id); break;
    case PayloadType::kCert:
    case PayloadType::kCertReq: typed(b, parse_cert, build_cert); break;
    case PayloadType::kAuth: typed(b, parse_auth, build_auth); break;
    case PayloadType::kNonce: typed(b, parse_nonce, build_nonce); break;
    case PayloadType::kNotify: typed(b, parse_notify, build_notify); break;
    case PayloadType::kDelete: typed(b, parse_delete, build_delete); break;
    case PayloadType::kVendorId: typed(b, parse_vendor_id, build_vendor_id); break;
    case PayloadType::kTsi:
    case PayloadType::kTsr: typed(b, parse_ts, build_ts); break;
    case PayloadType::kConfig: typed(b, parse_cp, build_cp); break;
    default: break;  // SK, SKF, EAP and unknown types stay raw
    }
}

void chain(std::span<const uint8_t> bytes, uint8_t first) {
    const auto c = parse_payloads(bytes, first);
    if (!c.ok()) return;
    for (const RawPayload& p : *c) payload(p);
    // An SK payload inside ends the chain as it does a message: build writes its inner_next.
    const std::vector<uint8_t> once = build_payloads(*c);
    const uint8_t first_again = c->empty() ? 0 : static_cast<uint8_t>(c->front().type);
    const auto again = parse_payloads(once, first_again);
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(*again == *c);
    FUZZ_CHECK(build_payloads(*again) == once);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::span<const uint8_t> in(data, size);
    const auto m = parse_message(in);
    if (!m.ok()) {
        (void)describe(m.error());
        return 0;
    }
    for (const RawPayload& p : m->payloads) {
        payload(p);
        if (p.type == PayloadType::kEncrypted) chain(p.body, p.inner_next);
    }
    round_trip(*m, parse_message, build_message);
    return 0;
}
