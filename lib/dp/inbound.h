// ESP arriving on the public port, after classification.
#pragma once

#include "burst_keys.h"
#include "espgw/dp/datapath.h"
#include "espgw/esp/esp_decap.h"
#include "espgw/net/mbuf_edit.h"

#include <rte_prefetch.h>

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
    rte_mbuf* m;  // data starts at the outer IP header (or at the frame: then esp_offset counts Ethernet)
    OuterInfo outer;
    sa::Encap encap;
    bool outer_v6;        // the outer header is IPv6 (40 bytes, no extension headers)
    uint16_t esp_offset;  // from the data's start to the ESP header
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
    // The last SPI looked up and its SA: a burst is usually one SA's. (Zero at first, with no
    // SA: SPI 0 is reserved, RFC 4303 §2.1, and never installed.)
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

    uint16_t misses = 0;  // lookups the memos did not answer (distinct SPIs, roughly)

    // The pre-lookup's answer for each packet of the burst (when `pre` is set): the SPI its
    // frame carried, if it had the common shape (else 0, which never has an SA), and that
    // SPI's SA. `cur` is the packet being classified. Per packet rather than in `seen`: a
    // burst over many peers has more distinct SPIs than `seen` has room for, and each one
    // pushed out would be looked up a second time.
    bool pre = false;
    uint16_t cur = 0;
    uint32_t pre_spi[kBurst];
    sa::Sa* pre_sa[kBurst];

    sa::Sa* find(const sa::SaTable& table, uint32_t want);
    // For bursts that interleave many peers (a concentrator with many SAs in use at once):
    // looks up the burst's distinct SPIs together before classification and prefetches each
    // SA's lines that decap reads first, so that their cache and TLB misses overlap instead
    // of stalling one packet after another. Fills pre_spi and pre_sa; classification then
    // finds each packet's SA there.
    void prelookup(const Worker& w, rte_mbuf* const* pkts, uint16_t n);
};

// The SA of an SPI whose lookup is not the last one's.
inline sa::Sa* EspBatch::find(const sa::SaTable& table, uint32_t want) {
    if (pre && pre_spi[cur] == want) return pre_sa[cur];
    Seen& e = seen[(want ^ want >> 8) % kSeen];
    if (!e.valid || e.spi != want) {
        e = {want, true, table.lookup_inbound(want)};
        ++misses;
    }
    return e.sa;
}

// The lines of an inbound SA that decap touches first: the first (its parameters,
// encapsulation, peer and selectors pointers), the keys a small packet needs first, the window, this
// worker's counters.
inline void prefetch_inbound_sa(const sa::Sa* sa, unsigned worker) {
    rte_prefetch0(sa);
    crypto::prefetch_keys(sa->keys);
    rte_prefetch0(&sa->replay);
    rte_prefetch0(&sa->counters(worker));
}

inline void EspBatch::prelookup(const Worker& w, rte_mbuf* const* pkts, uint16_t n) {
    const Shared& s = *w.shared;
    BurstKeys spis;
    uint8_t uniq[kBurst];  // per packet: its SPI's place in spis
    for (uint16_t i = 0; i < n; ++i) {
        pre_spi[i] = 0;
        // Only the common shapes (Ethernet, IPv4 without options, ESP in UDP to the NAT-T port
        // or plain ESP): anything else is looked up as it is classified, as before.
        const rte_mbuf* pk = pkts[i];
        if (rte_pktmbuf_data_len(pk) < 14 + 20 + 8 + 8) continue;
        const auto* f = rte_pktmbuf_mtod(pk, const uint8_t*);
        if (f[12] != 0x08 || f[13] != 0x00 || f[14] != 0x45) continue;
        const uint8_t* esp;
        if (f[14 + 9] == IPPROTO_UDP) {
            if ((f[36] << 8 | f[37]) != s.natt_port) continue;
            esp = f + 42;
        } else if (f[14 + 9] == IPPROTO_ESP) {
            esp = f + 34;
        } else {
            continue;
        }
        const uint32_t spi = esp::load_be32(esp);
        if (spi == 0) continue;  // the non-ESP marker: IKE
        pre_spi[i] = spi;
        uniq[i] = spis.add(spi);
    }
    const unsigned m = spis.n;
    if (m < 2) return;  // nothing to overlap: leave it to classification
    sa::Sa* found[kBurst];
    s.sas->lookup_inbound_bulk(spis.keys, m, found);
    misses = static_cast<uint16_t>(misses + m);
    for (uint16_t i = 0; i < n; ++i) pre_sa[i] = pre_spi[i] ? found[uniq[i]] : nullptr;
    pre = true;
    for (unsigned k = 0; k < m; ++k)
        if (found[k]) prefetch_inbound_sa(found[k], w.id);
    // Then what the SAs point to (the peer to check the source against, the selectors for
    // the inner packet): these loads wait for the SAs' first lines, all in flight together.
    for (unsigned k = 0; k < m; ++k)
        if (found[k]) {
            rte_prefetch0(found[k]->peer);
            rte_prefetch0(found[k]->selectors);
        }
}

// Finds the SA of an ESP packet and prepares it for decryption, or drops it (counted).
// Inline: it runs for every ESP packet.
[[gnu::always_inline]] inline void esp_inbound_add(Worker& w, EspBatch& b, const EspIn& in) {
    const uint32_t spi = esp::load_be32(rte_pktmbuf_mtod_offset(in.m, const uint8_t*, in.esp_offset));
    if (spi != b.spi) {
        b.spi = spi;
        b.sa = b.find(*w.shared->sas, spi);
    }
    sa::Sa* sa = b.sa;
    if (!sa) [[unlikely]]
        return drop(w, in.m, kPublic, Drop::no_sa);
    if (sa->accept_encap.load(std::memory_order_relaxed) != in.encap || sa->params.outer_v6 != in.outer_v6) [[unlikely]]
        return drop(w, in.m, kPublic, Drop::encap_mismatch, sa);
    net::cut_front(in.m, in.esp_offset);  // classification checked the headers fit
    // The slot in a local: the stores through byte pointers below would otherwise make the
    // compiler reload b.n for every use.
    const uint16_t k = b.n;
    esp::InboundEsp& p = b.pkt[k];
    p.m = in.m;
    p.sa = sa;
    if (!esp::esp_in_prepare(p)) [[unlikely]]
        return drop(w, p.m, kPublic, p.drop, sa);
    b.from[k] = in.outer;
    b.ops[k] = &p.op;
    b.n = static_cast<uint16_t>(k + 1);
}

// Decrypts, checks and delivers every packet of the batch: each is sent or dropped.
void esp_inbound_run(Worker& w, EspBatch& b);

}  // namespace espgw::dp
