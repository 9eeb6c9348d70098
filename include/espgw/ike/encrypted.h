// The Encrypted payload, SK {...} (RFC 7296 §3.14): the payloads of every exchange after
// IKE_SA_INIT travel inside it, encrypted and integrity-protected with the IKE SA's keys of
// the sending side (SK_ei/SK_ai from the original initiator, SK_er/SK_ar from the responder).
// AES-GCM (RFC 5282) and ChaCha20-Poly1305 (RFC 7634): the key material ends with a 4-octet
// salt, the nonce is salt | IV, the associated data is the IKE header and the SK payload's
// header. AES-CBC (RFC 3602) with an HMAC: the ICV covers the message up to the ICV.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "espgw/ike/kdf.h"
#include "espgw/ike/message.h"

namespace espgw::ike {

// The IKE SA's ciphers, as the chosen proposal says.
struct SkSuite {
    uint16_t encr = 0;      // encr_id
    uint16_t key_bits = 0;  // the Key Length attribute (0 for ChaCha20-Poly1305)
    uint16_t integ = 0;     // integ_id; 0 with the combined-mode ciphers
};
bool supported(const SkSuite& s);
size_t encr_key_size(const SkSuite& s);   // SK_e length, salt included
size_t integ_key_size(const SkSuite& s);  // SK_a length, 0 for combined modes
size_t iv_size(const SkSuite& s);

// One direction's keys.
struct SkKeys {
    Secret encr;   // SK_ei or SK_er
    Secret integ;  // SK_ai or SK_ar (empty for combined modes)
};

// The inner payloads of a received message whose last payload is SK; error says why not
// (ICV mismatch, bad padding, a nested SK, ...), and nothing of it may then be used.
struct Opened {
    bool ok = false;
    std::string error;
    std::vector<RawPayload> payloads;
};
Opened open_sk(const SkSuite& s, const SkKeys& k, std::span<const uint8_t> message);

// A whole message: header, then SK holding `inner`. iv: iv_size(s) octets, never reused with
// the same key (the caller's counter or random); pad: padding octets added (CBC rounds up to
// the block size on top).
std::vector<uint8_t> seal_sk(const SkSuite& s, const SkKeys& k, const Header& h, const std::vector<RawPayload>& inner,
                             std::span<const uint8_t> iv, size_t pad = 0);

// IKE fragmentation (RFC 7383): a message too big for the path goes as several messages, each
// with one Encrypted Fragment payload (SKF: fragment number, total, then IV | ciphertext | ICV,
// each fragment encrypted on its own; the associated data is the IKE header and the SKF header
// with its numbers). Only the first fragment names the first inner payload.
struct OpenedFragment {
    bool ok = false;
    std::string error;
    uint16_t number = 0, total = 0;
    uint8_t inner_next = 0;          // the first inner payload's type (fragment 1 only)
    std::vector<uint8_t> plaintext;  // this fragment's share of the inner payload chain
};
OpenedFragment open_skf(const SkSuite& s, const SkKeys& k, std::span<const uint8_t> message);
// The inner payloads of the fragments' plaintexts joined in order.
Opened open_reassembled(std::vector<uint8_t> plaintext, uint8_t first);
// The message as fragments of at most max_message octets each (from the IKE header on);
// next_iv gives each fragment a fresh IV. Empty if it cannot be done.
std::vector<std::vector<uint8_t>> seal_fragments(const SkSuite& s, const SkKeys& k, const Header& h,
                                                 const std::vector<RawPayload>& inner, size_t max_message,
                                                 const std::function<std::vector<uint8_t>()>& next_iv);

}  // namespace espgw::ike
