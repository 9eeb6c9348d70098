#include "espgw/ike/engine.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "engine_core.h"
#include "espgw/ike/sa_init.h"
#include "espgw/ike/signature_auth.h"

namespace espgw::ike {

// ---- payload helpers ----------------------------------------------------------------------

RawPayload notify_payload(NotifyType t, std::vector<uint8_t> data, ProtocolId proto, std::vector<uint8_t> spi) {
    NotifyPayload n;
    n.type = t;
    n.protocol = proto;
    n.spi = std::move(spi);
    n.data = std::move(data);
    return RawPayload{PayloadType::kNotify, false, 0, build_notify(n)};
}

bool has_notify(const std::vector<RawPayload>& payloads, NotifyType t) {
    for (const RawPayload& p : payloads) {
        if (p.type != PayloadType::kNotify) continue;
        const auto n = parse_notify(p.body);
        if (n.ok() && n->type == t) return true;
    }
    return false;
}

const RawPayload* find_payload(const std::vector<RawPayload>& payloads, PayloadType t) {
    for (const RawPayload& p : payloads)
        if (p.type == t) return &p;
    return nullptr;
}

// ---- the core -----------------------------------------------------------------------------

EngineCore::EngineCore(EngineConfig c, Kernel& k) : cfg(std::move(c)), kernel(k) {
    for (const PoolConfig& p : cfg.pools) pools.emplace(p.name, AddressPool(p.name, p.range));
}

void EngineCore::log(const char* fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    kernel.log(buf);
}

std::vector<uint8_t> EngineCore::random_bytes(size_t n) {
    std::vector<uint8_t> v(n);
    kernel.random(v);
    return v;
}

uint64_t EngineCore::new_spi() {
    for (;;) {
        uint64_t s = 0;
        kernel.random(std::span(reinterpret_cast<uint8_t*>(&s), sizeof s));
        if (s && !sas.count(s)) return s;
    }
}

IkeSa* EngineCore::find(uint64_t our_spi) {
    auto it = sas.find(our_spi);
    return it == sas.end() ? nullptr : it->second.get();
}

std::string EngineCore::where(const UdpEnd& e) const {
    return (e.addr.is_v4() ? e.addr.str() : "[" + e.addr.str() + "]") + ":" + std::to_string(e.port);
}

std::string EngineCore::name(const IkeSa& ike) const {
    char spi[20];
    snprintf(spi, sizeof spi, "%016" PRIx64, ike.spi_i);
    return (ike.conn ? ike.conn->name : std::string("?")) + "[" + spi + "]";
}

std::vector<uint8_t> EngineCore::seal(IkeSa& ike, ExchangeType ex, bool response, uint32_t mid,
                                      const std::vector<RawPayload>& inner) {
    Header h;
    h.spi_i = ike.spi_i;
    h.spi_r = ike.spi_r;
    h.exchange = ex;
    h.initiator = ike.we_initiated;
    h.response = response;
    h.message_id = mid;
    const std::vector<uint8_t> iv = random_bytes(iv_size(ike.suite));
    return seal_sk(ike.suite, ike.out_keys(), h, inner, iv);
}

std::vector<std::vector<uint8_t>> EngineCore::seal_all(IkeSa& ike, ExchangeType ex, bool response, uint32_t mid,
                                                       const std::vector<RawPayload>& inner) {
    std::vector<uint8_t> whole = seal(ike, ex, response, mid, inner);
    if (whole.size() <= cfg.fragment_size || !ike.peer_fragmentation || ex == ExchangeType::kIkeSaInit) return {whole};
    Header h;
    h.spi_i = ike.spi_i;
    h.spi_r = ike.spi_r;
    h.exchange = ex;
    h.initiator = ike.we_initiated;
    h.response = response;
    h.message_id = mid;
    auto parts = seal_fragments(ike.suite, ike.out_keys(), h, inner, cfg.fragment_size,
                                [&] { return random_bytes(iv_size(ike.suite)); });
    if (parts.empty()) return {whole};
    stats.fragments_out += parts.size();
    return parts;
}

void EngineCore::send_to(IkeSa&, const std::vector<uint8_t>& bytes, const UdpEnd& from, const UdpEnd& to) {
    if (bytes.empty()) return;
    Datagram d;
    d.src = from.addr;
    d.sport = from.port;
    d.dst = to.addr;
    d.dport = to.port;
    d.non_esp_marker = from.port != cfg.ike_port;  // RFC 3948 §2.2: IKE on the NAT-T port
    d.message = bytes;
    kernel.send(d);
    stats.sent++;
}

bool EngineCore::request(IkeSa& ike, ExchangeType ex, const std::vector<RawPayload>& inner, Pending::Kind kind,
                         uint64_t now_ms, uint32_t child_spi) {
    if (ike.pending) return false;
    Pending p;
    p.kind = kind;
    p.message_id = ike.next_own_id++;
    p.message = seal_all(ike, ex, false, p.message_id, inner);
    p.tries = 1;
    p.first_ms = now_ms;
    p.next_ms = now_ms + cfg.retransmit_ms;
    p.child_spi = child_spi;
    // The data plane may know the peer's newest mapping (it follows ESP): send there.
    if (ike.peer && ike.nat.nat_there && !ike.nat.nat_here)
        if (auto at = kernel.peer_location(ike.peer); at && at->port) ike.remote = *at;
    for (const auto& m : p.message) send_to(ike, m, ike.local, ike.remote);
    ike.pending = std::move(p);
    return true;
}

bool EngineCore::install_child(IkeSa& ike, const ChildChoice& ch, const ChildKeys& k, uint32_t spi_in,
                               uint32_t policy, uint64_t now_ms, std::string& error, bool we_initiated,
                               bool defer_outbound) {
    const ChildConfig& cc = *ch.config;
    ChildInstall ci;
    char tag[16];
    snprintf(tag, sizeof tag, "%08x", spi_in);
    ci.name = ike.conn->name + "/" + cc.name + "#" + tag;
    ci.peer = ike.peer;
    ci.spi_in = spi_in;
    const auto& ps = ch.proposal.spi;
    ci.spi_out = ps.size() == 4 ? wire::get32(ps.data()) : 0;
    const SkSuite s = suite_of(ch.proposal);
    ci.encr = s.encr;
    ci.key_bits = s.key_bits;
    ci.integ = s.integ;
    ci.esn = transform_of(ch.proposal, TransformType::kEsn) == esn_id::kYes;
    ci.transport = ch.transport;
    ci.udp = ike.nat.nat_here || ike.nat.nat_there;
    // The exchange's initiator sends with the "i" keys; its TSi names its own side.
    ci.key_in = we_initiated ? k.encr_r : k.encr_i;
    ci.auth_in = we_initiated ? k.integ_r : k.integ_i;
    ci.key_out = we_initiated ? k.encr_i : k.encr_r;
    ci.auth_out = we_initiated ? k.integ_i : k.integ_r;
    ci.local = we_initiated ? ch.tsi.prefixes : ch.tsr.prefixes;
    ci.remote = we_initiated ? ch.tsr.prefixes : ch.tsi.prefixes;
    ci.replay_window = cc.replay_window;
    ci.life_bytes = cc.life_bytes;
    ci.life_packets = cc.life_packets;
    ci.rekey_bytes = cc.rekey_bytes;
    ci.rekey_packets = cc.rekey_packets;
    // An on-demand connection's first child fills its trap policy.
    if (!policy && ike.conn && !ike.conn->children.empty() && &cc == &ike.conn->children.front())
        if (auto t = traps.find(ike.conn); t != traps.end()) {
            policy = t->second;
            for (const ChildSa& other : ike.children)
                if (other.policy == policy) policy = 0;  // already filled: this one is another
        }
    ci.policy = policy;
    ci.defer_outbound = defer_outbound && policy;
    const uint32_t pol = kernel.install_child(ci, error);
    if (!pol) return false;
    ChildSa c;
    c.name = ci.name;
    c.config = &cc;
    c.spi_in = spi_in;
    c.spi_out = ci.spi_out;
    c.policy = pol;
    c.proposal = ch.proposal;
    c.tsi = we_initiated ? ch.tsr.selectors : ch.tsi.selectors;  // kept as the peer's side,
    c.tsr = we_initiated ? ch.tsi.selectors : ch.tsr.selectors;  // then ours
    c.local = ci.local;
    c.remote = ci.remote;
    c.transport = ci.transport;
    c.udp = ci.udp;
    c.outbound_pending = ci.defer_outbound;
    c.created_ms = now_ms;
    if (cc.rekey_s) {
        uint64_t jitter = 0;
        if (cc.rekey_jitter_s) {
            uint32_t r = 0;
            kernel.random(std::span(reinterpret_cast<uint8_t*>(&r), sizeof r));
            jitter = r % (cc.rekey_jitter_s * 1000);
        }
        c.rekey_ms = now_ms + cc.rekey_s * 1000 - std::min(jitter, cc.rekey_s * 1000);
    }
    c.expire_ms = cc.life_s ? now_ms + cc.life_s * 1000 : 0;
    ike.children.push_back(std::move(c));
    stats.children_installed++;
    return true;
}

void EngineCore::remove_child(IkeSa& ike, uint32_t spi_in) {
    auto it = std::find_if(ike.children.begin(), ike.children.end(), [&](const ChildSa& c) { return c.spi_in == spi_in; });
    if (it == ike.children.end()) return;
    if (!it->outbound_pending) {
        // The newest child waiting on this policy sends from now on (before the old outbound
        // SA goes, so the policy is never without one); any older waiting ones are superseded.
        ChildSa* next = nullptr;
        for (ChildSa& c : ike.children)
            if (&c != &*it && c.policy == it->policy && c.outbound_pending) {
                c.outbound_pending = false;
                next = &c;
            }
        if (next && kernel.activate_outbound(next->policy, next->spi_out))
            log("CHILD SA %s: outbound SA 0x%08x in use", next->name.c_str(), next->spi_out);
    }
    bool shared = std::any_of(ike.children.begin(), ike.children.end(),
                              [&](const ChildSa& c) { return c.spi_in != spi_in && c.policy == it->policy; });
    for (const auto& [conn, id] : traps) shared |= id == it->policy;  // a trap outlives its SAs
    kernel.remove_child(it->policy, it->spi_in, it->spi_out, !shared);
    ike.children.erase(it);
}

void EngineCore::release_vips(IkeSa& ike) {
    for (const auto& [pool, addr] : ike.vips) {
        auto p = pools.find(pool);
        if (p != pools.end()) p->second.release(addr);
    }
    ike.vips.clear();
}

void EngineCore::leave_half_open(IkeSa& ike) {
    if (ike.state != IkeSa::State::kHalfOpen) return;
    init_index.erase({ike.spi_i, ike.init_from.addr, ike.init_from.port});
    auto it = half_open_by_source.find(ike.init_from.addr);
    if (it != half_open_by_source.end() && --it->second == 0) half_open_by_source.erase(it);
    half_open--;
}

void EngineCore::drop(uint64_t our_spi, const char* why) {
    IkeSa* ike = find(our_spi);
    if (!ike) return;
    leave_half_open(*ike);
    if (ike->first_child_spi) kernel.release_spi(ike->first_child_spi);
    while (!ike->children.empty()) remove_child(*ike, ike->children.back().spi_in);
    release_vips(*ike);
    if (ike->peer) kernel.remove_peer(ike->peer);
    if (ike->established_ms && !ike->rekeyed) {
        stats.deleted++;
        log("IKE SA %s with %s (%s) deleted: %s", name(*ike).c_str(), where(ike->remote).c_str(),
            ike->peer_name.c_str(), why);
    }
    sas.erase(our_spi);
}

void EngineCore::remove(IkeSa& ike, uint64_t now_ms, const char* why) {
    if (ike.state != IkeSa::State::kEstablished) {
        drop(ike.our_spi(), why);
        return;
    }
    // The CHILD SAs and virtual IPs go now: nothing is sent under an IKE SA that is going, and
    // a reconnecting peer gets its address back at once.
    while (!ike.children.empty()) remove_child(ike, ike.children.back().spi_in);
    release_vips(ike);
    ike.state = IkeSa::State::kDeleting;
    ike.pending.reset();  // a liveness check or rekey in flight no longer matters
    DeletePayload del;
    del.protocol = ProtocolId::kIke;
    log("IKE SA %s: deleting (%s)", name(ike).c_str(), why);
    if (!request(ike, ExchangeType::kInformational, {RawPayload{PayloadType::kDelete, false, 0, build_delete(del)}},
                 Pending::Kind::kDeleteIke, now_ms))
        drop(ike.our_spi(), why);
}

void EngineCore::heard_from(IkeSa& ike, const Datagram& d, uint64_t now_ms) {
    ike.last_heard_ms = now_ms;
    const UdpEnd from{d.src, d.sport}, to{d.dst, d.dport};
    if (from.addr == ike.remote.addr && from.port == ike.remote.port && to.port == ike.local.port) return;
    const std::string before = where(ike.remote);
    ike.remote = from;
    ike.local = to;
    if (ike.state != IkeSa::State::kEstablished || !ike.peer) return;
    // §2.23: a NAT in front of the peer may remap it; follow, unless we are the NATed side.
    if (ike.nat.nat_there && !ike.nat.nat_here) {
        kernel.move_peer(ike.peer, from);
        log("IKE SA %s: peer moved from %s to %s", name(ike).c_str(), before.c_str(), where(from).c_str());
    }
}

// ---- IKE_SA_INIT --------------------------------------------------------------------------

namespace {

void respond_init(EngineCore& core, const Datagram& d, const Message& m, uint64_t now_ms) {
    const UdpEnd from{d.src, d.sport}, to{d.dst, d.dport};
    const uint64_t spi_i = m.header.spi_i;
    // A retransmitted IKE_SA_INIT gets the same answer, not a second IKE SA.
    if (auto it = core.init_index.find({spi_i, from.addr, from.port}); it != core.init_index.end()) {
        if (IkeSa* ike = core.find(it->second); ike && ike->init_request == d.message) {
            core.send_to(*ike, ike->init_response, to, from);
            core.stats.retransmitted_responses++;
        }
        return;
    }
    std::vector<const Connection*> candidates;
    for (const Connection& c : core.cfg.connections)
        if (c.accepts(from.addr)) candidates.push_back(&c);
    if (candidates.empty()) {
        core.stats.no_proposal++;
        core.log("IKE_SA_INIT from %s refused: no connection accepts that address", core.where(from).c_str());
        return;
    }
    if (core.half_open_by_source[from.addr] >= core.cfg.half_open_per_source) {
        core.stats.half_open_limit++;
        return;
    }
    if (core.half_open_by_source[from.addr] == 0) core.half_open_by_source.erase(from.addr);
    SaInitConfig sc;
    for (const Connection* c : candidates) {
        sc.proposals.insert(sc.proposals.end(), c->ike.begin(), c->ike.end());
        if (c->remote_auth == AuthKind::kPubkey && c->cas && sc.certreq.empty()) sc.certreq = c->cas->certreq_data();
    }
    sc.signature_hashes = {kOurSignatureHashes.begin(), kOurSignatureHashes.end()};
    const uint64_t spi_r = core.new_spi();
    const std::vector<uint8_t> nr = core.random_bytes(32);
    const CookieJar* jar = core.half_open >= core.cfg.cookie_threshold ? &core.cookies : nullptr;
    SaInitResult r = respond_sa_init(sc, d.message, from, to, spi_r, nr, jar);
    Datagram out;
    switch (r.outcome) {
    case SaInitResult::drop:
        core.stats.malformed++;
        return;
    case SaInitResult::cookie:
        core.stats.cookies_sent++;
        break;
    case SaInitResult::invalid_ke:
        core.stats.invalid_ke++;
        break;
    case SaInitResult::no_proposal:
        core.stats.no_proposal++;
        core.log("IKE_SA_INIT from %s: %s", core.where(from).c_str(), r.reason.c_str());
        break;
    case SaInitResult::established:
        break;
    }
    if (r.outcome != SaInitResult::established) {
        out.src = to.addr;
        out.sport = to.port;
        out.dst = from.addr;
        out.dport = from.port;
        out.non_esp_marker = to.port != core.cfg.ike_port;
        out.message = std::move(r.response);
        core.kernel.send(out);
        core.stats.sent++;
        return;
    }
    auto ike = std::make_unique<IkeSa>();
    ike->spi_i = spi_i;
    ike->spi_r = spi_r;
    ike->conn = candidates.front();
    ike->proposal = r.chosen;
    ike->prf = Prf{transform_of(r.chosen, TransformType::kPrf)};
    ike->suite = suite_of(r.chosen);
    ike->ni = r.ni;
    ike->nr = r.nr;
    const Secret seed = skeyseed(ike->prf, ike->ni, ike->nr, r.g_ir->bytes());
    auto keys = ike_sa_keys(ike->prf, seed.bytes(), ike->ni, ike->nr, spi_i, spi_r, integ_key_size(ike->suite),
                            encr_key_size(ike->suite));
    if (!keys) {
        core.stats.malformed++;
        return;
    }
    ike->keys = std::move(*keys);
    ike->init_request = d.message;
    ike->init_response = r.response;
    ike->local = to;
    ike->remote = ike->init_from = from;
    ike->nat = r.nat;
    ike->peer_fragmentation = r.peer_fragmentation;
    ike->peer_signature_hashes = r.peer_signature_hashes;
    ike->created_ms = ike->last_heard_ms = now_ms;
    core.init_index[{spi_i, from.addr, from.port}] = spi_r;
    core.half_open_by_source[from.addr]++;
    core.half_open++;
    IkeSa& ref = *ike;
    core.sas.emplace(spi_r, std::move(ike));
    core.send_to(ref, ref.init_response, to, from);
}

}  // namespace

// ---- requests and responses under an IKE SA ------------------------------------------------

namespace {

// Reassembled IKE messages are at most this big (certificate chains fit many times over).
constexpr size_t kMaxReassembled = 64 * 1024;

// The request's payloads: opened from its SK payload, or, when it came in RFC 7383 fragments,
// once the last one is in (nullopt until then, or if it does not open).
std::optional<std::vector<RawPayload>> open_request(EngineCore& core, IkeSa& ike, const Datagram& d, const Message& m) {
    const PayloadType last = m.payloads.empty() ? PayloadType::kNone : m.payloads.back().type;
    if (last == PayloadType::kEncrypted) {
        Opened o = open_sk(ike.suite, ike.in_keys(), d.message);
        if (!o.ok) {
            core.stats.undecryptable++;
            return std::nullopt;
        }
        return std::move(o.payloads);
    }
    if (last != PayloadType::kEncryptedFragment) {
        core.stats.malformed++;
        return std::nullopt;
    }
    OpenedFragment f = open_skf(ike.suite, ike.in_keys(), d.message);
    if (!f.ok) {
        core.stats.undecryptable++;
        return std::nullopt;
    }
    core.stats.fragments_in++;
    auto& r = ike.reassembly;
    if (!r || r->message_id != m.header.message_id || r->total != f.total) {
        if (f.total > core.cfg.max_fragments) {
            core.stats.malformed++;
            return std::nullopt;
        }
        r.emplace();
        r->message_id = m.header.message_id;
        r->total = f.total;
        r->parts.resize(f.total);
        r->got.assign(f.total, false);
    }
    const size_t k = f.number - 1u;
    if (r->got[k]) return std::nullopt;  // a retransmitted fragment
    if (f.number == 1) r->first_payload = f.inner_next;
    r->bytes += f.plaintext.size();
    if (r->bytes > kMaxReassembled) {  // no IKE message is that big: a peer filling our memory
        r.reset();
        core.stats.malformed++;
        return std::nullopt;
    }
    r->parts[k] = std::move(f.plaintext);
    r->got[k] = true;
    if (++r->have < r->total) return std::nullopt;
    std::vector<uint8_t> joined;
    joined.reserve(r->bytes);
    for (const auto& part : r->parts) joined.insert(joined.end(), part.begin(), part.end());
    const uint8_t first = r->first_payload;
    r.reset();
    Opened o = open_reassembled(std::move(joined), first);
    if (!o.ok) {
        core.stats.malformed++;
        return std::nullopt;
    }
    return std::move(o.payloads);
}

void on_request(EngineCore& core, IkeSa& ike, const Datagram& d, const Message& m, uint64_t now_ms) {
    const uint32_t mid = m.header.message_id;
    const UdpEnd from{d.src, d.sport}, to{d.dst, d.dport};
    if (mid + 1 == ike.next_request_id && !ike.last_response.empty()) {
        // §2.1: a retransmission, answered again (a fragmented one once, on its first fragment).
        const bool fragment = !m.payloads.empty() && m.payloads.back().type == PayloadType::kEncryptedFragment;
        const RawPayload* skf = fragment ? &m.payloads.back() : nullptr;
        if (skf && (skf->body.size() < 2 || skf->body[0] != 0 || skf->body[1] != 1)) return;
        for (const auto& msg : ike.last_response) core.send_to(ike, msg, to, from);
        core.stats.retransmitted_responses++;
        return;
    }
    if (mid != ike.next_request_id) {
        core.stats.bad_message_id++;
        return;
    }
    const auto request = open_request(core, ike, d, m);
    if (!request) return;
    core.heard_from(ike, d, now_ms);
    std::vector<RawPayload> answer;
    switch (m.header.exchange) {
    case ExchangeType::kIkeAuth:
        if (ike.state != IkeSa::State::kHalfOpen) return;
        answer = respond_ike_auth(core, ike, *request, now_ms);
        break;
    case ExchangeType::kCreateChildSa:
        if (ike.state != IkeSa::State::kEstablished) return;
        answer = respond_create_child(core, ike, *request, now_ms);
        break;
    case ExchangeType::kInformational:
        if (ike.state == IkeSa::State::kHalfOpen) return;
        answer = respond_informational(core, ike, *request, now_ms);
        break;
    default:
        core.stats.malformed++;
        return;
    }
    ike.last_response = core.seal_all(ike, m.header.exchange, true, mid, answer);
    ike.next_request_id = mid + 1;
    for (const auto& msg : ike.last_response) core.send_to(ike, msg, ike.local, ike.remote);
    // An IKE SA that failed authentication, or that the peer deleted, ends with this answer.
    if (ike.state == IkeSa::State::kDeleting && !ike.pending) core.drop(ike.our_spi(), "deleted by the peer");
}

void on_response(EngineCore& core, IkeSa& ike, const Datagram& d, const Message& m, uint64_t now_ms) {
    if (!ike.pending || m.header.message_id != ike.pending->message_id) {
        core.stats.bad_message_id++;
        return;
    }
    const auto response = open_request(core, ike, d, m);  // a response may come in fragments too
    if (!response) return;
    core.heard_from(ike, d, now_ms);
    const Pending p = *ike.pending;
    ike.pending.reset();
    if (p.kind == Pending::Kind::kDeleteIke) core.drop(ike.our_spi(), "deleted");
    if (p.kind == Pending::Kind::kAuth) on_auth_response(core, ike, *response, now_ms);
    if (p.kind == Pending::Kind::kRekeyChild) on_child_rekey_response(core, ike, *response, now_ms);
    if (p.kind == Pending::Kind::kRekeyIke) on_ike_rekey_response(core, ike, *response, now_ms);
    // A CHILD SA we asked the peer to delete goes once it has answered (make-before-break).
    if (p.kind == Pending::Kind::kDeleteChild && p.child_spi) core.remove_child(ike, p.child_spi);
}

}  // namespace

// ---- the engine ---------------------------------------------------------------------------

Engine::Engine(EngineConfig cfg, Kernel& kernel) : core_(std::make_unique<EngineCore>(std::move(cfg), kernel)) {}
Engine::~Engine() = default;

const EngineStats& Engine::stats() const { return core_->stats; }
size_t Engine::ike_sa_count() const { return core_->sas.size(); }
size_t Engine::half_open_count() const { return core_->half_open; }

void Engine::receive(const Datagram& d, uint64_t now_ms) {
    EngineCore& core = *core_;
    core.stats.received++;
    auto m = parse_message(d.message);
    if (!m) {
        core.stats.malformed++;
        return;
    }
    const Header& h = m->header;
    if (h.exchange == ExchangeType::kIkeSaInit) {
        if (!h.response && h.spi_r == 0 && h.message_id == 0) {
            respond_init(core, d, *m, now_ms);
        } else if (IkeSa* ike = h.response && !h.initiator ? core.find(h.spi_i) : nullptr;
                   ike && ike->we_initiated && ike->state == IkeSa::State::kInitSent) {
            on_init_response(core, *ike, d, *m, now_ms);
        } else {
            core.stats.no_ike_sa++;
        }
        return;
    }
    // The I flag says who sent it: the original initiator's messages name our SPI second.
    const uint64_t ours = h.initiator ? h.spi_r : h.spi_i;
    IkeSa* ike = core.find(ours);
    if (!ike || (h.initiator ? h.spi_i != ike->spi_i : h.spi_r != ike->spi_r) || h.initiator == ike->we_initiated) {
        core.stats.no_ike_sa++;
        return;
    }
    if (h.response)
        on_response(core, *ike, d, *m, now_ms);
    else
        on_request(core, *ike, d, *m, now_ms);
}

void Engine::acquire(uint32_t policy_id, uint64_t now_ms) {
    EngineCore& core = *core_;
    for (const auto& [conn, id] : core.traps) {
        if (id != policy_id) continue;
        for (const auto& [spi, ike] : core.sas)
            if (ike->conn == conn && ike->we_initiated && ike->state != IkeSa::State::kDeleting && !ike->rekeyed) return;
        uint64_t& next = core.next_start_ms[conn];
        if (now_ms < next) return;  // a failed attempt waits a little before the next
        next = now_ms + 2'000;
        core.log("connection %s: traffic for it, initiating on demand", conn->name.c_str());
        ike::initiate(core, *conn, now_ms);
        return;
    }
}

bool Engine::initiate(const std::string& name, uint64_t now_ms) {
    for (const Connection& c : core_->cfg.connections)
        if (c.name == name) return ike::initiate(*core_, c, now_ms);
    return false;
}

void Engine::tick(uint64_t now_ms) {
    EngineCore& core = *core_;
    // §2.6: the cookie secret changes now and then, so a cookie cannot be kept and replayed.
    if (!core.cookies_rotated_ms) core.cookies_rotated_ms = now_ms;
    if (now_ms - core.cookies_rotated_ms >= uint64_t{core.cfg.cookie_rotate_s} * 1000) {
        core.cookies.rotate();
        core.cookies_rotated_ms = now_ms;
    }
    // On-demand connections: their traps, once.
    if (!core.traps_installed) {
        core.traps_installed = true;
        for (const Connection& c : core.cfg.connections) {
            if (c.start != Connection::Start::kTrap || c.children.empty()) continue;
            std::string err;
            const ChildConfig& ch = c.children.front();
            const uint32_t id = core.kernel.install_trap(c.name + "/" + ch.name + " (on demand)", ch.local_ts, ch.remote_ts, err);
            if (id)
                core.traps[&c] = id;
            else
                core.log("connection %s: on-demand policy not installed: %s", c.name.c_str(), err.c_str());
        }
    }
    // Connections that start on their own: up whenever they have no IKE SA, retried every 10 s.
    for (const Connection& c : core.cfg.connections) {
        if (c.start != Connection::Start::kStart) continue;
        bool up = false;
        for (const auto& [spi, ike] : core.sas)
            up |= ike->conn == &c && ike->we_initiated && ike->state != IkeSa::State::kDeleting && !ike->rekeyed;
        uint64_t& next = core.next_start_ms[&c];
        if (up || now_ms < next) continue;
        next = now_ms + 10'000;
        ike::initiate(core, c, now_ms);
    }
    std::vector<uint64_t> spis;
    for (const auto& [spi, ike] : core.sas) spis.push_back(spi);
    for (uint64_t spi : spis) {
        IkeSa* ike = core.find(spi);
        if (!ike) continue;
        if (ike->state == IkeSa::State::kHalfOpen) {
            if (now_ms - ike->created_ms >= uint64_t{core.cfg.half_open_timeout_s} * 1000)
                core.drop(spi, "no IKE_AUTH in time");
            continue;
        }
        // Our request: retransmit with back-off, or give the peer up.
        if (ike->pending && now_ms >= ike->pending->next_ms) {
            Pending& p = *ike->pending;
            const bool liveness = p.kind == Pending::Kind::kLiveness;
            const uint64_t dpd_timeout = ike->conn ? uint64_t{ike->conn->dpd_timeout_s} * 1000 : 0;
            const bool give_up = liveness ? now_ms - p.first_ms >= dpd_timeout : p.tries >= core.cfg.retransmit_tries;
            if (give_up && (p.kind == Pending::Kind::kInit || p.kind == Pending::Kind::kAuth)) {
                core.stats.initiate_failed++;
                core.log("IKE SA %s: %s unanswered by %s", core.name(*ike).c_str(),
                         p.kind == Pending::Kind::kInit ? "IKE_SA_INIT" : "IKE_AUTH", core.where(ike->remote).c_str());
                core.drop(spi, "initiation unanswered");
                continue;
            }
            if (give_up) {
                if (p.kind != Pending::Kind::kDeleteIke) {
                    core.stats.dead_peers++;
                    core.log("IKE SA %s: peer %s does not answer: dead", core.name(*ike).c_str(),
                             core.where(ike->remote).c_str());
                }
                core.drop(spi, p.kind == Pending::Kind::kDeleteIke ? "deleted (unanswered)" : "peer dead");
                continue;
            }
            for (const auto& m : p.message) core.send_to(*ike, m, ike->local, ike->remote);
            core.stats.retransmitted_requests++;
            p.tries++;
            p.next_ms = now_ms + (uint64_t{core.cfg.retransmit_ms} << std::min(p.tries - 1, 6u));
            if (liveness && p.first_ms + dpd_timeout < p.next_ms) p.next_ms = p.first_ms + dpd_timeout;
        }
        if (ike->state != IkeSa::State::kEstablished) continue;
        if (ike->rekeyed) {
            if (now_ms - ike->rekeyed_ms >= 60'000) core.drop(spi, "rekeyed, the peer never deleted it");
            continue;
        }
        // CHILD SAs at the end of their life go; a replaced one goes when its successor has run a while.
        for (size_t k = 0; k < ike->children.size();) {
            const ChildSa& c = ike->children[k];
            if (c.expire_ms && now_ms >= c.expire_ms) {
                core.log("CHILD SA %s: lifetime over, deleted", c.name.c_str());
                const uint32_t spi_in = c.spi_in;
                DeletePayload del{ProtocolId::kEsp, {spi_in}};
                core.request(*ike, ExchangeType::kInformational,
                             {RawPayload{PayloadType::kDelete, false, 0, build_delete(del)}},
                             Pending::Kind::kDeleteChild, now_ms, spi_in);
                core.remove_child(*ike, spi_in);
                continue;
            }
            ++k;
        }
        // Our IKE SA's own rekey, then CHILD SA rekeys that are due (time, or a soft limit the
        // data plane reported), one at a time.
        if (!ike->pending && ike->rekey_ms && now_ms >= ike->rekey_ms) {
            ike->rekey_ms = 0;
            start_ike_rekey(core, *ike, now_ms);
        }
        if (!ike->pending)
            for (ChildSa& c : ike->children)
                if (c.rekey_ms && now_ms >= c.rekey_ms && !c.rekeyed) {
                    c.rekey_ms = 0;  // once; a failure schedules it again
                    if (start_child_rekey(core, *ike, c, now_ms)) break;
                }
        // Liveness (DPD): after dpd_delay without anything from the peer, IKE or ESP.
        const Connection* conn = ike->conn;
        if (!ike->pending && conn && conn->dpd_delay_s && now_ms - ike->last_heard_ms >= uint64_t{conn->dpd_delay_s} * 1000) {
            uint64_t esp_idle_s = UINT64_MAX;
            for (const ChildSa& c : ike->children)
                if (auto u = core.kernel.child_usage(c.spi_in, c.spi_out); u) esp_idle_s = std::min(esp_idle_s, u->idle_in_s);
            if (esp_idle_s >= conn->dpd_delay_s)
                core.request(*ike, ExchangeType::kInformational, {}, Pending::Kind::kLiveness, now_ms);
        }
    }
}

void Engine::child_limit(uint32_t spi, bool hard, uint64_t now_ms) {
    EngineCore& core = *core_;
    for (auto& [our, ike] : core.sas) {
        ChildSa* c = ike->child_by_spi_in(spi);
        if (!c) c = ike->child_by_spi_out(spi);
        if (!c) continue;
        if (hard) {
            // The data plane deleted that SA: the pair goes, and the peer is told.
            const uint32_t spi_in = c->spi_in;
            core.log("CHILD SA %s: hard limit reached, deleted", c->name.c_str());
            core.request(*ike, ExchangeType::kInformational,
                         {RawPayload{PayloadType::kDelete, false, 0, build_delete(DeletePayload{ProtocolId::kEsp, {spi_in}})}},
                         Pending::Kind::kDeleteChild, now_ms, spi_in);
            core.remove_child(*ike, spi_in);
        } else {
            // Rekey now (the next tick starts it); the peer may beat us to it, which is fine.
            core.log("CHILD SA %s: soft limit reached, rekeying", c->name.c_str());
            if (!c->rekeyed) c->rekey_ms = now_ms;
        }
        return;
    }
}

void Engine::peer_moved(uint32_t peer, const UdpEnd& where) {
    for (auto& [our, ike] : core_->sas)
        if (ike->peer == peer && ike->nat.nat_there && !ike->nat.nat_here) ike->remote = where;
}

void Engine::shutdown(uint64_t now_ms) {
    std::vector<uint64_t> spis;
    for (const auto& [spi, ike] : core_->sas) spis.push_back(spi);
    for (uint64_t spi : spis)
        if (IkeSa* ike = core_->find(spi)) core_->remove(*ike, now_ms, "shutdown");
}

namespace {

std::string prefixes_str(const std::vector<net::Prefix>& v) {
    std::string s;
    for (const net::Prefix& p : v) s += (s.empty() ? "" : ",") + p.str();
    return s;
}

}  // namespace

std::vector<IkeSaInfo> Engine::list(uint64_t now_ms) {
    std::vector<IkeSaInfo> out;
    for (auto& [our, ike] : core_->sas) {
        IkeSaInfo i;
        i.connection = ike->conn ? ike->conn->name : "";
        i.state = ike->state == IkeSa::State::kHalfOpen ? "half-open"
                  : ike->state == IkeSa::State::kEstablished ? "established"
                  : ike->state == IkeSa::State::kInitSent ? "connecting"
                  : ike->state == IkeSa::State::kAuthSent ? "authenticating" : "deleting";
        i.local_id = ike->our_id.data.empty() ? "" : to_string(ike->our_id);
        i.remote_id = ike->peer_name;
        i.proposal = to_string(ike->proposal);
        i.local = ike->local;
        i.remote = ike->remote;
        i.nat_here = ike->nat.nat_here;
        i.nat_there = ike->nat.nat_there;
        i.spi_i = ike->spi_i;
        i.spi_r = ike->spi_r;
        i.age_s = (now_ms - ike->created_ms) / 1000;
        for (const auto& [pool, a] : ike->vips) i.vips.push_back(a.str());
        for (const ChildSa& c : ike->children) {
            IkeSaInfo::Child ch;
            ch.name = c.name;
            ch.local_ts = prefixes_str(c.local);
            ch.remote_ts = prefixes_str(c.remote);
            ch.proposal = to_string(c.proposal);
            ch.spi_in = c.spi_in;
            ch.spi_out = c.spi_out;
            ch.transport = c.transport;
            ch.udp = c.udp;
            ch.outbound_pending = c.outbound_pending;
            ch.age_s = (now_ms - c.created_ms) / 1000;
            ch.rekey_in_s = c.rekey_ms > now_ms ? (c.rekey_ms - now_ms) / 1000 : 0;
            if (auto u = core_->kernel.child_usage(c.spi_in, c.spi_out)) ch.usage = *u;
            i.children.push_back(std::move(ch));
        }
        out.push_back(std::move(i));
    }
    return out;
}

ChildSa* IkeSa::child_by_spi_in(uint32_t spi) {
    for (ChildSa& c : children)
        if (c.spi_in == spi) return &c;
    return nullptr;
}

ChildSa* IkeSa::child_by_spi_out(uint32_t spi) {
    for (ChildSa& c : children)
        if (c.spi_out == spi) return &c;
    return nullptr;
}

}  // namespace espgw::ike
