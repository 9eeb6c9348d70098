#include "espgw/control/ike_kernel.h"

#include <openssl/rand.h>

#include <cstring>

#include "espgw/control/ike_io.h"
#include "espgw/ike/transform_ids.h"
#include "espgw/log.h"

namespace espgw::control {

bool esp_suite(uint16_t encr, uint16_t key_bits, uint16_t integ, crypto::Cipher& cipher, crypto::Integrity& integrity) {
    using namespace ike;
    switch (encr) {
    case encr_id::kAesGcm16:
        if (key_bits != 128 && key_bits != 256) return false;
        cipher = key_bits == 128 ? crypto::Cipher::aes128_gcm : crypto::Cipher::aes256_gcm;
        integrity = crypto::Integrity::none;
        return integ == integ_id::kNone;
    case encr_id::kChacha20Poly1305:
        cipher = crypto::Cipher::chacha20_poly1305;
        integrity = crypto::Integrity::none;
        return integ == integ_id::kNone;
    case encr_id::kAesCbc:
        if (key_bits != 128 && key_bits != 256) return false;
        cipher = key_bits == 128 ? crypto::Cipher::aes128_cbc : crypto::Cipher::aes256_cbc;
        break;
    default:
        return false;
    }
    switch (integ) {
    case integ_id::kHmacSha1_96: integrity = crypto::Integrity::hmac_sha1_96; return true;
    case integ_id::kHmacSha2_256_128: integrity = crypto::Integrity::hmac_sha256_128; return true;
    case integ_id::kHmacSha2_384_192: integrity = crypto::Integrity::hmac_sha384_192; return true;
    case integ_id::kHmacSha2_512_256: integrity = crypto::Integrity::hmac_sha512_256; return true;
    default: return false;
    }
}

uint32_t IkeKernel::add_peer(const std::string& name, const ike::UdpEnd& where, bool nat_here, bool nat_there) {
    sa::PeerInit init;
    init.name = name;
    init.id = peers_.unused_id();
    init.v6 = !where.addr.is_v4();
    if (init.v6)
        std::memcpy(init.addr6, where.addr.b, 16);
    else
        init.endpoint.addr = where.addr.v4();
    init.endpoint.port = where.port;
    init.endpoint.known = true;
    if (!peers_.add(init)) return 0;
    ipsec_.set_nat(init.id, nat_here, nat_there);
    return init.id;
}

void IkeKernel::move_peer(uint32_t peer, const ike::UdpEnd& where) {
    sa::Endpoint e;
    e.addr = where.addr.is_v4() ? where.addr.v4() : 0;
    e.port = where.port;
    e.known = true;
    ipsec_.update_peer(peer, e, where.addr.is_v4() ? nullptr : where.addr.b);
}

std::optional<ike::UdpEnd> IkeKernel::peer_location(uint32_t peer) {
    const sa::Peer* p = peers_.find(peer);
    if (!p) return std::nullopt;
    if (p->v6) {
        uint8_t a[16];
        const sa::Endpoint e = p->load6(a);
        return ike::UdpEnd{net::IpAddr::v6(a), e.port};
    }
    const sa::Endpoint e = p->endpoint();
    return ike::UdpEnd{net::IpAddr::v4(e.addr), e.port};
}

void IkeKernel::remove_peer(uint32_t peer) { peers_.remove(peer); }

uint32_t IkeKernel::install_child(const ike::ChildInstall& c, std::string& error) {
    crypto::Cipher cipher{};
    crypto::Integrity integrity{};
    if (!esp_suite(c.encr, c.key_bits, c.integ, cipher, integrity)) {
        error = "ESP transform not supported by the data plane";
        return 0;
    }
    const sa::Peer* peer = peers_.find(c.peer);
    if (!peer) {
        error = "no such peer";
        return 0;
    }
    uint32_t policy = c.policy;
    if (!policy) {
        sa::PolicySpec ps;
        ps.name = c.name;
        ps.local = c.local;
        ps.remote = c.remote;
        ps.action = sa::PolicyAction::protect;
        policy = ipsec_.add_policy(ps, error);
        if (!policy) return 0;
    }
    const uint64_t now = clock_();
    const auto spec = [&](sa::Direction dir) {
        sa::SaSpec s;
        sa::SaParams& p = s.params;
        const bool in = dir == sa::Direction::inbound;
        p.name = c.name + (in ? "-in" : "-out");
        p.spi = in ? c.spi_in : c.spi_out;
        p.direction = dir;
        p.mode = c.transport ? sa::Mode::transport : sa::Mode::tunnel;
        p.encap = c.udp ? sa::Encap::udp : sa::Encap::none;
        p.esn = c.esn;
        p.replay_window = c.replay_window;
        p.outer_v6 = peer->v6;
        p.local_addr = shared_.addr[dp::kPublic];
        std::memcpy(p.local_addr6, shared_.v6[dp::kPublic].addr, 16);
        p.local_port = shared_.natt_port;
        p.local_ts = c.local.front();
        p.remote_ts = c.remote.front();
        s.cipher = cipher;
        s.integrity = integrity;
        const ike::Secret& k = in ? c.key_in : c.key_out;
        const ike::Secret& a = in ? c.auth_in : c.auth_out;
        s.key.assign(k.bytes().begin(), k.bytes().end());
        s.auth_key.assign(a.bytes().begin(), a.bytes().end());
        s.soft = {c.rekey_bytes, c.rekey_packets, 0};
        s.hard = {c.life_bytes, c.life_packets, 0};
        return s;
    };
    if (!ipsec_.add_sa(spec(sa::Direction::inbound), c.peer, now, error, policy)) {
        if (!c.policy) ipsec_.remove_policy(policy);
        return 0;
    }
    if (!ipsec_.add_sa(spec(sa::Direction::outbound), c.peer, now, error, policy, !(c.policy && c.defer_outbound))) {
        ipsec_.delete_sa(sa::Direction::inbound, c.spi_in);
        if (!c.policy) ipsec_.remove_policy(policy);
        return 0;
    }
    return policy;
}

uint32_t IkeKernel::install_trap(const std::string& name, const std::vector<net::Prefix>& local,
                                 const std::vector<net::Prefix>& remote, std::string& error) {
    sa::PolicySpec ps;
    ps.name = name;
    ps.local = local;
    ps.remote = remote;
    ps.action = sa::PolicyAction::protect;
    return ipsec_.add_policy(ps, error);
}

bool IkeKernel::activate_outbound(uint32_t policy, uint32_t spi_out) {
    std::string error;
    if (ipsec_.bind_outbound(policy, spi_out, error)) return true;
    log_line("IKE: outbound SA 0x%08x not activated: %s", spi_out, error.c_str());
    return false;
}

void IkeKernel::remove_child(uint32_t policy, uint32_t spi_in, uint32_t spi_out, bool remove_policy) {
    if (spi_in) ipsec_.delete_sa(sa::Direction::inbound, spi_in);
    if (spi_out) ipsec_.delete_sa(sa::Direction::outbound, spi_out);
    if (remove_policy && policy) ipsec_.remove_policy(policy);
}

std::optional<ike::ChildUsage> IkeKernel::child_usage(uint32_t spi_in, uint32_t spi_out) {
    const uint64_t now = clock_();
    const auto in = ipsec_.query_sa(sa::Direction::inbound, spi_in, now);
    const auto out = ipsec_.query_sa(sa::Direction::outbound, spi_out, now);
    if (!in && !out) return std::nullopt;
    ike::ChildUsage u;
    if (in) {
        u.packets_in = in->packets;
        u.bytes_in = in->bytes;
        u.idle_in_s = in->idle_s;
    } else {
        u.idle_in_s = UINT64_MAX;
    }
    if (out) {
        u.packets_out = out->packets;
        u.bytes_out = out->bytes;
    }
    return u;
}

void IkeKernel::send(const ike::Datagram& d) {
    rte_mbuf* m = packet_from_datagram(shared_.pool, d);
    if (!m || !tx_.route(m)) send_failures++;
}

void IkeKernel::random(std::span<uint8_t> out) {
    if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) abort();  // no randomness: no keys
}

void IkeKernel::log(const std::string& line) { log_line("%s", line.c_str()); }

}  // namespace espgw::control
