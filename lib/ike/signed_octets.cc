#include "espgw/ike/signed_octets.h"

#include "espgw/ike/kdf.h"

namespace espgw::ike {

std::vector<uint8_t> signed_octets(Prf p, std::span<const uint8_t> own_init_message,
                                   std::span<const uint8_t> other_nonce, std::span<const uint8_t> sk_p,
                                   std::span<const uint8_t> id_body) {
    const Secret maced_id = prf(p, sk_p, id_body);
    std::vector<uint8_t> octets;
    octets.reserve(own_init_message.size() + other_nonce.size() + maced_id.size());
    octets.insert(octets.end(), own_init_message.begin(), own_init_message.end());
    octets.insert(octets.end(), other_nonce.begin(), other_nonce.end());
    octets.insert(octets.end(), maced_id.bytes().begin(), maced_id.bytes().end());
    return octets;
}

}  // namespace espgw::ike
