#include "espgw/sa/peer.h"

namespace espgw::sa {

Peer::Peer(const PeerInit& init)
    : id(init.id), name(init.name), v6(init.v6), endpoint_(init.endpoint.pack()), follows_(init.follows) {
    if (v6) store6(init.endpoint, init.addr6);
}

Endpoint Peer::location(net::IpAddr& addr) const {
    if (!v6) {
        const Endpoint e = endpoint();
        addr = net::IpAddr::v4(e.addr);
        return e;
    }
    uint8_t a6[16];
    const Endpoint e = load6(a6);
    addr = net::IpAddr::v6(a6);
    return e;
}

std::string endpoint_str(const net::IpAddr& addr, const Endpoint& e) {
    const std::string port = e.known ? std::to_string(e.port) : std::string("?");
    return addr.is_v4() ? addr.str() + ":" + port : "[" + addr.str() + "]:" + port;
}

std::string Peer::str() const {
    net::IpAddr a;
    const Endpoint e = location(a);
    return endpoint_str(a, e);
}

}  // namespace espgw::sa
