#include "espgw/ike/sa_init.h"

#include "espgw/ike/message.h"
#include "espgw/ike/payloads.h"

namespace espgw::ike {

namespace {

RawPayload raw(PayloadType type, std::vector<uint8_t> body) {
    RawPayload p;
    p.type = type;
    p.body = std::move(body);
    return p;
}

RawPayload notify(NotifyType type, std::vector<uint8_t> data = {}) {
    NotifyPayload n;
    n.type = type;
    n.data = std::move(data);
    return raw(PayloadType::kNotify, build_notify(n));
}

// An answer that is only a notification (COOKIE, INVALID_KE_PAYLOAD, NO_PROPOSAL_CHOSEN):
// with SPIr 0, as no IKE SA exists on our side (§2.6, §1.2).
std::vector<uint8_t> notify_only(const Header& req, RawPayload n) {
    Message m;
    m.header = req;
    m.header.spi_r = 0;
    m.header.initiator = false;
    m.header.response = true;
    m.payloads.push_back(std::move(n));
    return build_message(m);
}

}  // namespace

SaInitResult respond_sa_init(const SaInitConfig& cfg, std::span<const uint8_t> request, const UdpEnd& from,
                             const UdpEnd& to, uint64_t spi_r, std::span<const uint8_t> nr, const CookieJar* cookies,
                             const KeyExchange* ours) {
    SaInitResult r;
    const auto msg = parse_message(request);
    if (!msg.ok()) {
        r.reason = "malformed IKE_SA_INIT: " + describe(msg.error());
        return r;  // a bad first message gets no answer (§2.21.1: no IKE SA to protect one)
    }
    const Header& h = msg->header;
    if (h.exchange != ExchangeType::kIkeSaInit || h.response || !h.initiator || h.message_id != 0 || h.spi_r != 0 ||
        h.spi_i == 0) {
        r.reason = "not an initial IKE_SA_INIT request";
        return r;
    }
    const RawPayload* sa_raw = msg->find(PayloadType::kSa);
    const RawPayload* ke_raw = msg->find(PayloadType::kKe);
    const RawPayload* ni_raw = msg->find(PayloadType::kNonce);
    if (!sa_raw || !ke_raw || !ni_raw) {
        r.reason = "IKE_SA_INIT without SA, KE or Nonce";
        return r;
    }
    const auto sa = parse_sa(sa_raw->body);
    const auto ke = parse_ke(ke_raw->body);
    const auto ni = parse_nonce(ni_raw->body);
    if (!sa.ok() || !ke.ok() || !ni.ok()) {
        r.reason = "malformed SA, KE or Nonce in IKE_SA_INIT";
        return r;
    }
    std::vector<std::vector<uint8_t>> natd_src;
    std::vector<uint8_t> natd_dst, cookie;
    for (const RawPayload& p : msg->payloads) {
        if (p.type != PayloadType::kNotify) continue;
        const auto n = parse_notify(p.body);
        if (!n.ok()) continue;
        if (n->type == NotifyType::kNatDetectionSourceIp) natd_src.push_back(n->data);
        if (n->type == NotifyType::kNatDetectionDestinationIp) natd_dst = n->data;
        if (n->type == NotifyType::kCookie) cookie = n->data;
        if (n->type == NotifyType::kIkev2FragmentationSupported) r.peer_fragmentation = true;
        if (n->type == NotifyType::kSignatureHashAlgorithms) {
            r.peer_signature_hashes.clear();
            for (size_t k = 0; k + 1 < n->data.size(); k += 2)
                r.peer_signature_hashes.push_back(static_cast<uint16_t>(n->data[k] << 8 | n->data[k + 1]));
        }
    }

    // §2.6: before any work, the cookie.
    if (cookies && !cookies->check(cookie, ni->nonce, from.addr, h.spi_i)) {
        r.outcome = SaInitResult::cookie;
        r.reason = cookie.empty() ? "cookie required" : "stale or forged cookie";
        r.response = notify_only(h, notify(NotifyType::kCookie, cookies->make(ni->nonce, from.addr, h.spi_i)));
        return r;
    }

    const auto chosen = choose(cfg.proposals, *sa);
    if (!chosen) {
        r.outcome = SaInitResult::no_proposal;
        r.reason = "no proposal chosen";
        r.response = notify_only(h, notify(NotifyType::kNoProposalChosen));
        return r;
    }
    const uint16_t group = dh_group_of(*chosen);
    if (ke->group != group) {
        // §1.2: tell the initiator which group to use; it retries with that KE.
        r.outcome = SaInitResult::invalid_ke;
        r.reason = "initiator's KE is group " + std::to_string(ke->group) + ", we chose " + std::to_string(group);
        r.response = notify_only(h, notify(NotifyType::kInvalidKePayload,
                                           {static_cast<uint8_t>(group >> 8), static_cast<uint8_t>(group)}));
        return r;
    }
    std::unique_ptr<KeyExchange> own;
    if (!ours || static_cast<uint16_t>(ours->group()) != group) {
        own = KeyExchange::generate(DhGroup{group});
        ours = own.get();
    }
    if (!ours) {
        r.reason = "cannot make a key pair for group " + std::to_string(group);
        return r;
    }
    r.g_ir = ours->shared(ke->data);
    if (!r.g_ir) {
        // An invalid public value: refuse as malformed (§3.4 leaves it to the implementation).
        r.outcome = SaInitResult::no_proposal;
        r.reason = "initiator's KE value is not a valid element of group " + std::to_string(group);
        r.response = notify_only(h, notify(NotifyType::kInvalidSyntax));
        return r;
    }

    r.spi_i = h.spi_i;
    r.spi_r = spi_r;
    r.chosen = *chosen;
    r.ni = ni->nonce;
    r.nr.assign(nr.begin(), nr.end());
    // §2.23: a missing pair of NAT-D notifies means a peer that does not do NAT traversal:
    // assume no NAT (its packets will say otherwise if one is there).
    if (!natd_src.empty() && natd_dst.size() == 20)
        r.nat = nat_verdict(h.spi_i, 0, natd_src, natd_dst, from.addr, from.port, to.addr, to.port);

    Message resp;
    resp.header = h;
    resp.header.spi_r = spi_r;
    resp.header.initiator = false;
    resp.header.response = true;
    resp.payloads.push_back(raw(PayloadType::kSa, build_sa(SaPayload{{*chosen}})));
    resp.payloads.push_back(raw(PayloadType::kKe, build_ke(KePayload{group, ours->public_value()})));
    resp.payloads.push_back(raw(PayloadType::kNonce, build_nonce(NoncePayload{r.nr})));
    // Our NAT-D: the source is where we answer from (the request's destination), the
    // destination where the answer goes (the request's source), both with the new SPIr.
    const NatdHash src = natd_hash(h.spi_i, spi_r, to.addr, to.port);
    const NatdHash dst = natd_hash(h.spi_i, spi_r, from.addr, from.port);
    resp.payloads.push_back(notify(NotifyType::kNatDetectionSourceIp, {src.begin(), src.end()}));
    resp.payloads.push_back(notify(NotifyType::kNatDetectionDestinationIp, {dst.begin(), dst.end()}));
    if (cfg.fragmentation && r.peer_fragmentation) resp.payloads.push_back(notify(NotifyType::kIkev2FragmentationSupported));
    // RFC 7427 §4: the hashes we verify signatures with, to a peer that announced its own.
    if (!cfg.signature_hashes.empty() && !r.peer_signature_hashes.empty()) {
        std::vector<uint8_t> d;
        for (uint16_t x : cfg.signature_hashes) {
            d.push_back(static_cast<uint8_t>(x >> 8));
            d.push_back(static_cast<uint8_t>(x));
        }
        resp.payloads.push_back(notify(NotifyType::kSignatureHashAlgorithms, d));
    }
    // CERTREQ (§3.7): the CAs we trust, when certificates are expected.
    if (!cfg.certreq.empty())
        resp.payloads.push_back(raw(PayloadType::kCertReq, build_cert(CertPayload{cert_encoding::kX509Signature, cfg.certreq})));
    r.response = build_message(resp);
    r.outcome = SaInitResult::established;
    return r;
}

}  // namespace espgw::ike
