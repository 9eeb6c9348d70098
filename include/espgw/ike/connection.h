// What an operator configures for IKE: connections (who may connect, how they authenticate,
// which IKE proposals), their CHILD SAs (selectors, ESP proposals, mode, lifetimes) and
// address pools. Plain data, filled by the config loader and read by the engine.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "espgw/ike/payloads.h"
#include "espgw/ike/proposals.h"
#include "espgw/ike/x509_credentials.h"
#include "espgw/net/prefix.h"

namespace espgw::ike {

// An identity as configured: "gw.example.net" (FQDN), "user@example.net" (RFC 822),
// "192.0.2.1" or an IPv6 address, "dn:" and a distinguished name ("dn:CN=gw, O=Example"), or
// for a remote "%any"; a remote identity may start with '*' to match any prefix
// ("*@example.net").
struct Identity {
    IdPayload id;          // type and data
    bool any = false;      // %any
    bool wildcard = false; // id.data holds the suffix after '*'
    // nullopt with error set when text is not an identity.
    static std::optional<Identity> parse(const std::string& text, std::string& error);
    bool matches(const IdPayload& peer) const;
};
// "client@example.net", "192.0.2.7", "2001:db8::1", or "dn:30..." for others.
std::string to_string(const IdPayload& id);

enum class ChildMode : uint8_t { kTunnel, kTransport };

struct ChildConfig {
    std::string name;
    std::vector<net::Prefix> local_ts;   // our side (the protected networks)
    std::vector<net::Prefix> remote_ts;  // empty: the peer's virtual IP, or else its own address
    std::vector<OurProposal> esp;        // ESP proposals, preferred first
    ChildMode mode = ChildMode::kTunnel;
    uint32_t replay_window = 1024;
    // Rekey after rekey_*, delete after life_* (0: no limit). Time-based rekeys get up to
    // rekey_jitter_s earlier so that many SAs made at once do not rekey at once.
    uint64_t rekey_s = 3600, life_s = 3960, rekey_jitter_s = 360;
    uint64_t rekey_bytes = 0, life_bytes = 0, rekey_packets = 0, life_packets = 0;
};

enum class Unique : uint8_t { kNo, kReplace, kKeep };

// How a side proves who it is in IKE_AUTH: a pre-shared key, or a signature with the private
// key of an X.509 certificate (RSA or ECDSA) that chains to a configured CA.
enum class AuthKind : uint8_t { kPsk, kPubkey };

struct Connection {
    std::string name;
    std::vector<net::Prefix> remote_addrs;  // where peers may come from; empty: anywhere
    Identity local_id, remote_id;
    AuthKind local_auth = AuthKind::kPsk, remote_auth = AuthKind::kPsk;
    std::string psk;                        // pre-shared key (when either side uses one)
    std::shared_ptr<const OurCredentials> credentials;  // our certificate and key (local pubkey)
    std::shared_ptr<const TrustStore> cas;              // CAs a peer's certificate must chain to
    std::vector<OurProposal> ike;           // IKE proposals, preferred first
    std::vector<ChildConfig> children;
    std::vector<std::string> pools;         // address pools (by name) for virtual IPs, IPv4 and/or IPv6
    std::vector<net::IpAddr> dns;           // handed out with virtual IPs
    uint32_t dpd_delay_s = 30;              // check liveness after this much silence (0: never)
    uint32_t dpd_timeout_s = 150;           // ... and give the peer up after this much more
    uint64_t ike_rekey_s = 14400;           // IKE SAs we initiated are rekeyed after this (0: never)
    Unique unique = Unique::kReplace;
    // Site to site: the peer we initiate to (UDP 500, then 4500 behind a NAT), and when: never
    // (it calls us), at start and again whenever the IKE SA is gone, or on demand: the first
    // child's policy is installed without SAs and traffic that matches it starts the IKE SA.
    std::optional<net::IpAddr> remote_host;
    enum class Start : uint8_t { kNone, kStart, kTrap } start = Start::kNone;
    bool accepts(const net::IpAddr& from) const;
};

struct PoolConfig {
    std::string name;
    net::Prefix range;
};

}  // namespace espgw::ike
