// The SA and policy database of the data plane.
//
// Inbound: an rte_hash from SPI to SA, lock-free for readers (single writer: the control core).
// Outbound: the inner destination picks a policy through a longest-prefix match on the
// policies' remote selectors (rte_lpm for IPv4, rte_lpm6 for IPv6) giving a slot index; the
// slot holds the Policy, and the policy its outbound SA, so a rekey swaps one pointer without
// touching the LPM.
//
// Workers read under RCU (rte_rcu_qsbr): they report a quiescent state once per loop. Every
// change is made by the control core, which frees what it replaced only after a grace
// period (rte_hash and rte_lpm take the RCU variable themselves). rte_lpm6 cannot, so it is
// kept twice: a change is made to the copy no worker reads, the copies are swapped, and after
// a grace period the same change is made to the other (no rebuild: a change costs the same
// with 10 or 100 000 policies).
//
// Sizes follow the capacity (max_sas): the SPI hash holds that many SAs per direction; the
// LPMs have room for that many policies with a /25-/32 (IPv4) or pooled /128 (IPv6) remote
// selector each, as a concentrator gives every road warrior. A selector that does not fit
// is refused with an error naming max_sas; nothing is ever half-added.
#pragma once

#include <rte_hash.h>
#include <rte_lpm.h>
#include <rte_lpm6.h>
#include <rte_prefetch.h>
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
    // Policies. add_policy returns the new policy's id (0 on error: no selectors, a remote
    // selector another policy has, table full).
    uint32_t add_policy(const PolicySpec& spec, std::string& error);
    // Unpublishes a policy; its outbound SA stays installed (unbound) until removed.
    bool remove_policy(uint32_t id);
    Policy* policy(uint32_t id) const;
    // Makes outbound SA spi the one that protects policy id's traffic (a rekey, when another
    // was bound: that one stays installed until removed).
    bool bind(uint32_t policy_id, uint32_t spi, std::string& error);
    // Every policy (control core and telemetry; guard with the caller's mutex).
    void for_each_policy(const std::function<void(const Policy&)>& fn) const;

    // Publishes sa. With policy_id, the SA takes that policy's selectors and an outbound SA
    // is bound to it. Without, an outbound SA gets a policy of its own from its params
    // (local_ts/remote_ts) - or, if one for the same remote selector exists, replaces that
    // policy's SA (rekey; the replaced SA is removed). An inbound SA with a known SPI is refused.
    // replaced (optional): the SPI of the outbound SA this one replaced and removed, or 0.
    // bind false (with policy_id): an outbound SA takes the policy's selectors but is not bound
    // yet; bind() makes it the one in use later (a rekey responder waits for the peer's DELETE).
    bool install(std::unique_ptr<Sa> sa, std::string& error, uint32_t policy_id = 0, uint32_t* replaced = nullptr,
                 bool bind = true);
    // Puts fresh in the place of the installed outbound SA with its SPI (same policies), frees
    // the old one after a grace period. fresh continues the old SA's sequence numbers (past
    // any a worker took meanwhile). For what cannot change in place (encapsulation).
    bool replace_outbound(std::unique_ptr<Sa> fresh, std::string& error);
    // Unpublishes and frees after a grace period. Returns false if there is no such SA.
    // An outbound SA's policy is left without an SA (its traffic raises acquire events),
    // unless the policy was made for the SA: then it goes too.
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
    // The inbound SAs of n SPIs (n <= 64) at once, out[k] nullptr where none: the hash's bulk
    // lookup overlaps the cache misses of its buckets, which one-by-one lookups take in turn.
    void lookup_inbound_bulk(const uint32_t* spis, unsigned n, Sa** out) const {
        const void* keys[64];
        for (unsigned k = 0; k < n; ++k) keys[k] = &spis[k];
        uint64_t hits = 0;
        rte_hash_lookup_bulk_data(spi_hash_, keys, n, &hits, reinterpret_cast<void**>(out));
        for (unsigned k = 0; k < n; ++k)
            if (!(hits >> k & 1)) out[k] = nullptr;
    }
    // The policy covering an inner destination, or nullptr. Inline: once per packet sent.
    const Policy* lookup_policy_v4(uint32_t dst_host) const {
        // A /32 is the longest match there is: when it is in the host table, the LPM is not asked.
        if (hosts4_.load(std::memory_order_relaxed)) {
            void* data;
            if (rte_hash_lookup_data(host4_, &dst_host, &data) >= 0)
                return slots_[reinterpret_cast<uintptr_t>(data)].load(std::memory_order_acquire);
        }
        uint32_t slot;
        if (rte_lpm_lookup(lpm4_, dst_host, &slot) != 0) return nullptr;
        return slots_[slot].load(std::memory_order_acquire);
    }
    // lookup_policy_v4 for n (at most 64) destinations together, so that their cache misses
    // overlap: the host table's bulk lookup, then each policy's slot fetched before any is read.
    void lookup_policies_v4_bulk(const uint32_t* dsts, unsigned n, const Policy** out) const {
        constexpr uint32_t kNone = UINT32_MAX;
        uint32_t slot[64];
        uint64_t hits = 0;
        if (hosts4_.load(std::memory_order_relaxed)) {
            const void* keys[64];
            void* data[64];
            for (unsigned k = 0; k < n; ++k) keys[k] = &dsts[k];
            rte_hash_lookup_bulk_data(host4_, keys, n, &hits, data);
            for (unsigned k = 0; k < n; ++k)
                if (hits >> k & 1) slot[k] = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(data[k]));
        }
        for (unsigned k = 0; k < n; ++k) {
            if (!(hits >> k & 1) && rte_lpm_lookup(lpm4_, dsts[k], &slot[k]) != 0) slot[k] = kNone;
            if (slot[k] != kNone) rte_prefetch0(&slots_[slot[k]]);
        }
        for (unsigned k = 0; k < n; ++k)
            out[k] = slot[k] == kNone ? nullptr : slots_[slot[k]].load(std::memory_order_acquire);
    }
    const Policy* lookup_policy_v6(const uint8_t dst[16]) const {
        uint32_t slot;
        const rte_lpm6* l6 = lpm6_.load(std::memory_order_acquire);  // none until an IPv6 selector comes
        if (!l6 || rte_lpm6_lookup(l6, dst, &slot) != 0) return nullptr;
        return slots_[slot].load(std::memory_order_acquire);
    }
    // The outbound SA for dst (nullptr: no policy, a discard policy, or no SA yet).
    Sa* lookup_outbound_v4(uint32_t dst_host) const { return sa_of(lookup_policy_v4(dst_host)); }
    Sa* lookup_outbound_v6(const uint8_t dst[16]) const { return sa_of(lookup_policy_v6(dst)); }
    static Sa* sa_of(const Policy* p) {
        return p && p->action == PolicyAction::protect ? p->sa.load(std::memory_order_acquire) : nullptr;
    }

private:
    // The remote selectors of p into (add) or out of the LPMs; false (error set, nothing
    // changed) if they do not fit.
    bool lpm_insert(const Policy& p, std::string& error);
    void lpm_erase(const Policy& p);
    bool v4_add(const net::Prefix& r, uint32_t slot);  // a /32 into host4_ if it has room, else the LPM
    void v4_delete(const net::Prefix& r);
    bool lpm6_create(std::string& error);
    // Applies one change to both IPv6 copies, the one no worker reads first.
    bool lpm6_apply(const std::function<bool(rte_lpm6*)>& change);
    void lpm6_refill(rte_lpm6* l6);
    void grace_period() const;
    Policy* policy_for_remote(const net::Prefix& remote) const;  // an implicit policy's
    void unbind_everywhere(Sa* sa);
    // Policy p protects its traffic with sa (nullptr: none); bound_ follows.
    void bind_to(Policy& p, Sa* sa);
    // Every policy bound to `from` is bound to `to` instead; returns their ids.
    std::vector<uint32_t> rebind_all(Sa* from, Sa* to);

    uint32_t capacity_;
    rte_rcu_qsbr* rcu_;
    int socket_;
    rte_hash* spi_hash_ = nullptr;
    std::map<uint32_t, std::unique_ptr<Sa>> inbound_;   // by SPI
    std::map<uint32_t, std::unique_ptr<Sa>> outbound_;  // by SPI
    std::map<uint32_t, std::unique_ptr<Policy>> policies_;  // by id
    // Which policy each remote selector belongs to: installs check and find it in log n, not
    // by a walk over every policy (which made installing n SAs take n^2 / 2 steps).
    struct PrefixLess {
        bool operator()(const net::Prefix& a, const net::Prefix& b) const {
            if (a.family != b.family) return a.family < b.family;
            if (a.len != b.len) return a.len < b.len;
            return a.addr < b.addr;
        }
    };
    std::map<net::Prefix, Policy*, PrefixLess> by_remote_;
    // Which policies each outbound SA protects: deleting or replacing an SA finds them in
    // log n instead of walking every policy (quadratic when many SAs go).
    std::multimap<Sa*, uint32_t> bound_;
    uint32_t next_policy_id_ = 1;
    std::unique_ptr<std::atomic<Policy*>[]> slots_;
    std::vector<uint32_t> free_slots_;
    unsigned instance_ = 0;
    rte_lpm* lpm4_ = nullptr;
    // IPv4 /32 selectors (a road warrior each): exact match, O(1) to add. rte_lpm 22.11 scans
    // all its rules of a depth and all its tbl8 groups on every add, which made installing
    // n road warriors cost n^2. A /32 that finds the host table full goes to the LPM.
    rte_hash* host4_ = nullptr;
    std::atomic<uint32_t> hosts4_{0};  // /32s in host4_: none, and workers skip it
    std::atomic<rte_lpm6*> lpm6_{nullptr};  // what workers read
    rte_lpm6* lpm6_standby_ = nullptr;      // the same content, read by no worker
};

}  // namespace espgw::sa
