#include "espgw/control/event_handler.h"

#include "espgw/log.h"

namespace espgw::control {

void EventHandler::handle(const dp::ControlEvent& ev) {
    switch (ev.kind) {
    case dp::ControlEvent::peer_moved: return peer_moved(ev);
    case dp::ControlEvent::keepalive: return keepalive(ev);
    case dp::ControlEvent::acquire: return acquire(ev);
    }
}

// A worker moved a peer (RFC 7296 §2.23, in the data plane): the news is taken (the peer
// reports its next move again), logged once, and the index of locations follows.
void EventHandler::peer_moved(const dp::ControlEvent& ev) {
    std::lock_guard lock(lock_);
    const auto moved = peers_.sync(ev.id);
    if (!moved) return;  // removed meanwhile, or already taken
    stats_.mapping_changes++;
    const sa::Peer* peer = peers_.find(ev.id);
    log_line("peer %s moved: %s -> %s (%s)", peer->name.c_str(), moved->from.c_str(), moved->to.c_str(),
             moved->port_learned       ? "port learned"
             : !moved->address_changed ? "NAT mapping changed"
             : peer->v6                ? "the peer moved"
                                       : "new address");
}

// A NAT keepalive says the peer at that location is alive; it moves nothing (it is not
// authenticated).
void EventHandler::keepalive(const dp::ControlEvent& ev) {
    stats_.keepalives_seen++;
    std::lock_guard lock(lock_);
    sa::Peer* peer = peers_.find_at(ev.v6 ? net::IpAddr::v6(ev.addr6) : net::IpAddr::v4(ev.addr), ev.port);
    if (!peer) {
        stats_.keepalives_unmatched++;
        return;
    }
    peer->last_seen_tsc.store(clock_(), std::memory_order_relaxed);
}

void EventHandler::acquire(const dp::ControlEvent& ev) {
    stats_.acquires++;
    std::lock_guard lock(lock_);
    ipsec_.acquired(ev.id, ev.v6 ? net::IpAddr::v6(ev.addr6) : net::IpAddr::v4(ev.addr));
}

}  // namespace espgw::control
