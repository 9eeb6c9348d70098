// Authentication with a pre-shared key (RFC 7296 §2.15): AUTH = prf(prf(Shared Secret,
// "Key Pad for IKEv2"), <SignedOctets>), where a side's signed octets are its own first
// message (IKE_SA_INIT, as sent), the other side's nonce, and prf(SK_px, its ID payload body).
#pragma once

#include <span>

#include "espgw/ike/kdf.h"

namespace espgw::ike {

// sk_p: SK_pi for the initiator's AUTH, SK_pr for the responder's; id_body: that side's ID
// payload body (type, reserved octets, data) exactly as sent.
Secret psk_auth(Prf p, std::span<const uint8_t> psk, std::span<const uint8_t> own_init_message,
                std::span<const uint8_t> other_nonce, std::span<const uint8_t> sk_p, std::span<const uint8_t> id_body);

}  // namespace espgw::ike
