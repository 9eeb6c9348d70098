// The host exception port: a tap whose Linux side carries the gateway's own addresses, so
// the host stack (ssh, a service, ping replies) works through the gateway's ports. Done once
// at start-up with iproute2, which every target system has.
#include <cstdlib>
#include <string>

#include "gateway.h"
#include "log.h"

namespace espgw {

namespace {

bool run(const std::string& cmd) {
    const int rc = std::system((cmd + " 2>/dev/null").c_str());
    if (rc != 0) log_line("host port: '%s' failed", cmd.c_str());
    return rc == 0;
}

}  // namespace

void configure_host_interface(const Gateway& gw) {
    const config::Config& c = gw.cfg;
    if (c.host.device.empty() || !c.host.configure) return;
    const std::string dev = " dev " + c.host.iface;
    run("sysctl -qw net.ipv6.conf." + c.host.iface + ".disable_ipv6=1");
    run("ip link set" + dev + " up");
    run("ip addr replace " + net::ipv4_str(c.public_port.address) + "/" + std::to_string(c.public_port.prefix_len) + dev);
    run("ip addr replace " + net::ipv4_str(c.protected_port.address) + "/" +
        std::to_string(c.protected_port.prefix_len) + dev);
    // Networks behind tunnels are reached through the gateway too, from its protected address
    // so that the SA's selectors match.
    for (const config::SaConfig& s : c.sas) {
        if (s.params.direction != sa::Direction::outbound || s.params.mode != sa::Mode::tunnel ||
            s.params.remote_ts.family != 4)
            continue;
        run("ip route replace " + s.params.remote_ts.str() + dev + " src " + net::ipv4_str(c.protected_port.address));
    }
    log_line("host port %s configured with %s and %s", c.host.iface.c_str(), net::ipv4_str(c.public_port.address).c_str(),
             net::ipv4_str(c.protected_port.address).c_str());
}

}  // namespace espgw
