// What an IKE_AUTH signature or MAC covers (RFC 7296 §2.15): a side's signed octets are its
// own first message (IKE_SA_INIT, exactly as sent), the other side's nonce (data only), and
// prf(SK_px, its ID payload body). PSK and certificate authentication both start from these.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "espgw/ike/transform_ids.h"

namespace espgw::ike {

// sk_p: SK_pi for the initiator's octets, SK_pr for the responder's; id_body: that side's ID
// payload body (type, reserved octets, data) exactly as sent.
std::vector<uint8_t> signed_octets(Prf p, std::span<const uint8_t> own_init_message,
                                   std::span<const uint8_t> other_nonce, std::span<const uint8_t> sk_p,
                                   std::span<const uint8_t> id_body);

}  // namespace espgw::ike
