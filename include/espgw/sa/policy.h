// Security policies (RFC 4301 §4.4.1) as the data plane applies them: traffic selectors (the
// prefixes on our side and on the peer's; several each, as an IKEv2 CHILD SA may carry,
// RFC 7296 §2.9) and what to do with matching traffic: protect it with the policy's outbound
// SA, or discard it. A protect policy without an SA yet makes the data plane ask the control
// core for one (an acquire event, for initiating site-to-site tunnels).
//
// Policies are separate from SAs: a rekey binds the policy to the new outbound SA in one
// store (the next packet uses it) while the old inbound SA keeps accepting until deleted.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "espgw/net/prefix.h"

namespace espgw::sa {

struct Sa;

// The selectors of one policy; immutable once published (shared with its inbound SAs).
struct Selectors {
    static constexpr unsigned kMax = 8;  // prefixes per side
    // The counts first: a check of one prefix then reads one cache line.
    uint8_t n_local = 0, n_remote = 0;
    net::Prefix local[kMax];
    net::Prefix remote[kMax];

    // From lists; false if a side is empty or has more than kMax prefixes.
    static bool make(const std::vector<net::Prefix>& local, const std::vector<net::Prefix>& remote, Selectors& out);
    static Selectors single(const net::Prefix& local, const net::Prefix& remote) {
        Selectors s;
        s.local[0] = local;
        s.remote[0] = remote;
        s.n_local = s.n_remote = 1;
        return s;
    }

    bool local_has_v4(uint32_t a) const { return any_v4(local, n_local, a); }
    bool remote_has_v4(uint32_t a) const { return any_v4(remote, n_remote, a); }
    bool local_has_v6(const uint8_t* a) const { return any_v6(local, n_local, a); }
    bool remote_has_v6(const uint8_t* a) const { return any_v6(remote, n_remote, a); }
    std::string str() const;  // "10.1.0.0/16 === 10.2.0.0/24,10.3.0.0/24"

private:
    static bool any_v4(const net::Prefix* p, unsigned n, uint32_t a) {
        for (unsigned k = 0; k < n; ++k)
            if (p[k].contains_v4(a)) return true;
        return false;
    }
    static bool any_v6(const net::Prefix* p, unsigned n, const uint8_t* a) {
        for (unsigned k = 0; k < n; ++k)
            if (p[k].contains_v6(a)) return true;
        return false;
    }
};

enum class PolicyAction : uint8_t { protect, discard };

// What the control plane asks for.
struct PolicySpec {
    std::string name;
    std::vector<net::Prefix> local, remote;
    PolicyAction action = PolicyAction::protect;
};

// What each packet sent reads (the SA, the selectors, the action) is in the first cache line.
struct alignas(64) Policy {
    // protect: the outbound SA; nullptr while there is none (traffic raises an acquire).
    std::atomic<Sa*> sa{nullptr};
    std::shared_ptr<const Selectors> selectors;
    PolicyAction action = PolicyAction::protect;
    bool implicit = false;  // made for an SA installed without a policy: goes with it
    uint32_t id = 0;
    uint32_t slot = 0;
    mutable std::atomic<uint64_t> last_acquire_tsc{0};  // workers: acquire events at most once per interval
    std::string name;
};

}  // namespace espgw::sa
