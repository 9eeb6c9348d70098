// What the IKE engine asks of the rest of the gateway, as strongSwan's charon asks a kernel:
// SPIs, peers, CHILD SAs with their policies, datagrams out, randomness. The control core
// implements it on the data plane (control/ike_kernel.h); unit tests implement it in memory.
// No DPDK type crosses it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "espgw/ike/datagram.h"
#include "espgw/ike/kdf.h"
#include "espgw/ike/sa_init.h"

namespace espgw::ike {

// One CHILD SA pair to install: an inbound and an outbound ESP SA with their keys, and the
// policy (selectors) that sends matching traffic through the outbound one.
struct ChildInstall {
    std::string name;      // for logs and telemetry
    uint32_t peer = 0;     // the Kernel's peer id
    uint32_t spi_in = 0, spi_out = 0;
    uint16_t encr = 0, key_bits = 0, integ = 0;  // ESP transforms (encr_id, integ_id)
    bool esn = false;
    bool transport = false;
    bool udp = true;  // ESP in UDP (a NAT on the path), else IP protocol 50
    Secret key_in, auth_in, key_out, auth_out;
    std::vector<net::Prefix> local, remote;
    uint32_t replay_window = 1024;
    uint64_t life_bytes = 0, life_packets = 0, rekey_bytes = 0, rekey_packets = 0;
    // Non-zero: a rekey; the new SAs take over this policy (the old pair stays until removed).
    uint32_t policy = 0;
    // With policy: the new outbound SA is installed but the old one keeps sending until
    // activate_outbound. A rekey's responder waits so: the initiator installs its new inbound
    // SA only when our answer arrives, and what we sent with the new SA before that is lost.
    bool defer_outbound = false;
};

struct ChildUsage {
    uint64_t packets_in = 0, bytes_in = 0, packets_out = 0, bytes_out = 0;
    uint64_t idle_in_s = 0;  // since the last packet that arrived (DPD needs no probe while ESP flows)
};

class Kernel {
public:
    virtual ~Kernel() = default;
    virtual uint32_t alloc_spi() = 0;  // 0: none left
    virtual void release_spi(uint32_t spi) = 0;
    // A peer at where; NAT state as IKE found it. 0: refused.
    virtual uint32_t add_peer(const std::string& name, const UdpEnd& where, bool nat_here, bool nat_there) = 0;
    virtual void move_peer(uint32_t peer, const UdpEnd& where) = 0;
    // Where the data plane has the peer now (it follows authenticated ESP).
    virtual std::optional<UdpEnd> peer_location(uint32_t peer) = 0;
    virtual void remove_peer(uint32_t peer) = 0;
    // Installs the pair; returns its policy id (non-zero), or 0 with error set.
    virtual uint32_t install_child(const ChildInstall& c, std::string& error) = 0;
    // A policy without SAs (on-demand tunnels): matching traffic raises an acquire for it.
    // Returns its id, or 0 with error set.
    virtual uint32_t install_trap(const std::string& name, const std::vector<net::Prefix>& local,
                                  const std::vector<net::Prefix>& remote, std::string& error) = 0;
    // A deferred outbound SA (ChildInstall::defer_outbound) takes over policy's traffic.
    virtual bool activate_outbound(uint32_t policy, uint32_t spi_out) = 0;
    // Removes the SAs (one may be 0) and, with remove_policy, the policy too.
    virtual void remove_child(uint32_t policy, uint32_t spi_in, uint32_t spi_out, bool remove_policy) = 0;
    virtual std::optional<ChildUsage> child_usage(uint32_t spi_in, uint32_t spi_out) = 0;
    virtual void send(const Datagram& d) = 0;
    virtual void random(std::span<uint8_t> out) = 0;
    virtual void log(const std::string& line) = 0;
};

}  // namespace espgw::ike
