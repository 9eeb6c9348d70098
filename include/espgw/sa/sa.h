// A Security Association as the data plane sees it.
//
// Written by the control core only before it is published (installed in the SA table); after
// that workers read the immutable part freely and touch only the atomics and their own
// counter block. Mutable shared state:
//  - seq_out: atomic fetch-add, so several workers can encrypt for one SA;
//  - replay: lock-free window (see replay_window.h), so several workers can decrypt for one SA;
//  - endpoint: the peer's current NAT mapping, stored by the control core, loaded by workers.
// Counters are per worker (one cache line each): no shared writes on the fast path.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

#include "espgw/crypto/sa_keys.h"
#include "espgw/dp/drop_reason.h"
#include "espgw/esp/replay_window.h"
#include "espgw/net/prefix.h"

namespace espgw::sa {

constexpr unsigned kMaxWorkers = 8;

enum class Direction : uint8_t { inbound, outbound };
enum class Mode : uint8_t { tunnel, transport };
enum class Encap : uint8_t { udp, none };  // RFC 3948 ESP-in-UDP, or IP protocol 50

// The peer's address and UDP port as one atomic word: bit 48 says the port is known. For a
// peer reached over IPv6 addr is 0 and the address is in Sa::peer6.
struct Endpoint {
    uint32_t addr = 0;  // host order
    uint16_t port = 0;  // host order; 0 with known=false: learn from the first packet
    bool known = false;

    uint64_t pack() const { return uint64_t{known} << 48 | uint64_t{addr} << 16 | port; }
    static Endpoint unpack(uint64_t v) {
        return {static_cast<uint32_t>(v >> 16), static_cast<uint16_t>(v), (v >> 48 & 1) != 0};
    }
    bool operator==(const Endpoint&) const = default;
};

// An SA's IPv6 peer address, which a mapping change may move like the endpoint: two atomic
// words under a sequence count (a seqlock). One writer, the control core; workers read it for
// every packet they send over IPv6 and get either the old address or the new, never a mix.
class PeerAddr6 {
public:
    explicit PeerAddr6(const uint8_t a[16]) { store(a); }
    void load(uint8_t out[16]) const {
        for (;;) {
            const uint32_t s1 = seq_.load(std::memory_order_acquire);
            const uint64_t w0 = w_[0].load(std::memory_order_relaxed), w1 = w_[1].load(std::memory_order_relaxed);
            std::atomic_thread_fence(std::memory_order_acquire);
            if (!(s1 & 1) && seq_.load(std::memory_order_relaxed) == s1) {
                std::memcpy(out, &w0, 8);
                std::memcpy(out + 8, &w1, 8);
                return;
            }
        }
    }
    void store(const uint8_t a[16]) {
        uint64_t w0, w1;
        std::memcpy(&w0, a, 8);
        std::memcpy(&w1, a + 8, 8);
        const uint32_t s = seq_.load(std::memory_order_relaxed);
        seq_.store(s + 1, std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_release);
        w_[0].store(w0, std::memory_order_relaxed);
        w_[1].store(w1, std::memory_order_relaxed);
        seq_.store(s + 2, std::memory_order_release);
    }

private:
    std::atomic<uint32_t> seq_{0};
    std::atomic<uint64_t> w_[2]{};
};

struct alignas(64) SaCounters {
    uint64_t packets = 0;
    uint64_t bytes = 0;  // inner bytes
    uint64_t drops[dp::kDropReasons]{};
};

// What the control plane says about an SA; everything the data plane needs to build one.
struct SaParams {
    std::string name;
    uint32_t spi = 0;
    uint32_t peer_id = 0;  // SAs of one peer share its endpoint (moved together on a NAT rebind)
    Direction direction = Direction::inbound;
    Mode mode = Mode::tunnel;
    Encap encap = Encap::udp;
    bool esn = false;
    uint32_t replay_window = 1024;
    uint32_t local_addr = 0;  // host order: outer source (outbound) / destination (inbound)
    uint16_t local_port = 4500;
    Endpoint peer;
    bool v6 = false;            // outer IPv6: local_addr6 <-> peer_addr6 instead of IPv4
    uint8_t local_addr6[16]{};
    uint8_t peer_addr6[16]{};   // as configured; Sa::peer6 holds where the peer is now
    net::Prefix local_ts;   // protected side (tunnel) or the gateway itself (transport)
    net::Prefix remote_ts;  // behind the peer
    uint32_t nat_oa_peer = 0;   // peer's original address (transport + NAT), host order
    uint32_t nat_oa_local = 0;  // our original address as the peer saw it, if we are NATed
};

// "192.0.2.9:4500", "[2001:db8::9]:4500", or with "?" for a port still to be learned. addr6:
// the IPv6 address for an SA over IPv6 (nullptr: the configured one).
std::string peer_str(const SaParams& p, const Endpoint& e, const uint8_t* addr6 = nullptr);

struct alignas(64) Sa {
    explicit Sa(const SaParams& p);
    ~Sa();
    Sa(const Sa&) = delete;
    Sa& operator=(const Sa&) = delete;

    // Immutable once published.
    SaParams params;
    crypto::SaKeys keys;
    uint8_t outer_ip_len;  // 20 or 40 (params.v6): read for every packet sent, so kept ready

    // Shared, mutable.
    alignas(64) std::atomic<uint64_t> endpoint;
    PeerAddr6 peer6;  // SAs over IPv6: the peer's address (written with endpoint)
    std::atomic<uint64_t> last_seen_tsc{0};
    std::atomic<uint64_t> last_event_tsc{0};  // rate limit for mapping-change events
    alignas(64) std::atomic<uint64_t> seq_out{0};
    esp::ReplayWindow replay;
    SaCounters counters[kMaxWorkers];

    Endpoint current_peer() const { return Endpoint::unpack(endpoint.load(std::memory_order_acquire)); }
    void move_peer(const Endpoint& e) { endpoint.store(e.pack(), std::memory_order_release); }
    // Where the peer is now, as text (see peer_str).
    std::string peer_now() const;

    // Sum of every worker's counters (for telemetry; relaxed reads of single-writer words).
    SaCounters totals() const;
};

}  // namespace espgw::sa
