// The parsers behind IKE_AUTH and the Encrypted payloads, on arbitrary input:
// X.509 certificates (Certificate::from_der and what the engine asks of one: key type,
// identities, verification, AUTH signatures over it), RFC 7427 AlgorithmIdentifiers and
// SIGNATURE_HASH_ALGORITHMS, CERTREQ data, SK and SKF payloads opened with fixed keys,
// and traffic selector narrowing.
//
// Input: the first octet picks the parser (mod kModes), the rest is its input, as below.
// Properties checked where they must hold: AlgorithmIdentifiers we can build parse back to
// the same algorithm; seal_sk / seal_fragments then open_sk / open_skf give the payloads
// back; range_to_prefixes covers exactly its range; narrowing stays inside what is allowed.
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <span>
#include <string>
#include <vector>

#include <openssl/err.h>

#include "espgw/ike/connection.h"
#include "espgw/ike/encrypted.h"
#include "espgw/ike/message.h"
#include "espgw/ike/payloads.h"
#include "espgw/ike/signature_auth.h"
#include "espgw/ike/traffic_selectors.h"
#include "espgw/ike/x509_credentials.h"
#include "fuzz_support.h"

using namespace espgw;
using namespace espgw::ike;
using espgw::fuzz::Reader;

namespace {

enum Mode : uint8_t {
    kCertificate,        // u16 length, DER; u8 AUTH method, u16 length, AUTH data; rest: an ID's data
    kAlgorithm,          // a DER AlgorithmIdentifier
    kCertReq,            // CERTREQ data
    kHashAlgorithms,     // SIGNATURE_HASH_ALGORITHMS data
    kOpenSk,             // u8 suite; a whole message
    kOpenSkf,            // u8 suite; a whole message
    kSealOpen,           // u8 suite, u8 first payload type, u16 fragment size; rest: a payload chain
    kTrafficSelectors,   // u8 max prefixes; TS payload body
    kModes
};

// Cipher suites with fixed keys (the same every run).
const SkSuite kSuites[] = {
    {encr_id::kAesGcm16, 128, 0},
    {encr_id::kAesGcm16, 256, 0},
    {encr_id::kChacha20Poly1305, 0, 0},
    {encr_id::kAesCbc, 128, integ_id::kHmacSha1_96},
    {encr_id::kAesCbc, 256, integ_id::kHmacSha2_256_128},
    {encr_id::kAesCbc, 192, integ_id::kHmacSha2_384_192},
    {encr_id::kAesCbc, 128, integ_id::kHmacSha2_512_256},
};
constexpr size_t kSuiteCount = sizeof kSuites / sizeof kSuites[0];

SkKeys keys_for(const SkSuite& s) {
    std::vector<uint8_t> e(encr_key_size(s)), a(integ_key_size(s));
    for (size_t k = 0; k < e.size(); ++k) e[k] = static_cast<uint8_t>(0x10 + k);
    for (size_t k = 0; k < a.size(); ++k) a[k] = static_cast<uint8_t>(0xa0 + k);
    return SkKeys{Secret(e), Secret(a)};
}

void certificate(Reader& r) {
    const std::vector<uint8_t> der = r.blob();
    const auto method = static_cast<AuthMethod>(r.u8());
    const std::vector<uint8_t> auth_data = r.blob();
    const auto id_data = r.rest();
    std::string err;
    const auto cert = Certificate::from_der(der, err);
    if (!cert) return;
    FUZZ_CHECK(std::vector<uint8_t>(cert->der().begin(), cert->der().end()) == der);
    (void)cert->key_type();
    (void)spki_sha1(*cert);
    const IdPayload subject = cert->subject_id();
    (void)cert->matches_id(subject);
    for (IdType t : {IdType::kIpv4Addr, IdType::kFqdn, IdType::kRfc822Addr, IdType::kIpv6Addr, IdType::kDerAsn1Dn,
                     IdType::kKeyId})
        (void)cert->matches_id(IdPayload{t, {id_data.begin(), id_data.end()}});
    (void)to_string(IdPayload{IdType{static_cast<uint8_t>(method)}, {id_data.begin(), id_data.end()}});

    // The AUTH check the engine makes with a peer's certificate, over fixed octets.
    static const std::vector<uint8_t> octets(64, 0x5a);
    (void)verify_auth(*cert, AuthPayload{method, auth_data}, octets, err);

    // As a trust anchor of its own (self-signed certificates verify against themselves),
    // at a fixed time so that a run does not depend on the date.
    TrustStore store;
    if (store.add(*cert, err)) {
        (void)store.certreq_data();
        const std::vector<std::vector<uint8_t>> intermediates{std::vector<uint8_t>(id_data.begin(), id_data.end())};
        (void)store.verify(der, {}, err, std::time_t{1700000000});
        (void)store.verify(der, intermediates, err, std::time_t{1700000000});
    }
}

void algorithm(std::span<const uint8_t> der) {
    std::string err;
    const auto a = parse_signature_algorithm(der, err);
    if (!a) return;
    // What we can build (SHA-2 only) must parse back to the same algorithm.
    const std::vector<uint8_t> built = build_signature_algorithm(*a);
    if (built.empty()) return;
    const auto again = parse_signature_algorithm(built, err);
    FUZZ_CHECK(again.has_value());
    FUZZ_CHECK(*again == *a);
}

void certreq(std::span<const uint8_t> data) {
    const auto hashes = parse_certreq(data);
    FUZZ_CHECK(hashes.has_value() == (data.size() % 20 == 0));
    if (hashes) FUZZ_CHECK(hashes->size() * 20 == data.size());
}

void hash_algorithms(std::span<const uint8_t> data) {
    const auto hashes = parse_signature_hash_algorithms(data);
    if (!hashes) return;
    FUZZ_CHECK(build_signature_hash_algorithms(*hashes) == std::vector<uint8_t>(data.begin(), data.end()));
    for (KeyType k : {KeyType::kRsa, KeyType::kRsaPss, KeyType::kEcP256, KeyType::kEcP384, KeyType::kEcP521}) {
        const auto a = choose_signature_algorithm(k, *hashes);
        if (a) FUZZ_CHECK(!build_signature_algorithm(*a).empty());
    }
}

void open(Reader& r, bool fragment) {
    const SkSuite& s = kSuites[r.u8() % kSuiteCount];
    const auto message = r.rest();
    if (fragment) {
        const OpenedFragment f = open_skf(s, keys_for(s), message);
        if (f.ok) {
            FUZZ_CHECK(f.number >= 1 && f.number <= f.total);
            (void)open_reassembled(f.plaintext, f.inner_next);
        }
    } else {
        (void)open_sk(s, keys_for(s), message);
    }
}

bool has_encrypted(const std::vector<RawPayload>& payloads) {
    for (const RawPayload& p : payloads)
        if (p.type == PayloadType::kEncrypted || p.type == PayloadType::kEncryptedFragment) return true;
    return false;
}

void seal_open(Reader& r) {
    const SkSuite& s = kSuites[r.u8() % kSuiteCount];
    const uint8_t first = r.u8();
    const size_t fragment_size = 64 + r.u16() % 2048;
    const auto chain = parse_payloads(r.rest(), first);
    if (!chain || has_encrypted(*chain)) return;  // nested SK is refused on opening, rightly
    const SkKeys k = keys_for(s);
    Header h;
    h.spi_i = 0x0102030405060708ull;
    h.spi_r = 0x1112131415161718ull;
    h.exchange = ExchangeType::kInformational;
    h.initiator = true;
    h.message_id = 7;
    const std::vector<uint8_t> iv(iv_size(s), 0x42);

    const std::vector<uint8_t> sealed = seal_sk(s, k, h, *chain, iv);
    if (!sealed.empty()) {
        const Opened o = open_sk(s, k, sealed);
        FUZZ_CHECK(o.ok);
        FUZZ_CHECK(o.payloads == *chain);
    }

    uint8_t n = 0;
    const auto parts = seal_fragments(s, k, h, *chain, fragment_size, [&] { return std::vector<uint8_t>(iv.size(), ++n); });
    if (parts.empty()) return;
    std::vector<uint8_t> joined;
    uint8_t inner_next = 0;
    for (size_t i = 0; i < parts.size(); ++i) {
        FUZZ_CHECK(parts[i].size() <= fragment_size);
        const OpenedFragment f = open_skf(s, k, parts[i]);
        FUZZ_CHECK(f.ok);
        FUZZ_CHECK(f.number == i + 1 && f.total == parts.size());
        if (i == 0) inner_next = f.inner_next;
        joined.insert(joined.end(), f.plaintext.begin(), f.plaintext.end());
    }
    const Opened o = open_reassembled(joined, inner_next);
    FUZZ_CHECK(o.ok);
    FUZZ_CHECK(o.payloads == *chain);
}

// range_to_prefixes: consecutive aligned blocks from start to end, nothing else.
void check_cover(const net::IpAddr& start, const net::IpAddr& end) {
    const auto prefixes = range_to_prefixes(start, end);
    if (prefixes.empty()) return;
    FUZZ_CHECK(prefixes.size() <= 2 * 128);
    FUZZ_CHECK(selector_of(prefixes.front()).start == start);
    FUZZ_CHECK(selector_of(prefixes.back()).end == end);
    for (size_t i = 0; i + 1 < prefixes.size(); ++i) {
        // The next block starts right after this one ends.
        net::IpAddr next = selector_of(prefixes[i]).end;
        for (int k = 15; k >= 0 && ++next.b[k] == 0; --k) {
        }
        FUZZ_CHECK(selector_of(prefixes[i + 1]).start == next);
    }
}

void traffic_selectors(Reader& r) {
    const size_t max_prefixes = r.u8() % 16;
    const auto ts = parse_ts(r.rest());
    if (!ts) return;
    for (const TrafficSelector& t : ts->selectors) check_cover(t.start, t.end);
    static const std::vector<net::Prefix> allowed = {
        *net::parse_prefix("10.1.0.0/16"), *net::parse_prefix("192.0.2.77/32"), *net::parse_prefix("0.0.0.0/1"),
        *net::parse_prefix("2001:db8::/48"), *net::parse_prefix("::/0")};
    const Narrowed n = narrow(*ts, allowed, max_prefixes);
    FUZZ_CHECK(n.prefixes.size() <= max_prefixes);
    for (const net::Prefix& p : n.prefixes) {
        const TrafficSelector s = selector_of(p);
        bool inside = false;
        for (const net::Prefix& a : allowed) inside |= a.family == p.family && a.contains(s.start) && a.contains(s.end);
        FUZZ_CHECK(inside);
    }
    for (const TrafficSelector& s : n.selectors) FUZZ_CHECK(!range_to_prefixes(s.start, s.end).empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    espgw::fuzz::deterministic_random(1);
    Reader r(data, size);
    switch (r.u8() % kModes) {
    case kCertificate: certificate(r); break;
    case kAlgorithm: algorithm(r.rest()); break;
    case kCertReq: certreq(r.rest()); break;
    case kHashAlgorithms: hash_algorithms(r.rest()); break;
    case kOpenSk: open(r, false); break;
    case kOpenSkf: open(r, true); break;
    case kSealOpen: seal_open(r); break;
    case kTrafficSelectors: traffic_selectors(r); break;
    }
    // OpenSSL's error queue is per thread and kept between calls: empty it, as the engine's
    // callers would see it after each message.
    ERR_clear_error();
    return 0;
}
