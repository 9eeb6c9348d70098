// The IKE engine as a whole, stateful: a fresh Engine per input (a road-warrior connection
// with PSK, virtual IP pools, a certificate connection without CAs, optionally a site-to-site
// connection it initiates itself) and a Kernel in memory, fed a script of datagrams and clock
// ticks decoded from the input. To get past the integrity checks, a test initiator
// (tests/unit/ike_test_peer.h) first runs IKE_SA_INIT and IKE_AUTH as the input's first octet
// asks; later requests are encrypted with its keys, so that the fuzzer writes the plaintext
// inside SK and SKF payloads and the engine's handling of the payloads is what is fuzzed.
//
// Deterministic: OpenSSL's randomness and the Kernel's come from fixed seeds, time from the
// script.
//
// Oracles besides the sanitizers: every datagram the engine sends parses as an IKE message;
// every one under the test initiator's IKE SA opens with its keys (SK, or SKF fragment by
// fragment); CHILD SAs are installed only for peers the Kernel has and never twice with one
// inbound SPI.
//
// Input format (fields off the front; see fuzz_seeds.cc for examples):
//   setup octet: bits 0-1 stage (0 nothing, 1 IKE_SA_INIT done, 2 IKE_AUTH done too, 3 the
//     same with RFC 7383 fragmentation and RFC 7427 announced in IKE_SA_INIT: the engine's
//     larger answers come in SKF fragments),
//     bit 2 the site-to-site connection (the engine initiates it on ticks), the same on
//     demand (a trap, see ACQUIRE) and a second engine in memory to answer them (see PUMP),
//     bits 3-4 the initiator's IKE proposal (kInitProposals), bit 5 the initiator is behind
//     a NAT, bit 6 it asks for transport mode, bit 7 it asks for no virtual IP.
//   then operations until the input ends: one octet, op = low 4 bits, f = high 4 bits:
//     0 RAW     u16 len, message. f&1: to port 4500 with the non-ESP marker; f&2: patch the
//               header's Length (and, with an IKE SA, its SPIs); f>>2 the source: initiator,
//               another IPv4 host, an IPv6 host, the site-to-site peer.
//     1 SK      u16 len, first inner payload type + plaintext chain: a request under the IKE
//               SA. f&3 exchange (IKE_AUTH, CREATE_CHILD_SA, INFORMATIONAL, or one more octet
//               read for it); f&4 message ID of the previous request (else the next);
//               f&8 the plaintext carries its own padding (else pad length 0 is added).
//     2 SKLIST  u8 count, then count x (u8 type, u8 critical, u16 len, body): the same as SK
//               with the payloads built by the codec. f as for SK (no f&8).
//     3 ANSWER  like SKLIST: the answer to the engine's newest request under the IKE SA.
//     4 SKF     u8 number, u8 total, u8 first payload, u16 len, plaintext: one fragment of a
//               request. f as for SK.
//     5 TICK    u8 d: the clock advances d*250 ms (d < 128) or (d-127) minutes; tick().
//     6 LIMIT   u8 index of an installed CHILD SA: child_limit(); f&1 hard, f&2 by its
//               outbound SPI.
//     7 MOVED   u8 index of a peer, u16 port: peer_moved().
//     8 INIT    initiate() the site-to-site connection (f&1: the road-warrior one, which
//               cannot be initiated).
//     9 LIST    list() every IKE SA.
//     10 AGAIN  the previous datagram of this script once more.
//     11 DOWN   shutdown().
//     12 REPLY  u16 len, message: a reply to the engine's newest datagram, whatever it was:
//               SPIs (the responder's only if it had one), exchange and message ID copied,
//               R set, I the other way round, Length patched, sent from where that datagram
//               went to where it came from.
//     13 AUTH   like SKLIST, as IKE_AUTH with the PSK AUTH made right: over the first IDi
//               of the list (one for alice@example.net is put first if there is none), and
//               put after it unless the list has an AUTH of its own. f&4 as for SK.
//     14 PUMP   the two engines (setup bit 2) exchange what they sent each other since the
//               last PUMP, round after round until quiet (f&8: one round); f&1 drops the
//               first datagram to the second engine, f&2 delivers that one twice, f&4 drops
//               the first one back.
//     15 ACQUIRE u8 index of a trap the engine installed: acquire() for its policy (f&1: for
//               the policy id u8 instead, whatever it is).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "espgw/ike/engine.h"
#include "espgw/ike/kernel.h"
#include "espgw/ike/message.h"
#include "espgw/ike/psk_auth.h"
#include "espgw/ike/traffic_selectors.h"
#include "espgw/ike/x509_credentials.h"
#include "fuzz_support.h"
#include "ike_test_peer.h"

using namespace espgw;
using namespace espgw::ike;
using espgw::fuzz::Reader;

namespace {

const std::string kPsk = "fuzz-pre-shared-key-of-some-length";
const UdpEnd kGw{net::IpAddr::v4(0xc0000201), 500};       // 192.0.2.1
const UdpEnd kClient{net::IpAddr::v4(0x0a090002), 500};   // 10.9.0.2, behind ...
const UdpEnd kNat{net::IpAddr::v4(0xc00002fe), 31000};    // ... 192.0.2.254:31000
const UdpEnd kDirect{net::IpAddr::v4(0xc6336402), 500};   // 198.51.100.2, no NAT
const UdpEnd kOther{net::IpAddr::v4(0xcb007109), 500};    // 203.0.113.9
const UdpEnd kSite{net::IpAddr::v4(0xc6336407), 500};     // 198.51.100.7, the site-to-site peer
const uint8_t kV6Bytes[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9};
const UdpEnd kV6{net::IpAddr::v6(kV6Bytes), 500};          // 2001:db8::9

// What the test initiator offers (each one the gateway accepts).
const char* const kInitProposals[4] = {"aes128gcm16-prfsha256-curve25519", "aes128-sha256-curve25519",
                                       "chacha20poly1305-prfsha256-curve25519", "aes256gcm16-prfsha384-ecp256"};

net::Prefix prefix(const char* text) { return *net::parse_prefix(text); }

OurProposal proposal(const char* text, ProtocolId p) {
    std::string err;
    auto r = parse_proposal(text, p, err);
    FUZZ_CHECK(r.has_value());
    return *r;
}

Identity identity(const char* text) {
    std::string err;
    auto r = Identity::parse(text, err);
    FUZZ_CHECK(r.has_value());
    return *r;
}

EngineConfig config(bool site) {
    EngineConfig c;
    c.local_v4 = kGw.addr;
    c.cookie_threshold = 4;       // low, so that a few IKE_SA_INITs reach cookies
    c.half_open_per_source = 3;
    c.max_fragments = 8;
    c.fragment_size = 256;  // most answers to a peer that takes fragments get fragmented

    Connection rw;
    rw.name = "rw";
    rw.local_id = identity("gw.example.net");
    rw.remote_id = identity("*@example.net");
    rw.psk = kPsk;
    rw.ike = {proposal("aes128gcm16-aes256gcm16-chacha20poly1305-prfsha256-prfsha384-curve25519-ecp256", ProtocolId::kIke),
              proposal("aes128-aes256-sha256-sha1-curve25519-ecp256", ProtocolId::kIke)};
    ChildConfig lan;
    lan.name = "lan";
    lan.local_ts = {prefix("10.1.0.0/24"), prefix("2001:db8:1::/64")};
    lan.esp = {proposal("aes128gcm16-esn-noesn", ProtocolId::kEsp), proposal("aes256-sha256-curve25519", ProtocolId::kEsp),
               proposal("aes128-sha1", ProtocolId::kEsp)};
    ChildConfig dmz;
    dmz.name = "dmz";
    dmz.local_ts = {prefix("172.16.0.0/12")};
    dmz.mode = ChildMode::kTransport;
    dmz.esp = {proposal("chacha20poly1305", ProtocolId::kEsp)};
    dmz.rekey_s = 600;
    dmz.life_s = 900;
    dmz.rekey_jitter_s = 0;
    rw.children = {lan, dmz};
    rw.pools = {"rw4", "rw6"};
    rw.dns = {net::IpAddr::v4(0x0a010035), prefix("2001:db8:1::53/128").addr};
    rw.dpd_delay_s = 30;
    rw.dpd_timeout_s = 60;
    rw.ike_rekey_s = 3600;

    // Certificates from anyone under example.org, trusting no CA: what a peer sends is parsed
    // and verified, and refused.
    Connection certs;
    certs.name = "certs";
    certs.local_id = identity("gw.example.net");
    certs.remote_id = identity("*.example.org");
    certs.remote_auth = AuthKind::kPubkey;
    certs.psk = kPsk;  // our side
    certs.cas = std::make_shared<TrustStore>();
    certs.ike = {proposal("aes128gcm16-prfsha256-curve25519", ProtocolId::kIke)};
    certs.children = {lan};
    certs.unique = Unique::kKeep;

    c.connections = {rw, certs};
    if (site) {
        Connection s;
        s.name = "site";
        s.remote_addrs = {prefix("198.51.100.7/32")};
        s.local_id = identity("gw.example.net");
        s.remote_id = identity("site.example.net");
        s.psk = kPsk;
        s.ike = {proposal("aes128gcm16-prfsha256-curve25519-ecp256", ProtocolId::kIke)};
        ChildConfig net;
        net.name = "net";
        net.local_ts = {prefix("10.1.0.0/24")};
        net.remote_ts = {prefix("10.20.0.0/16")};
        net.esp = {proposal("aes128gcm16", ProtocolId::kEsp)};
        s.children = {net};
        s.remote_host = kSite.addr;
        s.start = Connection::Start::kStart;
        c.connections.push_back(s);
        // The same peer on demand: a trap on the first tick, an IKE SA on ACQUIRE.
        s.name = "ondemand";
        s.start = Connection::Start::kTrap;
        s.children.front().name = "net-on-demand";
        c.connections.push_back(s);
    }
    c.pools = {PoolConfig{"rw4", prefix("10.3.0.0/29")}, PoolConfig{"rw6", prefix("2001:db8:3::/125")}};
    return c;
}

// The site-to-site peer (a second espgw) as a responder for the first one's "site".
EngineConfig site_peer_config() {
    EngineConfig c;
    c.local_v4 = kSite.addr;
    Connection gw;
    gw.name = "gw";
    gw.local_id = identity("site.example.net");
    gw.remote_id = identity("gw.example.net");
    gw.psk = kPsk;
    gw.ike = {proposal("aes128gcm16-prfsha256-curve25519-ecp256", ProtocolId::kIke)};
    ChildConfig net;
    net.name = "net";
    net.local_ts = {prefix("10.20.0.0/16")};
    net.remote_ts = {prefix("10.1.0.0/24")};
    net.esp = {proposal("aes128gcm16", ProtocolId::kEsp)};
    gw.children = {net};
    c.connections = {gw};
    return c;
}

// The data plane in memory, checking what the engine asks of it.
class FuzzKernel final : public Kernel {
public:
    uint32_t alloc_spi() override { return next_spi_++; }
    void release_spi(uint32_t) override {}
    uint32_t add_peer(const std::string&, const UdpEnd& where, bool, bool) override {
        peers[++last_peer_] = where;
        return last_peer_;
    }
    void move_peer(uint32_t peer, const UdpEnd& where) override {
        if (auto it = peers.find(peer); it != peers.end()) it->second = where;
    }
    std::optional<UdpEnd> peer_location(uint32_t peer) override {
        auto it = peers.find(peer);
        if (it == peers.end()) return std::nullopt;
        return it->second;
    }
    void remove_peer(uint32_t peer) override { peers.erase(peer); }
    uint32_t install_child(const ChildInstall& c, std::string&) override {
        // A CHILD SA needs a peer to send to, and one inbound SPI is one SA.
        FUZZ_CHECK(peers.count(c.peer) == 1);
        FUZZ_CHECK(children.count(c.spi_in) == 0);
        children[c.spi_in] = c.spi_out;
        return c.policy ? c.policy : ++last_policy_;
    }
    uint32_t install_trap(const std::string& name, const std::vector<net::Prefix>& local,
                          const std::vector<net::Prefix>& remote, std::string&) override {
        FUZZ_CHECK(!local.empty() && !remote.empty());
        traps[++last_policy_] = name;
        return last_policy_;
    }
    bool activate_outbound(uint32_t, uint32_t spi_out) override {
        // Only an installed SA can take over.
        FUZZ_CHECK(std::any_of(children.begin(), children.end(), [&](const auto& c) { return c.second == spi_out; }));
        return true;
    }
    void remove_child(uint32_t, uint32_t spi_in, uint32_t, bool) override { children.erase(spi_in); }
    std::optional<ChildUsage> child_usage(uint32_t spi_in, uint32_t) override {
        if (!children.count(spi_in)) return std::nullopt;
        ChildUsage u;
        u.idle_in_s = 1000000;  // no ESP: liveness checks are up to IKE
        return u;
    }
    void send(const Datagram& d) override {
        FUZZ_CHECK(parse_message(d.message).ok());
        sent.push_back(d);
    }
    void random(std::span<uint8_t> out) override {
        for (uint8_t& b : out) b = static_cast<uint8_t>(rng_());
    }
    void log(const std::string& line) override {
        if (verbose) std::fprintf(stderr, "%s: %s\n", name, line.c_str());
    }
    const char* name = "engine";
    // ESPGW_FUZZ_VERBOSE=1: the engine's log and a summary per input on stderr (to check
    // what a seed reaches: fuzz_ike_responder -runs=0 seed...).
    static inline const bool verbose = std::getenv("ESPGW_FUZZ_VERBOSE") != nullptr;

    std::map<uint32_t, UdpEnd> peers;
    std::map<uint32_t, uint32_t> children;  // spi_in -> spi_out
    std::map<uint32_t, std::string> traps;  // policy -> name
    std::vector<Datagram> sent;

private:
    uint32_t next_spi_ = 0xc0000001, last_peer_ = 0, last_policy_ = 0;
    std::mt19937 rng_{7};
};

// --- Encrypting a plaintext of the fuzzer's (the codec's seal_sk takes payloads) -------------

size_t icv_size(const SkSuite& s) {
    switch (s.integ) {
    case integ_id::kHmacSha1_96: return 12;
    case integ_id::kHmacSha2_256_128: return 16;
    case integ_id::kHmacSha2_384_192: return 24;
    case integ_id::kHmacSha2_512_256: return 32;
    default: return 16;  // AEAD tag
    }
}

const EVP_MD* integ_md(const SkSuite& s) {
    switch (s.integ) {
    case integ_id::kHmacSha1_96: return EVP_sha1();
    case integ_id::kHmacSha2_256_128: return EVP_sha256();
    case integ_id::kHmacSha2_384_192: return EVP_sha384();
    default: return EVP_sha512();
    }
}

const EVP_CIPHER* cipher(const SkSuite& s) {
    const bool cbc = s.encr == encr_id::kAesCbc;
    if (s.encr == encr_id::kChacha20Poly1305) return EVP_chacha20_poly1305();
    switch (s.key_bits) {
    case 256: return cbc ? EVP_aes_256_cbc() : EVP_aes_256_gcm();
    case 192: return cbc ? EVP_aes_192_cbc() : EVP_aes_192_gcm();
    default: return cbc ? EVP_aes_128_cbc() : EVP_aes_128_gcm();
    }
}

// A message of one SK (or SKF, `fixed` holding its numbers) payload around plain. pad: add
// the padding and its length octet as a sender must; without, plain is sent as it is (CBC
// rounds it up to whole blocks with zeros).
std::vector<uint8_t> seal_plain(const SkSuite& s, const SkKeys& k, const Header& h, PayloadType type,
                                uint8_t inner_next, std::span<const uint8_t> fixed, std::vector<uint8_t> plain,
                                bool pad, uint8_t iv_seed) {
    const bool cbc = s.encr == encr_id::kAesCbc;
    if (pad) {
        const size_t n = cbc ? (16 - (plain.size() + 1) % 16) % 16 : 0;
        plain.insert(plain.end(), n, 0);
        plain.push_back(static_cast<uint8_t>(n));
    } else if (cbc) {
        plain.resize((plain.size() + 15) / 16 * 16);
    }
    const size_t iv_len = cbc ? 16 : 8, icv = icv_size(s);
    Message m;
    m.header = h;
    RawPayload& p = m.payloads.emplace_back();
    p.type = type;
    p.inner_next = inner_next;
    p.body.assign(fixed.begin(), fixed.end());
    p.body.insert(p.body.end(), iv_len, iv_seed);
    p.body.resize(p.body.size() + plain.size() + icv);
    std::vector<uint8_t> out = build_message(m);
    if (out.empty()) return out;
    const size_t aad_len = kHeaderSize + kPayloadHeaderSize + fixed.size();
    uint8_t* iv = out.data() + aad_len;
    uint8_t* ct = iv + iv_len;
    const std::span<const uint8_t> key = k.encr.bytes();
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    int len = 0;
    bool ok = ctx != nullptr;
    if (cbc) {
        ok = ok && EVP_EncryptInit_ex(ctx, cipher(s), nullptr, key.data(), iv) == 1 &&
             EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
             EVP_EncryptUpdate(ctx, ct, &len, plain.data(), static_cast<int>(plain.size())) == 1 &&
             EVP_EncryptFinal_ex(ctx, ct + len, &len) == 1;
        unsigned mac_len = 0;
        uint8_t mac[EVP_MAX_MD_SIZE];
        ok = ok && HMAC(integ_md(s), k.integ.bytes().data(), static_cast<int>(k.integ.size()), out.data(),
                        out.size() - icv, mac, &mac_len) != nullptr;
        if (ok) std::copy(mac, mac + icv, out.end() - static_cast<long>(icv));
    } else {
        // The key material ends with the 4-octet salt; the nonce is salt | IV.
        uint8_t nonce[12];
        std::copy(key.end() - 4, key.end(), nonce);
        std::copy(iv, iv + 8, nonce + 4);
        ok = ok && EVP_EncryptInit_ex(ctx, cipher(s), nullptr, nullptr, nullptr) == 1 &&
             EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, 12, nullptr) == 1 &&
             EVP_EncryptInit_ex(ctx, nullptr, nullptr, key.data(), nonce) == 1 &&
             EVP_EncryptUpdate(ctx, nullptr, &len, out.data(), static_cast<int>(aad_len)) == 1 &&
             (plain.empty() || EVP_EncryptUpdate(ctx, ct, &len, plain.data(), static_cast<int>(plain.size())) == 1) &&
             EVP_EncryptFinal_ex(ctx, ct + plain.size(), &len) == 1 &&
             EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, out.data() + out.size() - icv) == 1;
    }
    EVP_CIPHER_CTX_free(ctx);
    FUZZ_CHECK(ok);
    return out;
}

// --- The script ------------------------------------------------------------------------------

struct Run {
    FuzzKernel kernel;
    std::unique_ptr<Engine> engine;
    std::optional<test::TestInitiator> peer;  // with keys from stage 1 on
    std::vector<uint8_t> init_request;       // its IKE_SA_INIT request (AUTH signs it)
    bool established = false;
    uint64_t now = 1'000'000;
    uint32_t last_mid = 1;
    std::optional<Datagram> last;  // what the script sent last
    // Setup bit 2: the site-to-site peer, and how far PUMP has taken each side's datagrams.
    FuzzKernel site_kernel;
    std::unique_ptr<Engine> site;
    size_t pumped_out = 0, pumped_back = 0;

    // PUMP: what each engine sent the other since last time, until nothing is left.
    void pump(uint8_t f) {
        if (!site) return;
        for (int round = 0; round < 8; ++round) {
            bool moved = false;
            bool first = true;
            for (; pumped_out < kernel.sent.size(); ++pumped_out) {
                const Datagram d = kernel.sent[pumped_out];
                if (!(d.dst == kSite.addr)) continue;
                moved = true;
                const int times = first && (f & 1) ? 0 : first && (f & 2) ? 2 : 1;
                first = false;
                for (int k = 0; k < times; ++k) site->receive(d, now);
            }
            first = true;
            for (; pumped_back < site_kernel.sent.size(); ++pumped_back) {
                const Datagram d = site_kernel.sent[pumped_back];
                if (!(d.dst == kGw.addr)) continue;
                moved = true;
                if (!(first && (f & 4))) deliver(d);
                first = false;
            }
            if (!moved || (f & 8)) break;
        }
    }

    void deliver(const Datagram& d) {
        last = d;
        engine->receive(d, now);
        check_sent();
    }

    // Every datagram the engine sent under the initiator's IKE SA opens with its keys.
    size_t checked = 0;
    void check_sent() {
        for (; checked < kernel.sent.size(); ++checked) {
            const Datagram& d = kernel.sent[checked];
            if (!peer || peer->spi_r == 0) continue;
            const auto m = parse_message(d.message);
            if (m->header.spi_i != peer->spi_i || m->header.spi_r != peer->spi_r) continue;
            if (m->header.exchange == ExchangeType::kIkeSaInit) continue;
            if (m->payloads.empty()) continue;
            if (m->payloads.back().type == PayloadType::kEncryptedFragment) {
                FUZZ_CHECK(open_skf(peer->suite, SkKeys{peer->keys.er, peer->keys.ar}, d.message).ok);
                continue;
            }
            if (m->payloads.back().type != PayloadType::kEncrypted) continue;
            const auto inner = peer->open(d);
            FUZZ_CHECK(inner.has_value());
            if (FuzzKernel::verbose) {
                std::fprintf(stderr, "sent: exchange %d mid %u%s:", static_cast<int>(m->header.exchange),
                             m->header.message_id, m->header.response ? " response" : " request");
                for (const RawPayload& p : *inner) {
                    std::fprintf(stderr, " %d", static_cast<int>(p.type));
                    if (auto n = p.type == PayloadType::kNotify ? parse_notify(p.body) : Parsed<NotifyPayload>(ParseError{}))
                        std::fprintf(stderr, "(%d)", static_cast<int>(n->type));
                }
                std::fprintf(stderr, "\n");
            }
        }
    }

    Datagram from_peer(std::vector<uint8_t> msg) const {
        // The test initiator's own wrapping (NAT-T after IKE_SA_INIT): marker on port 4500.
        const UdpEnd& from = peer->from;
        Datagram d;
        d.src = from.addr;
        d.sport = from.port == 500 ? 4500 : from.port;
        d.dst = kGw.addr;
        d.dport = 4500;
        d.non_esp_marker = true;
        d.message = std::move(msg);
        return d;
    }

    Header request_header(Reader& r, uint8_t f) {
        Header h;
        h.spi_i = peer->spi_i;
        h.spi_r = peer->spi_r;
        const uint8_t ex = f & 3;
        h.exchange = ex == 0 ? ExchangeType::kIkeAuth
                   : ex == 1 ? ExchangeType::kCreateChildSa
                   : ex == 2 ? ExchangeType::kInformational
                             : ExchangeType{r.u8()};
        h.initiator = true;
        if (!(f & 4)) last_mid = peer->next_mid++;
        h.message_id = last_mid;
        return h;
    }

    static std::vector<RawPayload> payload_list(Reader& r) {
        std::vector<RawPayload> out;
        const unsigned n = r.u8() % 17;
        for (unsigned i = 0; i < n && !r.empty(); ++i) {
            RawPayload p;
            p.type = PayloadType{r.u8()};
            p.critical = r.u8() & 1;
            p.body = r.blob();
            out.push_back(std::move(p));
        }
        return out;
    }

    SkKeys peer_keys() const { return SkKeys{peer->keys.ei, peer->keys.ai}; }

    void raw(Reader& r, uint8_t f) {
        std::vector<uint8_t> msg = r.blob();
        if ((f & 2) && msg.size() >= kHeaderSize) {
            if (peer && peer->spi_r) {
                for (int k = 0; k < 8; ++k) {
                    msg[static_cast<size_t>(k)] = static_cast<uint8_t>(peer->spi_i >> (56 - 8 * k));
                    msg[static_cast<size_t>(8 + k)] = static_cast<uint8_t>(peer->spi_r >> (56 - 8 * k));
                }
            }
            for (int k = 0; k < 4; ++k) msg[24 + static_cast<size_t>(k)] = static_cast<uint8_t>(msg.size() >> (24 - 8 * k));
        }
        static const UdpEnd* const sources[4] = {nullptr, &kOther, &kV6, &kSite};
        const UdpEnd& from = sources[f >> 2] ? *sources[f >> 2] : peer ? peer->from : kDirect;
        Datagram d;
        d.src = from.addr;
        d.dst = from.addr.is_v4() ? kGw.addr : prefix("2001:db8::1/128").addr;
        d.non_esp_marker = f & 1;
        d.sport = d.non_esp_marker && from.port == 500 ? 4500 : from.port;
        d.dport = d.non_esp_marker ? 4500 : 500;
        d.message = std::move(msg);
        deliver(d);
    }

    void sk(Reader& r, uint8_t f) {
        if (!peer || !peer->spi_r) return (void)r.blob();
        const Header h = request_header(r, f);
        const std::vector<uint8_t> data = r.blob();
        const uint8_t first = data.empty() ? 0 : data[0];
        std::vector<uint8_t> plain(data.begin() + (data.empty() ? 0 : 1), data.end());
        auto msg = seal_plain(peer->suite, peer_keys(), h, PayloadType::kEncrypted, first, {}, std::move(plain),
                              !(f & 8), static_cast<uint8_t>(h.message_id));
        if (!msg.empty()) deliver(from_peer(std::move(msg)));
    }

    void sk_list(Reader& r, uint8_t f) {
        if (!peer || !peer->spi_r) return (void)payload_list(r);
        const Header h = request_header(r, f);
        const auto inner = payload_list(r);
        const std::vector<uint8_t> iv(iv_size(peer->suite), static_cast<uint8_t>(h.message_id));
        auto msg = seal_sk(peer->suite, peer_keys(), h, inner, iv);
        if (!msg.empty()) deliver(from_peer(std::move(msg)));
    }

    void answer(Reader& r) {
        const auto inner = payload_list(r);
        if (!peer || !peer->spi_r) return;
        // The engine's newest request under the IKE SA.
        for (auto it = kernel.sent.rbegin(); it != kernel.sent.rend(); ++it) {
            const auto m = parse_message(it->message);
            if (m->header.response || m->header.spi_i != peer->spi_i || m->header.spi_r != peer->spi_r) continue;
            Header h = m->header;
            h.initiator = true;
            h.response = true;
            const std::vector<uint8_t> iv(iv_size(peer->suite), 0x5a);
            auto msg = seal_sk(peer->suite, peer_keys(), h, inner, iv);
            if (!msg.empty()) deliver(from_peer(std::move(msg)));
            return;
        }
    }

    void skf(Reader& r, uint8_t f) {
        const uint8_t number = r.u8(), total = r.u8(), first = r.u8();
        if (!peer || !peer->spi_r) return (void)r.blob();
        const Header h = request_header(r, f);
        const uint8_t numbers[4] = {0, number, 0, total};
        auto msg = seal_plain(peer->suite, peer_keys(), h, PayloadType::kEncryptedFragment, first, numbers, r.blob(),
                              !(f & 8), number);
        if (!msg.empty()) deliver(from_peer(std::move(msg)));
    }

    void auth(Reader& r, uint8_t f) {
        std::vector<RawPayload> inner = payload_list(r);
        if (!peer || !peer->spi_r) return;
        send_auth(std::move(inner), r, f);
    }

    // IKE_AUTH with the PSK AUTH over the first IDi (see op 13).
    void send_auth(std::vector<RawPayload> inner, Reader& r, uint8_t f) {
        auto idi = std::find_if(inner.begin(), inner.end(), [](const RawPayload& p) { return p.type == PayloadType::kIdi; });
        if (idi == inner.end()) {
            const IdPayload alice{IdType::kRfc822Addr, {'a', 'l', 'i', 'c', 'e', '@', 'e', 'x', 'a', 'm', 'p', 'l', 'e',
                                                       '.', 'n', 'e', 't'}};
            idi = inner.insert(inner.begin(), RawPayload{PayloadType::kIdi, false, 0, build_id(alice)});
        }
        const bool has_auth =
            std::any_of(inner.begin(), inner.end(), [](const RawPayload& p) { return p.type == PayloadType::kAuth; });
        if (!has_auth) {
            const std::span<const uint8_t> psk(reinterpret_cast<const uint8_t*>(kPsk.data()), kPsk.size());
            const Secret a = psk_auth(peer->prf, psk, init_request, peer->nr, peer->keys.pi.bytes(), idi->body);
            const AuthPayload ap{AuthMethod::kSharedKeyMic, {a.bytes().begin(), a.bytes().end()}};
            inner.insert(idi + 1, RawPayload{PayloadType::kAuth, false, 0, build_auth(ap)});
        }
        const Header h = request_header(r, static_cast<uint8_t>(f & 4));  // IKE_AUTH
        const std::vector<uint8_t> iv(iv_size(peer->suite), static_cast<uint8_t>(h.message_id));
        auto msg = seal_sk(peer->suite, peer_keys(), h, inner, iv);
        if (!msg.empty()) deliver(from_peer(std::move(msg)));
    }

    void reply(Reader& r) {
        std::vector<uint8_t> msg = r.blob();
        if (kernel.sent.empty()) return;
        const Datagram& to = kernel.sent.back();
        if (msg.size() < kHeaderSize) msg.resize(kHeaderSize);
        // The SPIs (the responder's from the script while the engine's request has none).
        const bool spi_r = std::any_of(to.message.begin() + 8, to.message.begin() + 16, [](uint8_t b) { return b; });
        std::copy(to.message.begin(), to.message.begin() + (spi_r ? 16 : 8), msg.begin());
        msg[17] = 0x20;                                                        // version 2.0
        msg[18] = to.message[18];                                              // the exchange
        msg[19] = static_cast<uint8_t>(0x20 | (to.message[19] & 0x08 ? 0 : 0x08));
        std::copy(to.message.begin() + 20, to.message.begin() + 24, msg.begin() + 20);  // message ID
        for (int k = 0; k < 4; ++k) msg[24 + static_cast<size_t>(k)] = static_cast<uint8_t>(msg.size() >> (24 - 8 * k));
        Datagram d;
        d.src = to.dst;
        d.sport = to.dport;
        d.dst = to.src;
        d.dport = to.sport;
        d.non_esp_marker = to.non_esp_marker;
        d.message = std::move(msg);
        deliver(d);
    }

    void step(Reader& r) {
        const uint8_t op = r.u8();
        const uint8_t f = op >> 4;
        switch (op & 0x0f) {
        case 0: raw(r, f); break;
        case 1: sk(r, f); break;
        case 2: sk_list(r, f); break;
        case 3: answer(r); break;
        case 4: skf(r, f); break;
        case 5: {
            const uint8_t d = r.u8();
            now += d < 128 ? uint64_t{d} * 250 : uint64_t{d - 127u} * 60'000;
            engine->tick(now);
            if (site) site->tick(now);
            break;
        }
        case 6: {
            const uint8_t i = r.u8();
            if (kernel.children.empty()) break;
            auto it = kernel.children.begin();
            std::advance(it, i % kernel.children.size());
            engine->child_limit(f & 2 ? it->second : it->first, f & 1, now);
            break;
        }
        case 7: {
            const uint8_t i = r.u8();
            const uint16_t port = r.u16();
            if (kernel.peers.empty()) break;
            auto it = kernel.peers.begin();
            std::advance(it, i % kernel.peers.size());
            engine->peer_moved(it->first, UdpEnd{it->second.addr, port});
            break;
        }
        case 8: (void)engine->initiate(f & 1 ? "rw" : "site", now); break;
        case 9:
            for (const IkeSaInfo& i : engine->list(now)) (void)i.children.size();
            break;
        case 10:
            if (last) deliver(*last);
            break;
        case 11: engine->shutdown(now); break;
        case 12: reply(r); break;
        case 13: auth(r, f); break;
        case 14: pump(f); break;
        case 15: {
            const uint8_t i = r.u8();
            if (f & 1 || kernel.traps.empty()) {
                engine->acquire(i, now);
                break;
            }
            auto it = kernel.traps.begin();
            std::advance(it, i % kernel.traps.size());
            engine->acquire(it->first, now);
            break;
        }
        default: break;
        }
        check_sent();
    }

    void setup(uint8_t s) {
        engine = std::make_unique<Engine>(config(s & 4), kernel);
        if (s & 4) {
            site_kernel.name = "site";
            site = std::make_unique<Engine>(site_peer_config(), site_kernel);
        }
        const unsigned stage = s & 3;
        if (stage == 0) return;
        const bool natted = s & 0x20;
        peer.emplace(natted ? kClient : kDirect, kGw, kPsk, "alice@example.net", natted ? kNat : UdpEnd{},
                     kInitProposals[(s >> 3) & 3]);
        Datagram init = peer->sa_init();
        if (stage == 3) {
            // Announce fragmentation and RFC 7427 too (the initiator's own AUTH would then
            // be over the wrong message: send_auth makes it).
            auto m = parse_message(init.message);
            FUZZ_CHECK(m.ok());
            m.value().payloads.push_back(RawPayload{PayloadType::kNotify, false, 0,
                                                    build_notify({ProtocolId::kNone, NotifyType::kIkev2FragmentationSupported, {}, {}})});
            m.value().payloads.push_back(RawPayload{PayloadType::kNotify, false, 0,
                                                    build_notify({ProtocolId::kNone, NotifyType::kSignatureHashAlgorithms, {}, {0, 2, 0, 3}})});
            init.message = build_message(*m);
        }
        init_request = init.message;
        engine->receive(init, now);
        FUZZ_CHECK(!kernel.sent.empty());
        FUZZ_CHECK(peer->on_sa_init(kernel.sent.back()));
        if (stage == 1) return;
        const size_t before = kernel.sent.size();
        if (stage == 2) {
            test::AuthAsk ask;
            ask.transport = s & 0x40;
            ask.cp = !(s & 0x80);
            engine->receive(peer->ike_auth(ask), now);
        } else {
            std::vector<RawPayload> ps;
            if (s & 0x40) ps.push_back(RawPayload{PayloadType::kNotify, false, 0,
                                                  build_notify({ProtocolId::kNone, NotifyType::kUseTransportMode, {}, {}})});
            if (!(s & 0x80)) {
                const CpPayload cp{CfgType::kRequest,
                                   {{cfg_attr::kInternalIp4Address, {}}, {cfg_attr::kInternalIp6Address, {}},
                                    {cfg_attr::kInternalIp4Dns, {}}, {cfg_attr::kInternalIp6Dns, {}}}};
                ps.push_back(RawPayload{PayloadType::kConfig, false, 0, build_cp(cp)});
            }
            const OurProposal esp = proposal("aes128gcm16", ProtocolId::kEsp);
            Proposal p;
            p.protocol = ProtocolId::kEsp;
            p.spi = {0xa1, 0xa2, 0xa3, 0xa4};
            for (const auto* list : {&esp.encr, &esp.integ, &esp.esn})
                p.transforms.insert(p.transforms.end(), list->begin(), list->end());
            ps.push_back(RawPayload{PayloadType::kSa, false, 0, build_sa(SaPayload{{p}})});
            const TsPayload any{{test::ts("*"), selector_of(prefix("::/0"))}};
            ps.push_back(RawPayload{PayloadType::kTsi, false, 0, build_ts(any)});
            ps.push_back(RawPayload{PayloadType::kTsr, false, 0, build_ts(any)});
            Reader none(nullptr, 0);
            send_auth(std::move(ps), none, 0);
        }
        FUZZ_CHECK(kernel.sent.size() > before);
        FUZZ_CHECK(engine->stats().established == 1);
        established = true;
        last_mid = peer->next_mid - 1;
        check_sent();
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    espgw::fuzz::deterministic_random(1);
    Reader r(data, size);
    {
        Run run;
        run.setup(r.u8());
        while (!r.empty()) run.step(r);
        run.now += 1000;
        run.engine->tick(run.now);
        run.check_sent();
        if (FuzzKernel::verbose) {
            const EngineStats& st = run.engine->stats();
            std::fprintf(stderr,
                         "summary: received %lu sent %lu established %lu children %lu child_rekeys %lu ike_rekeys %lu "
                         "deleted %lu dead %lu malformed %lu undecryptable %lu bad_mid %lu fragments_in %lu "
                         "auth_failed %lu cookies %lu initiated %lu; now %zu IKE SAs, %zu CHILD SAs\n",
                         st.received, st.sent, st.established, st.children_installed, st.child_rekeys, st.ike_rekeys,
                         st.deleted, st.dead_peers, st.malformed, st.undecryptable, st.bad_message_id, st.fragments_in,
                         st.auth_failed, st.cookies_sent, st.initiated, run.engine->ike_sa_count(),
                         run.kernel.children.size());
        }
    }
    ERR_clear_error();
    return 0;
}
