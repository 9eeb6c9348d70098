// The IKEv2 engine (RFC 7296): every IKE SA of the gateway, fed datagrams and clock ticks by
// the control core, driving the data plane through a Kernel. One thread, no DPDK.
//
// As responder: IKE_SA_INIT (cookies under load, NAT detection), IKE_AUTH with PSK (identity
// to connection, virtual IPs from pools, traffic selector narrowing, the first CHILD SA),
// CREATE_CHILD_SA (CHILD SA rekeys make-before-break, new CHILD SAs), INFORMATIONAL (deletes,
// liveness). On its own: liveness checks (DPD) after silence, retransmission with back-off,
// deletion of CHILD SAs at the end of their life, uniqueness of identities (a reconnecting
// peer replaces its old IKE SA).
//
// Each exchange is its own unit (sa_init, ike_auth, create_child, informational); this
// class owns the SAs and routes messages to them.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "espgw/ike/address_pool.h"
#include "espgw/ike/connection.h"
#include "espgw/ike/cookies.h"
#include "espgw/ike/datagram.h"
#include "espgw/ike/ike_sa.h"
#include "espgw/ike/kernel.h"

namespace espgw::ike {

struct EngineConfig {
    std::vector<Connection> connections;
    // Our addresses on the public side, to initiate from (IPv4 as a mapped address).
    std::optional<net::IpAddr> local_v4, local_v6;
    std::vector<PoolConfig> pools;
    uint16_t ike_port = 500, natt_port = 4500;
    // Half-open IKE SAs above which IKE_SA_INIT must return a cookie first (§2.6), and the
    // most half-open SAs one source address may hold.
    unsigned cookie_threshold = 64;
    unsigned half_open_per_source = 16;
    unsigned half_open_timeout_s = 30;  // a half-open SA without IKE_AUTH goes after this
    unsigned cookie_rotate_s = 300;     // a new cookie secret this often (the last one stays valid)
    // Retransmissions of our requests: first after retransmit_ms, doubling, at most
    // retransmit_tries sends in all (liveness checks: until dpd_timeout instead).
    unsigned retransmit_ms = 2000;
    unsigned retransmit_tries = 5;
    // RFC 7383: messages larger than this (IKE header on; IPv4 + UDP + marker come on top) go
    // in fragments to peers that support it, so certificate exchanges survive NATs that drop
    // IP fragments. A request may arrive in at most max_fragments pieces.
    size_t fragment_size = 1200;
    unsigned max_fragments = 64;
};

struct EngineStats {
    uint64_t received = 0, sent = 0, retransmitted_responses = 0, retransmitted_requests = 0;
    uint64_t malformed = 0, no_ike_sa = 0, bad_message_id = 0, undecryptable = 0;
    uint64_t cookies_sent = 0, half_open_limit = 0, no_proposal = 0, invalid_ke = 0;
    uint64_t auth_failed = 0, ts_unacceptable = 0, pool_exhausted = 0;
    uint64_t established = 0, children_installed = 0, child_rekeys = 0, ike_rekeys = 0, deleted = 0, dead_peers = 0;
    uint64_t replaced = 0, fragments_in = 0, fragments_out = 0;
    uint64_t initiated = 0, initiate_failed = 0;
};

// For telemetry: one IKE SA as an operator reads it.
struct IkeSaInfo {
    std::string connection, state, local_id, remote_id, proposal;
    UdpEnd local, remote;
    bool nat_here = false, nat_there = false;
    uint64_t spi_i = 0, spi_r = 0, age_s = 0;
    std::vector<std::string> vips;
    struct Child {
        std::string name, local_ts, remote_ts, proposal;
        uint32_t spi_in = 0, spi_out = 0;
        bool transport = false, udp = true;
        bool outbound_pending = false;  // a rekey we answered: still sending on the old SA
        uint64_t age_s = 0, rekey_in_s = 0;
        ChildUsage usage;
    };
    std::vector<Child> children;
};

class EngineCore;  // lib/ike/engine_core.h: the SAs and what the exchanges share

class Engine {
public:
    Engine(EngineConfig cfg, Kernel& kernel);
    ~Engine();
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    void receive(const Datagram& d, uint64_t now_ms);
    // Retransmissions, liveness checks, lifetimes, half-open expiry: call a few times a second.
    void tick(uint64_t now_ms);
    // The data plane reached a soft (rekey) or hard (delete) limit of the SA with inbound or
    // outbound SPI spi.
    void child_limit(uint32_t spi, bool hard, uint64_t now_ms);
    // The data plane followed a peer to a new address or port.
    void peer_moved(uint32_t peer, const UdpEnd& where);
    // Starts an IKE SA (and its first CHILD SA) for connection `name` toward its remote_host.
    bool initiate(const std::string& name, uint64_t now_ms);
    // The data plane saw traffic for policy_id, which has no SA: an on-demand connection's trap.
    void acquire(uint32_t policy_id, uint64_t now_ms);
    // Deletes every IKE SA, telling the peers (at shutdown).
    void shutdown(uint64_t now_ms);

    std::vector<IkeSaInfo> list(uint64_t now_ms);

    const EngineStats& stats() const;
    size_t ike_sa_count() const;
    size_t half_open_count() const;

private:
    std::unique_ptr<EngineCore> core_;
};

}  // namespace espgw::ike
