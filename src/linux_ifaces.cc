// Glue with the Linux interfaces the gateway uses, done once at start-up with iproute2:
//  - the host exception port: a tap whose Linux side carries the gateway's own addresses, so
//    the host stack (ssh, a service, ping replies) works through the gateway's ports;
//  - af_packet and pcap ports: the kernel would also deliver their frames to its own stack
//    (both only tap them), which answers twice for the gateway's addresses; an nftables
//    netdev ingress drop stops that after the tap has seen the frame.
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "gateway.h"
#include "espgw/log.h"

namespace espgw {

namespace {

bool run(const std::string& cmd) {
    const int rc = std::system((cmd + " 2>/dev/null").c_str());
    if (rc != 0) log_line("host port: '%s' failed", cmd.c_str());
    return rc == 0;
}

}  // namespace

void isolate_captured_interfaces(const config::Config& c) {
    for (const std::string& dev : {c.public_port.device, c.protected_port.device}) {
        if (dev.rfind("net_af_packet", 0) != 0 && dev.rfind("net_pcap", 0) != 0) continue;
        const size_t at = dev.find("iface=");
        if (at == std::string::npos) continue;
        const std::string iface = dev.substr(at + 6, dev.find(',', at) - at - 6);
        std::string table = "espgw_" + iface;
        for (char& ch : table)
            if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
        run("nft add table netdev " + table);
        run("nft 'add chain netdev " + table + " ingress { type filter hook ingress device \"" + iface +
            "\" priority 0; policy drop; }'");
        run("sysctl -qw net.ipv6.conf." + iface + ".disable_ipv6=1");
    }
}

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
    // so that the SA's selectors match. All routes go to one `ip -batch` (a concentrator has a
    // /32 per road warrior: one ip process each took ~11 ms apiece).
    std::map<std::string, const config::PolicyConfig*> policies;
    for (const config::PolicyConfig& p : c.policies) policies[p.name] = &p;
    std::string batch;
    size_t routes = 0;
    for (const config::SaConfig& s : c.sas) {
        if (s.params.direction != sa::Direction::outbound || s.params.mode != sa::Mode::tunnel) continue;
        std::vector<net::Prefix> remote{s.params.remote_ts};
        if (auto it = policies.find(s.policy); !s.policy.empty() && it != policies.end()) remote = it->second->remote;
        for (const net::Prefix& r : remote)
            if (r.family == 4) {
                batch += "route replace " + r.str() + dev + " src " + net::ipv4_str(c.protected_port.address) + "\n";
                ++routes;
            }
    }
    if (routes) {
        FILE* ip = popen("ip -force -batch - 2>/dev/null", "w");
        const bool written = ip && fwrite(batch.data(), 1, batch.size(), ip) == batch.size();
        const int rc = ip ? pclose(ip) : -1;
        if (!written || rc != 0) log_line("host port: %zu routes through %s: ip -batch failed", routes, c.host.iface.c_str());
    }
    log_line("host port %s configured with %s and %s", c.host.iface.c_str(), net::ipv4_str(c.public_port.address).c_str(),
             net::ipv4_str(c.protected_port.address).c_str());
}

}  // namespace espgw
