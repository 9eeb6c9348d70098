// The data plane's IPsec interface for the control plane: what an IKE daemon asks of a
// kernel (strongSwan's kernel_ipsec is the model) — allocate an inbound SPI, add an SA from
// parameters and raw keys, move its peer, delete it, ask how much it was used — and the
// events back: soft and hard lifetime expiry, the sequence number near its end. Static SAs
// from the config come through here too. Control core only (one thread); the data plane sees
// each change published whole (SaTable, RCU).
#pragma once

#include <intel-ipsec-mb.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>

#include "espgw/control/peer_table.h"
#include "espgw/sa/sa_spec.h"
#include "espgw/sa/sa_table.h"

namespace espgw::control {

struct SaEvent {
    // acquire: traffic for a protect policy without an SA (policy_id, dst say which).
    enum Kind : uint8_t { soft_expired, hard_expired, seq_near_end, acquire } kind;
    enum Limit : uint8_t { bytes, packets, seconds, sequence, none } limit;
    sa::Direction dir;
    uint32_t spi;
    std::string name;  // the SA's, or the policy's for acquire
    uint32_t policy_id = 0;
    net::IpAddr dst{};
};

struct SaUsage {
    uint64_t packets, bytes;  // inner bytes
    uint64_t seq_out;         // outbound: the last sequence number used
    uint64_t age_s;
    uint64_t idle_s;          // since the last packet (age_s if none yet)
};

class IpsecApi {
public:
    // mgr: the control core's own IPsec-MB manager (key expansion); tsc_hz: the clock of now.
    IpsecApi(sa::SaTable& sas, PeerTable& peers, IMB_MGR* mgr, uint64_t tsc_hz,
             std::function<void(const SaEvent&)> on_event);

    // A fresh inbound SPI: random, never 0-255 (RFC 4303 §2.1), unique among installed and
    // allocated ones; held until add_sa uses it or release_spi. 0: none left.
    uint32_t alloc_spi();
    void release_spi(uint32_t spi);

    // Policies: selectors (several per side) and protect or discard. 0: refused (error says why).
    uint32_t add_policy(const sa::PolicySpec& spec, std::string& error);
    bool remove_policy(uint32_t id);

    // Installs the SA of spec for peer `peer_id` (keys expanded here). With policy_id, the SA
    // takes that policy's selectors, and an outbound SA becomes the one protecting its
    // traffic from the next packet on (a rekey: the SA it replaces stays installed until
    // deleted, as the old inbound SA keeps accepting). Without, the SA's own selectors make
    // its policy, and an outbound SA for the same remote selector replaces the old one.
    // bind_outbound false (with policy_id): the outbound SA is installed without taking the
    // policy's traffic until bind_outbound(); the SA it would replace keeps protecting it.
    bool add_sa(const sa::SaSpec& spec, uint32_t peer_id, uint64_t now, std::string& error,
                uint32_t policy_id = 0, bool bind_outbound = true);
    // Makes the installed outbound SA spi the one protecting policy_id's traffic.
    bool bind_outbound(uint32_t policy_id, uint32_t spi, std::string& error);
    bool delete_sa(sa::Direction dir, uint32_t spi);
    std::optional<SaUsage> query_sa(sa::Direction dir, uint32_t spi, uint64_t now) const;
    // Moves the peer of an SA (and so every SA of that peer), e.g. after IKE saw it elsewhere.
    bool update_peer(uint32_t peer_id, const sa::Endpoint& to, const uint8_t* addr6 = nullptr);
    // What NAT detection found. A NAT in front of us means the peer must not be followed to
    // where its packets seem to come from (RFC 7296 §2.23); one in front of the peer means it
    // is followed, unless configured otherwise (follow_allowed false).
    bool set_nat(uint32_t peer_id, bool nat_here, bool nat_there, bool follow_allowed = true);
    // Changes an SA's encapsulation (ESP in UDP or plain ESP), as when a NAT appears or goes
    // under MOBIKE (RFC 4555): an inbound SA accepts only the new one from the next packet on;
    // an outbound SA is replaced by a copy with the same keys that sends the new one and
    // continues the sequence numbers.
    bool update_encap(sa::Direction dir, uint32_t spi, sa::Encap encap, std::string& error);

    // Checks every SA's lifetimes and sequence number at now: soft limits and the sequence
    // number near its end are reported once; hard limits are reported and the SA deleted.
    // Run on a timer (about once a second).
    void check_lifetimes(uint64_t now);
    // The data plane saw traffic for policy_id without an SA (its rate-limited event).
    void acquired(uint32_t policy_id, const net::IpAddr& dst);

    // Outbound SAs are told when 2^32 - this many sequence numbers are left (no ESN).
    static constexpr uint64_t kSeqMargin = uint64_t{1} << 20;

private:
    struct Entry {
        uint32_t peer_id;
        bool udp;
        uint64_t added;
        sa::Lifetime soft, hard;
        bool soft_told = false, seq_told = false;
    };
    using Key = std::pair<sa::Direction, uint32_t>;
    std::optional<SaEvent::Limit> reached(const sa::Lifetime& l, const sa::SaCounters& c, uint64_t age_s) const;

    sa::SaTable& sas_;
    PeerTable& peers_;
    IMB_MGR* mgr_;
    uint64_t hz_;
    std::function<void(const SaEvent&)> on_event_;
    std::map<Key, Entry> entries_;
    std::set<uint32_t> allocated_;
    std::mt19937 rng_;
};

}  // namespace espgw::control
