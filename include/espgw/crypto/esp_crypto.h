// ESP payload protection on bursts of packets through Intel IPsec-MB.
//
// AES-GCM goes through IPsec-MB's direct API, one call per packet: with VAES a single buffer
// already fills the AES units and the direct call costs ~40 % less than a job round trip.
// AES-CBC+HMAC and ChaCha20-Poly1305 go through the job API: the whole burst is submitted
// before it is flushed, so the multi-buffer HMAC lanes are filled across packets.
#pragma once

#include <intel-ipsec-mb.h>

#include <cstdint>

#include "espgw/crypto/sa_keys.h"

namespace espgw::crypto {

struct CryptoOp {
    const SaKeys* keys;
    uint8_t* auth_start;   // the ESP header: HMAC covers auth_start .. auth_start + auth_len
    uint32_t auth_len;     // including the 4 bytes of seq_hi the caller placed at icv with ESN
    uint8_t* payload;      // first byte to encrypt or decrypt, in place
    uint32_t payload_len;  // a multiple of the suite's block length
    const uint8_t* iv;     // the explicit IV in the packet
    uint8_t* icv;          // inbound: the received ICV; outbound: where the ICV is written
    const uint8_t* aad;    // AEAD: SPI || [seq_hi] || seq_lo: the ESP header itself, or aad_esn
    uint8_t aad_len;       // AEAD: 8, or 12 with ESN
    uint8_t aad_esn[12];   // AEAD with ESN: the AAD, built here (seq_hi is not on the wire)
    uint8_t received_icv[32];  // inbound HMAC with ESN: the ICV, moved aside for seq_hi
    bool icv_moved;            // inbound: compare against received_icv instead of icv
    bool ok;                   // result: sealed / ICV verified
    uint8_t computed_icv[32];  // inbound: scratch for the computed ICV
};

// Encrypts and computes the ICV of every op; sets op->ok.
void seal_burst(IMB_MGR* mgr, CryptoOp* const* ops, uint32_t n);

// Verifies the ICV and decrypts every op; op->ok is true only if the ICV matched.
void open_burst(IMB_MGR* mgr, CryptoOp* const* ops, uint32_t n);

// The CBC IV for a sequence number: AES under the SA's IV key of the counter block.
void make_cbc_iv(IMB_MGR* mgr, const SaKeys& keys, uint64_t seq, uint8_t iv[16]);

}  // namespace espgw::crypto
