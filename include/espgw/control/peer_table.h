// The control core's table of peers: who they are, where the control core last knew them to
// be (to notice and log a worker's move), and how many SAs use them. The Peer objects
// themselves are shared with the SAs, which the workers read.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "espgw/sa/peer.h"

namespace espgw::control {

class PeerTable {
public:
    // A new peer; nullptr if its id or name is taken (or id 0: every peer needs one).
    std::shared_ptr<sa::Peer> add(const sa::PeerInit& init);
    // Forgets a peer (its SAs keep the object alive until they are gone).
    bool remove(uint32_t id);

    sa::Peer* find(uint32_t id) const;
    sa::Peer* find(const std::string& name) const;
    std::shared_ptr<sa::Peer> shared(uint32_t id) const;
    // The peer last known at addr:port (a NAT keepalive names no SA): O(log n).
    sa::Peer* find_at(const net::IpAddr& addr, uint16_t port) const;
    size_t size() const { return by_id_.size(); }
    uint32_t unused_id() const;  // an id no peer has

    // A worker moved peer id (or the control core did): the table follows. Returns what
    // changed, if anything: from where to where, and whether the port was only learned.
    struct Moved {
        std::string from, to;
        bool port_learned;
        bool address_changed;
    };
    std::optional<Moved> sync(uint32_t id);
    // Moves the peer from the control core (IKE, configuration) and follows.
    std::optional<Moved> move(uint32_t id, const sa::Endpoint& e, const uint8_t* addr6 = nullptr);

    // SAs in UDP that use the peer (NAT keepalives go to peers that have any).
    void attach(uint32_t id, bool udp);
    void detach(uint32_t id, bool udp);

    struct Info {
        sa::Peer* peer;
        net::IpAddr addr;
        sa::Endpoint endpoint;
        unsigned sas;
        unsigned udp_sas;
    };
    std::vector<Info> list() const;

private:
    struct Entry {
        std::shared_ptr<sa::Peer> peer;
        net::IpAddr addr;      // where the control core last saw it
        sa::Endpoint endpoint;
        unsigned sas = 0;
        unsigned udp_sas = 0;
    };
    using Location = std::pair<net::IpAddr, uint16_t>;
    void index(uint32_t id, Entry& e);

    std::map<uint32_t, Entry> by_id_;
    std::map<std::string, uint32_t> by_name_;
    std::map<Location, uint32_t> by_location_;
};

}  // namespace espgw::control
