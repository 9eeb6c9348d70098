#include "espgw/control/ipsec_api.h"

#include <openssl/rand.h>

#include <vector>

#include "espgw/crypto/sa_keys.h"

namespace espgw::control {

namespace {

std::mt19937 seeded() {
    uint32_t seed[8];
    if (RAND_bytes(reinterpret_cast<unsigned char*>(seed), sizeof seed) != 1) {
        std::random_device rd;
        for (uint32_t& s : seed) s = rd();
    }
    std::seed_seq seq(std::begin(seed), std::end(seed));
    return std::mt19937(seq);
}

}  // namespace

IpsecApi::IpsecApi(sa::SaTable& sas, PeerTable& peers, IMB_MGR* mgr, uint64_t tsc_hz,
                   std::function<void(const SaEvent&)> on_event)
    : sas_(sas), peers_(peers), mgr_(mgr), hz_(tsc_hz), on_event_(std::move(on_event)), rng_(seeded()) {}

uint32_t IpsecApi::alloc_spi() {
    // SPIs are not secret, but unpredictable ones make blind injection harder.
    for (int tries = 0; tries < 1000; ++tries) {
        const uint32_t spi = rng_();
        if (spi < 256 || allocated_.count(spi) || sas_.find(sa::Direction::inbound, spi)) continue;
        allocated_.insert(spi);
        return spi;
    }
    return 0;
}

void IpsecApi::release_spi(uint32_t spi) { allocated_.erase(spi); }

uint32_t IpsecApi::add_policy(const sa::PolicySpec& spec, std::string& error) { return sas_.add_policy(spec, error); }

bool IpsecApi::remove_policy(uint32_t id) { return sas_.remove_policy(id); }

void IpsecApi::acquired(uint32_t policy_id, const net::IpAddr& dst) {
    const sa::Policy* p = sas_.policy(policy_id);
    if (!p) return;  // removed meanwhile
    SaEvent ev{SaEvent::acquire, SaEvent::none, sa::Direction::outbound, 0, p->name, policy_id, dst};
    on_event_(ev);
}

bool IpsecApi::add_sa(const sa::SaSpec& spec, uint32_t peer_id, uint64_t now, std::string& error,
                      uint32_t policy_id, bool bind_outbound) {
    const sa::SaParams& p = spec.params;
    if (p.spi < 256) {
        error = "SPI " + std::to_string(p.spi) + " is reserved (RFC 4303: 1-255 are reserved, 0 is never sent)";
        return false;
    }
    std::shared_ptr<sa::Peer> peer = peers_.shared(peer_id);
    if (!peer) {
        error = "no peer " + std::to_string(peer_id);
        return false;
    }
    if (peer->v6 != p.outer_v6) {
        error = "the peer and the SA differ in the outer address family";
        return false;
    }
    auto sa = sa::Sa::make(p, peer);
    if (!crypto::expand_sa_keys(mgr_, spec.cipher, spec.integrity, spec.key, spec.auth_key, sa->keys, error)) return false;
    const Key key{p.direction, p.spi};
    // An outbound SA the table replaced (same selector, no policy named) takes its entry here
    // with it.
    uint32_t replaced = 0;
    if (!sas_.install(std::move(sa), error, policy_id, &replaced, bind_outbound)) return false;
    if (auto it = entries_.find({sa::Direction::outbound, replaced}); replaced && it != entries_.end()) {
        peers_.detach(it->second.peer_id, it->second.udp);
        entries_.erase(it);
    }
    allocated_.erase(p.spi);
    const bool udp = p.encap == sa::Encap::udp;
    peers_.attach(peer_id, udp);
    entries_[key] = Entry{peer_id, udp, now, spec.soft, spec.hard};
    return true;
}

bool IpsecApi::bind_outbound(uint32_t policy_id, uint32_t spi, std::string& error) {
    return sas_.bind(policy_id, spi, error);
}

bool IpsecApi::delete_sa(sa::Direction dir, uint32_t spi) {
    if (!sas_.remove(dir, spi)) return false;
    auto it = entries_.find({dir, spi});
    if (it != entries_.end()) {
        peers_.detach(it->second.peer_id, it->second.udp);
        entries_.erase(it);
    }
    return true;
}

std::optional<SaUsage> IpsecApi::query_sa(sa::Direction dir, uint32_t spi, uint64_t now) const {
    const sa::Sa* sa = sas_.find(dir, spi);
    auto it = entries_.find({dir, spi});
    if (!sa || it == entries_.end()) return std::nullopt;
    const sa::SaCounters c = sa->totals();
    const uint64_t age = (now - it->second.added) / hz_;
    const uint64_t last = sa->last_used_tsc.load(std::memory_order_relaxed);
    return SaUsage{c.packets, c.bytes, sa->seq_out.load(std::memory_order_relaxed), age,
                   last && last > it->second.added ? (now > last ? (now - last) / hz_ : 0) : age};
}

bool IpsecApi::update_peer(uint32_t peer_id, const sa::Endpoint& to, const uint8_t* addr6) {
    if (!peers_.find(peer_id)) return false;
    peers_.move(peer_id, to, addr6);
    return true;
}

bool IpsecApi::update_encap(sa::Direction dir, uint32_t spi, sa::Encap encap, std::string& error) {
    sa::Sa* sa = sas_.find(dir, spi);
    auto it = entries_.find({dir, spi});
    if (!sa || it == entries_.end()) {
        error = "no such SA";
        return false;
    }
    const bool udp = encap == sa::Encap::udp;
    if (dir == sa::Direction::inbound) {
        sa->accept_encap.store(encap, std::memory_order_relaxed);
        sa->params.encap = encap;  // for the control core and telemetry (workers read accept_encap)
    } else {
        sa::SaParams p = sa->params;
        p.encap = encap;
        auto fresh = sa::Sa::make(p, sa->peer_ref);
        fresh->keys = sa->keys;
        if (!sas_.replace_outbound(std::move(fresh), error)) return false;
    }
    if (it->second.udp != udp) {
        peers_.detach(it->second.peer_id, it->second.udp);
        peers_.attach(it->second.peer_id, udp);
        it->second.udp = udp;
    }
    return true;
}

bool IpsecApi::set_nat(uint32_t peer_id, bool nat_here, bool nat_there, bool follow_allowed) {
    sa::Peer* p = peers_.find(peer_id);
    if (!p) return false;
    p->set_nat(nat_here, nat_there);
    p->set_follows(follow_allowed && !nat_here);
    return true;
}

std::optional<SaEvent::Limit> IpsecApi::reached(const sa::Lifetime& l, const sa::SaCounters& c, uint64_t age_s) const {
    if (l.bytes && c.bytes >= l.bytes) return SaEvent::bytes;
    if (l.packets && c.packets >= l.packets) return SaEvent::packets;
    if (l.seconds && age_s >= l.seconds) return SaEvent::seconds;
    return std::nullopt;
}

void IpsecApi::check_lifetimes(uint64_t now) {
    std::vector<SaEvent> events;
    std::vector<Key> expired;
    for (auto& [key, e] : entries_) {
        const sa::Sa* sa = sas_.find(key.first, key.second);
        if (!sa) continue;
        const sa::SaCounters c = sa->totals();
        const uint64_t age = (now - e.added) / hz_;
        if (auto limit = reached(e.hard, c, age)) {
            events.push_back({SaEvent::hard_expired, *limit, key.first, key.second, sa->params.name});
            expired.push_back(key);
            continue;
        }
        if (!e.soft_told) {
            if (auto limit = reached(e.soft, c, age)) {
                events.push_back({SaEvent::soft_expired, *limit, key.first, key.second, sa->params.name});
                e.soft_told = true;
            }
        }
        if (!e.seq_told && key.first == sa::Direction::outbound &&
            sa->seq_out.load(std::memory_order_relaxed) >= (uint64_t{1} << 32) - kSeqMargin) {
            events.push_back({SaEvent::seq_near_end, SaEvent::sequence, key.first, key.second, sa->params.name});
            e.seq_told = true;
        }
    }
    for (const Key& k : expired) delete_sa(k.first, k.second);
    for (const SaEvent& ev : events) on_event_(ev);
}

}  // namespace espgw::control
