// IKE_AUTH as responder (RFC 7296 §1.2, §2.15, §2.19, §3.15): find the connection the
// initiator's identity and our proposal fit, verify its AUTH with that connection's key,
// answer with our identity and AUTH, assign virtual IPs it asks for, and negotiate and install
// the first CHILD SA. A CHILD SA that cannot be made leaves the IKE SA up (§1.2), with the
// error in the answer; an identity that does not authenticate gets AUTHENTICATION_FAILED and
// its IKE SA goes.
#include <openssl/crypto.h>

#include <algorithm>

#include "engine_core.h"
#include "espgw/ike/config_payload.h"
#include "espgw/ike/psk_auth.h"
#include "espgw/ike/signature_auth.h"
#include "espgw/ike/signed_octets.h"

namespace espgw::ike {

namespace {

std::span<const uint8_t> bytes_of(const std::string& s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

bool psk_matches(const IkeSa& ike, const Connection& c, const RawPayload& idi, const AuthPayload& auth) {
    if (auth.method != AuthMethod::kSharedKeyMic || c.psk.empty()) return false;
    const Secret want = psk_auth(ike.prf, bytes_of(c.psk), ike.init_request, ike.nr, ike.keys.pi.bytes(), idi.body);
    return want.size() == auth.data.size() && CRYPTO_memcmp(want.bytes().data(), auth.data.data(), want.size()) == 0;
}

// The IKE proposal chosen in IKE_SA_INIT is one this connection accepts too.
bool accepts_proposal(const Connection& c, const Proposal& chosen) {
    SaPayload offer;
    offer.proposals.push_back(chosen);
    return choose(c.ike, offer).has_value();
}

std::vector<RawPayload> fail(EngineCore& core, IkeSa& ike, NotifyType t, const std::string& why) {
    core.leave_half_open(ike);  // while still half-open: it counts itself out
    ike.state = IkeSa::State::kDeleting;
    if (t == NotifyType::kAuthenticationFailed) core.stats.auth_failed++;
    core.log("IKE_AUTH from %s failed: %s", core.where(ike.remote).c_str(), why.c_str());
    return {notify_payload(t)};
}


}  // namespace

std::vector<RawPayload> respond_ike_auth(EngineCore& core, IkeSa& ike, const std::vector<RawPayload>& in,
                                         uint64_t now_ms) {
    const RawPayload* idi_p = find_payload(in, PayloadType::kIdi);
    const RawPayload* auth_p = find_payload(in, PayloadType::kAuth);
    const RawPayload* idr_p = find_payload(in, PayloadType::kIdr);
    if (!idi_p) return fail(core, ike, NotifyType::kInvalidSyntax, "no IDi payload");
    if (!auth_p) return fail(core, ike, NotifyType::kAuthenticationFailed, "no AUTH payload (EAP is not offered)");
    const auto idi = parse_id(idi_p->body);
    const auto auth = parse_auth(auth_p->body);
    if (!idi || !auth) return fail(core, ike, NotifyType::kInvalidSyntax, "malformed IDi or AUTH");
    std::optional<IdPayload> idr;
    if (idr_p) {
        auto p = parse_id(idr_p->body);
        if (!p) return fail(core, ike, NotifyType::kInvalidSyntax, "malformed IDr");
        idr = *p;
    }
    const std::string peer_name = to_string(*idi);
    // The peer's certificate and the intermediates it sent (X.509 only), for pubkey auth.
    std::vector<std::vector<uint8_t>> certs;
    for (const RawPayload& p : in)
        if (p.type == PayloadType::kCert)
            if (auto c = parse_cert(p.body); c && c->encoding == cert_encoding::kX509Signature) certs.push_back(c->data);

    // The connection: the first whose addresses, identities, proposal and proof all fit.
    const Connection* conn = nullptr;
    std::string why = "no connection for identity " + peer_name;
    for (const Connection& c : core.cfg.connections) {
        if (!c.accepts(ike.remote.addr) || !c.remote_id.matches(*idi)) continue;
        if (idr && !c.local_id.any && !c.local_id.matches(*idr)) continue;
        if (!accepts_proposal(c, ike.proposal)) continue;
        if (c.remote_auth == AuthKind::kPsk) {
            if (psk_matches(ike, c, *idi_p, *auth)) {
                conn = &c;
                break;
            }
            why = "identity " + peer_name + ": AUTH does not verify (wrong pre-shared key?)";
            continue;
        }
        // A certificate that chains to the connection's CAs, names the identity, and whose
        // key made the AUTH signature.
        if (certs.empty() || !c.cas) {
            why = "identity " + peer_name + ": no certificate sent";
            continue;
        }
        std::string err;
        const auto cert = c.cas->verify(certs.front(), {certs.begin() + 1, certs.end()}, err);
        if (!cert) {
            why = "identity " + peer_name + ": certificate not trusted: " + err;
            continue;
        }
        if (!cert->matches_id(*idi)) {
            why = "identity " + peer_name + " is not in its certificate";
            continue;
        }
        const auto octets = signed_octets(ike.prf, ike.init_request, ike.nr, ike.keys.pi.bytes(), idi_p->body);
        if (!verify_auth(*cert, *auth, octets, err)) {
            why = "identity " + peer_name + ": " + err;
            continue;
        }
        conn = &c;
        break;
    }
    if (!conn) return fail(core, ike, NotifyType::kAuthenticationFailed, why);
    ike.conn = conn;
    ike.peer_id = *idi;
    ike.peer_name = peer_name;

    // Uniqueness: the same identity on the same connection replaces its old IKE SAs (or, with
    // unique = keep, this one is refused); INITIAL_CONTACT says the peer lost its old ones.
    const bool initial_contact = has_notify(in, NotifyType::kInitialContact);
    std::vector<uint64_t> old;
    for (const auto& [spi, other] : core.sas)
        if (other.get() != &ike && other->state == IkeSa::State::kEstablished && other->conn == conn &&
            other->peer_name == peer_name)
            old.push_back(spi);
    if (!old.empty() && conn->unique == Unique::kKeep && !initial_contact)
        return fail(core, ike, NotifyType::kAuthenticationFailed, peer_name + " is connected already (unique = keep)");
    if (conn->unique != Unique::kNo || initial_contact)
        for (uint64_t spi : old)
            if (IkeSa* o = core.find(spi)) {
                core.stats.replaced++;
                core.remove(*o, now_ms, initial_contact ? "the peer made contact anew" : "replaced by a new IKE SA");
            }

    // Our side.
    core.leave_half_open(ike);
    ike.state = IkeSa::State::kEstablished;
    ike.established_ms = now_ms;
    ike.our_id = conn->local_id.id;
    const std::vector<uint8_t> idr_body = build_id(ike.our_id);
    std::vector<RawPayload> out;
    out.push_back(RawPayload{PayloadType::kIdr, false, 0, idr_body});
    if (conn->local_auth == AuthKind::kPsk) {
        const Secret a = psk_auth(ike.prf, bytes_of(conn->psk), ike.init_response, ike.ni, ike.keys.pr.bytes(), idr_body);
        out.push_back(RawPayload{PayloadType::kAuth, false, 0,
                                 build_auth(AuthPayload{AuthMethod::kSharedKeyMic,
                                                        std::vector<uint8_t>(a.bytes().begin(), a.bytes().end())})});
    } else {
        // Our certificate (and its chain), then the signature (RFC 7427 when the peer can).
        for (const CertPayload& c : conn->credentials->cert_payloads())
            out.push_back(RawPayload{PayloadType::kCert, false, 0, build_cert(c)});
        std::string err;
        const auto octets = signed_octets(ike.prf, ike.init_response, ike.ni, ike.keys.pr.bytes(), idr_body);
        const auto a = sign_auth(*conn->credentials, octets, !ike.peer_signature_hashes.empty(), err);
        if (!a) {
            // Our own key failed us: nothing the peer can mend, and nothing to establish.
            core.log("IKE SA %s: cannot sign our AUTH: %s", core.name(ike).c_str(), err.c_str());
            ike.state = IkeSa::State::kDeleting;
            core.stats.auth_failed++;
            return {notify_payload(NotifyType::kAuthenticationFailed)};
        }
        out.push_back(RawPayload{PayloadType::kAuth, false, 0, build_auth(*a)});
    }
    char pname[64];
    snprintf(pname, sizeof pname, "%s#%016llx", conn->name.c_str(), static_cast<unsigned long long>(ike.spi_r));
    ike.peer = core.kernel.add_peer(pname, ike.remote, ike.nat.nat_here, ike.nat.nat_there);
    core.stats.established++;
    core.log("IKE SA %s established with %s (%s), %s%s%s", core.name(ike).c_str(), core.where(ike.remote).c_str(),
             peer_name.c_str(), to_string(ike.proposal).c_str(), ike.nat.nat_there ? ", NAT in front of the peer" : "",
             ike.nat.nat_here ? ", NAT in front of us" : "");

    // Virtual IPs (CP): one per family asked for, from the connection's pools.
    bool address_failed = false;
    if (const RawPayload* cp_p = find_payload(in, PayloadType::kConfig)) {
        const auto cp = parse_cp(cp_p->body);
        if (cp && cp->type == CfgType::kRequest && !conn->pools.empty()) {
            CpPayload reply;
            reply.type = CfgType::kReply;
            for (int family : {4, 6}) {
                const uint16_t want = family == 4 ? cfg_attr::kInternalIp4Address : cfg_attr::kInternalIp6Address;
                if (!cp->asks(want)) continue;
                for (const std::string& pool_name : conn->pools) {
                    auto pool = core.pools.find(pool_name);
                    if (pool == core.pools.end() || pool->second.range().family != family) continue;
                    if (auto a = pool->second.acquire(peer_name)) {
                        ike.vips.emplace_back(pool_name, *a);
                        reply.attributes.push_back(family == 4 ? ip4_attribute(want, *a) : ip6_attribute(want, *a, 128));
                        core.log("IKE SA %s: virtual IP %s assigned to %s", core.name(ike).c_str(), a->str().c_str(),
                                 peer_name.c_str());
                    } else {
                        core.stats.pool_exhausted++;
                        core.log("IKE SA %s: pool %s exhausted", core.name(ike).c_str(), pool_name.c_str());
                    }
                    break;
                }
            }
            if (ike.vips.empty()) {
                address_failed = true;
            } else {
                for (const net::IpAddr& dns : conn->dns) {
                    const bool v4 = dns.is_v4();
                    if (cp->asks(v4 ? cfg_attr::kInternalIp4Dns : cfg_attr::kInternalIp6Dns))
                        reply.attributes.push_back(v4 ? ip4_attribute(cfg_attr::kInternalIp4Dns, dns)
                                                      : ip6_attribute(cfg_attr::kInternalIp6Dns, dns, 0));
                }
                out.push_back(RawPayload{PayloadType::kConfig, false, 0, build_cp(reply)});
            }
        }
    }

    // The first CHILD SA.
    const RawPayload* sa_p = find_payload(in, PayloadType::kSa);
    const RawPayload* tsi_p = find_payload(in, PayloadType::kTsi);
    const RawPayload* tsr_p = find_payload(in, PayloadType::kTsr);
    if (!sa_p || !tsi_p || !tsr_p) return out;  // an IKE SA without a CHILD SA (§1.2 allows it)
    if (address_failed) {
        out.push_back(notify_payload(NotifyType::kInternalAddressFailure));
        core.log("IKE SA %s: no virtual IP for %s, no CHILD SA", core.name(ike).c_str(), peer_name.c_str());
        return out;
    }
    auto sa = parse_sa(sa_p->body);
    auto tsi = parse_ts(tsi_p->body);
    auto tsr = parse_ts(tsr_p->body);
    if (!sa || !tsi || !tsr) {
        out.push_back(notify_payload(!tsi || !tsr ? NotifyType::kTsUnacceptable : NotifyType::kNoProposalChosen));
        return out;
    }
    ChildRequest req{*sa, *tsi, *tsr, has_notify(in, NotifyType::kUseTransportMode)};
    std::vector<net::Prefix> remote_dynamic;
    for (const auto& [pool, a] : ike.vips) remote_dynamic.push_back(net::Prefix::host(a));
    if (remote_dynamic.empty()) remote_dynamic.push_back(net::Prefix::host(ike.remote.addr));
    // IKE_AUTH's CHILD SA takes its keys from the IKE SA: no DH group in its proposal.
    std::vector<ChildConfig> children = conn->children;
    for (ChildConfig& c : children)
        for (OurProposal& p : c.esp) p.dh.clear();
    ChildChoice ch = choose_child(children, req, {net::Prefix::host(ike.local.addr)}, remote_dynamic);
    if (ch.ok) ch.config = &conn->children[static_cast<size_t>(ch.config - children.data())];
    if (!ch.ok) {
        if (ch.error == NotifyType::kTsUnacceptable)
            core.stats.ts_unacceptable++;
        else
            core.stats.no_proposal++;
        core.log("IKE SA %s: no CHILD SA: %s", core.name(ike).c_str(), ch.reason.c_str());
        out.push_back(notify_payload(ch.error));
        return out;
    }
    const uint32_t spi_in = core.kernel.alloc_spi();
    const auto keys = child_keys(ike.prf, ike.keys.d.bytes(), {}, ike.ni, ike.nr, ch.proposal);
    std::string err;
    if (!spi_in || !keys || !core.install_child(ike, ch, *keys, spi_in, 0, now_ms, err)) {
        if (spi_in) core.kernel.release_spi(spi_in);
        core.log("IKE SA %s: CHILD SA not installed: %s", core.name(ike).c_str(),
                 !spi_in ? "no SPI left" : !keys ? "key derivation failed" : err.c_str());
        out.push_back(notify_payload(NotifyType::kNoAdditionalSas));
        return out;
    }
    const ChildSa& c = ike.children.back();
    core.log("CHILD SA %s installed: %s === %s, SPIs in 0x%08x out 0x%08x, %s%s", c.name.c_str(),
             ch.tsr.prefixes.front().str().c_str(), ch.tsi.prefixes.front().str().c_str(), c.spi_in, c.spi_out,
             c.transport ? "transport" : "tunnel", c.udp ? ", ESP in UDP" : ", plain ESP");
    if (ch.transport) out.push_back(notify_payload(NotifyType::kUseTransportMode));
    Proposal accepted = ch.proposal;
    accepted.spi = wire::bytes32(spi_in);
    out.push_back(RawPayload{PayloadType::kSa, false, 0, build_sa(SaPayload{{accepted}})});
    out.push_back(RawPayload{PayloadType::kTsi, false, 0, build_ts(TsPayload{ch.tsi.selectors})});
    out.push_back(RawPayload{PayloadType::kTsr, false, 0, build_ts(TsPayload{ch.tsr.selectors})});
    return out;
}

}  // namespace espgw::ike
