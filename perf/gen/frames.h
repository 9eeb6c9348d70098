// The generator's frames: the inner UDP packets it carries (each stamped with its slot in the
// trial, so a received packet says when it was sent), the ESP-in-UDP frames a peer sends to
// espgw, and the checks of what comes back on either side.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "esp_codec.h"
#include "peer_set.h"

namespace espgen {

constexpr uint32_t kMagic = 0x4547454e;  // "EGEN"
constexpr uint16_t kInnerSport = 5000, kInnerDport = 5001;
constexpr uint32_t kMinInner = 20 + 8 + 12;  // IPv4 + UDP + magic, slot, peer

// The frames of one trial, back to back in one buffer (the ESP ones are encrypted before the
// trial, so sending costs a copy and nothing else).
struct FrameBlob {
    std::vector<uint8_t> bytes;
    std::vector<uint32_t> offset;  // frame k: bytes[offset[k] .. offset[k + 1])
    std::vector<uint32_t> peer;    // frame k goes through peer[k]'s tunnel
    size_t count() const { return peer.size(); }
    const uint8_t* frame(size_t k) const { return bytes.data() + offset[k]; }
    uint32_t length(size_t k) const { return offset[k + 1] - offset[k]; }
};

// The inner IPv4/UDP packet of slot `slot` through peer `peer`, `len` bytes of IP; from the
// peer's tunnel address to the protected host (toward_lan) or back.
void inner_packet(const PeerSet& peers, uint32_t peer, uint32_t slot, uint32_t len, bool toward_lan,
                  std::vector<uint8_t>& out);

// Appends an Ethernet frame: `src` -> `dst` MACs, IPv4 payload.
void ether_header(const uint8_t dst[6], const uint8_t src[6], std::vector<uint8_t>& out);

// Appends outer IPv4 + UDP (NAT port -> 4500), or IPv4 alone for plain ESP, for `esp_len`
// bytes of ESP from peer `peer`.
void outer_headers(const PeerSet& peers, uint32_t peer, size_t esp_len, std::vector<uint8_t>& out);

void ipv4_checksum(uint8_t* ip);

// What an inner packet that arrived says about itself.
struct InnerStamp {
    uint32_t slot = 0, peer = 0;
};

// Checks an inner packet against what slot `slot` of peer `peer` was built as (addresses,
// ports, length, payload pattern). Returns an empty string if it is the one, else why not.
std::string check_inner(const PeerSet& peers, const uint8_t* ip, size_t len, bool toward_lan, InnerStamp& stamp);

// The frame's IPv4 packet (after Ethernet), or nullptr.
const uint8_t* ipv4_of(const uint8_t* frame, size_t len, size_t& ip_len);

}  // namespace espgen
