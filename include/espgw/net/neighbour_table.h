// Neighbour table (ARP for IPv4, NDP for IPv6): written by the control core, read by workers
// without locks.
//
// An rte_hash (lock-free readers) maps the address to a fixed entry; the entry's MAC and
// state are one atomic word, so a worker reads a consistent MAC or "unresolved" and never
// waits. Entries are never freed while the table lives (a neighbour that expires is marked
// stale and re-resolved in place), so a worker may keep an entry's slot across bursts.
#pragma once

#include <rte_hash.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "espgw/net/prefix.h"

namespace espgw::net {

struct Mac {
    uint8_t b[6];
};

class NeighbourTable {
public:
    NeighbourTable(uint32_t capacity, int socket_id);  // throws on failure
    ~NeighbourTable();

    // ---- workers ----
    // The MAC for addr if resolved and not expired at now_tsc. False: unknown or stale.
    bool lookup(const IpAddr& addr, uint64_t now_tsc, Mac& mac) const;
    bool lookup(uint32_t addr, uint64_t now_tsc, Mac& mac) const { return lookup(IpAddr::v4(addr), now_tsc, mac); }

    // The same split in two, so a worker can remember where addr lives: a slot never changes
    // address, so a cached slot stays right for the table's whole life.
    int32_t slot_of(const IpAddr& addr) const;  // -1: no entry
    bool read(int32_t slot, uint64_t now_tsc, Mac& mac) const {
        const Slot& sl = slots_[slot];
        const uint64_t v = sl.mac_state.load(std::memory_order_acquire);
        if (!(v & kResolved) || sl.expires_tsc.load(std::memory_order_relaxed) < now_tsc) return false;
        for (int k = 5; k >= 0; --k) mac.b[5 - k] = static_cast<uint8_t>(v >> (8 * k));
        return true;
    }

    // ---- control core ----
    // Records a resolved neighbour valid until expires_tsc (UINT64_MAX: static).
    bool learn(const IpAddr& addr, const Mac& mac, uint64_t expires_tsc);
    // True if addr has an entry (resolved, stale or pending).
    bool known(const IpAddr& addr) const { return slot_of(addr) >= 0; }
    // Adds an unresolved entry so that a reply is accepted (we asked for it).
    bool want(const IpAddr& addr) { return add(addr) >= 0; }
    struct Entry {
        IpAddr addr;
        Mac mac;
        bool resolved;
        uint64_t expires_tsc;
    };
    std::vector<Entry> snapshot() const;

private:
    static constexpr uint64_t kResolved = uint64_t{1} << 48;
    struct alignas(16) Slot {
        std::atomic<uint64_t> mac_state{0};  // bit 48: resolved; low 48 bits: MAC
        std::atomic<uint64_t> expires_tsc{0};
        IpAddr addr;
    };
    int32_t add(const IpAddr& addr);

    rte_hash* hash_ = nullptr;
    uint32_t capacity_;
    std::unique_ptr<Slot[]> slots_;
};

}  // namespace espgw::net
