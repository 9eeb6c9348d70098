// Shared by encap and decap: how an ESP packet's fields map onto a crypto::CryptoOp.
#pragma once

#include <cstring>

#include "espgw/crypto/esp_crypto.h"
#include "espgw/net/byte_order.h"

namespace espgw::esp {

constexpr uint32_t kEspHeaderLen = 8;  // SPI + sequence number

inline uint32_t load_be32(const uint8_t* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return net::be32(v);
}

inline void store_be32(uint8_t* p, uint32_t v) {
    v = net::be32(v);
    std::memcpy(p, &v, 4);
}

// Points op at the packet: esp is the ESP header, payload_len the encrypted part (payload,
// padding, pad length, next header). With ESN the high sequence bits are authenticated too:
// in the AAD for AEAD (RFC 4106 §5, RFC 7634 §2.1), else as if appended after the payload
// (RFC 4303 §3.3.2.2), written where the ICV sits; inbound the received ICV is saved first.
inline void bind_op(crypto::CryptoOp& op, const crypto::SaKeys& keys, uint8_t* esp,
                    uint32_t payload_len, uint64_t seq, bool esn, bool inbound) {
    const crypto::SuiteInfo& s = keys.info;
    op.keys = &keys;
    op.auth_start = esp;
    op.iv = esp + kEspHeaderLen;
    op.payload = esp + kEspHeaderLen + s.iv_len;
    op.payload_len = payload_len;
    op.icv = op.payload + payload_len;
    op.icv_moved = false;
    op.ok = false;
    const auto seq_hi = static_cast<uint32_t>(seq >> 32);
    if (s.aead) {
        if (esn) {
            std::memcpy(op.aad_esn, esp, 4);
            store_be32(op.aad_esn + 4, seq_hi);
            std::memcpy(op.aad_esn + 8, esp + 4, 4);
            op.aad = op.aad_esn;
            op.aad_len = 12;
        } else {
            op.aad = esp;  // SPI || seq as on the wire (written before this on the way out)
            op.aad_len = 8;
        }
        op.auth_len = 0;
        return;
    }
    op.aad = nullptr;
    op.aad_len = 0;
    op.auth_len = kEspHeaderLen + s.iv_len + payload_len;
    if (esn) {
        if (inbound) {
            std::memcpy(op.received_icv, op.icv, s.icv_len);
            op.icv_moved = true;
        }
        store_be32(op.icv, seq_hi);
        op.auth_len += 4;
    }
}

}  // namespace espgw::esp
