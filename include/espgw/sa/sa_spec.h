// Everything that makes one SA, as the control plane states it: parameters, algorithms and
// the raw keys (as IKE derives them, RFC 7296 §2.17; for AES-GCM the key followed by the
// 4-byte salt, RFC 4106 §8.1), and lifetimes. The config loader fills it for static SAs, IKE
// for negotiated ones; control::IpsecApi turns it into an installed SA.
#pragma once

#include <cstdint>
#include <vector>

#include "espgw/crypto/cipher_suite.h"
#include "espgw/sa/sa.h"

namespace espgw::sa {

// A limit on an SA's use; 0 = none. Soft: the control plane is told (IKE rekeys). Hard: the
// SA is deleted.
struct Lifetime {
    uint64_t bytes = 0;
    uint64_t packets = 0;
    uint64_t seconds = 0;
    bool any() const { return bytes || packets || seconds; }
};

struct SaSpec {
    SaParams params;
    crypto::Cipher cipher{};
    crypto::Integrity integrity{};
    std::vector<uint8_t> key;       // encryption key (+ salt for GCM)
    std::vector<uint8_t> auth_key;  // integrity key, if any
    Lifetime soft, hard;
};

}  // namespace espgw::sa
