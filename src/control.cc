// The control core of the gateway: the loop (lib/control) with a source for each ring the
// workers fill and timers for what is periodic. It takes the news of peers the workers moved,
// sends NAT keepalives, resolves neighbours, and runs the IKE engine on the datagrams the
// workers hand over.
#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_udp.h>
#include <time.h>

#include <utility>
#include <vector>

#include "espgw/control/arp.h"
#include "espgw/control/bound_watch.h"
#include "espgw/control/control_loop.h"
#include "espgw/control/event_handler.h"
#include "espgw/control/ike_io.h"
#include "espgw/control/ike_kernel.h"
#include "espgw/control/ndp.h"
#include "espgw/control/neighbour_resolver.h"
#include "espgw/log.h"
#include "gateway.h"

namespace espgw {

namespace {

// One NAT keepalive (RFC 3948 §2.3: a single 0xFF octet from the NAT-T port) to a peer, as
// an IP packet for a worker to route. nullptr: out of mbufs.
rte_mbuf* keepalive_packet(const dp::Shared& s, const net::IpAddr& peer, uint16_t port) {
    ike::Datagram d;
    d.src = peer.is_v4() ? net::IpAddr::v4(s.addr[dp::kPublic]) : net::IpAddr::v6(s.v6[dp::kPublic].addr);
    d.dst = peer;
    d.sport = s.natt_port;
    d.dport = port;
    d.message = {0xff};
    return control::packet_from_datagram(s.pool, d);
}

// RFC 3948 §2.3: a keepalive to each peer with SAs in UDP whose location is known: to all of
// them with keepalive_interval set, else to those IKE found a NAT in front of us for (we must
// keep our own mapping alive, RFC 7296 §2.23).
void send_keepalives(Gateway& gw, control::TxPath& tx) {
    std::vector<std::pair<net::IpAddr, uint16_t>> to;
    {
        std::lock_guard lock(gw.control_mutex);
        for (const control::PeerTable::Info& p : gw.peers.list())
            if (p.udp_sas && p.endpoint.known && (gw.cfg.keepalive_interval_s || p.peer->nat_here()))
                to.emplace_back(p.addr, p.endpoint.port);
    }
    for (const auto& [addr, port] : to) {
        rte_mbuf* m = keepalive_packet(gw.shared, addr, port);
        if (!m || !tx.route(m)) return;  // out of mbufs or ring space: the next round
        gw.control_stats.keepalives_sent++;
    }
}

uint64_t now_ms(const Gateway& gw) { return rte_rdtsc() / (gw.tsc_hz / 1000); }

void handle_ike(Gateway& gw, rte_mbuf* m) {
    const auto d = control::datagram_from_packet(m);
    rte_pktmbuf_free(m);
    if (!d) {
        gw.control_stats.ike_malformed++;
        return;
    }
    const uint64_t n = ++gw.control_stats.ike_messages;
    if (!gw.ike) {
        // No connection configured: log the first messages so an operator sees IKE arriving.
        const std::string from = d->src.is_v4() ? d->src.str() : "[" + d->src.str() + "]";
        if (n <= 10)
            log_line("IKE message (%zu bytes) from %s:%u to port %u: no IKE connections configured, dropped",
                     d->message.size(), from.c_str(), d->sport, d->dport);
        return;
    }
    std::lock_guard lock(gw.control_mutex);
    gw.ike->receive(*d, now_ms(gw));
}

// What IpsecApi reported (acquires, soft and hard limits) to the IKE engine, which starts
// on-demand tunnels, rekeys and deletes. Called with the control mutex held, never from
// inside IpsecApi (its callbacks only queue).
void deliver_sa_events(Gateway& gw) {
    std::vector<control::SaEvent> events;
    events.swap(gw.sa_events);
    if (!gw.ike) return;
    for (const control::SaEvent& e : events) {
        if (e.kind == control::SaEvent::acquire)
            gw.ike->acquire(e.policy_id, now_ms(gw));
        else
            gw.ike->child_limit(e.spi, e.kind == control::SaEvent::hard_expired, now_ms(gw));
    }
}

ike::EngineConfig engine_config(const config::Config& c) {
    ike::EngineConfig e;
    e.connections = c.ike.connections;
    e.pools = c.ike.pools;
    e.ike_port = c.ike_port;
    e.natt_port = c.natt_port;
    e.cookie_threshold = c.ike.cookie_threshold;
    if (c.public_port.address) e.local_v4 = net::IpAddr::v4(c.public_port.address);
    if (c.public_port.has_v6) e.local_v6 = net::IpAddr::v6(c.public_port.address6);
    e.half_open_per_source = c.ike.half_open_per_source;
    return e;
}

// Takes up to a burst of pointers from ring and hands each to fn.
template <typename Fn>
unsigned drain(rte_ring* ring, Fn fn) {
    void* burst[dp::kBurst];
    const unsigned n = rte_ring_sc_dequeue_burst(ring, burst, dp::kBurst, nullptr);
    for (unsigned k = 0; k < n; ++k) fn(static_cast<rte_mbuf*>(burst[k]));
    return n;
}

}  // namespace

// What each resource bound has refused so far, for BoundWatch's log lines.
std::vector<control::BoundReading> bound_readings(const Gateway& gw) {
    uint64_t drops[dp::kDropReasons]{};
    for (size_t k = 0; k < gw.workers.size(); ++k)
        for (unsigned r = 0; r < dp::kRoles; ++r)
            for (unsigned why = 0; why < dp::kDropReasons; ++why)
                drops[why] += __atomic_load_n(&gw.counters[k].drops[r][why], __ATOMIC_RELAXED);
    auto n = [&](dp::Drop d) { return drops[static_cast<unsigned>(d)]; };
    const config::Config& c = gw.cfg;
    return {
        {"reassembly full", "reassembly_mbufs = " + std::to_string(c.reassembly_mbufs), n(dp::Drop::frag_no_room)},
        {"one source's share of reassembly full", "reassembly_per_source = " + std::to_string(c.reassembly_per_source),
         n(dp::Drop::frag_source_limit)},
        {"a ring to the control core or to TX full", "ring_size = " + std::to_string(c.ring_size), n(dp::Drop::ring_full)},
        {"mbuf pool empty", "mbufs = " + std::to_string(c.mbufs), n(dp::Drop::no_mbuf)},
        {"packets waiting for ARP/NDP", std::to_string(control::NeighbourResolver::kMaxHeld) + " in all",
         gw.neighbour_stats.held_full.load()},
    };
}

void control_main(Gateway& gw) {
    const dp::Shared& s = gw.shared;
    control::TxPath tx(s.tx_ring);
    control::NeighbourEnv env{s, *gw.neighbours, tx, gw.neighbour_stats, gw.tsc_hz, gw.cfg.neighbour_timeout_s};
    control::Arp* arp_ptr = nullptr;
    control::Ndp* ndp_ptr = nullptr;
    control::NeighbourResolver resolver(
        env, [&](unsigned role, const net::IpAddr& a) { arp_ptr->request(role, a.v4()); },
        [&](unsigned role, const net::IpAddr& a) { ndp_ptr->solicit(role, a); });
    control::Arp arp(env, resolver);
    control::Ndp ndp(env, resolver);
    arp_ptr = &arp;
    ndp_ptr = &ndp;

    control::IkeKernel ike_kernel(*gw.ipsec, gw.peers, s, tx, [] { return rte_rdtsc(); });
    if (!gw.cfg.ike.connections.empty()) {
        std::lock_guard lock(gw.control_mutex);
        gw.ike = std::make_unique<ike::Engine>(engine_config(gw.cfg), ike_kernel);
        log_line("IKE: %zu connection(s), listening on UDP %u and %u", gw.cfg.ike.connections.size(), gw.cfg.ike_port,
                 gw.cfg.natt_port);
    }

    control::ControlLoop loop([] { return rte_rdtsc(); }, gw.tsc_hz);
    // IKE costs Diffie-Hellman (perf/bench_ike: ~0.1 ms for Curve25519, ~30 ms for MODP-4096 here):
    // take messages for at most kIkeBudgetUs per round, so ARP, keepalives and events wait no
    // longer than that plus one message; the rest stay on the ring for the next round.
    loop.add_source("ike", [&](uint64_t start) {
        constexpr uint64_t kIkeBudgetUs = 2000;
        const uint64_t budget = gw.tsc_hz / 1'000'000 * kIkeBudgetUs;
        unsigned n = 0;
        void* m = nullptr;
        while (n < dp::kBurst && rte_ring_sc_dequeue(s.ike_ring, &m) == 0) {
            handle_ike(gw, static_cast<rte_mbuf*>(m));
            ++n;
            if (rte_rdtsc() - start > budget) {
                gw.control_stats.ike_budget_hit++;
                break;
            }
        }
        return n;
    });
    loop.add_source("arp+ndp", [&](uint64_t now) {
        return drain(s.slow_ring, [&](rte_mbuf* m) {
            const auto* eth = rte_pktmbuf_mtod(m, const rte_ether_hdr*);
            if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6))
                ndp.receive(m, now);
            else
                arp.receive(m, now);
        });
    });
    loop.add_source("held", [&](uint64_t now) {
        dp::HeldPacket held[dp::kBurst];
        const unsigned n = rte_ring_sc_dequeue_burst_elem(s.held_ring, held, sizeof held[0], dp::kBurst, nullptr);
        for (unsigned k = 0; k < n; ++k) resolver.hold(held[k], now);
        if (n) resolver.tick(now);  // ask at once for a new neighbour
        return n;
    });
    control::EventHandler events(gw.peers, *gw.ipsec, gw.control_stats, gw.control_mutex, [] { return rte_rdtsc(); });
    loop.add_source("events", [&](uint64_t) {
        dp::ControlEvent ev[dp::kBurst];
        const unsigned n = rte_ring_sc_dequeue_burst_elem(s.event_ring, ev, sizeof ev[0], dp::kBurst, nullptr);
        for (unsigned k = 0; k < n; ++k) events.handle(ev[k]);
        if (n) {
            std::lock_guard lock(gw.control_mutex);
            deliver_sa_events(gw);  // acquires: on-demand tunnels start
        }
        return n;
    });

    control::Timers& timers = loop.timers();
    const uint64_t now = rte_rdtsc();
    timers.every("neighbour retries", gw.tsc_hz / 10, now, [&](uint64_t t) { resolver.tick(t); });
    timers.every("neighbour refresh", gw.tsc_hz, now + gw.tsc_hz, [&](uint64_t t) { resolver.refresh(t); });
    timers.every("SA lifetimes", gw.tsc_hz, now + gw.tsc_hz, [&](uint64_t t) {
        std::lock_guard lock(gw.control_mutex);
        gw.ipsec->check_lifetimes(t);
        deliver_sa_events(gw);  // after the check, which must not see SAs change under it
    });
    if (gw.ike)
        timers.every("IKE", gw.tsc_hz / 4, now, [&](uint64_t) {
            std::lock_guard lock(gw.control_mutex);
            gw.ike->tick(now_ms(gw));
        });
    // Every keepalive_interval, or every 20 s for peers behind whose NAT we are (strongSwan's default).
    const uint64_t period = gw.tsc_hz * (gw.cfg.keepalive_interval_s ? gw.cfg.keepalive_interval_s : 20);
    timers.every("NAT keepalives", period, now + period, [&](uint64_t) { send_keepalives(gw, tx); });
    control::BoundWatch bounds;
    timers.every("resource bounds", gw.tsc_hz, now + gw.tsc_hz, [&](uint64_t) {
        for (const std::string& line : bounds.check(bound_readings(gw))) log_line("%s", line.c_str());
    });
    loop.run(gw.stop);
    std::lock_guard lock(gw.control_mutex);
    gw.ike.reset();  // it refers to ike_kernel, which goes now
}

}  // namespace espgw
