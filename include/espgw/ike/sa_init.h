// The responder's side of IKE_SA_INIT (RFC 7296 §1.2, §2.6, §2.10, §2.23): from the initiator's
// request, where it came from and where it arrived, decide and build the answer:
//  - a COOKIE to return first, when the caller is under load and the request has none (or a
//    stale one): no state, no Diffie-Hellman;
//  - NO_PROPOSAL_CHOSEN, or INVALID_KE_PAYLOAD with the group we chose when the initiator
//    guessed another in its KE;
//  - or the full response: the chosen proposal, our KE and nonce, NAT detection for both
//    ends (and what they told us: a NAT in front of the peer, or of us), fragmentation
//    support; with the Diffie-Hellman secret and everything IKE_AUTH will need.
// Pure: no sockets, no clock, no randomness of its own (the caller passes SPI and nonce).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "espgw/ike/cookies.h"
#include "espgw/ike/kdf.h"
#include "espgw/ike/key_exchange.h"
#include "espgw/ike/nat_detection.h"
#include "espgw/ike/proposals.h"

namespace espgw::ike {

struct UdpEnd {
    net::IpAddr addr;
    uint16_t port = 0;
};

struct SaInitConfig {
    std::vector<OurProposal> proposals;  // IKE proposals, our preference first
    bool fragmentation = true;           // announce IKEV2_FRAGMENTATION_SUPPORTED (RFC 7383)
    // RFC 7427 hash algorithm IDs we verify signatures with (sent if the peer sends its own).
    std::vector<uint16_t> signature_hashes;
    std::vector<uint8_t> certreq;        // CA key hashes for a CERTREQ; empty: none sent
};

struct SaInitResult {
    enum Outcome { established, cookie, invalid_ke, no_proposal, drop } outcome = drop;
    std::vector<uint8_t> response;  // what to send back (empty for drop)
    std::string reason;             // for the log: why not established
    // established only:
    uint64_t spi_i = 0, spi_r = 0;
    Proposal chosen;
    std::vector<uint8_t> ni, nr;
    std::optional<Secret> g_ir;
    NatVerdict nat{};
    bool peer_fragmentation = false;  // the initiator supports RFC 7383 too
    std::vector<uint16_t> peer_signature_hashes;  // its SIGNATURE_HASH_ALGORITHMS (RFC 7427)
};

// cookies: non-null when the caller wants a cookie returned before it does any work.
// ours: the key exchange to answer with if the initiator's group is chosen (the caller makes
// it, so expensive key generation can happen elsewhere); nullptr: generated here.
SaInitResult respond_sa_init(const SaInitConfig& cfg, std::span<const uint8_t> request, const UdpEnd& from,
                             const UdpEnd& to, uint64_t spi_r, std::span<const uint8_t> nr, const CookieJar* cookies,
                             const KeyExchange* ours = nullptr);

}  // namespace espgw::ike
