#include "espgw/control/peer_table.h"

namespace espgw::control {

std::shared_ptr<sa::Peer> PeerTable::add(const sa::PeerInit& init) {
    if (init.id == 0 || by_id_.count(init.id) || by_name_.count(init.name)) return nullptr;
    Entry e;
    e.peer = std::make_shared<sa::Peer>(init);
    e.endpoint = e.peer->location(e.addr);
    auto& slot = by_id_[init.id] = std::move(e);
    by_name_[init.name] = init.id;
    by_location_[{slot.addr, slot.endpoint.port}] = init.id;
    return slot.peer;
}

bool PeerTable::remove(uint32_t id) {
    auto it = by_id_.find(id);
    if (it == by_id_.end()) return false;
    auto loc = by_location_.find({it->second.addr, it->second.endpoint.port});
    if (loc != by_location_.end() && loc->second == id) by_location_.erase(loc);
    by_name_.erase(it->second.peer->name);
    by_id_.erase(it);
    return true;
}

sa::Peer* PeerTable::find(uint32_t id) const {
    auto it = by_id_.find(id);
    return it == by_id_.end() ? nullptr : it->second.peer.get();
}

sa::Peer* PeerTable::find(const std::string& name) const {
    auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : find(it->second);
}

std::shared_ptr<sa::Peer> PeerTable::shared(uint32_t id) const {
    auto it = by_id_.find(id);
    return it == by_id_.end() ? nullptr : it->second.peer;
}

sa::Peer* PeerTable::find_at(const net::IpAddr& addr, uint16_t port) const {
    auto it = by_location_.find({addr, port});
    return it == by_location_.end() ? nullptr : find(it->second);
}

uint32_t PeerTable::unused_id() const { return by_id_.empty() ? 1 : by_id_.rbegin()->first + 1; }

void PeerTable::index(uint32_t id, Entry& e) {
    net::IpAddr addr;
    const sa::Endpoint now = e.peer->location(addr);
    auto old = by_location_.find({e.addr, e.endpoint.port});
    if (old != by_location_.end() && old->second == id) by_location_.erase(old);
    e.addr = addr;
    e.endpoint = now;
    by_location_[{addr, now.port}] = id;
}

std::optional<PeerTable::Moved> PeerTable::sync(uint32_t id) {
    auto it = by_id_.find(id);
    if (it == by_id_.end()) return std::nullopt;
    Entry& e = it->second;
    // Taken before reading the location: a move after this point reports itself again.
    e.peer->move_reported.store(false, std::memory_order_seq_cst);
    net::IpAddr addr;
    const sa::Endpoint now = e.peer->location(addr);
    if (addr == e.addr && now.port == e.endpoint.port && now.known == e.endpoint.known) return std::nullopt;
    Moved m{sa::endpoint_str(e.addr, e.endpoint), sa::endpoint_str(addr, now),
            !e.endpoint.known && addr == e.addr, !(addr == e.addr)};
    index(id, e);
    return m;
}

std::optional<PeerTable::Moved> PeerTable::move(uint32_t id, const sa::Endpoint& ep, const uint8_t* addr6) {
    sa::Peer* p = find(id);
    if (!p) return std::nullopt;
    p->move(ep, addr6);
    return sync(id);
}

void PeerTable::attach(uint32_t id, bool udp) {
    auto it = by_id_.find(id);
    if (it == by_id_.end()) return;
    ++it->second.sas;
    if (udp) ++it->second.udp_sas;
}

void PeerTable::detach(uint32_t id, bool udp) {
    auto it = by_id_.find(id);
    if (it == by_id_.end()) return;
    if (it->second.sas) --it->second.sas;
    if (udp && it->second.udp_sas) --it->second.udp_sas;
}

std::vector<PeerTable::Info> PeerTable::list() const {
    std::vector<Info> out;
    out.reserve(by_id_.size());
    for (const auto& [id, e] : by_id_) {
        Info i{e.peer.get(), {}, {}, e.sas, e.udp_sas};
        i.endpoint = e.peer->location(i.addr);
        out.push_back(i);
    }
    return out;
}

}  // namespace espgw::control
