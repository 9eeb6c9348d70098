// ESP arriving on the public port, after classification.
#pragma once

#include "espgw/dp/datapath.h"
#include "espgw/esp/esp_decap.h"
#include "espgw/net/mbuf_edit.h"

#include <cstring>

namespace espgw::dp {

// What decap still needs of the outer headers once they are stripped (8 bytes: cheap to keep
// per packet). An IPv6 source does not fit: src_be holds a 32-bit fold of it (fold6), which
// is enough to tell runs of packets apart, and outer_src6() finds the address itself in the
// outer header, which stays in the mbuf's headroom (stripping only moves the data offset).
struct OuterInfo {
    uint32_t src_be;    // outer IPv4 source address (network order); over IPv6 fold6(source)
    uint16_t sport_be;  // UDP source port (network order), 0 for plain ESP
    uint8_t ttl;        // or hop limit
    uint8_t tos;        // or traffic class
};

struct EspIn {
    rte_mbuf* m;  // data starts at the outer IP header
    OuterInfo outer;
    sa::Encap encap;
    bool outer_v6;        // the outer header is IPv6 (40 bytes, no extension headers)
    uint16_t esp_offset;  // from the outer IP header to the ESP header
};

inline uint32_t fold6(const uint8_t* a) {
    uint32_t w[4];
    std::memcpy(w, a, 16);
    return w[0] ^ w[1] ^ w[2] ^ w[3];
}

// The outer IPv6 source of a packet over IPv6, given its ESP header and whether it came in
// UDP (OuterInfo::sport_be != 0): the classifier took only IPv6 headers followed directly by
// UDP or ESP.
inline const uint8_t* outer_src6(bool udp, const uint8_t* esp) {
    constexpr uint32_t kSrcOffset = 8;  // in the IPv6 header
    return esp - (udp ? 8 : 0) - 40 + kSrcOffset;
}

// A burst's ESP packets on their way through decap: each is looked up and prepared as it is
// classified (esp_inbound_add), then the batch is decrypted, checked and delivered together
// (esp_inbound_run).
struct EspBatch {
    esp::InboundEsp pkt[kBurst];
    OuterInfo from[kBurst];
    crypto::CryptoOp* ops[kBurst];
    uint16_t n = 0;
    // The last SPI looked up and its SA (nullptr: none): a burst is usually one SA's.
    bool looked_up = false;
    uint32_t spi = 0;
    sa::Sa* sa = nullptr;
    // SPIs already looked up in this burst, for bursts that interleave several peers: one
    // hash lookup per SPI and burst rather than per packet. Direct-mapped on the SPI's low
    // bits. (Only within a burst: the worker is not quiescent before the batch is done, so
    // the SAs stay alive.)
    static constexpr unsigned kSeen = 16;
    struct Seen {
        uint32_t spi;
        bool valid;
        sa::Sa* sa;
    } seen[kSeen]{};

    sa::Sa* find(const sa::SaTable& table, uint32_t want);
};

// The SA of an SPI whose lookup is not the last one's.
inline sa::Sa* EspBatch::find(const sa::SaTable& table, uint32_t want) {
    Seen& e = seen[(want ^ want >> 8) % kSeen];
    if (!e.valid || e.spi != want) e = {want, true, table.lookup_inbound(want)};
    return e.sa;
}

// Finds the SA of an ESP packet and prepares it for decryption, or drops it (counted).
// Inline: it runs for every ESP packet.
[[gnu::always_inline]] inline void esp_inbound_add(Worker& w, EspBatch& b, const EspIn& in) {
    const uint32_t spi = esp::load_be32(rte_pktmbuf_mtod_offset(in.m, const uint8_t*, in.esp_offset));
    if (!b.looked_up || spi != b.spi) {
        b.looked_up = true;
        b.spi = spi;
        b.sa = b.find(*w.shared->sas, spi);
    }
    sa::Sa* sa = b.sa;
    if (!sa) [[unlikely]]
        return drop(w, in.m, kPublic, Drop::no_sa);
    if (sa->accept_encap.load(std::memory_order_relaxed) != in.encap || sa->params.outer_v6 != in.outer_v6) [[unlikely]]
        return drop(w, in.m, kPublic, Drop::encap_mismatch, sa);
    net::cut_front(in.m, in.esp_offset);  // classification checked the headers fit
    esp::InboundEsp& p = b.pkt[b.n];
    p.m = in.m;
    p.sa = sa;
    if (!esp::esp_in_prepare(p)) [[unlikely]]
        return drop(w, p.m, kPublic, p.drop, sa);
    b.from[b.n] = in.outer;
    b.ops[b.n++] = &p.op;
}

// Decrypts, checks and delivers every packet of the batch: each is sent or dropped.
void esp_inbound_run(Worker& w, EspBatch& b);

}  // namespace espgw::dp
