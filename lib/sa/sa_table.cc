#include "espgw/sa/sa_table.h"

#include <rte_hash_crc.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace espgw::sa {

namespace {

void no_free(void*, void*) {}  // SAs are freed by the table itself after del_key returns

// Key compare for the two hashes' 4-byte keys (an SPI, an IPv4 address): rte_hash has no
// compare of its own for that length and would call memcmp for every candidate.
int equal_u32(const void* a, const void* b, size_t) {
    uint32_t x, y;
    std::memcpy(&x, a, 4);
    std::memcpy(&y, b, 4);
    return x != y;
}

constexpr uint32_t kLpm6MaxTbl8s = 1 << 21;  // rte_lpm6's own limit (not in its header)

// Every policy may carry Selectors::kMax remote prefixes; rules are small (8 bytes in rte_lpm).
uint32_t lpm_rules(uint32_t capacity) { return capacity * Selectors::kMax + 1; }

std::string no_room(const net::Prefix& p, uint32_t capacity) {
    return "no room for remote selector " + p.str() + " in the outbound IPv" + std::to_string(p.family) +
           " lookup table (sized for max_sas " + std::to_string(capacity) + ": raise max_sas)";
}

}  // namespace

SaTable::SaTable(uint32_t capacity, rte_rcu_qsbr* rcu, int socket_id)
    : capacity_(capacity), rcu_(rcu), socket_(socket_id),
      slots_(new std::atomic<Policy*>[capacity]) {
    for (uint32_t k = 0; k < capacity; ++k) {
        slots_[k].store(nullptr, std::memory_order_relaxed);
        free_slots_.push_back(capacity - 1 - k);
    }
    static std::atomic<unsigned> instances{0};
    instance_ = instances++;
    const std::string name = "espgw_spi" + std::to_string(instance_);
    rte_hash_parameters hp{};
    hp.name = name.c_str();
    hp.entries = capacity < 8 ? 8 : capacity;
    hp.key_len = sizeof(uint32_t);
    hp.hash_func = rte_hash_crc;
    hp.socket_id = socket_id;
    // Extendable buckets: without them cuckoo displacement can fail (-ENOSPC) well before
    // `entries` keys when many SPIs share buckets; with them every SA up to max_sas fits.
    hp.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF | RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
    spi_hash_ = rte_hash_create(&hp);
    if (!spi_hash_) throw std::runtime_error("cannot create the SPI hash (" + name + ")");
    rte_hash_set_cmp_func(spi_hash_, equal_u32);
    rte_hash_rcu_config rc{};
    rc.v = rcu;
    rc.mode = RTE_HASH_QSBR_MODE_SYNC;  // del_key returns after a grace period
    rc.free_key_data_func = no_free;
    if (rte_hash_rcu_qsbr_add(spi_hash_, &rc) != 0)
        throw std::runtime_error("cannot attach RCU to the SPI hash");
    const std::string nh = "espgw_h4_" + std::to_string(instance_);
    rte_hash_parameters hh = hp;
    hh.name = nh.c_str();
    host4_ = rte_hash_create(&hh);
    if (!host4_ || rte_hash_rcu_qsbr_add(host4_, &rc) != 0) throw std::runtime_error("cannot create the /32 selector hash");
    rte_hash_set_cmp_func(host4_, equal_u32);
    // rte_lpm (DIR-24-8, 64 MB) is updated in place under RCU. A prefix longer than /24 takes
    // a tbl8 group (1 KB) per /24 it falls in: one per policy covers a /32 per road warrior
    // in as many /24s as there are policies. Rules: every selector of every policy.
    const std::string n4 = "espgw4_" + std::to_string(instance_);
    rte_lpm_config c4{};
    c4.max_rules = lpm_rules(capacity_);
    c4.number_tbl8s = std::clamp<uint32_t>(capacity_, 256, RTE_LPM_MAX_TBL8_NUM_GROUPS);
    lpm4_ = rte_lpm_create(n4.c_str(), socket_, &c4);
    if (!lpm4_)
        throw std::runtime_error("cannot create the outbound IPv4 LPM table (64 MB + " +
                                 std::to_string(c4.number_tbl8s / 1024) + " MB for max_sas " +
                                 std::to_string(capacity_) + ": raise -m)");
    rte_lpm_rcu_config lc{};
    lc.v = rcu;
    lc.mode = RTE_LPM_QSBR_MODE_SYNC;
    if (rte_lpm_rcu_qsbr_add(lpm4_, &lc) != 0) throw std::runtime_error("cannot attach RCU to the LPM table");
    // The IPv6 tables (64 MB each) are made when the first IPv6 selector comes.
}

SaTable::~SaTable() {
    rte_hash_free(spi_hash_);
    rte_hash_free(host4_);
    rte_lpm_free(lpm4_);
    rte_lpm6_free(lpm6_.load());
    rte_lpm6_free(lpm6_standby_);
}

void SaTable::grace_period() const { rte_rcu_qsbr_synchronize(rcu_, RTE_QSBR_THRID_INVALID); }

uint32_t SaTable::add_policy(const PolicySpec& spec, std::string& error) {
    auto sel = std::make_shared<Selectors>();
    if (!Selectors::make(spec.local, spec.remote, *sel)) {
        error = "a policy needs 1 to " + std::to_string(Selectors::kMax) + " selectors on each side";
        return 0;
    }
    for (const net::Prefix& r : spec.remote)
        if (auto it = by_remote_.find(r); it != by_remote_.end()) {
            error = "remote selector " + r.str() + " belongs to policy " + it->second->name + " already";
            return 0;
        }
    if (free_slots_.empty()) {
        error = "policy table full (max_sas " + std::to_string(capacity_) + ")";
        return 0;
    }
    auto pol = std::make_unique<Policy>();
    pol->id = next_policy_id_++;
    pol->name = spec.name;
    pol->selectors = std::move(sel);
    pol->action = spec.action;
    pol->slot = free_slots_.back();
    free_slots_.pop_back();
    // The slot is published before the LPM leads to it; a refused policy is unpublished
    // again (no worker can have reached the slot: no LPM entry led there).
    slots_[pol->slot].store(pol.get(), std::memory_order_release);
    Policy* p = pol.get();
    policies_.emplace(p->id, std::move(pol));
    if (!lpm_insert(*p, error)) {
        slots_[p->slot].store(nullptr, std::memory_order_release);
        grace_period();  // a worker may have found one of its IPv4 selectors meanwhile
        free_slots_.push_back(p->slot);
        policies_.erase(p->id);
        return 0;
    }
    for (unsigned k = 0; k < p->selectors->n_remote; ++k) by_remote_.emplace(p->selectors->remote[k], p);
    return p->id;
}

bool SaTable::remove_policy(uint32_t id) {
    auto it = policies_.find(id);
    if (it == policies_.end()) return false;
    bind_to(*it->second, nullptr);  // workers may still see the SA through it until the grace period
    std::unique_ptr<Policy> gone = std::move(it->second);
    policies_.erase(it);
    for (unsigned k = 0; k < gone->selectors->n_remote; ++k) by_remote_.erase(gone->selectors->remote[k]);
    lpm_erase(*gone);
    grace_period();  // no worker reaches the slot through the LPM now
    slots_[gone->slot].store(nullptr, std::memory_order_release);
    grace_period();
    free_slots_.push_back(gone->slot);
    return true;  // freed here, after the grace period
}

Policy* SaTable::policy(uint32_t id) const {
    auto it = policies_.find(id);
    return it == policies_.end() ? nullptr : it->second.get();
}

void SaTable::for_each_policy(const std::function<void(const Policy&)>& fn) const {
    for (const auto& [id, p] : policies_) fn(*p);
}

bool SaTable::bind(uint32_t policy_id, uint32_t spi, std::string& error) {
    Policy* p = policy(policy_id);
    auto it = outbound_.find(spi);
    if (!p || it == outbound_.end()) {
        error = !p ? "no policy " + std::to_string(policy_id) : "no outbound SA " + std::to_string(spi);
        return false;
    }
    if (p->action != PolicyAction::protect) {
        error = "policy " + p->name + " discards: it takes no SA";
        return false;
    }
    bind_to(*p, it->second.get());
    return true;
}

Policy* SaTable::policy_for_remote(const net::Prefix& remote) const {
    auto it = by_remote_.find(remote);
    if (it == by_remote_.end()) return nullptr;
    Policy* p = it->second;
    return p->implicit && p->selectors->n_remote == 1 ? p : nullptr;
}

bool SaTable::install(std::unique_ptr<Sa> sa, std::string& error, uint32_t policy_id, uint32_t* replaced_spi,
                      bool bind) {
    if (replaced_spi) *replaced_spi = 0;
    const uint32_t spi = sa->params.spi;
    sa->accept_encap.store(sa->params.encap, std::memory_order_relaxed);  // the params as they are now
    const bool inbound = sa->params.direction == Direction::inbound;
    Policy* pol = nullptr;
    if (policy_id) {
        pol = policy(policy_id);
        if (!pol) {
            error = "no policy " + std::to_string(policy_id);
            return false;
        }
        sa->set_selectors(pol->selectors);
    } else if (inbound) {  // its own selectors, as the params say now
        sa->set_selectors(std::make_shared<const Selectors>(Selectors::single(sa->params.local_ts, sa->params.remote_ts)));
    }
    if (inbound) {
        // 0-255 are reserved (RFC 4303 §2.1), and the decap path's lookup memo relies on 0
        // never finding an SA.
        if (spi < 256) {
            error = "inbound SPI " + std::to_string(spi) + " is reserved (RFC 4303 §2.1: 1-255 are, and 0)";
            return false;
        }
        if (inbound_.count(spi)) {
            error = "inbound SPI " + std::to_string(spi) + " is already installed";
            return false;
        }
        if (inbound_.size() >= capacity_) {
            error = "SA table full (max_sas " + std::to_string(capacity_) + " per direction)";
            return false;
        }
        const int rc = rte_hash_add_key_data(spi_hash_, &spi, sa.get());
        if (rc != 0) {
            error = "SPI hash insert failed (" + std::to_string(rc) + ")";
            return false;
        }
        inbound_.emplace(spi, std::move(sa));
        return true;
    }

    if (outbound_.count(spi)) {
        error = "outbound SPI " + std::to_string(spi) + " is already installed";
        return false;
    }
    if (outbound_.size() >= capacity_) {
        error = "SA table full (max_sas " + std::to_string(capacity_) + " per direction)";
        return false;
    }
    Sa* replaced = nullptr;
    if (!pol) {
        // No policy named: the SA's own selectors make one, or an existing one for the same
        // remote selector is rekeyed (the SA it had goes).
        pol = policy_for_remote(sa->params.remote_ts);
        if (pol) {
            replaced = pol->sa.load(std::memory_order_relaxed);
        } else {
            PolicySpec spec{sa->params.name, {sa->params.local_ts}, {sa->params.remote_ts}, PolicyAction::protect};
            const uint32_t id = add_policy(spec, error);
            if (!id) return false;
            pol = policy(id);
            pol->implicit = true;
        }
        sa->set_selectors(pol->selectors);
    }
    Sa* raw = sa.get();
    outbound_.emplace(spi, std::move(sa));
    if (!bind && policy_id) return true;  // installed, the policy's SA unchanged
    bind_to(*pol, raw);
    if (replaced && replaced != raw) {
        rebind_all(replaced, nullptr);  // were it bound elsewhere too, it must not stay there
        grace_period();
        if (replaced_spi) *replaced_spi = replaced->params.spi;
        outbound_.erase(replaced->params.spi);
    }
    return true;
}

bool SaTable::replace_outbound(std::unique_ptr<Sa> fresh, std::string& error) {
    auto it = outbound_.find(fresh->params.spi);
    if (it == outbound_.end() || fresh->params.direction != Direction::outbound) {
        error = "no outbound SA " + std::to_string(fresh->params.spi);
        return false;
    }
    Sa* old = it->second.get();
    fresh->set_selectors(old->selectors_ref);
    // Workers may take a burst's worth of numbers from the old SA until the grace period
    // ends: the new one starts well past them, so no number is ever sent twice.
    constexpr uint64_t kGap = 1 << 16;
    fresh->seq_out.store(old->seq_out.load(std::memory_order_acquire) + kGap, std::memory_order_relaxed);
    Sa* raw = fresh.get();
    std::unique_ptr<Sa> gone = std::move(it->second);
    it->second = std::move(fresh);
    rebind_all(old, raw);
    grace_period();
    return true;  // gone is freed here
}

void SaTable::bind_to(Policy& p, Sa* sa) {
    Sa* was = p.sa.load(std::memory_order_relaxed);
    if (was == sa) return;
    if (was) {
        auto [from, to] = bound_.equal_range(was);
        for (auto it = from; it != to; ++it)
            if (it->second == p.id) {
                bound_.erase(it);
                break;
            }
    }
    p.sa.store(sa, std::memory_order_release);
    if (sa) bound_.emplace(sa, p.id);
}

std::vector<uint32_t> SaTable::rebind_all(Sa* from, Sa* to) {
    std::vector<uint32_t> ids;
    auto [first, last] = bound_.equal_range(from);
    for (auto it = first; it != last; ++it) ids.push_back(it->second);
    for (uint32_t id : ids) bind_to(*policies_.at(id), to);
    return ids;
}

void SaTable::unbind_everywhere(Sa* sa) {
    std::vector<uint32_t> orphaned;
    for (uint32_t id : rebind_all(sa, nullptr))
        if (policies_.at(id)->implicit) orphaned.push_back(id);
    for (uint32_t id : orphaned) remove_policy(id);  // each waits for a grace period
    grace_period();
}

bool SaTable::remove(Direction dir, uint32_t spi) {
    if (dir == Direction::inbound) {
        auto it = inbound_.find(spi);
        if (it == inbound_.end()) return false;
        rte_hash_del_key(spi_hash_, &spi);  // waits for the grace period (SYNC mode)
        inbound_.erase(it);
        return true;
    }
    auto it = outbound_.find(spi);
    if (it == outbound_.end()) return false;
    unbind_everywhere(it->second.get());  // with a grace period: no worker holds it now
    outbound_.erase(it);
    return true;
}

void SaTable::for_each(const std::function<void(Sa&)>& fn) const {
    for (const auto& [spi, sa] : inbound_) fn(*sa);
    for (const auto& [spi, sa] : outbound_) fn(*sa);
}

Sa* SaTable::find(Direction dir, uint32_t spi) const {
    const auto& m = dir == Direction::inbound ? inbound_ : outbound_;
    auto it = m.find(spi);
    return it == m.end() ? nullptr : it->second.get();
}

bool SaTable::lpm_insert(const Policy& p, std::string& error) {
    const Selectors& sel = *p.selectors;
    bool any_v6 = false;
    unsigned k = 0;
    for (; k < sel.n_remote; ++k) {
        const net::Prefix& r = sel.remote[k];
        any_v6 |= r.family == 6;
        if (r.family == 4 && !v4_add(r, p.slot)) break;
    }
    bool ok = k == sel.n_remote;
    if (!ok) error = no_room(sel.remote[k], capacity_);
    if (ok && any_v6) {
        ok = lpm6_create(error) && lpm6_apply([&](rte_lpm6* l6) {
            for (unsigned j = 0; j < sel.n_remote; ++j) {
                const net::Prefix& r = sel.remote[j];
                if (r.family != 6 || rte_lpm6_add(l6, r.addr.b, r.len, p.slot) == 0) continue;
                error = no_room(r, capacity_);
                for (unsigned i = 0; i < j; ++i)  // this copy as it was: no half-added policy
                    if (sel.remote[i].family == 6) rte_lpm6_delete(l6, sel.remote[i].addr.b, sel.remote[i].len);
                return false;
            }
            return true;
        });
    }
    if (!ok)
        for (unsigned j = 0; j < k; ++j)
            if (sel.remote[j].family == 4) v4_delete(sel.remote[j]);
    return ok;
}

void SaTable::lpm_erase(const Policy& p) {
    const Selectors& sel = *p.selectors;
    bool any_v6 = false;
    for (unsigned k = 0; k < sel.n_remote; ++k) {
        const net::Prefix& r = sel.remote[k];
        if (r.family == 4) v4_delete(r);
        any_v6 |= r.family == 6;
    }
    if (!any_v6 || !lpm6_standby_) return;
    lpm6_apply([&](rte_lpm6* l6) {
        for (unsigned k = 0; k < sel.n_remote; ++k)
            if (sel.remote[k].family == 6) rte_lpm6_delete(l6, sel.remote[k].addr.b, sel.remote[k].len);
        return true;
    });
}

bool SaTable::v4_add(const net::Prefix& r, uint32_t slot) {
    const uint32_t host = r.v4_host();
    if (r.len == 32 &&
        rte_hash_add_key_data(host4_, &host, reinterpret_cast<void*>(static_cast<uintptr_t>(slot))) == 0) {
        hosts4_.fetch_add(1, std::memory_order_relaxed);
        return true;
    }
    return rte_lpm_add(lpm4_, host, r.len, slot) == 0;
}

void SaTable::v4_delete(const net::Prefix& r) {
    const uint32_t host = r.v4_host();
    if (r.len == 32 && rte_hash_del_key(host4_, &host) >= 0) {  // waits for a grace period (SYNC)
        hosts4_.fetch_sub(1, std::memory_order_relaxed);
        return;
    }
    rte_lpm_delete(lpm4_, host, r.len);
}

bool SaTable::lpm6_create(std::string& error) {
    if (lpm6_standby_) return true;
    // A /128 from a pool shares its upper tbl8 groups with its neighbours (one group serves
    // 256 of them); scattered ones take up to 13 groups each: the 1024 spare ones are for those.
    rte_lpm6_config c6{};
    c6.max_rules = lpm_rules(capacity_);
    c6.number_tbl8s = std::min<uint32_t>(1024 + 2 * capacity_, kLpm6MaxTbl8s);
    rte_lpm6* made[2] = {};
    for (unsigned k = 0; k < 2; ++k) {
        const std::string name = "espgw6_" + std::to_string(instance_) + "_" + std::to_string(k);
        made[k] = rte_lpm6_create(name.c_str(), socket_, &c6);
    }
    if (!made[0] || !made[1]) {
        rte_lpm6_free(made[0]);
        rte_lpm6_free(made[1]);
        error = "cannot create the outbound IPv6 lookup tables (2 x " + std::to_string(64 + c6.number_tbl8s / 1024) +
                " MB for max_sas " + std::to_string(capacity_) + ": raise -m)";
        return false;
    }
    lpm6_standby_ = made[1];
    lpm6_.store(made[0], std::memory_order_release);
    return true;
}

bool SaTable::lpm6_apply(const std::function<bool(rte_lpm6*)>& change) {
    if (!change(lpm6_standby_)) return false;  // refused: the copy is as it was, nothing swapped
    rte_lpm6* was = lpm6_.exchange(lpm6_standby_, std::memory_order_acq_rel);
    grace_period();  // no worker reads `was` now
    lpm6_standby_ = was;
    // Both copies held the same rules, so the change fits this one too; if it ever did not,
    // the copy is refilled from the policies rather than left different.
    if (!change(was)) lpm6_refill(was);
    return true;
}

void SaTable::lpm6_refill(rte_lpm6* l6) {
    rte_lpm6_delete_all(l6);
    for (const auto& [id, p] : policies_)
        for (unsigned k = 0; k < p->selectors->n_remote; ++k) {
            const net::Prefix& ts = p->selectors->remote[k];
            if (ts.family == 6) rte_lpm6_add(l6, ts.addr.b, ts.len, p->slot);
        }
}

}  // namespace espgw::sa
