// The initiator's side (RFC 7296 §1.2): for a site-to-site connection espgw starts the IKE SA.
// IKE_SA_INIT with our proposals, a key exchange for the first group, NAT detection and
// fragmentation support; a COOKIE or INVALID_KE_PAYLOAD answer makes us ask again as told;
// then IKE_AUTH (our identity and proof, the first CHILD SA's proposal and selectors) on the
// NAT-T port if a NAT is on the path, and from its answer the peer's proof checked and the
// CHILD SA installed with the selectors the responder narrowed to.
#include <openssl/crypto.h>

#include "engine_core.h"
#include "espgw/ike/nat_detection.h"
#include "espgw/ike/psk_auth.h"
#include "espgw/ike/signature_auth.h"
#include "espgw/ike/signed_octets.h"
#include "espgw/sa/policy.h"

namespace espgw::ike {

namespace {

std::span<const uint8_t> bytes_of(const std::string& s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

TsPayload selectors_of(const std::vector<net::Prefix>& v) {
    TsPayload t;
    for (const net::Prefix& p : v) t.selectors.push_back(selector_of(p));
    return t;
}

// Sends (or sends again, with a cookie or another group) our IKE_SA_INIT request.
void send_init(EngineCore& core, IkeSa& ike, uint64_t now_ms) {
    Message m;
    m.header.spi_i = ike.spi_i;
    m.header.exchange = ExchangeType::kIkeSaInit;
    m.header.initiator = true;
    if (!ike.cookie.empty()) m.payloads.push_back(notify_payload(NotifyType::kCookie, ike.cookie));
    m.payloads.push_back(payload(PayloadType::kSa, build_sa(offer(ike.conn->ike, ProtocolId::kIke, {}, true))));
    m.payloads.push_back(payload(PayloadType::kKe, build_ke(KePayload{static_cast<uint16_t>(ike.ke->group()), ike.ke->public_value()})));
    m.payloads.push_back(payload(PayloadType::kNonce, build_nonce(NoncePayload{ike.ni})));
    const NatdHash src = natd_hash(ike.spi_i, 0, ike.local.addr, ike.local.port);
    const NatdHash dst = natd_hash(ike.spi_i, 0, ike.remote.addr, ike.remote.port);
    m.payloads.push_back(notify_payload(NotifyType::kNatDetectionSourceIp, {src.begin(), src.end()}));
    m.payloads.push_back(notify_payload(NotifyType::kNatDetectionDestinationIp, {dst.begin(), dst.end()}));
    m.payloads.push_back(notify_payload(NotifyType::kIkev2FragmentationSupported));
    m.payloads.push_back(notify_payload(NotifyType::kSignatureHashAlgorithms, build_signature_hash_algorithms()));
    ike.init_request = build_message(m);
    Pending p;
    p.kind = Pending::Kind::kInit;
    p.message = {ike.init_request};
    p.tries = 1;
    p.first_ms = now_ms;
    p.next_ms = now_ms + core.cfg.retransmit_ms;
    core.send_to(ike, ike.init_request, ike.local, ike.remote);
    ike.pending = std::move(p);
}

void failed(EngineCore& core, IkeSa& ike, const std::string& why) {
    core.stats.initiate_failed++;
    core.log("IKE SA %s to %s failed: %s", core.name(ike).c_str(), core.where(ike.remote).c_str(), why.c_str());
    if (ike.first_child_spi) core.kernel.release_spi(ike.first_child_spi);
    ike.first_child_spi = 0;
    core.drop(ike.our_spi(), why.c_str());
}

}  // namespace

bool initiate(EngineCore& core, const Connection& conn, uint64_t now_ms) {
    if (!conn.remote_host || conn.ike.empty() || conn.ike.front().dh.empty()) return false;
    const net::IpAddr& to = *conn.remote_host;
    const auto& from = to.is_v4() ? core.cfg.local_v4 : core.cfg.local_v6;
    if (!from) {
        core.log("connection %s: no local address of that family to initiate from", conn.name.c_str());
        return false;
    }
    auto fresh = std::make_unique<IkeSa>();
    IkeSa& ike = *fresh;
    ike.we_initiated = true;
    ike.state = IkeSa::State::kInitSent;
    ike.spi_i = core.new_spi();
    ike.conn = &conn;
    ike.local = {*from, core.cfg.ike_port};
    ike.remote = {to, 500};
    ike.ni = core.random_bytes(32);
    ike.ke = KeyExchange::generate(DhGroup{conn.ike.front().dh.front().id});
    if (!ike.ke) return false;
    ike.created_ms = ike.last_heard_ms = now_ms;
    ike.next_request_id = 0;  // the responder's requests count from 0 in its own direction
    if (!conn.children.empty()) ike.first_child = &conn.children.front();
    core.stats.initiated++;
    core.log("IKE SA %s: initiating to %s", core.name(ike).c_str(), core.where(ike.remote).c_str());
    core.sas.emplace(ike.spi_i, std::move(fresh));
    send_init(core, ike, now_ms);
    return true;
}

void on_init_response(EngineCore& core, IkeSa& ike, const Datagram& d, const Message& m, uint64_t now_ms) {
    if (ike.state != IkeSa::State::kInitSent) return;
    // Error or cookie answers first (§2.6, §1.2).
    for (const RawPayload& p : m.payloads) {
        if (p.type != PayloadType::kNotify) continue;
        const auto n = parse_notify(p.body);
        if (!n) continue;
        if (n->type == NotifyType::kCookie) {
            if (!ike.cookie.empty() && ike.cookie == n->data) return;  // the same again: ignore
            ike.cookie = n->data;
            send_init(core, ike, now_ms);
            return;
        }
        if (n->type == NotifyType::kInvalidKePayload && n->data.size() == 2) {
            const uint16_t group = static_cast<uint16_t>(n->data[0] << 8 | n->data[1]);
            bool offered = false;
            for (const OurProposal& o : ike.conn->ike)
                for (const Transform& t : o.dh) offered |= t.id == group;
            if (!offered || group == static_cast<uint16_t>(ike.ke->group()))
                return failed(core, ike, "the responder wants a Diffie-Hellman group we do not offer");
            ike.ke = KeyExchange::generate(DhGroup{group});
            if (!ike.ke) return failed(core, ike, "cannot make a key for the requested group");
            send_init(core, ike, now_ms);
            return;
        }
        if (is_error(n->type))
            return failed(core, ike, "IKE_SA_INIT answered with error notify " + std::to_string(static_cast<int>(n->type)));
    }
    const RawPayload* sa_p = m.find(PayloadType::kSa);
    const RawPayload* ke_p = m.find(PayloadType::kKe);
    const RawPayload* nr_p = m.find(PayloadType::kNonce);
    if (!sa_p || !ke_p || !nr_p || m.header.spi_r == 0) return failed(core, ike, "IKE_SA_INIT answer without SA, KE or nonce");
    const auto sa = parse_sa(sa_p->body, SaKind::kAccepted);
    const auto ke = parse_ke(ke_p->body);
    const auto nr = parse_nonce(nr_p->body);
    if (!sa || !ke || !nr) return failed(core, ike, "malformed IKE_SA_INIT answer");
    // What the responder accepted must be something we offered.
    const Proposal& chosen = sa->proposals.front();
    if (!choose(ike.conn->ike, SaPayload{{chosen}}) || dh_group_of(chosen) != ke->group ||
        ke->group != static_cast<uint16_t>(ike.ke->group()))
        return failed(core, ike, "the responder chose what we did not offer");
    const auto g_ir = ike.ke->shared(ke->data);
    if (!g_ir) return failed(core, ike, "the responder's key exchange is not acceptable");
    ike.spi_r = m.header.spi_r;
    ike.nr = nr->nonce;
    ike.proposal = chosen;
    ike.prf = Prf{transform_of(chosen, TransformType::kPrf)};
    ike.suite = suite_of(chosen);
    const Secret seed = skeyseed(ike.prf, ike.ni, ike.nr, g_ir->bytes());
    auto keys = ike_sa_keys(ike.prf, seed.bytes(), ike.ni, ike.nr, ike.spi_i, ike.spi_r, integ_key_size(ike.suite),
                            encr_key_size(ike.suite));
    if (!keys) return failed(core, ike, "key derivation failed");
    ike.keys = std::move(*keys);
    ike.init_response = d.message;
    ike.ke.reset();
    // NAT detection (§2.23), from the responder's hashes as we received them.
    std::vector<std::vector<uint8_t>> src;
    std::vector<uint8_t> dst;
    for (const RawPayload& p : m.payloads) {
        if (p.type != PayloadType::kNotify) continue;
        const auto n = parse_notify(p.body);
        if (!n) continue;
        if (n->type == NotifyType::kNatDetectionSourceIp) src.push_back(n->data);
        if (n->type == NotifyType::kNatDetectionDestinationIp) dst = n->data;
        if (n->type == NotifyType::kIkev2FragmentationSupported) ike.peer_fragmentation = true;
        if (n->type == NotifyType::kSignatureHashAlgorithms)
            if (auto h = parse_signature_hash_algorithms(n->data)) ike.peer_signature_hashes = *h;
    }
    if (!src.empty() && dst.size() == 20)
        ike.nat = nat_verdict(ike.spi_i, ike.spi_r, src, dst, d.src, d.sport, d.dst, d.dport);
    // §2.23: with a NAT on the path, IKE moves to the NAT-T port from IKE_AUTH on.
    if (ike.nat.nat_here || ike.nat.nat_there) {
        ike.local.port = core.cfg.natt_port;
        ike.remote.port = 4500;
    }
    ike.pending.reset();

    // IKE_AUTH: who we are and our proof, then the first CHILD SA.
    const Connection& conn = *ike.conn;
    std::vector<RawPayload> out;
    ike.our_id = conn.local_id.id;
    const std::vector<uint8_t> idi_body = build_id(ike.our_id);
    out.push_back(payload(PayloadType::kIdi, idi_body));
    if (conn.local_auth == AuthKind::kPubkey)
        for (const CertPayload& c : conn.credentials->cert_payloads()) out.push_back(payload(PayloadType::kCert, build_cert(c)));
    if (!conn.remote_id.any && !conn.remote_id.wildcard) out.push_back(payload(PayloadType::kIdr, build_id(conn.remote_id.id)));
    if (conn.local_auth == AuthKind::kPsk) {
        const Secret a = psk_auth(ike.prf, bytes_of(conn.psk), ike.init_request, ike.nr, ike.keys.pi.bytes(), idi_body);
        out.push_back(payload(PayloadType::kAuth, build_auth(AuthPayload{AuthMethod::kSharedKeyMic, {a.bytes().begin(), a.bytes().end()}})));
    } else {
        std::string err;
        const auto octets = signed_octets(ike.prf, ike.init_request, ike.nr, ike.keys.pi.bytes(), idi_body);
        const auto a = sign_auth(*conn.credentials, octets, !ike.peer_signature_hashes.empty(), err);
        if (!a) return failed(core, ike, "cannot sign our AUTH: " + err);
        out.push_back(payload(PayloadType::kAuth, build_auth(*a)));
    }
    out.push_back(notify_payload(NotifyType::kInitialContact));
    if (const ChildConfig* child = ike.first_child) {
        ike.first_child_spi = core.kernel.alloc_spi();
        if (!ike.first_child_spi) return failed(core, ike, "no SPI left");
        if (child->mode == ChildMode::kTransport) out.push_back(notify_payload(NotifyType::kUseTransportMode));
        out.push_back(payload(PayloadType::kSa, build_sa(offer(child->esp, ProtocolId::kEsp, wire::bytes32(ike.first_child_spi), false))));
        const auto local = child->local_ts.empty() ? std::vector{net::Prefix::host(ike.local.addr)} : child->local_ts;
        const auto remote = child->remote_ts.empty() ? std::vector{net::Prefix::host(ike.remote.addr)} : child->remote_ts;
        out.push_back(payload(PayloadType::kTsi, build_ts(selectors_of(local))));
        out.push_back(payload(PayloadType::kTsr, build_ts(selectors_of(remote))));
    }
    ike.state = IkeSa::State::kAuthSent;
    ike.next_own_id = 1;  // IKE_SA_INIT was 0
    core.request(ike, ExchangeType::kIkeAuth, out, Pending::Kind::kAuth, now_ms);
}

void on_auth_response(EngineCore& core, IkeSa& ike, const std::vector<RawPayload>& in, uint64_t now_ms) {
    const Connection& conn = *ike.conn;
    for (const RawPayload& p : in)
        if (p.type == PayloadType::kNotify)
            if (auto n = parse_notify(p.body); n && n->type == NotifyType::kAuthenticationFailed)
                return failed(core, ike, "the responder refused our authentication");
    const RawPayload* idr_p = find_payload(in, PayloadType::kIdr);
    const RawPayload* auth_p = find_payload(in, PayloadType::kAuth);
    if (!idr_p || !auth_p) return failed(core, ike, "IKE_AUTH answer without IDr or AUTH");
    const auto idr = parse_id(idr_p->body);
    const auto auth = parse_auth(auth_p->body);
    if (!idr || !auth) return failed(core, ike, "malformed IDr or AUTH");
    if (!conn.remote_id.matches(*idr)) return failed(core, ike, "the responder is " + to_string(*idr) + ", not whom we expect");
    bool ok = false;
    std::string err = "AUTH does not verify";
    if (conn.remote_auth == AuthKind::kPsk) {
        const Secret want = psk_auth(ike.prf, bytes_of(conn.psk), ike.init_response, ike.ni, ike.keys.pr.bytes(), idr_p->body);
        ok = auth->method == AuthMethod::kSharedKeyMic && want.size() == auth->data.size() &&
             CRYPTO_memcmp(want.bytes().data(), auth->data.data(), want.size()) == 0;
    } else {
        std::vector<std::vector<uint8_t>> certs;
        for (const RawPayload& p : in)
            if (p.type == PayloadType::kCert)
                if (auto c = parse_cert(p.body); c && c->encoding == cert_encoding::kX509Signature) certs.push_back(c->data);
        if (certs.empty() || !conn.cas) {
            err = "no certificate from the responder";
        } else if (auto cert = conn.cas->verify(certs.front(), {certs.begin() + 1, certs.end()}, err)) {
            const auto octets = signed_octets(ike.prf, ike.init_response, ike.ni, ike.keys.pr.bytes(), idr_p->body);
            if (!cert->matches_id(*idr))
                err = "the responder's identity is not in its certificate";
            else
                ok = verify_auth(*cert, *auth, octets, err);
        }
    }
    if (!ok) {
        core.stats.auth_failed++;
        return failed(core, ike, "the responder's " + err);
    }
    ike.peer_id = *idr;
    ike.peer_name = to_string(*idr);
    ike.state = IkeSa::State::kEstablished;
    ike.established_ms = now_ms;
    if (conn.ike_rekey_s) {
        // Up to a tenth earlier, so that many SAs made at once do not rekey at once.
        uint32_t j = 0;
        core.kernel.random(std::span(reinterpret_cast<uint8_t*>(&j), sizeof j));
        ike.rekey_ms = now_ms + conn.ike_rekey_s * 1000 - j % (conn.ike_rekey_s * 100 + 1);
    }
    ike.peer = core.kernel.add_peer(conn.name + "#" + std::to_string(ike.spi_i % 100000), ike.remote, ike.nat.nat_here,
                                    ike.nat.nat_there);
    core.stats.established++;
    core.log("IKE SA %s established with %s (%s), %s%s%s", core.name(ike).c_str(), core.where(ike.remote).c_str(),
             ike.peer_name.c_str(), to_string(ike.proposal).c_str(), ike.nat.nat_there ? ", NAT in front of the peer" : "",
             ike.nat.nat_here ? ", NAT in front of us" : "");

    // The first CHILD SA, as the responder accepted and narrowed it.
    const ChildConfig* child = ike.first_child;
    const uint32_t spi_in = ike.first_child_spi;
    ike.first_child_spi = 0;
    if (!child) return;
    for (const RawPayload& p : in)
        if (p.type == PayloadType::kNotify)
            if (auto n = parse_notify(p.body); n && is_error(n->type)) {
                core.kernel.release_spi(spi_in);
                core.log("IKE SA %s: no CHILD SA: the responder answered error notify %d", core.name(ike).c_str(),
                         static_cast<int>(n->type));
                return;
            }
    const RawPayload* sa_p = find_payload(in, PayloadType::kSa);
    const RawPayload* tsi_p = find_payload(in, PayloadType::kTsi);
    const RawPayload* tsr_p = find_payload(in, PayloadType::kTsr);
    const auto sa = sa_p ? parse_sa(sa_p->body, SaKind::kAccepted) : Parsed<SaPayload>(ParseError{});
    const auto tsi = tsi_p ? parse_ts(tsi_p->body) : Parsed<TsPayload>(ParseError{});
    const auto tsr = tsr_p ? parse_ts(tsr_p->body) : Parsed<TsPayload>(ParseError{});
    ChildChoice ch;
    if (sa && tsi && tsr) {
        std::vector<OurProposal> esp = child->esp;
        for (OurProposal& o : esp) o.dh.clear();
        const Proposal& accepted = sa->proposals.front();
        const auto local = child->local_ts.empty() ? std::vector{net::Prefix::host(ike.local.addr)} : child->local_ts;
        const auto remote = child->remote_ts.empty() ? std::vector{net::Prefix::host(ike.remote.addr)} : child->remote_ts;
        if (accepted.spi.size() == 4 && choose(esp, SaPayload{{accepted}})) {
            ch.config = child;
            ch.proposal = accepted;
            // The responder may only narrow: what it answers must lie within what we asked for.
            ch.tsi = narrow(*tsi, local, espgw::sa::Selectors::kMax);
            ch.tsr = narrow(*tsr, remote, espgw::sa::Selectors::kMax);
            ch.transport = child->mode == ChildMode::kTransport && has_notify(in, NotifyType::kUseTransportMode);
            ch.ok = !ch.tsi.empty() && !ch.tsr.empty() && ch.tsi.selectors.size() == tsi->selectors.size() &&
                    ch.tsr.selectors.size() == tsr->selectors.size();
        }
    }
    std::string error = "the responder's SA or selectors are not what we offered";
    const auto keys = ch.ok ? child_keys(ike.prf, ike.keys.d.bytes(), {}, ike.ni, ike.nr, ch.proposal) : std::nullopt;
    if (!ch.ok || !keys || !core.install_child(ike, ch, *keys, spi_in, 0, now_ms, error, true)) {
        core.kernel.release_spi(spi_in);
        core.log("IKE SA %s: CHILD SA not installed: %s", core.name(ike).c_str(), error.c_str());
        return;
    }
    const ChildSa& c = ike.children.back();
    core.log("CHILD SA %s installed: %s === %s, SPIs in 0x%08x out 0x%08x, %s%s", c.name.c_str(),
             ch.tsi.prefixes.front().str().c_str(), ch.tsr.prefixes.front().str().c_str(), c.spi_in, c.spi_out,
             c.transport ? "transport" : "tunnel", c.udp ? ", ESP in UDP" : ", plain ESP");
}

}  // namespace espgw::ike
