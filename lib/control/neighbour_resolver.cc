#include "espgw/control/neighbour_resolver.h"

#include <rte_ether.h>

#include <cstring>

#include "espgw/log.h"

namespace espgw::control {

NeighbourResolver::~NeighbourResolver() {
    for (auto& [addr, p] : pending_)
        for (unsigned k = 0; k < p.n_held; ++k) rte_pktmbuf_free(p.held[k]);
}

void NeighbourResolver::want(unsigned role, const net::IpAddr& addr) {
    if (role >= dp::kHost || pending_.count(addr)) return;
    if (!addr.is_v4() && !env_.shared.v6[role].on) return;
    env_.table.want(addr);
    pending_[addr] = Pending{role, 0, 0, {}, 0};
}

void NeighbourResolver::hold(const dp::HeldPacket& h, uint64_t now) {
    net::Mac mac;
    if (env_.table.lookup(h.next_hop, now, mac)) {  // answered while the packet was on its way
        Pending one{h.role, 0, 0, {h.m}, 1};
        ++held_total_;  // release() counts it out
        release(one, h.next_hop, mac.b);
        return;
    }
    want(h.role, h.next_hop);
    auto it = pending_.find(h.next_hop);
    if (it == pending_.end()) {  // not a port we resolve on
        rte_pktmbuf_free(h.m);
        env_.stats.held_dropped++;
        return;
    }
    Pending& p = it->second;
    if (p.n_held == kHeldPerNeighbour) {
        rte_pktmbuf_free(p.held[0]);  // keep the newest, as Linux does
        std::memmove(p.held, p.held + 1, sizeof(p.held[0]) * (kHeldPerNeighbour - 1));
        --p.n_held;
        --held_total_;  // and one more below
        env_.stats.held_dropped++;
    } else if (held_total_ >= kMaxHeld) {
        rte_pktmbuf_free(h.m);
        env_.stats.held_dropped++;
        env_.stats.held_full++;
        return;
    }
    p.held[p.n_held++] = h.m;
    env_.stats.held_now = ++held_total_;
}

void NeighbourResolver::learned(unsigned role, const net::IpAddr& addr, const uint8_t mac[6], uint64_t now) {
    net::Mac m, old;
    std::memcpy(m.b, mac, 6);
    const bool fresh = !env_.table.lookup(addr, now, old) || std::memcmp(old.b, m.b, 6) != 0;
    env_.table.learn(addr, m, now + env_.tsc_hz * env_.timeout_s);
    if (fresh)
        log_line("neighbour %s is %02x:%02x:%02x:%02x:%02x:%02x on the %s port", addr.str().c_str(), mac[0], mac[1],
                 mac[2], mac[3], mac[4], mac[5], dp::role_name(role));
    auto it = pending_.find(addr);
    if (it == pending_.end()) return;
    release(it->second, addr, mac);
    pending_.erase(it);
}

void NeighbourResolver::release(Pending& p, const net::IpAddr& addr, const uint8_t* mac) {
    const uint16_t type = addr.is_v4() ? RTE_ETHER_TYPE_IPV4 : RTE_ETHER_TYPE_IPV6;
    for (unsigned k = 0; k < p.n_held; ++k) {
        rte_mbuf* m = p.held[k];
        auto* eth = mac ? reinterpret_cast<rte_ether_hdr*>(rte_pktmbuf_prepend(m, sizeof(rte_ether_hdr))) : nullptr;
        if (!eth) {
            rte_pktmbuf_free(m);
            env_.stats.held_dropped++;
            continue;
        }
        // The frame is finished before it is on the ring: worker 0 may send it at once.
        std::memcpy(&eth->dst_addr, mac, 6);
        std::memcpy(&eth->src_addr, env_.shared.port_mac[p.role].b, 6);
        eth->ether_type = rte_cpu_to_be_16(type);
        if (env_.tx.frame(p.role, m))
            env_.stats.held_sent++;
        else
            env_.stats.held_dropped++;
    }
    held_total_ -= p.n_held;
    env_.stats.held_now = held_total_;
    p.n_held = 0;
}

void NeighbourResolver::tick(uint64_t now) {
    for (auto it = pending_.begin(); it != pending_.end();) {
        Pending& p = it->second;
        const bool v4 = it->first.is_v4();
        if (now < p.next_try) {
            ++it;
            continue;
        }
        if (p.tries == (v4 ? kTriesV4 : kTriesV6)) {
            log_line("neighbour %s does not answer %s on the %s port", it->first.str().c_str(), v4 ? "ARP" : "NDP",
                     dp::role_name(p.role));
            release(p, it->first, nullptr);
            it = pending_.erase(it);  // a later packet asks again
            continue;
        }
        solicit_[v4 ? 0 : 1](p.role, it->first);
        ++p.tries;
        p.next_try = now + env_.tsc_hz;  // once a second
        ++it;
    }
}

void NeighbourResolver::refresh(uint64_t now) {
    const uint64_t margin = env_.tsc_hz * (env_.timeout_s / 10 + 2);
    for (const auto& e : env_.table.snapshot())
        if (e.resolved && e.expires_tsc != UINT64_MAX && e.expires_tsc <= now + margin) want(role_of(e.addr), e.addr);
}

unsigned NeighbourResolver::held(const net::IpAddr& addr) const {
    auto it = pending_.find(addr);
    return it == pending_.end() ? 0 : it->second.n_held;
}

unsigned NeighbourResolver::role_of(const net::IpAddr& addr) const {
    const dp::Shared& s = env_.shared;
    if (addr.is_v4()) {
        const uint32_t a = addr.v4();
        for (unsigned role : {dp::kPublic, dp::kProtected})
            if (((a ^ s.addr[role]) & s.mask[role]) == 0) return role;
        return dp::kHost;  // on no link of ours: not resolved
    }
    const dp::Shared::Port6& pub = s.v6[dp::kPublic];
    if (!pub.on) return dp::kProtected;
    const net::Prefix link = net::Prefix::v6(pub.addr, pub.prefix_len);
    const bool gateway = pub.has_gateway && std::memcmp(pub.gateway, addr.b, 16) == 0;
    return link.contains_v6(addr.b) || gateway ? dp::kPublic : dp::kProtected;
}

}  // namespace espgw::control
