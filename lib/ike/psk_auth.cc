#include "espgw/ike/psk_auth.h"

#include <openssl/crypto.h>

#include <string_view>
#include <vector>

namespace espgw::ike {

Secret psk_auth(Prf p, std::span<const uint8_t> psk, std::span<const uint8_t> own_init_message,
                std::span<const uint8_t> other_nonce, std::span<const uint8_t> sk_p, std::span<const uint8_t> id_body) {
    static constexpr std::string_view kPad = "Key Pad for IKEv2";  // 17 octets, no terminator
    const Secret key = prf(p, psk, std::span(reinterpret_cast<const uint8_t*>(kPad.data()), kPad.size()));
    const Secret maced_id = prf(p, sk_p, id_body);
    std::vector<uint8_t> octets(own_init_message.begin(), own_init_message.end());
    octets.insert(octets.end(), other_nonce.begin(), other_nonce.end());
    octets.insert(octets.end(), maced_id.bytes().begin(), maced_id.bytes().end());
    Secret auth = prf(p, key.bytes(), octets);
    OPENSSL_cleanse(octets.data(), octets.size());
    return auth;
}

}  // namespace espgw::ike
