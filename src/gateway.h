// The running gateway: everything set up from the config, shared by the control core, the
// workers and telemetry.
#pragma once

#include <rte_rcu_qsbr.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include "espgw/config/config.h"
#include "espgw/control/event_handler.h"
#include "espgw/control/ipsec_api.h"
#include "espgw/control/neighbour_resolver.h"
#include "espgw/control/peer_table.h"
#include "espgw/dp/datapath.h"
#include "espgw/ike/engine.h"

namespace espgw {

struct Gateway {
    config::Config cfg;
    dp::Shared shared;
    std::unique_ptr<sa::SaTable> sas;
    control::PeerTable peers;  // control core only (and telemetry, under control_mutex)
    IMB_MGR* control_mgr = nullptr;  // the control core's own, for key expansion
    std::unique_ptr<control::IpsecApi> ipsec;  // SAs are added and removed through this
    std::unique_ptr<net::NeighbourTable> neighbours;
    rte_rcu_qsbr* rcu = nullptr;
    std::vector<dp::Worker> workers;
    std::unique_ptr<dp::WorkerCounters[]> counters;
    std::mutex control_mutex;  // SA table changes vs. telemetry readers (never taken by workers)
    // The IKE engine (control core; telemetry reads it under control_mutex). Null until the
    // control core starts, and when no connection is configured.
    std::unique_ptr<ike::Engine> ike;
    // What IpsecApi reported for the IKE engine (acquires, limits), delivered by the control core.
    std::vector<control::SaEvent> sa_events;
    std::atomic<bool> stop{false};
    uint64_t tsc_hz = 0;

    control::ControlStats control_stats;
    control::NeighbourStats neighbour_stats;

    unsigned n_roles() const { return shared.has_host ? 3 : 2; }
};

// setup.cc
void setup_gateway(Gateway& gw);  // throws with a clear message on failure
void install_static_sas(Gateway& gw);
std::vector<std::string> eal_arguments(const config::Config& cfg, const char* argv0);
// worker_loop.cc
int worker_main(void* arg);  // arg: Gateway*; the lcore's index in cfg.worker_lcores picks the worker
// control.cc
void control_main(Gateway& gw);
// telemetry.cc
void register_telemetry(Gateway& gw);
// linux_ifaces.cc
void configure_host_interface(const Gateway& gw);
void isolate_captured_interfaces(const config::Config& cfg);

}  // namespace espgw
