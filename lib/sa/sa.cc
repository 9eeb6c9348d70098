#include "espgw/sa/sa.h"

#include <algorithm>
#include <new>

namespace espgw::sa {

namespace {

std::shared_ptr<Peer> own_peer(const SaParams& p) {
    PeerInit init;
    init.name = p.name;
    init.v6 = p.outer_v6;
    init.endpoint = p.peer;
    std::memcpy(init.addr6, p.peer_addr6, 16);
    return std::make_shared<Peer>(init);
}

std::atomic<unsigned> g_workers{kMaxWorkers};

}  // namespace

void Sa::set_workers(unsigned n) { g_workers.store(std::clamp(n, 1u, kMaxWorkers), std::memory_order_relaxed); }

std::unique_ptr<Sa> Sa::make(const SaParams& p, std::shared_ptr<Peer> peer) {
    const unsigned n = g_workers.load(std::memory_order_relaxed);
    void* mem = ::operator new(sizeof(Sa) + n * sizeof(SaCounters), std::align_val_t{alignof(Sa)});
    Sa* sa;
    try {
        sa = new (mem) Sa(p, std::move(peer), n);
    } catch (...) {
        ::operator delete(mem, std::align_val_t{alignof(Sa)});
        throw;
    }
    return std::unique_ptr<Sa>(sa);
}

Sa::Sa(const SaParams& p, std::shared_ptr<Peer> peer_in, unsigned workers)
    : outer_ip_len(p.outer_v6 ? 40 : 20), accept_encap(p.encap), params(p), replay(p.replay_window, p.esn, 0, workers == 1),
      peer_ref(peer_in ? std::move(peer_in) : own_peer(p)),
      selectors_ref(std::make_shared<const Selectors>(Selectors::single(p.local_ts, p.remote_ts))),
      n_counters_(static_cast<uint8_t>(workers)) {
    peer = peer_ref.get();
    selectors = selectors_ref.get();
    for (unsigned w = 0; w < workers; ++w) new (&counters(w)) SaCounters();
}

void Sa::set_selectors(std::shared_ptr<const Selectors> s) {
    selectors_ref = std::move(s);
    selectors = selectors_ref.get();
}

Sa::~Sa() { crypto::wipe(keys); }

SaCounters Sa::totals() const {
    SaCounters t;
    for (unsigned w = 0; w < n_counters_; ++w) {
        const SaCounters& c = counters(w);
        t.packets += __atomic_load_n(&c.packets, __ATOMIC_RELAXED);
        t.bytes += __atomic_load_n(&c.bytes, __ATOMIC_RELAXED);
        for (unsigned r = 0; r < dp::kDropReasons; ++r)
            t.drops[r] += __atomic_load_n(&c.drops[r], __ATOMIC_RELAXED);
    }
    return t;
}

}  // namespace espgw::sa
