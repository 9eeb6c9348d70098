// Proposals (RFC 7296 §2.7, §3.3): what we accept, written as strongSwan-style strings
// ("aes128gcm16-prfsha256-ecp256", "aes256-sha256-modp2048", "aes128gcm16-esn"), and the
// responder's choice among the peer's offer: our proposals in our order of preference, the
// first peer proposal they cover wins, with one transform of each type taken from it.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "espgw/ike/payloads.h"

namespace espgw::ike {

// One acceptable combination family: any listed transform of each type, in preference order.
struct OurProposal {
    ProtocolId protocol = ProtocolId::kIke;
    std::vector<Transform> encr, prf, integ, dh, esn;
    bool aead() const;  // every ENCR is a combined-mode cipher (no INTEG then)
};

// "aes256-sha256-modp2048" for IKE or ESP. IKE: a hash without "prf" also gives the PRF (as
// strongSwan reads it) unless a prfX is listed. ESP: DH groups mean PFS; no esn/noesn means
// noesn. Errors name the token.
std::optional<OurProposal> parse_proposal(std::string_view text, ProtocolId protocol, std::string& error);

// The responder's choice: the accepted proposal (the peer's number and SPI, one transform per
// type), or nullopt (answer NO_PROPOSAL_CHOSEN). A peer transform with attributes we do not
// know is never chosen (§3.3.6), nor a peer proposal with a transform type we do not use.
std::optional<Proposal> choose(std::span<const OurProposal> ours, const SaPayload& offer);

// Our offer as initiator: each configured proposal as one proposal with all its transforms
// (§3.3), numbered from 1, with spi (empty in IKE_SA_INIT); DH groups only with with_dh; ESP
// proposals without an ESN transform offer "no ESN".
SaPayload offer(const std::vector<OurProposal>& ours, ProtocolId protocol, const std::vector<uint8_t>& spi, bool with_dh);

// The DH group of a chosen proposal (0: none).
uint16_t dh_group_of(const Proposal& p);
// The ID of the transform of type t in a chosen proposal (0: none), and its key length in bits.
uint16_t transform_of(const Proposal& p, TransformType t);
uint16_t key_bits_of(const Proposal& p);
// "AES_GCM_16_128/PRF_HMAC_SHA2_256/CURVE_25519", as strongSwan logs them.
std::string to_string(const Proposal& p);
// The ciphers of a chosen IKE or ESP proposal (their key sizes are the same, RFC 5282/4106).
struct SkSuite;
SkSuite suite_of(const Proposal& p);

}  // namespace espgw::ike
