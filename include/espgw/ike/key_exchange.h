// Diffie-Hellman for IKEv2's KE payload (RFC 7296 §3.4), with OpenSSL 3: MODP groups
// (RFC 3526), ECP groups (RFC 5903: the KE data is x | y, the shared secret is x alone) and
// Curve25519 (RFC 8031: 32 bytes each way, an all-zero secret refused). A peer's value that
// has the wrong length or is not a valid element of the group is refused, not used.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "espgw/ike/kdf.h"
#include "espgw/ike/transform_ids.h"

struct evp_pkey_st;

namespace espgw::ike {


bool supported(DhGroup g);
// The length of the KE payload's data (and of the peer's value) for the group.
size_t ke_size(DhGroup g);

class KeyExchange {
public:
    // A fresh key pair; nullptr if OpenSSL could not make one.
    static std::unique_ptr<KeyExchange> generate(DhGroup g);
    // A known key pair (known-answer tests): ECP groups need the public value too (x | y).
    static std::unique_ptr<KeyExchange> from_private(DhGroup g, std::span<const uint8_t> priv,
                                                     std::span<const uint8_t> pub = {});
    ~KeyExchange();
    KeyExchange(const KeyExchange&) = delete;
    KeyExchange& operator=(const KeyExchange&) = delete;

    DhGroup group() const { return group_; }
    // Our value, as the KE payload carries it.
    const std::vector<uint8_t>& public_value() const { return public_; }
    // g^ir from the peer's KE data (RFC 7296 §2.14: MODP padded to the prime's length);
    // nullopt if the peer's value is not acceptable.
    std::optional<Secret> shared(std::span<const uint8_t> peer) const;

private:
    KeyExchange(DhGroup g, evp_pkey_st* key);
    DhGroup group_;
    evp_pkey_st* key_;
    std::vector<uint8_t> public_;
};

}  // namespace espgw::ike
