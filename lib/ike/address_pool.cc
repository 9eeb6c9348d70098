#include "espgw/ike/address_pool.h"

namespace espgw::ike {

AddressPool::AddressPool(std::string name, const net::Prefix& range) : name_(std::move(name)), range_(range) {
    const unsigned host = (range.family == 4 ? 32u : 128u) - range.len;
    const uint64_t total = host >= 20 ? uint64_t{1} << 20 : uint64_t{1} << host;
    if (range.family == 4 && host > 1) {
        first_ = 1;  // skip the network address
        size_ = std::min<uint64_t>(total, (uint64_t{1} << host) - 2);
    } else if (range.family == 6 && host > 0) {
        first_ = 1;  // the subnet-router anycast address is nobody's
        size_ = std::min<uint64_t>(total, host >= 64 ? total : (uint64_t{1} << host) - 1);
    } else {
        size_ = total;
    }
}

net::IpAddr AddressPool::nth(uint64_t n) const {
    net::IpAddr a = range_.addr;
    uint64_t add = first_ + n;
    for (int k = 15; k >= 0 && add; --k) {
        const unsigned sum = a.b[k] + static_cast<unsigned>(add & 0xff);
        a.b[k] = static_cast<uint8_t>(sum);
        add = (add >> 8) + (sum >> 8);
    }
    return a;
}

std::optional<net::IpAddr> AddressPool::acquire(const std::string& identity) {
    if (auto r = remembered_.find(identity); r != remembered_.end() && !leased_.count(r->second)) {
        leased_[r->second] = identity;
        return r->second;
    }
    // First never-remembered free address, then any free one (forgetting whose it was).
    for (int pass = 0; pass < 2; ++pass) {
        for (uint64_t tried = 0; tried < size_; ++tried) {
            const net::IpAddr a = nth(next_);
            next_ = (next_ + 1) % size_;
            if (leased_.count(a)) continue;
            auto old = remembered_by_addr_.find(a);
            if (old != remembered_by_addr_.end()) {
                if (pass == 0) continue;
                remembered_.erase(old->second);
                remembered_by_addr_.erase(old);
            }
            leased_[a] = identity;
            if (auto prev = remembered_.find(identity); prev != remembered_.end())
                remembered_by_addr_.erase(prev->second);
            remembered_[identity] = a;
            remembered_by_addr_[a] = identity;
            return a;
        }
    }
    return std::nullopt;
}

void AddressPool::release(const net::IpAddr& a) { leased_.erase(a); }

}  // namespace espgw::ike
