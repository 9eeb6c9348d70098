#include "espgw/ike/psk_auth.h"

#include <openssl/crypto.h>

#include <string_view>
#include <vector>

#include "espgw/ike/signed_octets.h"

namespace espgw::ike {

Secret psk_auth(Prf p, std::span<const uint8_t> psk, std::span<const uint8_t> own_init_message,
                std::span<const uint8_t> other_nonce, std::span<const uint8_t> sk_p, std::span<const uint8_t> id_body) {
    static constexpr std::string_view kPad = "Key Pad for IKEv2";  // 17 octets, no terminator
    const Secret key = prf(p, psk, std::span(reinterpret_cast<const uint8_t*>(kPad.data()), kPad.size()));
    std::vector<uint8_t> octets = signed_octets(p, own_init_message, other_nonce, sk_p, id_body);
    Secret auth = prf(p, key.bytes(), octets);
    OPENSSL_cleanse(octets.data(), octets.size());
    return auth;
}

}  // namespace espgw::ike
