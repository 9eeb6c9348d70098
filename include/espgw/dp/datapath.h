// What every worker shares (read-only once running) and what each worker owns.
#pragma once

#include <intel-ipsec-mb.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_ring.h>

#include <cstdint>

#include "espgw/dp/reassembly.h"
#include "espgw/stats/drop_reason.h"
#include "espgw/net/neighbour_table.h"
#include "espgw/net/route.h"
#include "espgw/sa/sa_table.h"

namespace espgw::dp {

enum Role : uint8_t { kPublic = 0, kProtected = 1, kHost = 2, kRoles = 3 };
constexpr const char* role_name(unsigned r) {
    return r == kPublic ? "public" : r == kProtected ? "protected" : "host";
}

constexpr uint16_t kBurst = 32;

// Messages from workers to the control core (an rte_ring of fixed-size elements).
struct ControlEvent {
    // peer_moved: a worker moved a peer (Peer::move_reported); keepalive: a NAT keepalive
    // came in; acquire: traffic for a protect policy that has no SA yet.
    enum Kind : uint8_t { peer_moved, keepalive, acquire } kind;
    uint8_t role;    // the port the packet came in on
    uint16_t port;   // UDP source port seen (host order)
    uint32_t id;     // peer_moved: the Peer's id; acquire: the policy's id
    uint32_t addr;   // keepalive: source address seen; acquire: the destination (host order)
    uint8_t addr6[16];  // the same over IPv6
    bool v6 = false;    // addr6, not addr
};
static_assert(sizeof(ControlEvent) == 32);

// An IP packet (data at its IPv4 or IPv6 header) whose next hop is not resolved yet, from a
// worker to the control core (Shared::held_ring): it is kept, a few per neighbour, while
// ARP or NDP asks, and sent when the answer comes (as a host's neighbour queue does).
struct HeldPacket {
    rte_mbuf* m;
    net::IpAddr next_hop;
    uint8_t role;  // the port it leaves by
};

// A packet the control core hands to worker 0 to send (Shared::tx_ring).
struct TxRequest {
    // frame: a complete Ethernet frame, sent as it is on `role`; route: an IP packet (data at
    // its IPv4 or IPv6 header) routed like any other packet from the gateway itself.
    enum Kind : uint8_t { frame, route } kind;
    uint8_t role;
    rte_mbuf* m;
};

using net::MtuPolicy;
using net::Route;

struct Shared {
    uint16_t natt_port = 4500;
    uint16_t ike_port = 500;
    uint32_t addr[kRoles]{};  // the gateway's address per port (host: unused)
    uint32_t mask[kRoles]{};
    uint32_t public_gateway = 0;
    // IPv6 per port: on the protected side for the inner traffic of tunnels, on the public
    // side for peers reached over IPv6.
    struct Port6 {
        bool on = false;
        uint8_t addr[16]{};  // ours
        uint8_t prefix_len = 64;  // on-link prefix
        bool has_gateway = false;
        uint8_t gateway[16]{};  // next hop off the link
    } v6[kRoles];
    uint16_t public_mtu = 1500;
    MtuPolicy mtu_policy = MtuPolicy::icmp;
    bool has_host = false;
    uint64_t event_interval_tsc = 0;        // the same event from one worker at most this often
    uint64_t last_seen_resolution_tsc = 0;  // peer last-seen / SA last-used refreshed at most this often
    uint16_t port_id[kRoles]{};
    net::Mac port_mac[kRoles]{};
    net::Mac host_mac{};  // the Linux side of the host tap
    Route routes[16]{};
    unsigned n_routes = 0;
    sa::SaTable* sas = nullptr;
    net::NeighbourTable* neighbours = nullptr;
    rte_ring* ike_ring = nullptr;    // mbufs: IKE messages for the control core
    rte_ring* event_ring = nullptr;  // ControlEvent elements
    rte_ring* slow_ring = nullptr;   // mbufs: ARP and NDP for the control core
    rte_ring* tx_ring = nullptr;     // TxRequest elements: from the control core to worker 0
    rte_ring* held_ring = nullptr;   // HeldPacket elements: waiting for a next hop
    rte_mempool* pool = nullptr;
    rte_mempool* indirect_pool = nullptr;  // fragment headers
    rte_mempool* big_pool = nullptr;       // reassembled datagrams (up to 9 KB)
};

struct alignas(64) WorkerCounters {
    uint64_t rx[kRoles]{};
    uint64_t tx[kRoles]{};
    uint64_t drops[kRoles][kDropReasons]{};  // by the port the packet came in on
    uint64_t esp_in = 0;     // decrypted and accepted
    uint64_t esp_out = 0;    // encrypted and sent
    uint64_t keepalives = 0;
    uint64_t ike = 0;
    uint64_t to_host = 0;
    uint64_t events = 0;
    uint64_t idle_sleeps = 0;
    uint64_t held = 0;           // handed to the control core to wait for ARP
    uint64_t reassembled = 0;    // outer datagrams put back together from fragments
    uint64_t fragmented = 0;     // packets split to fit the tunnel (inner or outer)
    uint64_t reassembly_held = 0;  // mbufs reassembly holds now (a gauge, set each loop turn)
    uint64_t clock_steps_back = 0;  // times reassembly saw the TSC go back and freed all it held
};

struct Worker {
    unsigned id = 0;
    IMB_MGR* mgr = nullptr;
    const Shared* shared = nullptr;
    WorkerCounters* counters = nullptr;
    uint16_t ip_id = 0;
    uint64_t now = 0;  // TSC at the start of the current burst
    // Where recent next hops live in the neighbour table (saves a hash lookup per packet).
    struct NextHop {
        uint32_t addr = 0;
        int32_t slot = -1;
    } next_hops[16];
    // Packets ready to send, per port; the owner flushes them (rte_eth_tx_burst or a bench sink).
    rte_mbuf* tx[kRoles][2 * kBurst]{};
    uint16_t n_tx[kRoles]{};
    Reassembly reassembly;  // outer fragments waiting for the rest of their datagram
    // Distinct SPIs the last public burst had to look up: above 2, the next burst's SAs are
    // looked up together and prefetched first (EspBatch::prelookup).
    uint16_t spi_spread = 0;
    // Distinct inner destinations the last inside burst had to look up: above 2, the next
    // burst's policies and SAs are looked up together and prefetched first (inside_rx.cc).
    uint16_t dst_spread = 0;
    void (*flush)(Worker&, unsigned role) = nullptr;
    void* flush_ctx = nullptr;
};

// Counts and frees a packet that goes nowhere.
inline void drop(Worker& w, rte_mbuf* m, unsigned from, Drop why, sa::Sa* sa = nullptr) {
    ++w.counters->drops[from][static_cast<unsigned>(why)];
    if (sa) ++sa->counters(w.id).drops[static_cast<unsigned>(why)];
    rte_pktmbuf_free(m);
}

// Adds a run of packets of one SA to its counters and to the worker's total (esp_in or
// esp_out): the pipelines count once per run of one SA, not once per packet.
inline void count_run(Worker& w, sa::Sa* sa, uint64_t packets, uint64_t bytes, uint64_t& worker_total) {
    if (!sa) return;
    sa::SaCounters& c = sa->counters(w.id);
    c.packets += packets;
    c.bytes += bytes;
    worker_total += packets;
}

// Two-stage prefetch while packet i is worked on: the mbuf of packet i+2*kPrefetchAhead (its
// data address lives there), then the headers of packet i+kPrefetchAhead. A data prefetch
// alone would stall on loading a cold mbuf just to compute the address.
constexpr uint16_t kPrefetchAhead = 4;
inline void prefetch_first(rte_mbuf** pkts, uint16_t n) {
    for (uint16_t i = 0; i < 2 * kPrefetchAhead && i < n; ++i) rte_prefetch0(pkts[i]);
    for (uint16_t i = 0; i < kPrefetchAhead && i < n; ++i) rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void*));
}
inline void prefetch_ahead(rte_mbuf** pkts, uint16_t i, uint16_t n) {
    if (i + 2 * kPrefetchAhead < n) rte_prefetch0(pkts[i + 2 * kPrefetchAhead]);
    if (i + kPrefetchAhead < n) rte_prefetch0(rte_pktmbuf_mtod(pkts[i + kPrefetchAhead], void*));
}

inline void send(Worker& w, unsigned role, rte_mbuf* m) {
    if (w.n_tx[role] == 2 * kBurst) w.flush(w, role);
    w.tx[role][w.n_tx[role]++] = m;
}

// ---- the pipeline (lib/dp) ----
void rx_public(Worker& w, rte_mbuf** pkts, uint16_t n);
// Protected or host side: IPv4 to encrypt (an SA covers it) or to route in clear.
void rx_inside(Worker& w, unsigned from, rte_mbuf** pkts, uint16_t n);
// An IP packet built by the control core (data at the IPv4 or IPv6 header): route and send it.
void forward_from_control(Worker& w, rte_mbuf* m);
// Worker 0: sends what the control core handed over (Shared::tx_ring).
void drain_control_tx(Worker& w);

}  // namespace espgw::dp
