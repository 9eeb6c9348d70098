// A worker lcore: poll every port's queue of this worker, run the pipeline, flush, report a
// quiescent state for RCU. In back-off mode an idle worker pauses, then sleeps with growing
// naps (offline for RCU meanwhile) and returns to busy polling as soon as a packet arrives.
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_pause.h>
#include <time.h>

#include "espgw/dp/fragments.h"
#include "gateway.h"

namespace espgw {

namespace {

void flush_port(dp::Worker& w, unsigned role) {
    const uint16_t n = w.n_tx[role];
    if (n == 0) return;
    const uint16_t sent = rte_eth_tx_burst(w.shared->port_id[role], static_cast<uint16_t>(w.id), w.tx[role], n);
    w.counters->tx[role] += sent;
    for (uint16_t k = sent; k < n; ++k) {
        ++w.counters->drops[role][static_cast<unsigned>(dp::Drop::tx_full)];
        rte_pktmbuf_free(w.tx[role][k]);
    }
    w.n_tx[role] = 0;
}

}  // namespace

int worker_main(void* arg) {
    auto& gw = *static_cast<Gateway*>(arg);
    const unsigned lcore = rte_lcore_id();
    unsigned id = 0;
    while (gw.cfg.worker_lcores[id] != lcore) ++id;
    dp::Worker& w = gw.workers[id];
    w.flush = flush_port;
    const unsigned roles = gw.n_roles();
    const bool backoff = gw.cfg.polling == config::PollMode::backoff;
    const uint64_t max_sleep_ns = uint64_t{gw.cfg.idle_sleep_max_us} * 1000;

    rte_rcu_qsbr_thread_register(gw.rcu, id);
    rte_rcu_qsbr_thread_online(gw.rcu, id);
    uint32_t idle_polls = 0;
    uint64_t sleep_ns = 1000;
    rte_mbuf* pkts[dp::kBurst];

    while (!gw.stop.load(std::memory_order_relaxed)) {
        w.now = rte_rdtsc();
        uint32_t got = 0;
        for (unsigned role = 0; role < roles; ++role) {
            const uint16_t n = rte_eth_rx_burst(gw.shared.port_id[role], static_cast<uint16_t>(id), pkts, dp::kBurst);
            if (n == 0) continue;
            got += n;
            if (role == dp::kPublic)
                dp::rx_public(w, pkts, n);
            else
                dp::rx_inside(w, role, pkts, n);
        }
        if (id == 0) dp::drain_control_tx(w);
        dp::reassembly_sweep(w);
        for (unsigned role = 0; role < roles; ++role) flush_port(w, role);
        rte_rcu_qsbr_quiescent(gw.rcu, id);

        if (got || !backoff) {
            idle_polls = 0;
            sleep_ns = 1000;
            continue;
        }
        if (++idle_polls < 256) {
            rte_pause();
            continue;
        }
        // Idle: nap, doubling up to the configured maximum. RCU must not wait for a sleeper.
        rte_rcu_qsbr_thread_offline(gw.rcu, id);
        const timespec ts{0, static_cast<long>(sleep_ns)};
        nanosleep(&ts, nullptr);
        rte_rcu_qsbr_thread_online(gw.rcu, id);
        ++w.counters->idle_sleeps;
        sleep_ns = sleep_ns * 2 > max_sleep_ns ? max_sleep_ns : sleep_ns * 2;
    }
    rte_rcu_qsbr_thread_offline(gw.rcu, id);
    rte_rcu_qsbr_thread_unregister(gw.rcu, id);
    return 0;
}

}  // namespace espgw
