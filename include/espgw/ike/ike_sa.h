// The state of one IKE SA and its CHILD SAs, as the engine keeps it (RFC 7296 §2): keys,
// nonces and the IKE_SA_INIT messages that AUTH signs, where the peer is and what NAT
// detection found, the message ID windows of both directions with the cached last response
// (§2.1, §2.2), the request we are waiting on, the identities and the virtual IPs.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "espgw/ike/connection.h"
#include "espgw/ike/encrypted.h"
#include "espgw/ike/kdf.h"
#include "espgw/ike/key_exchange.h"
#include "espgw/ike/nat_detection.h"
#include "espgw/ike/payloads.h"
#include "espgw/ike/sa_init.h"

namespace espgw::ike {

struct ChildSa {
    std::string name;
    const ChildConfig* config = nullptr;
    uint32_t spi_in = 0, spi_out = 0;  // ours (inbound) and the peer's (outbound)
    uint32_t policy = 0;               // the Kernel's policy id
    Proposal proposal;                 // ESP, as accepted
    std::vector<TrafficSelector> tsi, tsr;  // the peer's side, ours (as agreed)
    std::vector<net::Prefix> local, remote;
    bool transport = false, udp = true;
    uint64_t created_ms = 0, rekey_ms = 0, expire_ms = 0;  // 0: never
    bool rekeyed = false;  // replaced by a newer SA, waiting for its deletion
    // A rekey we answered: our new outbound SA waits until the SA it replaces goes (the
    // initiator's DELETE, or its end), so that nothing is sent before the peer can read it.
    bool outbound_pending = false;
};

// A request we sent and wait on (our window is one request, §2.3).
struct Pending {
    enum class Kind : uint8_t { kLiveness, kDeleteIke, kDeleteChild, kRekeyChild, kRekeyIke, kInit, kAuth } kind{};
    uint32_t message_id = 0;
    std::vector<std::vector<uint8_t>> message;  // as sent (or its fragments), for retransmission
    unsigned tries = 0;
    uint64_t first_ms = 0, next_ms = 0;
    uint32_t child_spi = 0;  // kDeleteChild, kRekeyChild: our inbound SPI of that child
};

struct IkeSa {
    // As responder: half-open until IKE_AUTH; as initiator: init sent, then auth sent.
    enum class State : uint8_t { kHalfOpen, kEstablished, kDeleting, kInitSent, kAuthSent };
    State state = State::kHalfOpen;
    uint64_t spi_i = 0, spi_r = 0;
    bool we_initiated = false;
    const Connection* conn = nullptr;  // the one the peer authenticated for (half-open: a candidate)

    Proposal proposal;
    Prf prf{};
    SkSuite suite;
    IkeSaKeys keys;
    std::vector<uint8_t> ni, nr;
    std::vector<uint8_t> init_request, init_response;  // IKE_SA_INIT as sent (AUTH signs them)

    UdpEnd local, remote;  // where IKE runs now (the peer's address as the NAT shows it)
    UdpEnd init_from;      // where IKE_SA_INIT came from (half-open SAs are indexed by it)
    NatVerdict nat{};
    bool peer_fragmentation = false;
    std::vector<uint16_t> peer_signature_hashes;  // RFC 7427: empty if the peer did not announce it

    // The peer's requests: the next message ID we expect and our answer to the one before
    // (one message, or its RFC 7383 fragments).
    uint32_t next_request_id = 1;  // IKE_SA_INIT was 0
    std::vector<std::vector<uint8_t>> last_response;
    // A request arriving in fragments (RFC 7383): each fragment's plaintext, by number.
    struct Reassembly {
        // Declared, not implicit: clang (with libstdc++'s std::optional) would otherwise find
        // Reassembly not default-constructible, its member initializers being unusable before
        // IkeSa is complete.
        Reassembly() {}
        uint32_t message_id = 0;
        uint16_t total = 0;
        uint8_t first_payload = 0;
        size_t have = 0, bytes = 0;
        std::vector<std::vector<uint8_t>> parts;
        std::vector<bool> got;
    };
    std::optional<Reassembly> reassembly;
    // Our requests.
    uint32_t next_own_id = 0;
    std::optional<Pending> pending;
    uint64_t iv_counter = 0;

    IdPayload peer_id, our_id;
    std::string peer_name;  // the peer's identity as text
    uint32_t peer = 0;      // the Kernel's peer id (0 before IKE_AUTH)
    std::vector<std::pair<std::string, net::IpAddr>> vips;  // pool name, address
    std::vector<ChildSa> children;
    uint64_t created_ms = 0, established_ms = 0, last_heard_ms = 0;
    // As initiator until IKE_AUTH is done: our key exchange, a cookie to return, the child
    // asked for in IKE_AUTH and the inbound SPI reserved for it.
    std::shared_ptr<KeyExchange> ke;
    std::vector<uint8_t> cookie;
    // A CHILD SA rekey we started (§2.8): the SA it replaces, the new inbound SPI, our nonce
    // and (PFS) key exchange, until the answer comes.
    struct ChildRekey {
        uint32_t old_spi_in = 0, new_spi_in = 0;
        std::vector<uint8_t> ni;
        std::shared_ptr<KeyExchange> ke;
    };
    std::optional<ChildRekey> child_rekey;
    // A rekey of this IKE SA we started: the new SA's SPI (ours), nonce and key exchange.
    struct IkeRekey {
        uint64_t new_spi = 0;
        std::vector<uint8_t> ni;
        std::shared_ptr<KeyExchange> ke;
    };
    std::optional<IkeRekey> ike_rekey;
    uint64_t rekey_ms = 0;  // when we rekey this IKE SA (ours only; 0: never)
    const ChildConfig* first_child = nullptr;
    uint32_t first_child_spi = 0;
    // Replaced by a rekey (§2.18): its CHILD SAs, peer and virtual IPs moved to the new IKE
    // SA; it only waits for the peer's DELETE (or rekeyed_ms + a minute).
    bool rekeyed = false;
    uint64_t rekeyed_ms = 0;

    uint64_t our_spi() const { return we_initiated ? spi_i : spi_r; }
    // The keys we encrypt with and those the peer encrypts with.
    SkKeys out_keys() const { return we_initiated ? SkKeys{keys.ei, keys.ai} : SkKeys{keys.er, keys.ar}; }
    SkKeys in_keys() const { return we_initiated ? SkKeys{keys.er, keys.ar} : SkKeys{keys.ei, keys.ai}; }
    ChildSa* child_by_spi_in(uint32_t spi);
    ChildSa* child_by_spi_out(uint32_t spi);
};

}  // namespace espgw::ike
