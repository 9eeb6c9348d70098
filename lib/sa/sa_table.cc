#include "espgw/sa/sa_table.h"

#include <rte_hash_crc.h>

#include <stdexcept>

namespace espgw::sa {

namespace {

void no_free(void*, void*) {}  // SAs are freed by the table itself after del_key returns

}  // namespace

SaTable::SaTable(uint32_t capacity, rte_rcu_qsbr* rcu, int socket_id)
    : capacity_(capacity), rcu_(rcu), socket_(socket_id),
      slots_(new std::atomic<Sa*>[capacity]) {
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
    hp.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF;
    spi_hash_ = rte_hash_create(&hp);
    if (!spi_hash_) throw std::runtime_error("cannot create the SPI hash (" + name + ")");
    rte_hash_rcu_config rc{};
    rc.v = rcu;
    rc.mode = RTE_HASH_QSBR_MODE_SYNC;  // del_key returns after a grace period
    rc.free_key_data_func = no_free;
    if (rte_hash_rcu_qsbr_add(spi_hash_, &rc) != 0)
        throw std::runtime_error("cannot attach RCU to the SPI hash");
    // rte_lpm (DIR-24-8, 64 MB) is updated in place under RCU; rte_lpm6 has no RCU hooks
    // and is small, so it is rebuilt and swapped.
    const std::string n4 = "espgw4_" + std::to_string(instance_);
    rte_lpm_config c4{};
    c4.max_rules = capacity_ + 1;
    c4.number_tbl8s = 256;
    lpm4_ = rte_lpm_create(n4.c_str(), socket_, &c4);
    if (!lpm4_) throw std::runtime_error("cannot create the outbound IPv4 LPM table (64 MB: raise -m)");
    rte_lpm_rcu_config lc{};
    lc.v = rcu;
    lc.mode = RTE_LPM_QSBR_MODE_SYNC;
    if (rte_lpm_rcu_qsbr_add(lpm4_, &lc) != 0) throw std::runtime_error("cannot attach RCU to the LPM table");
    rebuild_lpm6();
}

SaTable::~SaTable() {
    rte_hash_free(spi_hash_);
    rte_lpm_free(lpm4_);
    rte_lpm6_free(lpm6_.load());
}

void SaTable::grace_period() const { rte_rcu_qsbr_synchronize(rcu_, RTE_QSBR_THRID_INVALID); }

uint32_t SaTable::take_slot() {
    const uint32_t s = free_slots_.back();
    free_slots_.pop_back();
    return s;
}

bool SaTable::install(std::unique_ptr<Sa> sa, std::string& error) {
    const uint32_t spi = sa->params.spi;
    if (sa->params.direction == Direction::inbound) {
        if (inbound_.count(spi)) {
            error = "inbound SPI " + std::to_string(spi) + " is already installed";
            return false;
        }
        if (inbound_.size() >= capacity_) {
            error = "SA table full";
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
    // Same selector as an installed SA: this is a rekey, swap the slot's pointer.
    const net::Prefix& ts = sa->params.remote_ts;
    for (auto it = outbound_.begin(); it != outbound_.end(); ++it) {
        if (it->second.sa->params.remote_ts == ts) {
            Outbound entry{std::move(sa), it->second.slot};
            slots_[entry.slot].store(entry.sa.get(), std::memory_order_release);
            grace_period();
            outbound_.erase(it);
            outbound_.emplace(spi, std::move(entry));
            return true;
        }
    }
    if (free_slots_.empty()) {
        error = "SA table full";
        return false;
    }
    Outbound entry{std::move(sa), take_slot()};
    slots_[entry.slot].store(entry.sa.get(), std::memory_order_release);
    const net::Prefix prefix = entry.sa->params.remote_ts;
    const uint32_t slot = entry.slot;
    outbound_.emplace(spi, std::move(entry));
    lpm_add(prefix, slot);
    return true;
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
    const uint32_t slot = it->second.slot;
    Outbound gone = std::move(it->second);
    outbound_.erase(it);
    lpm_delete(gone.sa->params.remote_ts);  // with a grace period: no worker reaches the slot now
    slots_[slot].store(nullptr, std::memory_order_release);
    grace_period();
    free_slots_.push_back(slot);
    return true;  // gone.sa is freed here, after the grace period
}

void SaTable::for_each(const std::function<void(Sa&)>& fn) const {
    for (const auto& [spi, sa] : inbound_) fn(*sa);
    for (const auto& [spi, o] : outbound_) fn(*o.sa);
}

Sa* SaTable::find(Direction dir, uint32_t spi) const {
    if (dir == Direction::inbound) {
        auto it = inbound_.find(spi);
        return it == inbound_.end() ? nullptr : it->second.get();
    }
    auto it = outbound_.find(spi);
    return it == outbound_.end() ? nullptr : it->second.sa.get();
}

void SaTable::rebuild_lpm6() {
    const std::string name = "espgw6_" + std::to_string(instance_) + "_" + std::to_string(lpm_generation_++);
    rte_lpm6_config c6{};
    c6.max_rules = capacity_ + 1;
    c6.number_tbl8s = 1 << 10;
    rte_lpm6* l6 = rte_lpm6_create(name.c_str(), socket_, &c6);
    if (!l6) throw std::runtime_error("cannot create the outbound IPv6 LPM table");
    for (const auto& [spi, o] : outbound_) {
        const net::Prefix& ts = o.sa->params.remote_ts;
        if (ts.family == 6) rte_lpm6_add(l6, ts.addr, ts.len, o.slot);
    }
    rte_lpm6* old6 = lpm6_.exchange(l6, std::memory_order_acq_rel);
    grace_period();
    rte_lpm6_free(old6);
}

void SaTable::lpm_add(const net::Prefix& ts, uint32_t slot) {
    if (ts.family == 4)
        rte_lpm_add(lpm4_, ts.v4_host(), ts.len, slot);
    else
        rebuild_lpm6();
}

void SaTable::lpm_delete(const net::Prefix& ts) {
    if (ts.family == 4) {
        rte_lpm_delete(lpm4_, ts.v4_host(), ts.len);
        grace_period();
    } else {
        rebuild_lpm6();
    }
}

Sa* SaTable::lookup_outbound_v6(const uint8_t dst[16]) const {
    uint32_t slot;
    if (rte_lpm6_lookup(lpm6_.load(std::memory_order_acquire), dst, &slot) != 0) return nullptr;
    return slots_[slot].load(std::memory_order_acquire);
}

}  // namespace espgw::sa
