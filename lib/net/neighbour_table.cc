#include "espgw/net/neighbour_table.h"

#include <rte_hash_crc.h>

#include <stdexcept>
#include <string>

namespace espgw::net {

namespace {

uint64_t pack(const Mac& m) {
    uint64_t v = 0;
    for (int k = 0; k < 6; ++k) v = v << 8 | m.b[k];
    return v;
}

Mac unpack(uint64_t v) {
    Mac m;
    for (int k = 5; k >= 0; --k, v >>= 8) m.b[k] = static_cast<uint8_t>(v);
    return m;
}

}  // namespace

NeighbourTable::NeighbourTable(uint32_t capacity, int socket_id)
    : capacity_(capacity), slots_(new Slot[capacity]) {
    static std::atomic<unsigned> instance{0};
    const std::string name = "espgw_nbr" + std::to_string(instance++);
    rte_hash_parameters hp{};
    hp.name = name.c_str();
    hp.entries = capacity;
    hp.key_len = sizeof(IpAddr);
    hp.hash_func = rte_hash_crc;
    hp.socket_id = socket_id;
    hp.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF | RTE_HASH_EXTRA_FLAGS_NO_FREE_ON_DEL;
    hash_ = rte_hash_create(&hp);
    if (!hash_) throw std::runtime_error("cannot create the neighbour table");
}

NeighbourTable::~NeighbourTable() { rte_hash_free(hash_); }

int32_t NeighbourTable::slot_of(const IpAddr& addr) const {
    void* data = nullptr;
    if (rte_hash_lookup_data(hash_, &addr, &data) < 0) return -1;
    return static_cast<int32_t>(reinterpret_cast<uintptr_t>(data));
}

bool NeighbourTable::lookup(const IpAddr& addr, uint64_t now_tsc, Mac& mac) const {
    const int32_t s = slot_of(addr);
    return s >= 0 && read(s, now_tsc, mac);
}

int32_t NeighbourTable::add(const IpAddr& addr) {
    int32_t s = slot_of(addr);
    if (s >= 0) return s;
    const int32_t count = rte_hash_count(hash_);
    if (count < 0 || static_cast<uint32_t>(count) >= capacity_) return -1;
    s = count;  // slots are handed out in order and never freed
    slots_[s].addr = addr;
    if (rte_hash_add_key_data(hash_, &addr, reinterpret_cast<void*>(static_cast<uintptr_t>(s))) != 0) return -1;
    return s;
}

bool NeighbourTable::learn(const IpAddr& addr, const Mac& mac, uint64_t expires_tsc) {
    const int32_t s = add(addr);
    if (s < 0) return false;
    slots_[s].expires_tsc.store(expires_tsc, std::memory_order_relaxed);
    slots_[s].mac_state.store(pack(mac) | kResolved, std::memory_order_release);
    return true;
}


std::vector<NeighbourTable::Entry> NeighbourTable::snapshot() const {
    std::vector<Entry> out;
    const int32_t count = rte_hash_count(hash_);
    for (int32_t s = 0; s < count; ++s) {
        const uint64_t v = slots_[s].mac_state.load(std::memory_order_acquire);
        out.push_back({slots_[s].addr, unpack(v), (v & kResolved) != 0,
                       slots_[s].expires_tsc.load(std::memory_order_relaxed)});
    }
    return out;
}

}  // namespace espgw::net
