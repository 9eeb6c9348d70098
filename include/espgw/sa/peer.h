// A peer as the data plane sees it: where it is now (its address and, behind a NAT, the NAT's
// port), whether it may move, and when it was last heard from. Every SA of the peer points at
// this one object, so a move is one store that every SA sees at once.
//
// Who writes what:
//  - The location is written by a worker that authenticated a packet from somewhere new (in
//    the same burst, so the very next packet sent to the peer goes to the new mapping; RFC
//    7296 §2.23, as WireGuard updates its endpoint) and by the control core (IKE, config).
//    IPv4: address, port and "port known" are one atomic word. IPv6: the address and that
//    word sit behind a sequence count taken by compare-and-swap, so a reader never sees a mix
//    of two locations and a writer that finds another writer busy simply leaves it (the next
//    authenticated packet moves the peer again).
//  - follows: set by the control core; false when we are the NATed side (§2.23: a host
//    behind a NAT does not follow its peer) or the config fixes the peer.
//  - last_seen: workers and the control core (keepalives), at a coarse resolution.
// A Peer is freed only after the last SA pointing at it, and SAs only after an RCU grace
// period, so a worker never sees a freed peer.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>

#include "espgw/net/prefix.h"

namespace espgw::sa {

// The peer's IPv4 address (0 for a peer over IPv6) and UDP port as one atomic word: bit 48
// says the port is known. Port 0 with known=false: learn it from the first packet.
struct Endpoint {
    uint32_t addr = 0;  // host order
    uint16_t port = 0;  // host order
    bool known = false;

    uint64_t pack() const { return uint64_t{known} << 48 | uint64_t{addr} << 16 | port; }
    static Endpoint unpack(uint64_t v) {
        return {static_cast<uint32_t>(v >> 16), static_cast<uint16_t>(v), (v >> 48 & 1) != 0};
    }
    bool operator==(const Endpoint&) const = default;
};

// Where a peer starts.
struct PeerInit {
    std::string name;
    uint32_t id = 0;
    bool v6 = false;
    Endpoint endpoint;       // IPv4 address (unused over IPv6), port
    uint8_t addr6[16]{};     // over IPv6
    bool follows = true;     // may move to where its authenticated packets come from
};

class alignas(64) Peer {
public:
    explicit Peer(const PeerInit& init);
    Peer(const Peer&) = delete;
    Peer& operator=(const Peer&) = delete;

    const uint32_t id;
    const std::string name;
    const bool v6;

    // ---- read for every packet sent ----
    // IPv4 peers: address and port.
    Endpoint endpoint() const { return Endpoint::unpack(endpoint_.load(std::memory_order_acquire)); }
    // IPv6 peers: the port word, and the address into addr6, both of one location.
    Endpoint load6(uint8_t addr6[16]) const {
        for (;;) {
            const uint32_t s1 = seq_.load(std::memory_order_acquire);
            const uint64_t w0 = a6_[0].load(std::memory_order_relaxed), w1 = a6_[1].load(std::memory_order_relaxed);
            const uint64_t ep = endpoint_.load(std::memory_order_relaxed);
            std::atomic_thread_fence(std::memory_order_acquire);
            if (!(s1 & 1) && seq_.load(std::memory_order_relaxed) == s1) {
                std::memcpy(addr6, &w0, 8);
                std::memcpy(addr6 + 8, &w1, 8);
                return Endpoint::unpack(ep);
            }
        }
    }
    // Either family: the address as an IpAddr, and the port word.
    Endpoint location(net::IpAddr& addr) const;

    // ---- moves ----
    // From a worker: moves the peer unless another writer holds an IPv6 peer's location right
    // now (false then; the caller's next packet tries again). addr6: the new IPv6 address.
    bool try_move(const Endpoint& e, const uint8_t* addr6 = nullptr) {
        if (!v6) {
            endpoint_.store(e.pack(), std::memory_order_release);
            return true;
        }
        uint32_t s = seq_.load(std::memory_order_relaxed);
        if ((s & 1) || !seq_.compare_exchange_strong(s, s + 1, std::memory_order_acquire)) return false;
        std::atomic_thread_fence(std::memory_order_release);
        store6(e, addr6);
        seq_.store(s + 2, std::memory_order_release);
        return true;
    }
    // From the control core: waits out a worker's move (a few instructions).
    void move(const Endpoint& e, const uint8_t* addr6 = nullptr) {
        while (!try_move(e, addr6)) {
        }
    }

    bool follows() const { return follows_.load(std::memory_order_relaxed); }
    void set_follows(bool on) { follows_.store(on, std::memory_order_relaxed); }

    // NAT state, as IKE's NAT detection finds it (RFC 7296 §2.23): a NAT in front of us, in
    // front of the peer. Control core; read by telemetry. (Static peers: unknown, both false.)
    bool nat_here() const { return nat_.load(std::memory_order_relaxed) & 1; }
    bool nat_there() const { return nat_.load(std::memory_order_relaxed) & 2; }
    void set_nat(bool here, bool there) {
        nat_.store(static_cast<uint8_t>((here ? 1 : 0) | (there ? 2 : 0)), std::memory_order_relaxed);
    }

    // "192.0.2.9:4500", "[2001:db8::9]:4500", with "?" for a port still to be learned.
    std::string str() const;

    // ---- liveness ----
    std::atomic<uint64_t> last_seen_tsc{0};
    // A worker that moved the peer sets this and tells the control core once; the control
    // core clears it when it takes the news, so moves are reported without a flood and the
    // last one is never lost.
    std::atomic<bool> move_reported{false};

private:
    void store6(const Endpoint& e, const uint8_t* addr6) {
        if (addr6) {
            uint64_t w0, w1;
            std::memcpy(&w0, addr6, 8);
            std::memcpy(&w1, addr6 + 8, 8);
            a6_[0].store(w0, std::memory_order_relaxed);
            a6_[1].store(w1, std::memory_order_relaxed);
        }
        endpoint_.store(e.pack(), std::memory_order_relaxed);
    }

    std::atomic<uint64_t> endpoint_;
    std::atomic<uint32_t> seq_{0};  // IPv6 peers: odd while a writer changes the location
    std::atomic<uint64_t> a6_[2]{};
    std::atomic<bool> follows_;
    std::atomic<uint8_t> nat_{0};
};

// "192.0.2.9:4500" / "[2001:db8::9]:4500" / "...:?".
std::string endpoint_str(const net::IpAddr& addr, const Endpoint& e);

}  // namespace espgw::sa
