#include "ike_test_peer.h"

#include <openssl/rand.h>

#include <algorithm>

#include "espgw/ike/nat_detection.h"
#include "espgw/ike/proposals.h"
#include "espgw/ike/psk_auth.h"
#include "espgw/ike/traffic_selectors.h"

namespace espgw::ike::test {

TrafficSelector ts(const std::string& prefix) {
    if (prefix == "*") return selector_of(*net::parse_prefix("0.0.0.0/0"));
    return selector_of(*net::parse_prefix(prefix));
}

std::optional<NotifyPayload> find_notify(const std::vector<RawPayload>& p, NotifyType t) {
    for (const RawPayload& r : p)
        if (r.type == PayloadType::kNotify)
            if (auto n = parse_notify(r.body); n && n->type == t) return *n;
    return std::nullopt;
}

namespace {

std::span<const uint8_t> bytes(const std::string& s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

RawPayload raw(PayloadType t, std::vector<uint8_t> body) { return RawPayload{t, false, 0, std::move(body)}; }

IdPayload id_of(const std::string& id) {
    std::string err;
    return Identity::parse(id, err)->id;
}

}  // namespace

TestInitiator::TestInitiator(UdpEnd me_, UdpEnd gw_, std::string psk_, std::string id_, UdpEnd sent_from,
                             std::string proposal)
    : me(me_), gw(gw_), from(sent_from.port ? sent_from : me_), psk(std::move(psk_)), id(std::move(id_)),
      proposal_(std::move(proposal)) {
    RAND_bytes(reinterpret_cast<uint8_t*>(&spi_i), sizeof spi_i);
    ni.resize(32);
    RAND_bytes(ni.data(), 32);
}

Datagram TestInitiator::wrap(std::vector<uint8_t> msg, bool marker) const {
    Datagram d;
    d.src = from.addr;
    d.sport = marker ? static_cast<uint16_t>(from.port == 500 ? 4500 : from.port) : from.port;
    d.dst = gw.addr;
    d.dport = marker ? 4500 : gw.port;
    d.non_esp_marker = marker;
    d.message = std::move(msg);
    return d;
}

Datagram TestInitiator::sa_init(const std::vector<uint8_t>& cookie) {
    std::string err;
    const OurProposal ours = *parse_proposal(proposal_, ProtocolId::kIke, err);
    Proposal p;
    p.protocol = ProtocolId::kIke;
    for (const auto* list : {&ours.encr, &ours.prf, &ours.integ, &ours.dh})
        for (const Transform& t : *list) p.transforms.push_back(t);
    if (!ke_) ke_ = KeyExchange::generate(DhGroup{ours.dh.front().id});
    Message m;
    m.header.spi_i = spi_i;
    m.header.exchange = ExchangeType::kIkeSaInit;
    m.header.initiator = true;
    if (!cookie.empty()) {
        NotifyPayload c{ProtocolId::kNone, NotifyType::kCookie, {}, cookie};
        m.payloads.push_back(raw(PayloadType::kNotify, build_notify(c)));
    }
    m.payloads.push_back(raw(PayloadType::kSa, build_sa(SaPayload{{p}})));
    m.payloads.push_back(raw(PayloadType::kKe, build_ke(KePayload{ours.dh.front().id, ke_->public_value()})));
    m.payloads.push_back(raw(PayloadType::kNonce, build_nonce(NoncePayload{ni})));
    const NatdHash src = natd_hash(spi_i, 0, me.addr, me.port);
    const NatdHash dst = natd_hash(spi_i, 0, gw.addr, gw.port);
    m.payloads.push_back(raw(PayloadType::kNotify, build_notify(NotifyPayload{ProtocolId::kNone, NotifyType::kNatDetectionSourceIp, {}, {src.begin(), src.end()}})));
    m.payloads.push_back(raw(PayloadType::kNotify, build_notify(NotifyPayload{ProtocolId::kNone, NotifyType::kNatDetectionDestinationIp, {}, {dst.begin(), dst.end()}})));
    init_request_ = build_message(m);
    return wrap(init_request_, false);
}

bool TestInitiator::on_sa_init(const Datagram& d) {
    auto m = parse_message(d.message);
    if (!m) return false;
    last_notify.reset();
    for (const RawPayload& p : m->payloads)
        if (p.type == PayloadType::kNotify) {
            auto n = parse_notify(p.body);
            if (n && n->type == NotifyType::kCookie) cookie_seen = n->data;
            if (n && is_error(n->type)) last_notify = n->type;
            if (n && n->type == NotifyType::kCookie) last_notify = n->type;
        }
    const RawPayload* sa = m->find(PayloadType::kSa);
    const RawPayload* ke = m->find(PayloadType::kKe);
    const RawPayload* nonce = m->find(PayloadType::kNonce);
    if (!sa || !ke || !nonce) return false;
    const auto chosen = parse_sa(sa->body, SaKind::kAccepted);
    const auto k = parse_ke(ke->body);
    const auto n = parse_nonce(nonce->body);
    if (!chosen || !k || !n) return false;
    spi_r = m->header.spi_r;
    nr = n->nonce;
    const Proposal& p = chosen->proposals.front();
    prf = Prf{transform_of(p, TransformType::kPrf)};
    suite = suite_of(p);
    const auto g = ke_->shared(k->data);
    if (!g) return false;
    const Secret seed = skeyseed(prf, ni, nr, g->bytes());
    auto ks = ike_sa_keys(prf, seed.bytes(), ni, nr, spi_i, spi_r, integ_key_size(suite), encr_key_size(suite));
    if (!ks) return false;
    keys = std::move(*ks);
    init_response_ = d.message;
    return true;
}

Datagram TestInitiator::request(ExchangeType ex, const std::vector<RawPayload>& inner) {
    Header h;
    h.spi_i = spi_i;
    h.spi_r = spi_r;
    h.exchange = ex;
    h.initiator = true;
    h.message_id = next_mid++;
    std::vector<uint8_t> iv(iv_size(suite));
    RAND_bytes(iv.data(), static_cast<int>(iv.size()));
    return wrap(seal_sk(suite, SkKeys{keys.ei, keys.ai}, h, inner, iv), true);
}

Datagram TestInitiator::answer(const Datagram& req, const std::vector<RawPayload>& inner) {
    const auto m = parse_message(req.message);
    Header h = m->header;
    h.initiator = true;
    h.response = true;
    std::vector<uint8_t> iv(iv_size(suite));
    RAND_bytes(iv.data(), static_cast<int>(iv.size()));
    return wrap(seal_sk(suite, SkKeys{keys.ei, keys.ai}, h, inner, iv), true);
}

Datagram TestInitiator::ike_auth(const AuthAsk& ask) {
    last_auth = request(ExchangeType::kIkeAuth, auth_payloads(ask));
    return last_auth;
}

std::vector<Datagram> TestInitiator::request_fragments(ExchangeType ex, const std::vector<RawPayload>& inner, size_t size) {
    Header h;
    h.spi_i = spi_i;
    h.spi_r = spi_r;
    h.exchange = ex;
    h.initiator = true;
    h.message_id = next_mid++;
    std::vector<Datagram> out;
    for (auto& m : seal_fragments(suite, SkKeys{keys.ei, keys.ai}, h, inner, size, [&] {
             std::vector<uint8_t> iv(iv_size(suite));
             RAND_bytes(iv.data(), static_cast<int>(iv.size()));
             return iv;
         }))
        out.push_back(wrap(std::move(m), true));
    return out;
}

std::vector<Datagram> TestInitiator::ike_auth_fragments(const AuthAsk& ask, size_t size, size_t padding) {
    std::vector<RawPayload> in = auth_payloads(ask);
    // A vendor ID of `padding` octets: what a certificate would add, without its meaning.
    for (size_t left = padding; left;) {  // in payloads that fit a 16-bit length
        const size_t n = std::min<size_t>(left, 60000);
        in.push_back(RawPayload{PayloadType::kVendorId, false, 0, std::vector<uint8_t>(n, 0x5e)});
        left -= n;
    }
    return request_fragments(ExchangeType::kIkeAuth, in, size);
}

std::vector<RawPayload> TestInitiator::auth_payloads(const AuthAsk& ask) {
    std::vector<RawPayload> in;
    const std::vector<uint8_t> idi = build_id(id_of(id));
    in.push_back(raw(PayloadType::kIdi, idi));
    const Secret a = psk_auth(prf, bytes(psk), init_request_, nr, keys.pi.bytes(), idi);
    in.push_back(raw(PayloadType::kAuth, build_auth(AuthPayload{AuthMethod::kSharedKeyMic, {a.bytes().begin(), a.bytes().end()}})));
    if (ask.initial_contact)
        in.push_back(raw(PayloadType::kNotify, build_notify(NotifyPayload{ProtocolId::kNone, NotifyType::kInitialContact, {}, {}})));
    if (ask.cp) {
        CpPayload cp;
        cp.type = CfgType::kRequest;
        cp.attributes = {{cfg_attr::kInternalIp4Address, {}}, {cfg_attr::kInternalIp4Dns, {}}};
        in.push_back(raw(PayloadType::kConfig, build_cp(cp)));
    }
    if (ask.with_child) {
        if (ask.transport)
            in.push_back(raw(PayloadType::kNotify, build_notify(NotifyPayload{ProtocolId::kNone, NotifyType::kUseTransportMode, {}, {}})));
        std::string err;
        const OurProposal esp = *parse_proposal(ask.esp, ProtocolId::kEsp, err);
        Proposal p;
        p.protocol = ProtocolId::kEsp;
        p.spi = {0xa1, 0xa2, 0xa3, 0xa4};
        for (const auto* list : {&esp.encr, &esp.integ, &esp.esn})
            for (const Transform& t : *list) p.transforms.push_back(t);
        in.push_back(raw(PayloadType::kSa, build_sa(SaPayload{{p}})));
        in.push_back(raw(PayloadType::kTsi, build_ts(ask.tsi.selectors.empty() ? TsPayload{{ts("*")}} : ask.tsi)));
        in.push_back(raw(PayloadType::kTsr, build_ts(ask.tsr.selectors.empty() ? TsPayload{{ts("*")}} : ask.tsr)));
    }
    return in;
}

std::optional<std::vector<RawPayload>> TestInitiator::open(const Datagram& d) const {
    const Opened o = open_sk(suite, SkKeys{keys.er, keys.ar}, d.message);
    if (!o.ok) return std::nullopt;
    return o.payloads;
}

bool TestInitiator::responder_auth_ok(const std::vector<RawPayload>& payloads) const {
    const RawPayload *idr = nullptr, *auth = nullptr;
    for (const RawPayload& p : payloads) {
        if (p.type == PayloadType::kIdr) idr = &p;
        if (p.type == PayloadType::kAuth) auth = &p;
    }
    if (!idr || !auth) return false;
    const auto a = parse_auth(auth->body);
    const Secret want = psk_auth(prf, bytes(psk), init_response_, ni, keys.pr.bytes(), idr->body);
    return a && a->method == AuthMethod::kSharedKeyMic &&
           std::vector<uint8_t>(want.bytes().begin(), want.bytes().end()) == a->data;
}

std::optional<ChildKeys> TestInitiator::child_keys_for(const Proposal& esp, std::span<const uint8_t> n_i,
                                                       std::span<const uint8_t> n_r, std::span<const uint8_t> g_ir) const {
    // Independent of child_sa.cc: the DKM straight from prf+, split as RFC 7296 §2.17 says.
    const SkSuite s = suite_of(esp);
    const size_t e = encr_key_size(s), a = integ_key_size(s);
    std::vector<uint8_t> seed(g_ir.begin(), g_ir.end());
    seed.insert(seed.end(), n_i.begin(), n_i.end());
    seed.insert(seed.end(), n_r.begin(), n_r.end());
    const auto km = prf_plus(prf, keys.d.bytes(), seed, 2 * (e + a));
    if (!km) return std::nullopt;
    const auto b = km->bytes();
    ChildKeys k;
    k.encr_i = Secret(b.subspan(0, e));
    k.integ_i = Secret(b.subspan(e, a));
    k.encr_r = Secret(b.subspan(e + a, e));
    k.integ_r = Secret(b.subspan(2 * e + a, a));
    return k;
}

}  // namespace espgw::ike::test
