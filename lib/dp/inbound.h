// ESP arriving on the public port, after classification.
#pragma once

#include "espgw/dp/datapath.h"
#include "espgw/esp/esp_decap.h"
#include "espgw/net/mbuf_edit.h"

namespace espgw::dp {

// What decap still needs of the outer headers once they are stripped (16 bytes: cheap to keep
// per packet).
struct OuterInfo {
    uint32_t src_be;    // outer IPv4 source address (network order); 0 with src6
    uint16_t sport_be;  // UDP source port (network order), 0 for plain ESP
    uint8_t ttl;        // or hop limit
    uint8_t tos;        // or traffic class
    const uint8_t* src6 = nullptr;  // outer IPv6: the source address, in the mbuf's headroom
                                    // (stripping headers only moves the data offset)
};

struct EspIn {
    rte_mbuf* m;  // data starts at the outer IP header
    OuterInfo outer;
    sa::Encap encap;
    uint16_t esp_offset;  // from the outer IP header to the ESP header
};

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
    if (sa->params.encap != in.encap || sa->params.v6 != (in.outer.src6 != nullptr)) [[unlikely]]
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
