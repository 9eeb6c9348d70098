// espgw: an IPsec NAT-traversal gateway on DPDK.
//   espgw [-c FILE]   run with FILE, or with the embedded default configuration
//   espgw --check [-c FILE]   validate the configuration and exit
//   espgw --print-default     print the embedded default configuration
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>

#include <csignal>
#include <cstring>
#include <string>
#include <vector>

#include "gateway.h"
#include "espgw/log.h"

namespace {

espgw::Gateway* g_running = nullptr;

void on_signal(int) {
    if (g_running) g_running->stop.store(true);
}

int usage() {
    fprintf(stderr, "usage: espgw [-c FILE] [--check] [--print-default]\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    // Logs go to files in tests and under supervisors: one line at a time, never held back.
    setvbuf(stdout, nullptr, _IOLBF, 0);
    setvbuf(stderr, nullptr, _IOLBF, 0);
    std::string file;
    bool check = false;
    for (int k = 1; k < argc; ++k) {
        const std::string a = argv[k];
        if ((a == "-c" || a == "--config") && k + 1 < argc) file = argv[++k];
        else if (a == "--check") check = true;
        else if (a == "--print-default") return fputs(espgw::config::embedded_default_config(), stdout) < 0;
        else return usage();
    }

    espgw::Gateway gw;
    try {
        gw.cfg = file.empty() ? espgw::config::load_config_string(espgw::config::embedded_default_config(),
                                                                   "<embedded default>")
                              : espgw::config::load_config_file(file);
        espgw::config::check_machine(gw.cfg);
    } catch (const espgw::config::ConfigError& e) {
        fprintf(stderr, "espgw: configuration refused: %s\n", e.what());
        return 1;
    }
    if (check) {
        printf("%s: OK (%zu peers, %zu SAs, %zu IKE connections)\n", gw.cfg.source.c_str(), gw.cfg.peers.size(),
               gw.cfg.sas.size(), gw.cfg.ike.connections.size());
        return 0;
    }

    std::vector<std::string> args = espgw::eal_arguments(gw.cfg, argv[0]);
    std::vector<char*> eal_argv;
    for (std::string& a : args) eal_argv.push_back(a.data());
    if (rte_eal_init(static_cast<int>(eal_argv.size()), eal_argv.data()) < 0) {
        // EAL printed its reason above; say which of our settings feed it.
        std::string line;
        for (const std::string& a : args) line += " " + a;
        fprintf(stderr, "espgw: EAL initialisation failed: %s (from eal, lcores and ports in %s:%s)\n",
                rte_strerror(rte_errno), gw.cfg.source.c_str(), line.c_str());
        return 1;
    }
    int rc = 0;
    try {
        espgw::setup_gateway(gw);
        espgw::install_static_sas(gw);
    } catch (const std::exception& e) {
        fprintf(stderr, "espgw: %s\n", e.what());
        gw.ipsec.reset();
        gw.sas.reset();
        gw.neighbours.reset();
        rte_eal_cleanup();
        return 1;
    }
    espgw::isolate_captured_interfaces(gw.cfg);
    espgw::configure_host_interface(gw);
    espgw::register_telemetry(gw);
    g_running = &gw;
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);

    for (unsigned lcore : gw.cfg.worker_lcores) {
        if (rte_eal_remote_launch(espgw::worker_main, &gw, lcore) != 0) {
            fprintf(stderr, "espgw: cannot start a worker on lcore %u\n", lcore);
            gw.stop = true;
            rc = 1;
        }
    }
    espgw::log_line("running: %zu worker(s), %s polling, %zu SAs, config %s", gw.cfg.worker_lcores.size(),
                    gw.cfg.polling == espgw::config::PollMode::busy ? "busy" : "back-off", gw.cfg.sas.size(),
                    gw.cfg.source.c_str());
    espgw::control_main(gw);
    rte_eal_mp_wait_lcore();
    espgw::log_line("stopped");
    for (unsigned r = 0; r < gw.n_roles(); ++r) rte_eth_dev_stop(gw.shared.port_id[r]);
    for (auto& w : gw.workers) {
        espgw::crypto::release_mb_mgr(w.mgr);
        espgw::dp::reassembly_destroy(w.reassembly);
    }
    gw.ipsec.reset();
    espgw::crypto::release_mb_mgr(gw.control_mgr);
    gw.sas.reset();
    gw.neighbours.reset();
    rte_eal_cleanup();
    return rc;
}
