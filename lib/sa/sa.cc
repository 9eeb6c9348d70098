#include "espgw/sa/sa.h"

namespace espgw::sa {

Sa::Sa(const SaParams& p)
    : params(p), outer_ip_len(p.v6 ? 40 : 20), endpoint(p.peer.pack()), peer6(p.peer_addr6),
      replay(p.replay_window, p.esn) {}

std::string peer_str(const SaParams& p, const Endpoint& e, const uint8_t* addr6) {
    const std::string port = e.known ? std::to_string(e.port) : std::string("?");
    if (p.v6) return "[" + net::IpAddr::v6(addr6 ? addr6 : p.peer_addr6).str() + "]:" + port;
    return net::ipv4_str(e.addr) + ":" + port;
}

std::string Sa::peer_now() const {
    uint8_t a6[16];
    peer6.load(a6);
    return peer_str(params, current_peer(), a6);
}

Sa::~Sa() { crypto::wipe(keys); }

SaCounters Sa::totals() const {
    SaCounters t;
    for (const SaCounters& c : counters) {
        t.packets += __atomic_load_n(&c.packets, __ATOMIC_RELAXED);
        t.bytes += __atomic_load_n(&c.bytes, __ATOMIC_RELAXED);
        for (unsigned r = 0; r < dp::kDropReasons; ++r)
            t.drops[r] += __atomic_load_n(&c.drops[r], __ATOMIC_RELAXED);
    }
    return t;
}

}  // namespace espgw::sa
