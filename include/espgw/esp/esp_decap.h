// Inbound ESP (RFC 4303 §3.4) on one mbuf, in three steps so that the crypto runs on a whole
// burst in between: prepare (lengths, sequence number, replay pre-check, crypto op), the burst
// crypto (crypto::open_burst), finish (ICV verdict, replay update, trailer, strip).
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "espgw/crypto/esp_crypto.h"
#include "espgw/dp/drop_reason.h"
#include "espgw/sa/sa.h"

namespace espgw::esp {

struct InboundEsp {
    rte_mbuf* m;  // contiguous; data starts at the ESP header and ends with the ICV
    sa::Sa* sa;
    uint64_t seq;
    dp::Drop drop;
    uint8_t next_header;  // set by finish
    crypto::CryptoOp op;
};

// False (with p.drop set) if the packet cannot be a valid ESP packet of this SA.
bool esp_in_prepare(InboundEsp& p);

// After crypto::open_burst. On success m holds exactly the protected payload (the inner
// packet in tunnel mode, the transport payload otherwise) and next_header says what it is.
bool esp_in_finish(InboundEsp& p);

}  // namespace espgw::esp
