// A Security Association as the data plane sees it.
//
// Written by the control core only before it is published (installed in the SA table); after
// that workers read the immutable part freely and touch only the atomics and their own
// counter block. Mutable shared state:
//  - seq_out: atomic fetch-add, so several workers can encrypt for one SA;
//  - replay: lock-free window (see replay_window.h), so several workers can decrypt for one SA;
//  - the peer (its current NAT mapping): a Peer object shared by every SA of that peer.
// Counters are per worker (a block of whole cache lines each): no shared writes on the fast
// path. An SA has as many blocks as the gateway has workers, allocated right after it.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>

#include "espgw/crypto/sa_keys.h"
#include "espgw/stats/drop_reason.h"
#include "espgw/sa/replay_window.h"
#include "espgw/net/prefix.h"
#include "espgw/sa/peer.h"
#include "espgw/sa/policy.h"

namespace espgw::sa {

constexpr unsigned kMaxWorkers = 8;

enum class Direction : uint8_t { inbound, outbound };
enum class Mode : uint8_t { tunnel, transport };
enum class Encap : uint8_t { udp, none };  // RFC 3948 ESP-in-UDP, or IP protocol 50

struct alignas(64) SaCounters {
    uint64_t packets = 0;
    uint64_t bytes = 0;  // inner bytes
    uint64_t drops[dp::kDropReasons]{};
};

// What the control plane says about an SA; everything the data plane needs to build one.
// The fields every packet reads come first: in an Sa they share its first cache line.
struct SaParams {
    uint32_t spi = 0;
    Direction direction = Direction::inbound;
    Mode mode = Mode::tunnel;
    Encap encap = Encap::udp;
    bool esn = false;
    uint32_t replay_window = 1024;
    uint32_t local_addr = 0;  // host order: outer source (outbound) / destination (inbound)
    uint16_t local_port = 4500;
    bool outer_v6 = false;      // the outer header is IPv6: local_addr6 <-> the peer's IPv6 address
    // Where the peer is when the SA is made without a Peer object of its own (tests, tools);
    // otherwise the Peer says where it is.
    Endpoint peer;
    std::string name;
    uint8_t local_addr6[16]{};
    uint8_t peer_addr6[16]{};
    net::Prefix local_ts;   // protected side (tunnel) or the gateway itself (transport)
    net::Prefix remote_ts;  // behind the peer
    uint32_t nat_oa_peer = 0;   // peer's original address (transport + NAT), host order
    uint32_t nat_oa_local = 0;  // our original address as the peer saw it, if we are NATed
};

struct alignas(64) Sa {
    // peer: the Peer every SA of that peer shares; nullptr makes one from params (an SA on
    // its own, as tests and tools use). Only on the heap: its counters follow it there.
    static std::unique_ptr<Sa> make(const SaParams& p, std::shared_ptr<Peer> peer = nullptr);
    ~Sa();
    Sa(const Sa&) = delete;
    Sa& operator=(const Sa&) = delete;
    static void operator delete(void* p, std::align_val_t align) noexcept { ::operator delete(p, align); }

    // The workers SAs made from now on count for (ids 0..n-1; at most kMaxWorkers, which is
    // the default). The gateway sets it once at start, before it makes any SA: a concentrator
    // with a million SAs would otherwise carry 2 KB of unused counters in each.
    static void set_workers(unsigned n);
    unsigned workers() const { return n_counters_; }

    // The layout follows the packet path: with many SAs in use each is a cache miss, so what
    // a packet reads is packed into few lines, in an order prefetch_inbound_sa knows. First
    // line: the pointers to the peer and the selectors, and the hot part of params.
    Peer* peer;  // peer_ref's, for the packet path
    // The traffic selectors decrypted packets must match (its policy's; by default the
    // params' local_ts/remote_ts). Set before the SA is published, then read-only.
    const Selectors* selectors;
    uint8_t outer_ip_len;  // 20 or 40 (params.v6): read for every packet sent, so kept ready
    // Inbound: the encapsulation accepted now (params.encap at first; IKE may change it, e.g.
    // when a NAT appears or goes, RFC 4555). Outbound SAs change encapsulation by replacement.
    std::atomic<Encap> accept_encap;
    SaParams params;  // immutable once published
    crypto::SaKeys keys;

    // Shared, mutable: one line (seq_out for an outbound SA, the window's top for an inbound
    // one). Each worker's counters come after the SA (counters()).
    alignas(64) std::atomic<uint64_t> seq_out{0};
    std::atomic<uint64_t> last_used_tsc{0};  // last packet decrypted (inbound) or sent (outbound)
    sa::ReplayWindow replay;

    // Cold: what keeps the peer and the selectors alive as long as the SA.
    const std::shared_ptr<Peer> peer_ref;
    std::shared_ptr<const Selectors> selectors_ref;

    // Worker w's counters (w < workers()).
    SaCounters& counters(unsigned w) { return reinterpret_cast<SaCounters*>(this + 1)[w]; }
    const SaCounters& counters(unsigned w) const { return reinterpret_cast<const SaCounters*>(this + 1)[w]; }

    // The peer's IPv4 location (see Peer for IPv6).
    Endpoint current_peer() const { return peer->endpoint(); }
    void move_peer(const Endpoint& e) { peer->move(e); }
    // Where the peer is now, as text.
    std::string peer_now() const { return peer->str(); }

    // Before the SA is published only.
    void set_selectors(std::shared_ptr<const Selectors> s);

    // Sum of every worker's counters (for telemetry; relaxed reads of single-writer words).
    SaCounters totals() const;

private:
    Sa(const SaParams& p, std::shared_ptr<Peer> peer, unsigned workers);
    uint8_t n_counters_;
};
static_assert(sizeof(Sa) % alignof(SaCounters) == 0, "the counters follow the SA aligned");

}  // namespace espgw::sa
