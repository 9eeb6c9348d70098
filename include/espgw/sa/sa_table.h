// The SA database of the data plane.
//
// Inbound: an rte_hash from SPI to SA, lock-free for readers (single writer: the control core).
// Outbound: the inner destination picks the SA through a longest-prefix match on the SA's
// remote traffic selector (rte_lpm for IPv4, rte_lpm6 for IPv6) giving a slot index; the slot
// holds the SA pointer, so a rekey swaps one pointer without touching the LPM.
//
// Workers read under RCU (rte_rcu_qsbr): they report a quiescent state once per loop. Every
// change is made by the control core, which frees what it replaced only after a grace
// period (rte_hash and rte_lpm take the RCU variable themselves; rte_lpm6, which cannot, is
// rebuilt and swapped: selectors change on SA install, not on rekey).
#pragma once

#include <rte_hash.h>
#include <rte_lpm.h>
#include <rte_lpm6.h>
#include <rte_rcu_qsbr.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "espgw/sa/sa.h"

namespace espgw::sa {

class SaTable {
public:
    SaTable(uint32_t capacity, rte_rcu_qsbr* rcu, int socket_id);  // throws on failure
    ~SaTable();
    SaTable(const SaTable&) = delete;
    SaTable& operator=(const SaTable&) = delete;

    // ---- control core ----
    // Publishes sa. An outbound SA whose selector is already installed replaces that SA
    // (rekey); an inbound SA with a known SPI is refused.
    bool install(std::unique_ptr<Sa> sa, std::string& error);
    // Unpublishes and frees after a grace period. Returns false if there is no such SA.
    bool remove(Direction dir, uint32_t spi);
    // Every installed SA (control core and telemetry; guard with the caller's mutex).
    void for_each(const std::function<void(Sa&)>& fn) const;
    Sa* find(Direction dir, uint32_t spi) const;
    size_t size() const { return inbound_.size() + outbound_.size(); }

    // ---- workers ----
    // The inbound SA of an SPI, or nullptr. Inline: once per change of SPI within a burst.
    Sa* lookup_inbound(uint32_t spi) const {
        void* data;
        return rte_hash_lookup_data(spi_hash_, &spi, &data) >= 0 ? static_cast<Sa*>(data) : nullptr;
    }
    Sa* lookup_outbound_v4(uint32_t dst_host) const {  // inline: once per packet sent
        uint32_t slot;
        if (rte_lpm_lookup(lpm4_, dst_host, &slot) != 0) return nullptr;
        return slots_[slot].load(std::memory_order_acquire);
    }
    Sa* lookup_outbound_v6(const uint8_t dst[16]) const;

private:
    struct Outbound {
        std::unique_ptr<Sa> sa;
        uint32_t slot;
    };
    void rebuild_lpm6();
    void lpm_add(const net::Prefix& ts, uint32_t slot);
    void lpm_delete(const net::Prefix& ts);
    void grace_period() const;
    uint32_t take_slot();

    uint32_t capacity_;
    rte_rcu_qsbr* rcu_;
    int socket_;
    rte_hash* spi_hash_ = nullptr;
    std::map<uint32_t, std::unique_ptr<Sa>> inbound_;  // by SPI
    std::map<uint32_t, Outbound> outbound_;            // by SPI
    std::unique_ptr<std::atomic<Sa*>[]> slots_;
    std::vector<uint32_t> free_slots_;
    unsigned instance_ = 0;
    rte_lpm* lpm4_ = nullptr;
    std::atomic<rte_lpm6*> lpm6_{nullptr};
    uint32_t lpm_generation_ = 0;
};

}  // namespace espgw::sa
