// CREATE_CHILD_SA as responder (RFC 7296 §1.3): a new CHILD SA, or the rekey of one (§1.3.3,
// REKEY_SA naming the SA it replaces). A rekey is make-before-break: the new pair is
// installed at once, the new inbound SA accepting from then on; our traffic moves to the new
// outbound SA when the initiator deletes the old pair (§2.8), as it can read the new one only
// after our answer. Until then the old inbound SA accepts what is still in flight. With a KE
// payload the new keys include a fresh Diffie-Hellman (PFS, §1.3.1).
// Rekeying the IKE SA itself (§1.3.2, §2.18): a new IKE SA with fresh Diffie-Hellman takes over
// the CHILD SAs, the peer and the virtual IPs; the old one waits for the peer's DELETE.
#include "engine_core.h"
#include "espgw/ike/key_exchange.h"

namespace espgw::ike {

namespace {

std::vector<RawPayload> refuse(EngineCore& core, IkeSa& ike, NotifyType t, const std::string& why,
                               std::vector<uint8_t> data = {}) {
    core.log("IKE SA %s: CREATE_CHILD_SA refused: %s", core.name(ike).c_str(), why.c_str());
    return {notify_payload(t, std::move(data))};
}

std::vector<RawPayload> rekey_ike_sa(EngineCore& core, IkeSa& old, const SaPayload& offer, const std::vector<uint8_t>& ni,
                                     const RawPayload* ke_p, uint64_t now_ms) {
    if (old.rekeyed) return refuse(core, old, NotifyType::kTemporaryFailure, "IKE SA already rekeyed");
    auto chosen = choose(old.conn->ike, offer);
    if (!chosen || chosen->spi.size() != 8) {
        core.stats.no_proposal++;
        return refuse(core, old, NotifyType::kNoProposalChosen, "no acceptable proposal for the new IKE SA");
    }
    const uint16_t group = dh_group_of(*chosen);
    const auto ke = ke_p ? parse_ke(ke_p->body) : Parsed<KePayload>(ParseError{});
    if (!ke_p || !ke || ke->group != group) {
        core.stats.invalid_ke++;
        return refuse(core, old, NotifyType::kInvalidKePayload, "KE of another group for the new IKE SA",
                      {static_cast<uint8_t>(group >> 8), static_cast<uint8_t>(group)});
    }
    auto ours = KeyExchange::generate(DhGroup{group});
    const auto g_ir = ours ? ours->shared(ke->data) : std::nullopt;
    if (!g_ir) return refuse(core, old, NotifyType::kNoProposalChosen, "Diffie-Hellman failed");

    auto fresh = std::make_unique<IkeSa>();
    IkeSa& n = *fresh;
    n.state = IkeSa::State::kEstablished;
    n.spi_i = wire::get64(chosen->spi.data());  // the rekey's initiator is the new SA's original initiator
    n.spi_r = core.new_spi();
    n.we_initiated = false;
    n.conn = old.conn;
    n.proposal = *chosen;
    n.proposal.spi.clear();
    n.prf = Prf{transform_of(*chosen, TransformType::kPrf)};
    n.suite = suite_of(*chosen);
    n.ni = ni;
    n.nr = core.random_bytes(32);
    // §2.18: SKEYSEED from the old SA's SK_d (with the old SA's PRF), then its keys as usual.
    const Secret seed = rekey_skeyseed(old.prf, old.keys.d.bytes(), g_ir->bytes(), n.ni, n.nr);
    auto keys = ike_sa_keys(n.prf, seed.bytes(), n.ni, n.nr, n.spi_i, n.spi_r, integ_key_size(n.suite),
                            encr_key_size(n.suite));
    if (!keys) return refuse(core, old, NotifyType::kNoProposalChosen, "key derivation failed");
    n.keys = std::move(*keys);
    n.local = old.local;
    n.remote = old.remote;
    n.init_from = old.init_from;
    n.nat = old.nat;
    n.peer_fragmentation = old.peer_fragmentation;
    n.next_request_id = 0;  // §2.18: the new IKE SA's message IDs start at 0
    n.peer_id = old.peer_id;
    n.our_id = old.our_id;
    n.peer_name = old.peer_name;
    n.created_ms = n.established_ms = n.last_heard_ms = now_ms;
    // Everything the old SA held moves.
    n.peer = old.peer;
    n.vips = std::move(old.vips);
    n.children = std::move(old.children);
    old.peer = 0;
    old.vips.clear();
    old.children.clear();
    old.pending.reset();
    old.rekeyed = true;
    old.rekeyed_ms = now_ms;
    core.sas.emplace(n.spi_r, std::move(fresh));
    core.stats.ike_rekeys++;
    core.log("IKE SA %s rekeyed: now %s, %s", core.name(old).c_str(), core.name(n).c_str(), to_string(n.proposal).c_str());

    Proposal accepted = *chosen;
    accepted.spi = wire::bytes64(n.spi_r);
    return {RawPayload{PayloadType::kSa, false, 0, build_sa(SaPayload{{accepted}})},
            RawPayload{PayloadType::kNonce, false, 0, build_nonce(NoncePayload{n.nr})},
            RawPayload{PayloadType::kKe, false, 0, build_ke(KePayload{group, ours->public_value()})}};
}

}  // namespace

std::vector<RawPayload> respond_create_child(EngineCore& core, IkeSa& ike, const std::vector<RawPayload>& in,
                                             uint64_t now_ms) {
    // A rekeyed IKE SA has handed its CHILD SAs and peer to its successor: it only waits for its
    // DELETE (RFC 7296 §2.18), and nothing new may be made under it.
    if (ike.rekeyed || !ike.peer) return refuse(core, ike, NotifyType::kTemporaryFailure, "the IKE SA was rekeyed");
    const RawPayload* sa_p = find_payload(in, PayloadType::kSa);
    const RawPayload* ni_p = find_payload(in, PayloadType::kNonce);
    if (!sa_p || !ni_p) return refuse(core, ike, NotifyType::kInvalidSyntax, "no SA or nonce");
    const auto sa = parse_sa(sa_p->body);
    const auto ni = parse_nonce(ni_p->body);
    if (!sa || !ni) return refuse(core, ike, NotifyType::kInvalidSyntax, "malformed SA or nonce");
    if (!sa->proposals.empty() && sa->proposals.front().protocol == ProtocolId::kIke)
        return rekey_ike_sa(core, ike, *sa, ni->nonce, find_payload(in, PayloadType::kKe), now_ms);

    // A rekey names the SA it replaces by the SPI the peer receives on (our outbound SPI).
    ChildSa* old = nullptr;
    for (const RawPayload& p : in) {
        if (p.type != PayloadType::kNotify) continue;
        const auto n = parse_notify(p.body);
        if (!n || n->type != NotifyType::kRekeySa) continue;
        if (n->spi.size() != 4) return refuse(core, ike, NotifyType::kInvalidSyntax, "REKEY_SA without an ESP SPI");
        const uint32_t spi = wire::get32(n->spi.data());
        old = ike.child_by_spi_out(spi);
        if (!old)
            return {notify_payload(NotifyType::kChildSaNotFound, {}, ProtocolId::kEsp, n->spi)};
    }
    const RawPayload* tsi_p = find_payload(in, PayloadType::kTsi);
    const RawPayload* tsr_p = find_payload(in, PayloadType::kTsr);
    if (!tsi_p || !tsr_p) return refuse(core, ike, NotifyType::kInvalidSyntax, "no traffic selectors");
    const auto tsi = parse_ts(tsi_p->body);
    const auto tsr = parse_ts(tsr_p->body);
    if (!tsi || !tsr) return refuse(core, ike, NotifyType::kTsUnacceptable, "unreadable traffic selectors");

    ChildRequest req{*sa, *tsi, *tsr, has_notify(in, NotifyType::kUseTransportMode)};
    // A rekey keeps its child's configuration; a new CHILD SA may be any of the connection's.
    std::vector<ChildConfig> children;
    if (old)
        children.push_back(*old->config);
    else
        children = ike.conn->children;
    const RawPayload* ke_p = find_payload(in, PayloadType::kKe);
    if (!ke_p)
        for (ChildConfig& c : children)
            for (OurProposal& p : c.esp) p.dh.clear();
    std::vector<net::Prefix> remote_dynamic;
    for (const auto& [pool, a] : ike.vips) remote_dynamic.push_back(net::Prefix::host(a));
    if (remote_dynamic.empty()) remote_dynamic.push_back(net::Prefix::host(ike.remote.addr));
    ChildChoice ch = choose_child(children, req, {net::Prefix::host(ike.local.addr)}, remote_dynamic);
    if (!ch.ok) {
        if (ch.error == NotifyType::kTsUnacceptable) core.stats.ts_unacceptable++;
        else core.stats.no_proposal++;
        return refuse(core, ike, ch.error, ch.reason);
    }
    // Point the choice at the connection's own child config (the copy goes away).
    const ChildConfig* config = old ? old->config : nullptr;
    if (!config)
        for (const ChildConfig& c : ike.conn->children)
            if (c.name == ch.config->name) config = &c;
    ch.config = config;

    // PFS: the chosen proposal's group needs the initiator's KE of that group.
    std::optional<Secret> g_ir;
    std::unique_ptr<KeyExchange> ours;
    if (const uint16_t group = dh_group_of(ch.proposal)) {
        const auto ke = ke_p ? parse_ke(ke_p->body) : Parsed<KePayload>(ParseError{});
        if (!ke_p || !ke || ke->group != group) {
            core.stats.invalid_ke++;
            return refuse(core, ike, NotifyType::kInvalidKePayload, "KE of another group",
                          {static_cast<uint8_t>(group >> 8), static_cast<uint8_t>(group)});
        }
        ours = KeyExchange::generate(DhGroup{group});
        if (ours) g_ir = ours->shared(ke->data);
        if (!g_ir) return refuse(core, ike, NotifyType::kNoProposalChosen, "Diffie-Hellman failed");
    }
    const std::vector<uint8_t> nr = core.random_bytes(32);
    const std::span<const uint8_t> gir = g_ir ? g_ir->bytes() : std::span<const uint8_t>{};
    const auto keys = child_keys(ike.prf, ike.keys.d.bytes(), gir, ni->nonce, nr, ch.proposal);
    const uint32_t spi_in = core.kernel.alloc_spi();
    std::string err;
    // A rekey keeps sending on the old SA until the initiator deletes it (§2.8): it installs
    // its new inbound SA only when our answer arrives.
    if (!spi_in || !keys ||
        !core.install_child(ike, ch, *keys, spi_in, old ? old->policy : 0, now_ms, err, false, old != nullptr)) {
        if (spi_in) core.kernel.release_spi(spi_in);
        return refuse(core, ike, NotifyType::kNoAdditionalSas, !spi_in ? "no SPI left" : !keys ? "key derivation failed" : err);
    }
    // install_child appended; `old` may have moved with the vector.
    ChildSa& made = ike.children.back();
    if (old) {
        old = nullptr;
        for (ChildSa& c : ike.children)
            if (&c != &made && c.policy == made.policy && !c.rekeyed) {
                c.rekeyed = true;
                // The initiator deletes it (§2.8); if it never does, its life ends soon anyway.
                const uint64_t grace = now_ms + 60'000;
                if (!c.expire_ms || c.expire_ms > grace) c.expire_ms = grace;
                old = &c;
            }
        core.stats.child_rekeys++;
        core.log("CHILD SA %s rekeyed: SPIs in 0x%08x out 0x%08x%s", made.name.c_str(), made.spi_in, made.spi_out,
                 g_ir ? " (PFS)" : "");
    } else {
        core.log("CHILD SA %s installed: SPIs in 0x%08x out 0x%08x", made.name.c_str(), made.spi_in, made.spi_out);
    }
    std::vector<RawPayload> out;
    if (ch.transport) out.push_back(notify_payload(NotifyType::kUseTransportMode));
    Proposal accepted = ch.proposal;
    accepted.spi = wire::bytes32(spi_in);
    out.push_back(RawPayload{PayloadType::kSa, false, 0, build_sa(SaPayload{{accepted}})});
    out.push_back(RawPayload{PayloadType::kNonce, false, 0, build_nonce(NoncePayload{nr})});
    if (ours)
        out.push_back(RawPayload{PayloadType::kKe, false, 0,
                                 build_ke(KePayload{static_cast<uint16_t>(ours->group()), ours->public_value()})});
    out.push_back(RawPayload{PayloadType::kTsi, false, 0, build_ts(TsPayload{ch.tsi.selectors})});
    out.push_back(RawPayload{PayloadType::kTsr, false, 0, build_ts(TsPayload{ch.tsr.selectors})});
    return out;
}

}  // namespace espgw::ike
