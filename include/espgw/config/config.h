// The gateway's configuration, typed and validated. Loading either yields a complete Config
// or throws ConfigError naming the file, line and setting: nothing starts half-configured.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "espgw/crypto/cipher_suite.h"
#include "espgw/net/prefix.h"
#include "espgw/net/route.h"
#include "espgw/sa/sa.h"
#include "espgw/sa/policy.h"
#include "espgw/ike/connection.h"
#include "espgw/sa/sa_spec.h"

namespace espgw::config {

class ConfigError : public std::runtime_error {
public:
    ConfigError(std::string file, int line, std::string setting, const std::string& what)
        : std::runtime_error(file + ":" + std::to_string(line) + ": " +
                             (setting.empty() ? "" : setting + ": ") + what),
          file_(std::move(file)), line_(line), setting_(std::move(setting)) {}
    const std::string& file() const { return file_; }
    int line() const { return line_; }
    const std::string& setting() const { return setting_; }

private:
    std::string file_;
    int line_;
    std::string setting_;
};

struct PortConfig {
    std::string device;        // EAL device: a PCI address or a vdev ("net_af_packet0,iface=x")
    uint32_t address = 0;      // the gateway's address on this port, host order
    uint8_t prefix_len = 24;   // on-link subnet
    uint32_t gateway = 0;      // default next hop out of this port (0 = none)
    // IPv6: on the protected port for tunnels with IPv6 selectors, on the public port for
    // peers reached over IPv6.
    bool has_v6 = false;
    uint8_t address6[16]{};
    uint8_t prefix6_len = 64;
    bool has_gateway6 = false;  // default IPv6 next hop out of this port
    uint8_t gateway6[16]{};
    uint16_t mtu = 1500;
    uint16_t rx_desc = 1024;
    uint16_t tx_desc = 1024;
};

struct HostPortConfig {
    std::string device;  // empty: no host port (traffic for the gateway itself is dropped)
    std::string iface;   // the Linux interface name the tap gets
    bool configure = true;  // espgw puts the gateway's addresses on the tap itself
};

struct StaticNeighbour {
    uint32_t address = 0;
    uint8_t mac[6]{};
};

using net::Route;

struct PeerConfig {
    std::string name;
    uint32_t id = 0;
    sa::Endpoint endpoint;  // port unknown: learned from the first authenticated packet
    bool v6 = false;        // reached over IPv6 (address6; endpoint.addr unused)
    uint8_t address6[16]{};
    uint32_t nat_oa = 0;        // its original (pre-NAT) address, for transport mode
    uint32_t nat_oa_local = 0;  // our address as the peer knows it, if we are NATed
    // Follow the peer to where its authenticated packets come from (a NAT rebinding, a new
    // address). False for a fixed peer, or when we are the NATed side (RFC 7296 §2.23).
    bool follow = true;
    int line = 0;
};

// A policy of its own (several selectors per side, or discard); SAs name it.
struct PolicyConfig : sa::PolicySpec {
    int line = 0;
};

// A static SA: the same SaSpec that IKE produces, plus where the config put it.
struct SaConfig : sa::SaSpec {
    std::string peer;    // the name of its PeerConfig
    std::string policy;  // the name of its PolicyConfig; empty: its own, from local_ts/remote_ts
    int line = 0;
};

// IKE: connections the engine accepts (ike/connection.h) and how it protects itself.
struct IkeConfig {
    std::vector<ike::Connection> connections;
    std::vector<ike::PoolConfig> pools;
    unsigned cookie_threshold = 64;      // half-open IKE SAs before IKE_SA_INIT needs a cookie
    unsigned half_open_per_source = 16;  // half-open IKE SAs one address may hold
};

enum class PollMode : uint8_t { busy, backoff };
using net::MtuPolicy;

struct Config {
    std::string source;  // file name, or "<embedded default>"
    std::vector<std::string> eal_args;
    int lcores_line = 0;  // where lcores is (or would be): check_machine's errors point there
    unsigned control_lcore = 0;
    std::vector<unsigned> worker_lcores{1};
    PollMode polling = PollMode::busy;
    uint32_t idle_sleep_max_us = 1000;  // back-off mode: longest sleep when idle
    MtuPolicy mtu_policy = MtuPolicy::icmp;
    uint16_t natt_port = 4500;
    uint16_t ike_port = 500;
    uint32_t keepalive_interval_s = 0;  // 0: do not send NAT keepalives
    uint32_t neighbour_timeout_s = 300;
    uint32_t mapping_event_interval_ms = 100;  // at most one mapping-change event per SA per ...
    uint32_t mbufs = 16383;
    // Outer fragments waiting for the rest of their datagram may hold at most this many mbufs
    // (all workers together; 0: an eighth of mbufs), at most reassembly_per_source of them
    // from one source address (0: an eighth of a worker's share), for at most
    // reassembly_timeout_ms.
    uint32_t reassembly_mbufs = 0;
    uint32_t reassembly_per_source = 0;
    uint32_t reassembly_timeout_ms = 2000;
    uint32_t ring_size = 1024;
    uint32_t max_sas = 4096;
    PortConfig public_port;
    PortConfig protected_port;
    HostPortConfig host;
    std::vector<StaticNeighbour> neighbours;
    std::vector<Route> routes;
    std::vector<PeerConfig> peers;
    std::vector<PolicyConfig> policies;
    std::vector<SaConfig> sas;
    IkeConfig ike;
};

Config load_config_file(const std::string& path);
// What only this machine can tell: every lcore (control and workers) has a CPU this process
// may run on, as EAL maps lcore n to CPU n unless eal has --lcores. Throws ConfigError naming
// the lcores line. espgw runs it for --check and before starting EAL.
void check_machine(const Config& c);
Config load_config_string(const std::string& text, const std::string& name);

// The configuration compiled into the binary (config/default.conf), used without -c.
const char* embedded_default_config();

}  // namespace espgw::config
