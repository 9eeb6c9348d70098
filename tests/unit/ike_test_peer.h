// For the engine's unit tests: an IKEv2 initiator made of lib/ike's parts (codec, key
// exchange, KDF, SK, PSK AUTH) playing the road warrior, and a Kernel that keeps in memory
// what the engine asks of the data plane. The acceptance tests use strongSwan instead; this
// one can be made to misbehave (wrong key, retransmissions, silence) on cue.
#pragma once

#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "espgw/ike/child_sa.h"
#include "espgw/ike/config_payload.h"
#include "espgw/ike/encrypted.h"
#include "espgw/ike/engine.h"
#include "espgw/ike/key_exchange.h"
#include "espgw/ike/kernel.h"

namespace espgw::ike::test {

class MemoryKernel final : public Kernel {
public:
    struct Peer {
        std::string name;
        UdpEnd where;
        bool nat_here, nat_there;
    };
    uint32_t alloc_spi() override { return next_spi_++; }
    void release_spi(uint32_t spi) override { released.insert(spi); }
    uint32_t add_peer(const std::string& name, const UdpEnd& where, bool nat_here, bool nat_there) override {
        peers[++last_peer_] = Peer{name, where, nat_here, nat_there};
        return last_peer_;
    }
    void move_peer(uint32_t peer, const UdpEnd& where) override { peers.at(peer).where = where; }
    std::optional<UdpEnd> peer_location(uint32_t peer) override {
        auto it = peers.find(peer);
        if (it == peers.end()) return std::nullopt;
        return it->second.where;
    }
    void remove_peer(uint32_t peer) override { peers.erase(peer); }
    uint32_t install_child(const ChildInstall& c, std::string& error) override {
        if (fail_install) {
            error = "refused by the test";
            return 0;
        }
        children[c.spi_in] = c;
        const uint32_t policy = c.policy ? c.policy : ++last_policy_;
        policy_of[c.spi_in] = policy;
        if (!(c.policy && c.defer_outbound)) sending_on[policy] = c.spi_out;
        return policy;
    }
    bool activate_outbound(uint32_t policy, uint32_t spi_out) override {
        const bool known = std::any_of(children.begin(), children.end(),
                                       [&](const auto& c) { return c.second.spi_out == spi_out && policy_of[c.first] == policy; });
        if (known) sending_on[policy] = spi_out;
        return known;
    }
    uint32_t install_trap(const std::string& name, const std::vector<net::Prefix>&, const std::vector<net::Prefix>&,
                          std::string&) override {
        traps[++last_policy_] = name;
        return last_policy_;
    }
    void remove_child(uint32_t policy, uint32_t spi_in, uint32_t spi_out, bool remove_policy) override {
        children.erase(spi_in);
        if (auto s = sending_on.find(policy); s != sending_on.end() && s->second == spi_out) sending_on.erase(s);
        removed.push_back(spi_in);
        if (remove_policy) removed_policies.push_back(policy);
    }
    std::optional<ChildUsage> child_usage(uint32_t spi_in, uint32_t) override {
        if (!children.count(spi_in)) return std::nullopt;
        ChildUsage u;
        u.idle_in_s = esp_idle_s;
        return u;
    }
    void send(const Datagram& d) override { sent.push_back(d); }
    void random(std::span<uint8_t> out) override {
        for (uint8_t& b : out) b = static_cast<uint8_t>(rng_());
    }
    void log(const std::string& line) override { lines.push_back(line); }

    // What the engine did.
    std::map<uint32_t, ChildInstall> children;  // by spi_in
    std::map<uint32_t, uint32_t> policy_of;     // spi_in -> policy
    std::map<uint32_t, uint32_t> sending_on;    // policy -> the outbound SPI its traffic takes
    std::map<uint32_t, std::string> traps;      // policies without SAs
    std::vector<uint32_t> removed, removed_policies;
    std::set<uint32_t> released;
    std::map<uint32_t, Peer> peers;
    std::vector<Datagram> sent;
    std::vector<std::string> lines;
    bool fail_install = false;
    uint64_t esp_idle_s = 1000000;  // no ESP arriving, unless a test says so

    Datagram take_last() {  // the newest datagram sent (an answer comes after what its request caused)
        Datagram d = sent.back();
        sent.pop_back();
        return d;
    }
    Datagram take() {  // the oldest datagram sent and not yet taken
        Datagram d = sent.front();
        sent.erase(sent.begin());
        return d;
    }

private:
    uint32_t next_spi_ = 0xc0000001, last_peer_ = 0, last_policy_ = 0;
    std::mt19937 rng_{7};
};

// What the road warrior asks for in IKE_AUTH.
struct AuthAsk {
    std::string esp = "aes128gcm16";
    TsPayload tsi, tsr;  // default: everything on both sides
    bool cp = true;      // ask for a virtual IPv4 address and DNS
    bool transport = false;
    bool initial_contact = false;
    bool with_child = true;
};

class TestInitiator {
public:
    // me: where it sends from as it believes (NAT-D hashes name this); sent_from: where its
    // datagrams appear to come from at the gateway (differs behind a NAT).
    TestInitiator(UdpEnd me, UdpEnd gw, std::string psk, std::string id, UdpEnd sent_from = {},
                  std::string proposal = "aes128gcm16-prfsha256-curve25519");

    Datagram sa_init(const std::vector<uint8_t>& cookie = {});
    // Takes the gateway's IKE_SA_INIT answer: keys derived, or false (cookie/error: see last_notify).
    bool on_sa_init(const Datagram& d);
    Datagram ike_auth(const AuthAsk& ask);
    // The same IKE_AUTH in RFC 7383 fragments of at most `size` octets each (padding payloads
    // may be added to make it big), and any request that way.
    std::vector<Datagram> ike_auth_fragments(const AuthAsk& ask, size_t size, size_t padding = 0);
    std::vector<Datagram> request_fragments(ExchangeType ex, const std::vector<RawPayload>& inner, size_t size);
    // A request under the IKE SA (next message ID), and the answer to a gateway request.
    Datagram request(ExchangeType ex, const std::vector<RawPayload>& inner);
    Datagram answer(const Datagram& request, const std::vector<RawPayload>& inner);
    // The payloads inside a gateway message (nullopt: did not open).
    std::optional<std::vector<RawPayload>> open(const Datagram& d) const;
    // The responder's AUTH in an IKE_AUTH answer verifies with the PSK.
    bool responder_auth_ok(const std::vector<RawPayload>& payloads) const;
    // The CHILD SA keys both sides must have derived for an accepted ESP proposal.
    std::optional<ChildKeys> child_keys_for(const Proposal& esp, std::span<const uint8_t> ni,
                                            std::span<const uint8_t> nr, std::span<const uint8_t> g_ir = {}) const;

    uint64_t spi_i = 0, spi_r = 0;
    std::vector<uint8_t> ni, nr;
    std::vector<uint8_t> cookie_seen;
    std::optional<NotifyType> last_notify;
    IkeSaKeys keys;
    Prf prf{};
    SkSuite suite;
    uint32_t next_mid = 1;
    Datagram last_auth;  // the IKE_AUTH request as sent (to retransmit)
    UdpEnd me, gw, from;
    std::string psk, id;

private:
    Datagram wrap(std::vector<uint8_t> msg, bool marker) const;
    std::vector<RawPayload> auth_payloads(const AuthAsk& ask);
    std::string proposal_;
    std::shared_ptr<KeyExchange> ke_;  // shared: a copy carries on under a rekeyed IKE SA
    std::vector<uint8_t> init_request_, init_response_;
};

// "10.1.0.0/24" -> a selector; "*" -> every IPv4 address.
TrafficSelector ts(const std::string& prefix);
std::optional<NotifyPayload> find_notify(const std::vector<RawPayload>& p, NotifyType t);

}  // namespace espgw::ike::test
