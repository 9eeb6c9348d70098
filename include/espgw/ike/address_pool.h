// A pool of virtual IP addresses for road warriors (the addresses a CFG_REPLY assigns). An
// identity that comes back (a reconnect, a second IKE SA) gets the address it had, as long as
// nobody else took it since, so its tunnels and the LAN's view of it stay the same.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "espgw/net/prefix.h"

namespace espgw::ike {

class AddressPool {
public:
    // Every address of range except, for IPv4, the network and broadcast addresses of ranges
    // larger than /31. At most 2^20 addresses are handed out.
    explicit AddressPool(std::string name, const net::Prefix& range);

    const std::string& name() const { return name_; }
    const net::Prefix& range() const { return range_; }
    // An address for identity (its previous one if still free); nullopt: pool exhausted.
    std::optional<net::IpAddr> acquire(const std::string& identity);
    // The lease ends; the address stays remembered for identity until someone else needs it.
    void release(const net::IpAddr& a);
    size_t in_use() const { return leased_.size(); }
    size_t size() const { return size_; }

private:
    net::IpAddr nth(uint64_t n) const;
    std::string name_;
    net::Prefix range_;
    uint64_t first_ = 0, size_ = 0, next_ = 0;
    std::map<net::IpAddr, std::string> leased_;     // address -> identity
    std::map<std::string, net::IpAddr> remembered_;  // identity -> its last address
    std::map<net::IpAddr, std::string> remembered_by_addr_;
};

}  // namespace espgw::ike
