#include "espgw/dp/fragments.h"

#include <rte_ip.h>
#include <rte_hash_crc.h>
#include <rte_ip_frag.h>

#include <algorithm>
#include <cstring>
#include <iterator>

#include "espgw/net/checksum.h"

namespace espgw::dp {

rte_mbuf* linearize(rte_mbuf* chain, rte_mempool* pool) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool);
    const uint32_t len = rte_pktmbuf_pkt_len(chain);
    if (!m || len > rte_pktmbuf_tailroom(m)) {
        rte_pktmbuf_free(m);
        rte_pktmbuf_free(chain);
        return nullptr;
    }
    auto* dst = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(len)));
    for (const rte_mbuf* seg = chain; seg; seg = seg->next) {
        rte_memcpy(dst, rte_pktmbuf_mtod(seg, const void*), seg->data_len);
        dst += seg->data_len;
    }
    rte_pktmbuf_free(chain);
    return m;
}

bool reassembly_create(Reassembly& r, const ReassemblyLimits& limits, int socket) {
    // Every entry holds at least one mbuf, so more entries than max_mbufs would never be used;
    // the table has twice as many slots as entries, as its hash has two choices per key.
    const uint32_t entries = std::max<uint32_t>(limits.max_mbufs, 16);
    constexpr uint32_t kPerBucket = 16;
    r.table = rte_ip_frag_table_create(rte_align32pow2(entries / kPerBucket), kPerBucket, entries,
                                       limits.timeout_tsc, socket);
    r.limits = limits;
    // Timed-out datagrams are found within a hundredth of the timeout, even with no traffic.
    r.sweep_interval_tsc = std::max<uint64_t>(limits.timeout_tsc / 100, 1);
    r.next_sweep = 0;
    r.clock = 0;
    r.held = 0;
    std::fill(std::begin(r.per_source), std::end(r.per_source), 0);
    r.death_row.cnt = 0;
    return r.table != nullptr;
}

void reassembly_destroy(Reassembly& r) {
    rte_ip_frag_free_death_row(&r.death_row, 0);
    if (r.table) rte_ip_frag_table_destroy(r.table);  // frees what it still holds
    r.table = nullptr;
    r.held = 0;
}

namespace {

// Each fragment the table takes carries its source slot in hash.usr (nothing else reads the
// hash of a fragment), so the mbufs the table gives back, chained into a datagram or on the
// death row, say whose share they leave.
void release(Reassembly& r, const rte_mbuf* chain) {
    for (const rte_mbuf* seg = chain; seg; seg = seg->next) {
        --r.held;
        --r.per_source[seg->hash.usr & (Reassembly::kSourceSlots - 1)];
    }
}

// Frees what the library put on the death row, counting each fragment as dropped for why.
void settle(Worker& w, Drop why) {
    Reassembly& r = w.reassembly;
    for (uint32_t k = 0; k < r.death_row.cnt; ++k) {
        rte_mbuf* m = r.death_row.row[k];
        w.counters->drops[kPublic][static_cast<unsigned>(why)] += m->nb_segs;
        release(r, m);
        rte_pktmbuf_free(m);
    }
    r.death_row.cnt = 0;
}

// Frees every datagram whose time is up at `now`. The library stops when its death row is
// full, so this empties the row and asks again until nothing more expires.
void expire_at(Worker& w, uint64_t now) {
    Reassembly& r = w.reassembly;
    for (;;) {
        rte_ip_frag_table_del_expired_entries(r.table, &r.death_row, now);
        if (r.death_row.cnt == 0) return;
        settle(w, Drop::frag_timeout);
    }
}

// The table frees datagrams oldest first and stops at the first whose time is not up. So a
// datagram stamped later than the clock now reads (the TSC went back, or read one spike ahead:
// a virtual machine's TSC can, and this one's kernel marks it unstable) would keep every
// datagram behind it, and with them the whole share, until the clock caught up with the stamp:
// a 59-minute soak ended with reassembly full and nothing expiring. A step back longer than a
// sweep interval therefore frees everything held; at worst a datagram in flight is lost.
void follow_clock(Worker& w) {
    Reassembly& r = w.reassembly;
    if (w.now + r.sweep_interval_tsc < r.clock) {
        ++w.counters->clock_steps_back;
        if (r.held != 0) expire_at(w, UINT64_MAX);
        r.next_sweep = 0;
    }
    r.clock = w.now;
}

void expire(Worker& w) {
    follow_clock(w);
    expire_at(w, w.now);
}

// Whether the table may take one more fragment from the source in slot; counts the drop if not.
bool admit(Worker& w, rte_mbuf* m, uint32_t slot) {
    Reassembly& r = w.reassembly;
    expire(w);
    if (r.held >= r.limits.max_mbufs) {
        drop(w, m, kPublic, Drop::frag_no_room);
        return false;
    }
    if (r.per_source[slot] >= r.limits.per_source) {
        drop(w, m, kPublic, Drop::frag_source_limit);
        return false;
    }
    m->hash.usr = slot;
    ++r.held;
    ++r.per_source[slot];
    return true;
}

// After the library had the fragment: what it refused or gave up on is dropped, and a whole
// datagram leaves the table's share.
rte_mbuf* collect(Worker& w, rte_mbuf* whole) {
    settle(w, Drop::frag_invalid);
    if (!whole) return nullptr;  // held until the rest arrives or its time is up
    release(w.reassembly, whole);
    ++w.counters->reassembled;
    whole = linearize(whole, w.shared->big_pool);
    if (!whole) ++w.counters->drops[kPublic][static_cast<unsigned>(Drop::no_mbuf)];
    return whole;
}

}  // namespace

void reassembly_sweep(Worker& w) {
    Reassembly& r = w.reassembly;
    follow_clock(w);
    w.counters->reassembly_held = r.held;
    if (r.held == 0 || w.now < r.next_sweep) return;
    r.next_sweep = w.now + r.sweep_interval_tsc;
    expire_at(w, w.now);  // the clock was followed above
}

rte_mbuf* reassemble_ipv4(Worker& w, rte_mbuf* m) {
    auto* ip = rte_pktmbuf_mtod(m, rte_ipv4_hdr*);
    if (!admit(w, m, rte_hash_crc_4byte(ip->src_addr, 0) & (Reassembly::kSourceSlots - 1))) return nullptr;
    m->l2_len = 0;
    m->l3_len = static_cast<uint16_t>(rte_ipv4_hdr_len(ip));
    rte_mbuf* whole = collect(w, rte_ipv4_frag_reassemble_packet(w.reassembly.table, &w.reassembly.death_row, m, w.now, ip));
    if (!whole) return nullptr;
    // The library leaves the header checksum stale; nothing downstream reads it, but a packet
    // handed to the host stack must be right.
    ip = rte_pktmbuf_mtod(whole, rte_ipv4_hdr*);
    ip->hdr_checksum = 0;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    return whole;
}

rte_mbuf* reassemble_ipv6(Worker& w, rte_mbuf* m) {
    auto* ip = rte_pktmbuf_mtod(m, rte_ipv6_hdr*);
    rte_ipv6_fragment_ext* frag = rte_ipv6_frag_get_ipv6_fragment_header(ip);
    if (!frag || rte_pktmbuf_data_len(m) < sizeof(rte_ipv6_hdr) + sizeof(rte_ipv6_fragment_ext)) {
        drop(w, m, kPublic, Drop::malformed);
        return nullptr;
    }
    uint64_t src[2];  // the header sits at any alignment; the CRC reads whole words
    std::memcpy(src, ip->src_addr, sizeof src);
    if (!admit(w, m, rte_hash_crc_8byte(src[1], rte_hash_crc_8byte(src[0], 0)) & (Reassembly::kSourceSlots - 1)))
        return nullptr;
    m->l2_len = 0;
    m->l3_len = sizeof(rte_ipv6_hdr) + sizeof(rte_ipv6_fragment_ext);
    return collect(w, rte_ipv6_frag_reassemble_packet(w.reassembly.table, &w.reassembly.death_row, m, w.now, ip, frag));
}

uint16_t fragment_ipv4(Worker& w, rte_mbuf* m, uint16_t mtu, rte_mbuf** out, uint16_t max_out, unsigned from) {
    const Shared& s = *w.shared;
    const int n = rte_ipv4_fragment_packet(m, out, max_out, mtu, s.pool, s.indirect_pool);
    rte_pktmbuf_free(m);  // the fragments hold their own references to its data
    if (n <= 0) {
        ++w.counters->drops[from][static_cast<unsigned>(Drop::no_mbuf)];
        return 0;
    }
    uint16_t kept = 0;
    for (int k = 0; k < n; ++k) {
        rte_mbuf* f = out[k]->nb_segs > 1 ? linearize(out[k], s.pool) : out[k];
        if (!f) {
            ++w.counters->drops[from][static_cast<unsigned>(Drop::no_mbuf)];
            continue;
        }
        auto* ip = rte_pktmbuf_mtod(f, rte_ipv4_hdr*);
        ip->hdr_checksum = 0;  // rte_ipv4_fragment_packet leaves it to the caller
        ip->hdr_checksum = rte_ipv4_cksum(ip);
        out[kept++] = f;
    }
    return kept;
}

}  // namespace espgw::dp
