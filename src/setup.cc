// Turning a validated config into running resources: EAL arguments, mempools, rings, RCU,
// tables, ports and static SAs. Any failure throws before a single packet is forwarded.
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include <algorithm>
#include <map>
#include <stdexcept>
#include <string>

#include "gateway.h"
#include "espgw/log.h"

namespace espgw {

namespace {

std::string device_name(const std::string& device) { return device.substr(0, device.find(',')); }

uint32_t mask_of(uint8_t len) { return len == 0 ? 0 : ~uint32_t{0} << (32 - len); }

uint16_t setup_port(const Gateway& gw, const std::string& device, uint16_t mtu, uint16_t rx_desc, uint16_t tx_desc,
                    const char* role) {
    uint16_t port;
    if (rte_eth_dev_get_port_by_name(device_name(device).c_str(), &port) != 0)
        throw std::runtime_error(std::string(role) + " port: no DPDK device '" + device + "'");
    const auto queues = static_cast<uint16_t>(gw.cfg.worker_lcores.size());
    rte_eth_dev_info info;
    if (rte_eth_dev_info_get(port, &info) != 0) throw std::runtime_error(std::string(role) + " port: no device info");
    if (info.max_rx_queues < queues || info.max_tx_queues < queues)
        throw std::runtime_error(std::string(role) + " port '" + device + "' has " + std::to_string(info.max_rx_queues) +
                                 " queues, the workers need " + std::to_string(queues));
    rte_eth_conf conf{};
    if (queues > 1 && info.flow_type_rss_offloads) {
        // Spread by addresses and ports: one NAT-T peer (one 5-tuple) stays on one worker.
        conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
        conf.rx_adv_conf.rss_conf.rss_hf = info.flow_type_rss_offloads &
                                           (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP | RTE_ETH_RSS_TCP);
    }
    if (rte_eth_dev_configure(port, queues, queues, &conf) != 0)
        throw std::runtime_error(std::string(role) + " port: configure failed");
    uint16_t rxd = rx_desc, txd = tx_desc;
    rte_eth_dev_adjust_nb_rx_tx_desc(port, &rxd, &txd);
    const int socket = rte_eth_dev_socket_id(port);
    for (uint16_t q = 0; q < queues; ++q) {
        if (rte_eth_rx_queue_setup(port, q, rxd, socket, nullptr, gw.shared.pool) != 0 ||
            rte_eth_tx_queue_setup(port, q, txd, socket, nullptr) != 0)
            throw std::runtime_error(std::string(role) + " port: queue setup failed");
    }
    if (mtu && rte_eth_dev_set_mtu(port, mtu) != 0)
        log_line("%s port: cannot set MTU %u on the device (kept its own)", role, mtu);
    if (rte_eth_dev_start(port) != 0) throw std::runtime_error(std::string(role) + " port: start failed");
    rte_eth_promiscuous_enable(port);
    return port;
}

net::Mac mac_of(uint16_t port) {
    rte_ether_addr a;
    rte_eth_macaddr_get(port, &a);
    net::Mac m;
    std::memcpy(m.b, a.addr_bytes, 6);
    return m;
}

}  // namespace

std::vector<std::string> eal_arguments(const config::Config& cfg, const char* argv0) {
    std::vector<std::string> a{argv0};
    a.insert(a.end(), cfg.eal_args.begin(), cfg.eal_args.end());
    // An explicit --lcores in eal (lcore-to-CPU mapping, e.g. more lcores than CPUs) wins.
    const bool mapped = std::find(cfg.eal_args.begin(), cfg.eal_args.end(), "--lcores") != cfg.eal_args.end();
    if (!mapped) {
        std::string lcores = std::to_string(cfg.control_lcore);
        for (unsigned l : cfg.worker_lcores) lcores += "," + std::to_string(l);
        a.insert(a.end(), {"-l", lcores});
    }
    a.insert(a.end(), {"--main-lcore", std::to_string(cfg.control_lcore)});
    const size_t workers = cfg.worker_lcores.size();
    auto add_device = [&](const std::string& dev) {
        if (dev.empty()) return;
        if (dev.rfind("net_", 0) != 0) {
            a.insert(a.end(), {"-a", dev});
            return;
        }
        std::string d = dev;
        // af_packet and tap take their queue count from the devargs: one per worker.
        if (dev.rfind("net_af_packet", 0) == 0 && dev.find("qpairs=") == std::string::npos && workers > 1)
            d += ",qpairs=" + std::to_string(workers);
        a.insert(a.end(), {"--vdev", d});
    };
    add_device(cfg.public_port.device);
    add_device(cfg.protected_port.device);
    add_device(cfg.host.device);
    return a;
}

void setup_gateway(Gateway& gw) {
    const config::Config& c = gw.cfg;
    dp::Shared& s = gw.shared;
    gw.tsc_hz = rte_get_tsc_hz();
    const unsigned n_workers = static_cast<unsigned>(c.worker_lcores.size());
    sa::Sa::set_workers(n_workers);  // each SA counts for exactly these workers

    s.pool = rte_pktmbuf_pool_create("espgw_mbufs", c.mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
    s.indirect_pool = rte_pktmbuf_pool_create("espgw_indirect", 4095, 128, 0, 0, rte_socket_id());
    // Reassembled outer datagrams: rare, so few, but up to a jumbo frame each.
    s.big_pool = rte_pktmbuf_pool_create("espgw_big", 1023, 32, 0, 9216 + RTE_PKTMBUF_HEADROOM, rte_socket_id());
    if (!s.pool || !s.indirect_pool || !s.big_pool)
        throw std::runtime_error("cannot create the mbuf pools (" + std::to_string(c.mbufs) +
                                 " mbufs): raise -m in eal or lower mbufs");
    s.ike_ring = rte_ring_create("espgw_ike", c.ring_size, rte_socket_id(), RING_F_SC_DEQ);
    s.slow_ring = rte_ring_create("espgw_slow", c.ring_size, rte_socket_id(), RING_F_SC_DEQ);
    s.tx_ring = rte_ring_create_elem("espgw_tx", sizeof(dp::TxRequest), c.ring_size, rte_socket_id(),
                                     RING_F_SP_ENQ | RING_F_SC_DEQ);
    s.held_ring = rte_ring_create_elem("espgw_held", sizeof(dp::HeldPacket), c.ring_size, rte_socket_id(), RING_F_SC_DEQ);
    s.event_ring = rte_ring_create_elem("espgw_events", sizeof(dp::ControlEvent), c.ring_size, rte_socket_id(),
                                        RING_F_SC_DEQ);
    if (!s.ike_ring || !s.slow_ring || !s.tx_ring || !s.held_ring || !s.event_ring) throw std::runtime_error("cannot create rings");

    const size_t rcu_size = rte_rcu_qsbr_get_memsize(n_workers);
    gw.rcu = static_cast<rte_rcu_qsbr*>(rte_zmalloc("espgw_rcu", rcu_size, RTE_CACHE_LINE_SIZE));
    if (!gw.rcu || rte_rcu_qsbr_init(gw.rcu, n_workers) != 0) throw std::runtime_error("cannot create RCU state");
    gw.sas = std::make_unique<sa::SaTable>(c.max_sas, gw.rcu, static_cast<int>(rte_socket_id()));
    gw.neighbours = std::make_unique<net::NeighbourTable>(4096, static_cast<int>(rte_socket_id()));
    s.sas = gw.sas.get();
    s.neighbours = gw.neighbours.get();

    s.natt_port = c.natt_port;
    s.ike_port = c.ike_port;
    s.addr[dp::kPublic] = c.public_port.address;
    s.mask[dp::kPublic] = mask_of(c.public_port.prefix_len);
    s.addr[dp::kProtected] = c.protected_port.address;
    s.mask[dp::kProtected] = mask_of(c.protected_port.prefix_len);
    s.public_gateway = c.public_port.gateway;
    for (const auto& [role, port] : {std::pair{dp::kPublic, &c.public_port}, {dp::kProtected, &c.protected_port}}) {
        dp::Shared::Port6& p6 = s.v6[role];
        p6.on = port->has_v6;
        std::memcpy(p6.addr, port->address6, 16);
        p6.prefix_len = port->prefix6_len;
        p6.has_gateway = port->has_gateway6;
        std::memcpy(p6.gateway, port->gateway6, 16);
    }
    s.public_mtu = c.public_port.mtu;
    s.mtu_policy = c.mtu_policy;
    s.event_interval_tsc = gw.tsc_hz / 1000 * c.mapping_event_interval_ms;
    s.last_seen_resolution_tsc = gw.tsc_hz / 100;
    if (c.routes.size() > std::size(s.routes)) throw std::runtime_error("at most 16 routes");
    for (const net::Route& r : c.routes) s.routes[s.n_routes++] = r;

    s.port_id[dp::kPublic] = setup_port(gw, c.public_port.device, c.public_port.mtu, c.public_port.rx_desc,
                                        c.public_port.tx_desc, "public");
    s.port_id[dp::kProtected] = setup_port(gw, c.protected_port.device, c.protected_port.mtu,
                                           c.protected_port.rx_desc, c.protected_port.tx_desc, "protected");
    s.port_mac[dp::kPublic] = mac_of(s.port_id[dp::kPublic]);
    s.port_mac[dp::kProtected] = mac_of(s.port_id[dp::kProtected]);
    if (!c.host.device.empty()) {
        s.port_id[dp::kHost] = setup_port(gw, c.host.device, 0, 512, 512, "host");
        // The tap's Linux side answers to the PMD's MAC; our frames toward it need another
        // source MAC, and our proxy-ARP answers on the tap name that one too.
        s.host_mac = mac_of(s.port_id[dp::kHost]);
        s.port_mac[dp::kHost] = s.port_mac[dp::kPublic];
        s.port_mac[dp::kHost].b[0] = 0x02;
        s.port_mac[dp::kHost].b[5] ^= 0x5a;
        s.has_host = true;
    }
    for (const config::StaticNeighbour& n : c.neighbours) {
        net::Mac m;
        std::memcpy(m.b, n.mac, 6);
        gw.neighbours->learn(net::IpAddr::v4(n.address), m, UINT64_MAX);
    }

    gw.control_mgr = crypto::make_mb_mgr();
    if (!gw.control_mgr) throw std::runtime_error("cannot allocate an IPsec-MB manager");
    gw.ipsec = std::make_unique<control::IpsecApi>(*gw.sas, gw.peers, gw.control_mgr, gw.tsc_hz,
                                                   [&gw](const control::SaEvent& e) {
        if (e.kind == control::SaEvent::acquire) {
            log_line("traffic to %s for policy %s, which has no SA: acquire", e.dst.str().c_str(), e.name.c_str());
            gw.sa_events.push_back(e);  // the IKE engine starts on-demand connections
            return;
        }
        static const char* const kinds[] = {"reached its soft lifetime", "reached its hard lifetime and is deleted",
                                            "is near the end of its sequence numbers"};
        static const char* const limits[] = {"bytes", "packets", "seconds", "sequence", "-"};
        log_line("SA %s (%s spi 0x%08x) %s (%s)", e.name.c_str(), e.dir == sa::Direction::inbound ? "in" : "out",
                 e.spi, kinds[e.kind], limits[e.limit]);
        gw.sa_events.push_back(e);  // soft limits and sequence numbers near their end: IKE rekeys
    });
    gw.counters.reset(new dp::WorkerCounters[n_workers]);
    gw.workers.resize(n_workers);
    for (unsigned k = 0; k < n_workers; ++k) {
        dp::Worker& w = gw.workers[k];
        w.id = k;
        w.shared = &gw.shared;
        w.counters = &gw.counters[k];
        w.mgr = crypto::make_mb_mgr();
        if (!w.mgr) throw std::runtime_error("cannot allocate an IPsec-MB manager");
        // Fragments of one datagram wait a short time for the rest (Linux's ipfrag_time is 30 s,
        // but a gateway holds mbufs, not kernel memory), in a bounded share of the pool.
        dp::ReassemblyLimits limits;
        limits.max_mbufs = gw.cfg.reassembly_mbufs / n_workers;
        limits.per_source = gw.cfg.reassembly_per_source;
        limits.timeout_tsc = gw.tsc_hz * gw.cfg.reassembly_timeout_ms / 1000;
        if (!dp::reassembly_create(w.reassembly, limits, static_cast<int>(rte_socket_id())))
            throw std::runtime_error("cannot create a reassembly table");
    }
}

void install_static_sas(Gateway& gw) {
    std::lock_guard lock(gw.control_mutex);
    for (const config::PeerConfig& pc : gw.cfg.peers) {
        sa::PeerInit init;
        init.name = pc.name;
        init.id = pc.id;
        init.v6 = pc.v6;
        init.endpoint = pc.endpoint;
        std::memcpy(init.addr6, pc.address6, 16);
        init.follows = pc.follow;
        if (!gw.peers.add(init)) throw config::ConfigError(gw.cfg.source, pc.line, "peers", pc.name + ": peer twice");
    }
    // Static policies and SAs go through the same interface as negotiated ones.
    std::map<std::string, uint32_t> policy_ids;
    for (const config::PolicyConfig& pc : gw.cfg.policies) {
        std::string err;
        const uint32_t id = gw.ipsec->add_policy(pc, err);
        if (!id) throw config::ConfigError(gw.cfg.source, pc.line, "policies", pc.name + ": " + err);
        policy_ids[pc.name] = id;
        log_line("policy %s: %s %s", pc.name.c_str(), gw.sas->policy(id)->selectors->str().c_str(),
                 pc.action == sa::PolicyAction::protect ? "protect" : "discard");
    }
    for (const config::SaConfig& sc : gw.cfg.sas) {
        const sa::Peer* peer = gw.peers.find(sc.peer);
        std::string err;
        const uint32_t policy_id = sc.policy.empty() ? 0 : policy_ids.at(sc.policy);
        if (!gw.ipsec->add_sa(sc, peer->id, rte_rdtsc(), err, policy_id))
            throw config::ConfigError(gw.cfg.source, sc.line, "sas", sc.params.name + ": " + err);
        const sa::SaParams& p = sc.params;
        log_line("SA %s installed: %s spi 0x%08x %s %s%s peer %s", p.name.c_str(),
                 p.direction == sa::Direction::inbound ? "in" : "out", p.spi,
                 p.mode == sa::Mode::tunnel ? "tunnel" : "transport", std::string(crypto::name_of(sc.cipher)).c_str(),
                 p.encap == sa::Encap::udp ? " in UDP" : "", peer->str().c_str());
    }
}

}  // namespace espgw
