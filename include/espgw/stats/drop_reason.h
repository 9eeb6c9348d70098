// Why the data plane dropped a packet. Every drop is counted under one of these, per port,
// per worker and (when an SA is known) per SA. A leaf header: SAs (sa/), ESP (esp/) and the
// pipeline (dp/) all count drops, and none of them may include another's way up.
#pragma once

#include <cstdint>
#include <string_view>

namespace espgw::stats {

enum class Drop : uint8_t {
    malformed,        // truncated or inconsistent headers
    not_for_us,       // public-side traffic not addressed to the gateway
    unsupported,      // protocol or option the gateway does not handle (e.g. IP options in ESP)
    no_sa,            // unknown SPI, or protected traffic no SA covers
    encap_mismatch,   // UDP-encapsulated ESP for a plain-ESP SA or the reverse
    peer_unknown,     // outbound SA whose peer port is not learned yet
    replayed,         // anti-replay: seen before
    too_old,          // anti-replay: left of the window
    auth_failed,      // ICV mismatch
    bad_padding,      // ESP padding bytes not 1, 2, 3, ... (RFC 4303 §2.4)
    bad_next_header,  // next header the SA's mode cannot carry
    policy,           // decrypted inner packet outside the SA's traffic selectors
    ttl_expired,
    no_route,
    no_neighbour,     // next hop's MAC unknown yet (resolution started)
    too_big,          // did not fit the path MTU (ICMP sent when policy says so)
    seq_overflow,     // outbound sequence exhausted without ESN: the SA needs a rekey
    ring_full,        // control core ring full (IKE, events, slow path)
    tx_full,          // port TX queue full
    no_mbuf,          // mempool empty when a new packet was needed
    crypto_failed,    // IPsec-MB refused a job
    discarded,        // a discard policy covers it
    frag_no_room,     // reassembly holds its whole share of the mbuf pool
    frag_source_limit,  // the fragment's source holds its whole share of reassembly
    frag_timeout,     // incomplete datagram freed: the rest did not come in time
    frag_invalid,     // fragments that do not make a datagram (overlap, duplicate, too many, too big)
    count_
};

constexpr unsigned kDropReasons = static_cast<unsigned>(Drop::count_);

constexpr std::string_view drop_name(Drop d) {
    constexpr std::string_view names[kDropReasons] = {
        "malformed", "not_for_us", "unsupported", "no_sa", "encap_mismatch", "peer_unknown",
        "replayed", "too_old", "auth_failed", "bad_padding", "bad_next_header", "policy",
        "ttl_expired", "no_route", "no_neighbour", "too_big", "seq_overflow", "ring_full",
        "tx_full", "no_mbuf", "crypto_failed", "discarded", "frag_no_room", "frag_source_limit",
        "frag_timeout", "frag_invalid"};
    return names[static_cast<unsigned>(d)];
}

}  // namespace espgw::stats

// The data plane's name for them.
namespace espgw::dp {
using stats::Drop;
using stats::drop_name;
using stats::kDropReasons;
}  // namespace espgw::dp
