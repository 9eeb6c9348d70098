// Negotiating one CHILD SA as the responder (RFC 7296 §1.3, §2.9, §2.17), shared by IKE_AUTH
// and CREATE_CHILD_SA: which configured child the initiator's request fits, with which ESP
// proposal and which narrowed selectors, and the keys both directions get.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "espgw/ike/connection.h"
#include "espgw/ike/kdf.h"
#include "espgw/ike/payloads.h"
#include "espgw/ike/traffic_selectors.h"

namespace espgw::ike {

// What the initiator asked for.
struct ChildRequest {
    SaPayload sa;
    TsPayload tsi, tsr;
    bool transport = false;  // USE_TRANSPORT_MODE
};

struct ChildChoice {
    bool ok = false;
    NotifyType error = NotifyType::kNoProposalChosen;  // when not ok
    std::string reason;
    const ChildConfig* config = nullptr;
    Proposal proposal;    // the accepted ESP proposal, the peer's SPI in it
    Narrowed tsi, tsr;    // the peer's side, ours
    bool transport = false;
};

// local_dynamic: our side when a child names no local_ts (our own address); remote_dynamic:
// the peer's side when a child names no remote_ts (its virtual IPs, or its own address). pfs:
// the request carries a KE (CREATE_CHILD_SA), so proposals with a DH group are acceptable.
ChildChoice choose_child(const std::vector<ChildConfig>& children, const ChildRequest& req,
                         const std::vector<net::Prefix>& local_dynamic, const std::vector<net::Prefix>& remote_dynamic);

// The ESP keys of the chosen proposal, from prf+(SK_d, [g^ir |] Ni | Nr): first the
// initiator-to-responder SA's encryption then integrity key, then the other direction's.
struct ChildKeys {
    Secret encr_i, integ_i;  // the SA carrying traffic from the IKE initiator
    Secret encr_r, integ_r;  // ... from the IKE responder
};
std::optional<ChildKeys> child_keys(Prf prf, std::span<const uint8_t> sk_d, std::span<const uint8_t> g_ir,
                                    std::span<const uint8_t> ni, std::span<const uint8_t> nr, const Proposal& esp);

}  // namespace espgw::ike
