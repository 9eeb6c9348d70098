// Rekeying a CHILD SA ourselves (RFC 7296 §1.3.3, §2.8) when its time or a soft limit comes:
// CREATE_CHILD_SA with REKEY_SA naming it, a fresh SPI, nonce and (with PFS) key exchange. The
// answer's SA is installed at once and takes over the policy (make-before-break), then we
// delete the old pair; its inbound SA accepts until the peer has answered that DELETE. If the
// peer rekeyed the same SA at the same time (§2.8.1), the spare new SA we made is deleted.
#include "engine_core.h"
#include "espgw/sa/policy.h"

namespace espgw::ike {


bool start_child_rekey(EngineCore& core, IkeSa& ike, ChildSa& old, uint64_t now_ms) {
    if (ike.pending || old.rekeyed || !old.config) return false;
    const uint32_t spi_in = core.kernel.alloc_spi();
    if (!spi_in) return false;
    IkeSa::ChildRekey r;
    r.old_spi_in = old.spi_in;
    r.new_spi_in = spi_in;
    r.ni = core.random_bytes(32);
    const ChildConfig& cfg = *old.config;
    std::vector<RawPayload> out;
    out.push_back(notify_payload(NotifyType::kRekeySa, {}, ProtocolId::kEsp, wire::bytes32(old.spi_in)));
    if (old.transport) out.push_back(notify_payload(NotifyType::kUseTransportMode));
    uint16_t group = 0;  // PFS with the first group offered
    for (const OurProposal& o : cfg.esp)
        if (!group && !o.dh.empty()) group = o.dh.front().id;
    out.push_back(payload(PayloadType::kSa, build_sa(offer(cfg.esp, ProtocolId::kEsp, wire::bytes32(spi_in), true))));
    out.push_back(payload(PayloadType::kNonce, build_nonce(NoncePayload{r.ni})));
    if (group) {
        r.ke = KeyExchange::generate(DhGroup{group});
        if (!r.ke) {
            core.kernel.release_spi(spi_in);
            return false;
        }
        out.push_back(payload(PayloadType::kKe, build_ke(KePayload{group, r.ke->public_value()})));
    }
    // We start this exchange: TSi is our side.
    TsPayload tsi, tsr;
    for (const net::Prefix& p : old.local) tsi.selectors.push_back(selector_of(p));
    for (const net::Prefix& p : old.remote) tsr.selectors.push_back(selector_of(p));
    out.push_back(payload(PayloadType::kTsi, build_ts(tsi)));
    out.push_back(payload(PayloadType::kTsr, build_ts(tsr)));
    ike.child_rekey = std::move(r);
    core.log("CHILD SA %s: rekeying", old.name.c_str());
    return core.request(ike, ExchangeType::kCreateChildSa, out, Pending::Kind::kRekeyChild, now_ms, old.spi_in);
}

void on_child_rekey_response(EngineCore& core, IkeSa& ike, const std::vector<RawPayload>& in, uint64_t now_ms) {
    if (!ike.child_rekey) return;
    IkeSa::ChildRekey r = std::move(*ike.child_rekey);
    ike.child_rekey.reset();
    ChildSa* old = ike.child_by_spi_in(r.old_spi_in);
    const auto give_up = [&](const std::string& why) {
        core.kernel.release_spi(r.new_spi_in);
        core.log("IKE SA %s: CHILD SA rekey failed: %s", core.name(ike).c_str(), why.c_str());
        // Try again later, as long as the SA lives.
        if (ChildSa* o = ike.child_by_spi_in(r.old_spi_in); o && o->rekey_ms) o->rekey_ms = now_ms + 30'000;
    };
    for (const RawPayload& p : in)
        if (p.type == PayloadType::kNotify)
            if (auto n = parse_notify(p.body); n && is_error(n->type))
                return give_up("the peer answered error notify " + std::to_string(static_cast<int>(n->type)));
    const RawPayload* sa_p = find_payload(in, PayloadType::kSa);
    const RawPayload* nr_p = find_payload(in, PayloadType::kNonce);
    const RawPayload* tsi_p = find_payload(in, PayloadType::kTsi);
    const RawPayload* tsr_p = find_payload(in, PayloadType::kTsr);
    if (!sa_p || !nr_p || !tsi_p || !tsr_p) return give_up("answer without SA, nonce or selectors");
    const auto sa = parse_sa(sa_p->body, SaKind::kAccepted);
    const auto nr = parse_nonce(nr_p->body);
    const auto tsi = parse_ts(tsi_p->body);
    const auto tsr = parse_ts(tsr_p->body);
    if (!sa || !nr || !tsi || !tsr) return give_up("malformed answer");
    if (!old || old->rekeyed) {
        // The peer rekeyed it meanwhile (or it went): the pair we just made is spare; delete it.
        core.log("IKE SA %s: CHILD SA rekey collided with the peer's; deleting the spare", core.name(ike).c_str());
        core.request(ike, ExchangeType::kInformational,
                     {RawPayload{PayloadType::kDelete, false, 0, build_delete(DeletePayload{ProtocolId::kEsp, {r.new_spi_in}})}},
                     Pending::Kind::kDeleteChild, now_ms, 0);
        core.kernel.release_spi(r.new_spi_in);
        return;
    }
    const Proposal& accepted = sa->proposals.front();
    if (accepted.spi.size() != 4 || !choose(old->config->esp, SaPayload{{accepted}}))
        return give_up("the peer chose what we did not offer");
    std::optional<Secret> g_ir;
    if (const uint16_t group = dh_group_of(accepted)) {
        const RawPayload* ke_p = find_payload(in, PayloadType::kKe);
        const auto ke = ke_p ? parse_ke(ke_p->body) : Parsed<KePayload>(ParseError{});
        if (!r.ke || !ke || ke->group != group || static_cast<uint16_t>(r.ke->group()) != group)
            return give_up("no key exchange of the chosen group");
        g_ir = r.ke->shared(ke->data);
        if (!g_ir) return give_up("the peer's key exchange is not acceptable");
    }
    ChildChoice ch;
    ch.ok = true;
    ch.config = old->config;
    ch.proposal = accepted;
    ch.tsi = narrow(*tsi, old->local, espgw::sa::Selectors::kMax);
    ch.tsr = narrow(*tsr, old->remote, espgw::sa::Selectors::kMax);
    ch.transport = old->transport;
    if (ch.tsi.empty() || ch.tsr.empty()) return give_up("the peer's selectors are not the SA's");
    const std::span<const uint8_t> gir = g_ir ? g_ir->bytes() : std::span<const uint8_t>{};
    const auto keys = child_keys(ike.prf, ike.keys.d.bytes(), gir, r.ni, nr->nonce, accepted);
    std::string err = "key derivation failed";
    const uint32_t policy = old->policy;
    if (!keys || !core.install_child(ike, ch, *keys, r.new_spi_in, policy, now_ms, err, true)) return give_up(err);
    // install_child appended to children: find the old one again.
    old = ike.child_by_spi_in(r.old_spi_in);
    old->rekeyed = true;
    core.stats.child_rekeys++;
    const ChildSa& made = ike.children.back();
    core.log("CHILD SA %s rekeyed by us: SPIs in 0x%08x out 0x%08x%s", made.name.c_str(), made.spi_in, made.spi_out,
             g_ir ? " (PFS)" : "");
    // The old pair goes: told to the peer now, removed here when it answers (its last packets
    // on the old SA still arrive meanwhile).
    core.request(ike, ExchangeType::kInformational,
                 {RawPayload{PayloadType::kDelete, false, 0, build_delete(DeletePayload{ProtocolId::kEsp, {r.old_spi_in}})}},
                 Pending::Kind::kDeleteChild, now_ms, r.old_spi_in);
}

}  // namespace espgw::ike
