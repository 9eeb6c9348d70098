// Rekeying an IKE SA we initiated (RFC 7296 §1.3.2, §2.18), when it has lived ike_rekey_s
// (less some jitter): CREATE_CHILD_SA with an IKE proposal carrying our new SPI, a nonce and a
// key exchange. From the answer the new IKE SA's keys (SKEYSEED from the old SK_d); the CHILD
// SAs, the peer and the virtual IPs move to it, and the old IKE SA is deleted under its own keys.
// IKE SAs that peers initiated are rekeyed by those peers (road warriors do it themselves),
// which keeps both ends from rekeying at once (§2.8.2).
#include "engine_core.h"

namespace espgw::ike {


bool start_ike_rekey(EngineCore& core, IkeSa& ike, uint64_t now_ms) {
    const uint16_t current = dh_group_of(ike.proposal);
    if (ike.pending || ike.rekeyed || !ike.conn || !current) return false;
    IkeSa::IkeRekey r;
    r.new_spi = core.new_spi();
    r.ni = core.random_bytes(32);
    // The group the peer chose for this IKE SA: it takes it again (no INVALID_KE_PAYLOAD round).
    r.ke = KeyExchange::generate(DhGroup{current});
    if (!r.ke) return false;
    const uint16_t group = static_cast<uint16_t>(r.ke->group());
    std::vector<RawPayload> out = {
        RawPayload{PayloadType::kSa, false, 0, build_sa(offer(ike.conn->ike, ProtocolId::kIke, wire::bytes64(r.new_spi), true))},
        RawPayload{PayloadType::kNonce, false, 0, build_nonce(NoncePayload{r.ni})},
        RawPayload{PayloadType::kKe, false, 0, build_ke(KePayload{group, r.ke->public_value()})}};
    ike.ike_rekey = std::move(r);
    core.log("IKE SA %s: rekeying", core.name(ike).c_str());
    return core.request(ike, ExchangeType::kCreateChildSa, out, Pending::Kind::kRekeyIke, now_ms);
}

void on_ike_rekey_response(EngineCore& core, IkeSa& old, const std::vector<RawPayload>& in, uint64_t now_ms) {
    if (!old.ike_rekey) return;
    IkeSa::IkeRekey r = std::move(*old.ike_rekey);
    old.ike_rekey.reset();
    const auto retry = [&](const std::string& why) {
        core.log("IKE SA %s: rekey failed: %s", core.name(old).c_str(), why.c_str());
        old.rekey_ms = now_ms + 60'000;
    };
    for (const RawPayload& p : in)
        if (p.type == PayloadType::kNotify)
            if (auto n = parse_notify(p.body); n && is_error(n->type))
                return retry("the peer answered error notify " + std::to_string(static_cast<int>(n->type)));
    const RawPayload* sa_p = find_payload(in, PayloadType::kSa);
    const RawPayload* nr_p = find_payload(in, PayloadType::kNonce);
    const RawPayload* ke_p = find_payload(in, PayloadType::kKe);
    if (!sa_p || !nr_p || !ke_p) return retry("answer without SA, nonce or KE");
    const auto sa = parse_sa(sa_p->body, SaKind::kAccepted);
    const auto nr = parse_nonce(nr_p->body);
    const auto ke = parse_ke(ke_p->body);
    if (!sa || !nr || !ke) return retry("malformed answer");
    const Proposal& chosen = sa->proposals.front();
    if (chosen.spi.size() != 8 || !choose(old.conn->ike, SaPayload{{chosen}}) || dh_group_of(chosen) != ke->group ||
        ke->group != static_cast<uint16_t>(r.ke->group()))
        return retry("the peer chose what we did not offer");
    const auto g_ir = r.ke->shared(ke->data);
    if (!g_ir) return retry("the peer's key exchange is not acceptable");

    auto fresh = std::make_unique<IkeSa>();
    IkeSa& n = *fresh;
    n.state = IkeSa::State::kEstablished;
    n.we_initiated = true;  // we started the rekey: we are the new SA's original initiator (§2.18)
    n.spi_i = r.new_spi;
    n.spi_r = wire::get64(chosen.spi.data());
    n.conn = old.conn;
    n.proposal = chosen;
    n.proposal.spi.clear();
    n.prf = Prf{transform_of(chosen, TransformType::kPrf)};
    n.suite = suite_of(chosen);
    n.ni = r.ni;
    n.nr = nr->nonce;
    const Secret seed = rekey_skeyseed(old.prf, old.keys.d.bytes(), g_ir->bytes(), n.ni, n.nr);
    auto keys = ike_sa_keys(n.prf, seed.bytes(), n.ni, n.nr, n.spi_i, n.spi_r, integ_key_size(n.suite),
                            encr_key_size(n.suite));
    if (!keys) return retry("key derivation failed");
    n.keys = std::move(*keys);
    n.local = old.local;
    n.remote = old.remote;
    n.init_from = old.init_from;
    n.nat = old.nat;
    n.peer_fragmentation = old.peer_fragmentation;
    n.peer_signature_hashes = old.peer_signature_hashes;
    n.next_request_id = 0;
    n.next_own_id = 0;
    n.peer_id = old.peer_id;
    n.our_id = old.our_id;
    n.peer_name = old.peer_name;
    n.created_ms = n.established_ms = n.last_heard_ms = now_ms;
    if (n.conn->ike_rekey_s) n.rekey_ms = now_ms + n.conn->ike_rekey_s * 1000;
    n.peer = old.peer;
    n.vips = std::move(old.vips);
    n.children = std::move(old.children);
    old.peer = 0;
    old.vips.clear();
    old.children.clear();
    old.rekeyed = true;
    old.rekeyed_ms = now_ms;
    core.stats.ike_rekeys++;
    core.log("IKE SA %s rekeyed by us: now %s, %s", core.name(old).c_str(), core.name(n).c_str(),
             to_string(n.proposal).c_str());
    core.sas.emplace(n.spi_i, std::move(fresh));
    // The old IKE SA goes, told under its own keys; nothing is left in it to remove.
    old.state = IkeSa::State::kDeleting;
    if (!core.request(old, ExchangeType::kInformational,
                      {RawPayload{PayloadType::kDelete, false, 0, build_delete(DeletePayload{ProtocolId::kIke, {}})}},
                      Pending::Kind::kDeleteIke, now_ms))
        core.drop(old.our_spi(), "rekeyed");
}

}  // namespace espgw::ike
