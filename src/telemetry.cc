// Counters for operators through DPDK telemetry (dpdk-telemetry.py, or any client of the
// telemetry socket). Commands: /espgw/stats, /espgw/drops, /espgw/ports, /espgw/workers,
// /espgw/bounds, /espgw/sa,<spi>, /espgw/neighbours, and the paged lists (Page) /espgw/sas, /espgw/peers,
// /espgw/policies, /espgw/ike_sas, /espgw/child_sas[,<offset>]. Reads are relaxed loads of counters each
// written by one thread; the SA list is walked under the control mutex.
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <rte_telemetry.h>

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <string>

#include <cinttypes>

#include "gateway.h"

namespace espgw {

namespace {

Gateway* g_gw = nullptr;

uint64_t load(const uint64_t& v) { return __atomic_load_n(&v, __ATOMIC_RELAXED); }

rte_tel_data* new_dict() {
    rte_tel_data* d = rte_tel_data_alloc();
    rte_tel_data_start_dict(d);
    return d;
}

void add_drops(rte_tel_data* d, const uint64_t* drops) {
    for (unsigned r = 0; r < dp::kDropReasons; ++r)
        rte_tel_data_add_dict_u64(d, std::string(dp::drop_name(static_cast<dp::Drop>(r))).c_str(), drops[r]);
}

int cmd_stats(const char*, const char*, rte_tel_data* d) {
    Gateway& gw = *g_gw;
    rte_tel_data_start_dict(d);
    uint64_t rx[dp::kRoles]{}, tx[dp::kRoles]{}, esp_in = 0, esp_out = 0, ka = 0, ike = 0, events = 0, drops = 0;
    for (size_t k = 0; k < gw.workers.size(); ++k) {
        const dp::WorkerCounters& c = gw.counters[k];
        for (unsigned r = 0; r < dp::kRoles; ++r) {
            rx[r] += load(c.rx[r]);
            tx[r] += load(c.tx[r]);
            for (unsigned why = 0; why < dp::kDropReasons; ++why) drops += load(c.drops[r][why]);
        }
        esp_in += load(c.esp_in);
        esp_out += load(c.esp_out);
        ka += load(c.keepalives);
        ike += load(c.ike);
        events += load(c.events);
    }
    for (unsigned r = 0; r < gw.n_roles(); ++r) {
        rte_tel_data_add_dict_u64(d, (std::string(dp::role_name(r)) + "_rx").c_str(), rx[r]);
        rte_tel_data_add_dict_u64(d, (std::string(dp::role_name(r)) + "_tx").c_str(), tx[r]);
    }
    rte_tel_data_add_dict_u64(d, "esp_in", esp_in);
    rte_tel_data_add_dict_u64(d, "esp_out", esp_out);
    rte_tel_data_add_dict_u64(d, "keepalives_in", ka);
    rte_tel_data_add_dict_u64(d, "ike_in", ike);
    rte_tel_data_add_dict_u64(d, "events", events);
    rte_tel_data_add_dict_u64(d, "drops", drops);
    rte_tel_data_add_dict_u64(d, "ike_messages", gw.control_stats.ike_messages.load());
    rte_tel_data_add_dict_u64(d, "mapping_changes", gw.control_stats.mapping_changes.load());
    rte_tel_data_add_dict_u64(d, "keepalives_sent", gw.control_stats.keepalives_sent.load());
    rte_tel_data_add_dict_u64(d, "keepalives_seen", gw.control_stats.keepalives_seen.load());
    rte_tel_data_add_dict_u64(d, "keepalives_unmatched", gw.control_stats.keepalives_unmatched.load());
    rte_tel_data_add_dict_u64(d, "ike_malformed", gw.control_stats.ike_malformed.load());
    rte_tel_data_add_dict_u64(d, "acquires", gw.control_stats.acquires.load());
    rte_tel_data_add_dict_u64(d, "ike_budget_hit", gw.control_stats.ike_budget_hit.load());
    const control::NeighbourStats& n = gw.neighbour_stats;
    rte_tel_data_add_dict_u64(d, "arp_requests_sent", n.arp_requests_sent.load());
    rte_tel_data_add_dict_u64(d, "arp_replies_sent", n.arp_replies_sent.load());
    rte_tel_data_add_dict_u64(d, "nd_solicitations_sent", n.nd_solicitations_sent.load());
    rte_tel_data_add_dict_u64(d, "nd_advertisements_sent", n.nd_advertisements_sent.load());
    rte_tel_data_add_dict_u64(d, "held_sent", n.held_sent.load());
    rte_tel_data_add_dict_u64(d, "held_dropped", n.held_dropped.load());
    std::lock_guard lock(gw.control_mutex);
    rte_tel_data_add_dict_u64(d, "sas", gw.sas->size());
    return 0;
}

int cmd_drops(const char*, const char*, rte_tel_data* d) {
    Gateway& gw = *g_gw;
    uint64_t sum[dp::kDropReasons]{};
    for (size_t k = 0; k < gw.workers.size(); ++k)
        for (unsigned r = 0; r < dp::kRoles; ++r)
            for (unsigned why = 0; why < dp::kDropReasons; ++why) sum[why] += load(gw.counters[k].drops[r][why]);
    rte_tel_data_start_dict(d);
    add_drops(d, sum);
    return 0;
}

int cmd_ports(const char*, const char*, rte_tel_data* d) {
    Gateway& gw = *g_gw;
    rte_tel_data_start_dict(d);
    for (unsigned r = 0; r < gw.n_roles(); ++r) {
        rte_tel_data* p = new_dict();
        rte_eth_stats st{};
        rte_eth_stats_get(gw.shared.port_id[r], &st);
        rte_tel_data_add_dict_int(p, "port_id", gw.shared.port_id[r]);
        rte_tel_data_add_dict_u64(p, "ipackets", st.ipackets);
        rte_tel_data_add_dict_u64(p, "opackets", st.opackets);
        rte_tel_data_add_dict_u64(p, "ibytes", st.ibytes);
        rte_tel_data_add_dict_u64(p, "obytes", st.obytes);
        rte_tel_data_add_dict_u64(p, "imissed", st.imissed);
        rte_tel_data_add_dict_u64(p, "ierrors", st.ierrors);
        rte_tel_data_add_dict_u64(p, "oerrors", st.oerrors);
        uint64_t drops[dp::kDropReasons]{};
        for (size_t k = 0; k < gw.workers.size(); ++k)
            for (unsigned why = 0; why < dp::kDropReasons; ++why) drops[why] += load(gw.counters[k].drops[r][why]);
        rte_tel_data* dd = new_dict();
        add_drops(dd, drops);
        rte_tel_data_add_dict_container(p, "drops", dd, 0);
        rte_tel_data_add_dict_container(d, dp::role_name(r), p, 0);
    }
    return 0;
}

int cmd_workers(const char*, const char*, rte_tel_data* d) {
    Gateway& gw = *g_gw;
    rte_tel_data_start_dict(d);
    for (size_t k = 0; k < gw.workers.size(); ++k) {
        const dp::WorkerCounters& c = gw.counters[k];
        rte_tel_data* w = new_dict();
        rte_tel_data_add_dict_int(w, "lcore", static_cast<int>(gw.cfg.worker_lcores[k]));
        for (unsigned r = 0; r < gw.n_roles(); ++r) {
            rte_tel_data_add_dict_u64(w, (std::string(dp::role_name(r)) + "_rx").c_str(), load(c.rx[r]));
            rte_tel_data_add_dict_u64(w, (std::string(dp::role_name(r)) + "_tx").c_str(), load(c.tx[r]));
        }
        rte_tel_data_add_dict_u64(w, "esp_in", load(c.esp_in));
        rte_tel_data_add_dict_u64(w, "esp_out", load(c.esp_out));
        rte_tel_data_add_dict_u64(w, "keepalives_in", load(c.keepalives));
        rte_tel_data_add_dict_u64(w, "ike_in", load(c.ike));
        rte_tel_data_add_dict_u64(w, "idle_sleeps", load(c.idle_sleeps));
        rte_tel_data_add_dict_u64(w, "reassembled", load(c.reassembled));
        rte_tel_data_add_dict_u64(w, "fragmented", load(c.fragmented));
        rte_tel_data_add_dict_u64(w, "reassembly_held", load(c.reassembly_held));
        uint64_t drops = 0;
        for (unsigned r = 0; r < dp::kRoles; ++r)
            for (unsigned why = 0; why < dp::kDropReasons; ++why) drops += load(c.drops[r][why]);
        rte_tel_data_add_dict_u64(w, "drops", drops);
        rte_tel_data_add_dict_container(d, ("worker" + std::to_string(k)).c_str(), w, 0);
    }
    return 0;
}

// Each resource bound: its limit, what is in use now, and what it refused (dropped) so far.
int cmd_bounds(const char*, const char*, rte_tel_data* d) {
    Gateway& gw = *g_gw;
    uint64_t drops[dp::kDropReasons]{}, held = 0, steps_back = 0;
    for (size_t k = 0; k < gw.workers.size(); ++k) {
        held += load(gw.counters[k].reassembly_held);
        steps_back += load(gw.counters[k].clock_steps_back);
        for (unsigned r = 0; r < dp::kRoles; ++r)
            for (unsigned why = 0; why < dp::kDropReasons; ++why) drops[why] += load(gw.counters[k].drops[r][why]);
    }
    auto n = [&](dp::Drop w) { return drops[static_cast<unsigned>(w)]; };
    rte_tel_data_start_dict(d);
    rte_tel_data* r = new_dict();
    rte_tel_data_add_dict_u64(r, "limit_mbufs", gw.cfg.reassembly_mbufs);
    rte_tel_data_add_dict_u64(r, "held_mbufs", held);
    rte_tel_data_add_dict_u64(r, "refused_full", n(dp::Drop::frag_no_room));
    rte_tel_data_add_dict_u64(r, "limit_per_source", gw.cfg.reassembly_per_source);
    rte_tel_data_add_dict_u64(r, "refused_per_source", n(dp::Drop::frag_source_limit));
    rte_tel_data_add_dict_u64(r, "timeout_ms", gw.cfg.reassembly_timeout_ms);
    rte_tel_data_add_dict_u64(r, "timed_out", n(dp::Drop::frag_timeout));
    rte_tel_data_add_dict_u64(r, "clock_steps_back", steps_back);
    rte_tel_data_add_dict_container(d, "reassembly", r, 0);
    rte_tel_data* q = new_dict();
    rte_tel_data_add_dict_u64(q, "limit_packets", control::NeighbourResolver::kMaxHeld);
    rte_tel_data_add_dict_u64(q, "held_packets", gw.neighbour_stats.held_now.load());
    rte_tel_data_add_dict_u64(q, "refused_full", gw.neighbour_stats.held_full.load());
    rte_tel_data_add_dict_container(d, "neighbour_queues", q, 0);
    rte_tel_data* p = new_dict();
    rte_tel_data_add_dict_u64(p, "size", gw.cfg.mbufs);
    rte_tel_data_add_dict_u64(p, "available", rte_mempool_avail_count(gw.shared.pool));
    rte_tel_data_add_dict_u64(p, "refused_empty", n(dp::Drop::no_mbuf));
    rte_tel_data_add_dict_container(d, "mbufs", p, 0);
    rte_tel_data* i = new_dict();
    rte_tel_data_add_dict_u64(i, "size", rte_ring_get_capacity(gw.shared.ike_ring));
    rte_tel_data_add_dict_u64(i, "queued", rte_ring_count(gw.shared.ike_ring));
    rte_tel_data_add_dict_u64(i, "refused_full_all_rings", n(dp::Drop::ring_full));
    rte_tel_data_add_dict_container(d, "ike_ring", i, 0);
    return 0;
}

// Fields of a telemetry dict, with the bytes of JSON they become ("key":value,): DPDK's reply
// buffer (16 KB in 22.11) silently leaves out whatever does not fit, so a list must stop
// before that by itself and say where it stopped.
struct JsonDict {
    rte_tel_data* d;
    size_t bytes = 2;  // {}
    void u64(const char* k, uint64_t v) {
        rte_tel_data_add_dict_u64(d, k, v);
        bytes += strlen(k) + 4 + std::to_string(v).size();
    }
    void str(const char* k, const std::string& v) {
        rte_tel_data_add_dict_string(d, k, v.c_str());
        bytes += strlen(k) + 6 + v.size();
    }
};

// Returns the bytes of JSON the SA's dict takes.
size_t describe_sa(rte_tel_data* s, const sa::Sa& sa, bool detail) {
    const sa::SaParams& p = sa.params;
    const sa::SaCounters t = sa.totals();
    JsonDict j{s};
    j.u64("spi", p.spi);
    j.str("direction", p.direction == sa::Direction::inbound ? "in" : "out");
    j.str("name", p.name);
    j.str("mode", p.mode == sa::Mode::tunnel ? "tunnel" : "transport");
    j.str("peer", sa.peer_now());
    j.u64("packets", t.packets);
    j.u64("bytes", t.bytes);
    uint64_t drops = 0;
    for (uint64_t v : t.drops) drops += v;
    j.u64("drops", drops);
    if (!detail) return j.bytes;
    j.str("cipher", std::string(crypto::name_of(sa.keys.cipher)));
    j.str("integrity", std::string(crypto::name_of(sa.keys.integrity)));
    j.str("selectors", sa.selectors->str());
    j.u64("seq_out", sa.seq_out.load(std::memory_order_relaxed));
    j.u64("replay_top", sa.replay.top());
    j.u64("replay_window", sa.replay.size());
    j.str("peer_name", sa.peer->name);
    const uint64_t used = sa.last_used_tsc.load(std::memory_order_relaxed);
    if (used) j.u64("idle_ms", (rte_rdtsc() - used) * 1000 / g_gw->tsc_hz);
    rte_tel_data* dd = new_dict();
    add_drops(dd, t.drops);
    rte_tel_data_add_dict_container(s, "drops_by_reason", dd, 0);
    return j.bytes + 1024;  // the drops by reason: a bound, not a count (this reply is one SA)
}

// Telemetry keys allow letters, digits and underscores only.
std::string key_of(const std::string& name) {
    std::string k = name;
    for (char& c : k)
        if (!isalnum(static_cast<unsigned char>(c))) c = '_';
    return k;
}

// One page of a list reply (/espgw/sas, /espgw/peers, ...): the items from `offset` (the
// command's parameter, default 0) on, as many as one reply holds (DPDK's entry limit and
// reply buffer), then total, offset, count, and next_offset when the page was cut: what to
// ask for next. Between two pages items may come and go: a walk is not a snapshot.
class Page {
public:
    Page(rte_tel_data* d, const char* params) : d_(d) {
        if (params && *params) {
            char* end = nullptr;
            offset_ = std::strtoul(params, &end, 10);
            ok_ = !*end && isdigit(static_cast<unsigned char>(*params));
        }
        rte_tel_data_start_dict(d);
    }
    bool ok() const { return ok_; }
    // Called for every item in the list's order: whether to build it for this page.
    bool wants() {
        if (seen_++ < offset_ || cut_) return false;
        if (shown_ + kMeta >= RTE_TEL_MAX_DICT_ENTRIES) cut_ = true;
        return !cut_;
    }
    // Adds the item built after wants() (bytes: its JSON size, JsonDict::bytes); if the reply
    // cannot hold it, the page ends before it and the item is freed.
    void add(const std::string& key, rte_tel_data* item, size_t bytes) {
        bytes += key.size() + 4;
        if (bytes_ + bytes > kBudget) {
            rte_tel_data_free(item);
            cut_ = true;
            return;
        }
        rte_tel_data_add_dict_container(d_, key.c_str(), item, 0);
        bytes_ += bytes;
        ++shown_;
    }
    void add(const std::string& key, const JsonDict& item) { add(key, item.d, item.bytes); }
    int finish() {
        rte_tel_data_add_dict_u64(d_, "total", seen_);
        rte_tel_data_add_dict_u64(d_, "offset", offset_);
        rte_tel_data_add_dict_u64(d_, "count", shown_);
        if (cut_) rte_tel_data_add_dict_u64(d_, "next_offset", offset_ + shown_);
        return 0;
    }

private:
    // The reply wraps the dict in {"<command>":...}; the page's own fields take < 100 bytes.
    static constexpr size_t kBudget = 16 * 1024 - 256;
    static constexpr unsigned kMeta = 4;  // total, offset, count, next_offset
    rte_tel_data* d_;
    size_t offset_ = 0, seen_ = 0, shown_ = 0, bytes_ = 0;
    bool ok_ = true, cut_ = false;
};

// /espgw/sas[,offset]: SAs in a stable order (inbound, then outbound, each by SPI), keyed by
// direction and SPI (names need not be unique), one Page at a time.
int cmd_sas(const char*, const char* params, rte_tel_data* d) {
    Gateway& gw = *g_gw;
    Page page(d, params);
    if (!page.ok()) return -1;
    std::lock_guard lock(gw.control_mutex);
    gw.sas->for_each([&](sa::Sa& sa) {
        if (!page.wants()) return;
        char key[16];
        snprintf(key, sizeof key, "%s_%08x", sa.params.direction == sa::Direction::inbound ? "in" : "out", sa.params.spi);
        rte_tel_data* s = new_dict();
        const size_t size = describe_sa(s, sa, false);
        page.add(key, s, size);
    });
    return page.finish();
}

int cmd_sa(const char*, const char* params, rte_tel_data* d) {
    Gateway& gw = *g_gw;
    if (!params || !*params) return -1;
    char* end = nullptr;
    const unsigned long spi = std::strtoul(params, &end, 0);
    if (*end) return -1;
    rte_tel_data_start_dict(d);
    std::lock_guard lock(gw.control_mutex);
    for (sa::Direction dir : {sa::Direction::inbound, sa::Direction::outbound}) {
        if (const sa::Sa* sa = gw.sas->find(dir, static_cast<uint32_t>(spi))) {
            rte_tel_data* s = new_dict();
            describe_sa(s, *sa, true);
            rte_tel_data_add_dict_container(d, dir == sa::Direction::inbound ? "in" : "out", s, 0);
        }
    }
    return 0;
}

int cmd_peers(const char*, const char* params, rte_tel_data* d) {
    Gateway& gw = *g_gw;
    Page page(d, params);
    if (!page.ok()) return -1;
    std::lock_guard lock(gw.control_mutex);
    const uint64_t now = rte_rdtsc();
    for (const control::PeerTable::Info& i : gw.peers.list()) {
        if (!page.wants()) continue;
        JsonDict p{new_dict()};
        p.u64("id", i.peer->id);
        p.str("location", sa::endpoint_str(i.addr, i.endpoint));
        p.str("follows", i.peer->follows() ? "yes" : "no");
        p.str("nat_here", i.peer->nat_here() ? "yes" : "no");
        p.str("nat_there", i.peer->nat_there() ? "yes" : "no");
        p.u64("sas", i.sas);
        // Authenticated traffic and keepalives tell that the peer is alive.
        const uint64_t seen = i.peer->last_seen_tsc.load(std::memory_order_relaxed);
        if (seen) p.u64("idle_ms", (now - seen) * 1000 / gw.tsc_hz);
        page.add(key_of(i.peer->name), p);
    }
    return page.finish();
}

std::string where_str(const ike::UdpEnd& e) {
    return (e.addr.is_v4() ? e.addr.str() : "[" + e.addr.str() + "]") + ":" + std::to_string(e.port);
}

// IKE SAs: one dict per IKE SA (telemetry nests one level, so CHILD SAs are their own command).
int cmd_ike_sas(const char*, const char* params, rte_tel_data* d) {
    Gateway& gw = *g_gw;
    Page page(d, params);
    if (!page.ok()) return -1;
    std::lock_guard lock(gw.control_mutex);
    if (!gw.ike) return page.finish();
    for (const ike::IkeSaInfo& i : gw.ike->list(rte_rdtsc() / (gw.tsc_hz / 1000))) {
        if (!page.wants()) continue;
        JsonDict p{new_dict()};
        char spis[40];
        snprintf(spis, sizeof spis, "%016" PRIx64 "_%016" PRIx64, i.spi_i, i.spi_r);
        p.str("connection", i.connection);
        p.str("state", i.state);
        p.str("local", where_str(i.local));
        p.str("remote", where_str(i.remote));
        p.str("local_id", i.local_id);
        p.str("remote_id", i.remote_id);
        p.str("nat_here", i.nat_here ? "yes" : "no");
        p.str("nat_there", i.nat_there ? "yes" : "no");
        p.str("proposal", i.proposal);
        std::string vips;
        for (const std::string& v : i.vips) vips += (vips.empty() ? "" : ",") + v;
        p.str("virtual_ips", vips);
        p.u64("age_s", i.age_s);
        p.u64("child_sas", i.children.size());
        page.add(spis, p);
    }
    return page.finish();
}

int cmd_child_sas(const char*, const char* params, rte_tel_data* d) {
    Gateway& gw = *g_gw;
    Page page(d, params);
    if (!page.ok()) return -1;
    std::lock_guard lock(gw.control_mutex);
    if (!gw.ike) return page.finish();
    for (const ike::IkeSaInfo& i : gw.ike->list(rte_rdtsc() / (gw.tsc_hz / 1000)))
        for (const ike::IkeSaInfo::Child& c : i.children) {
            if (!page.wants()) continue;
            JsonDict p{new_dict()};
            p.str("remote_id", i.remote_id);
            p.u64("spi_in", c.spi_in);
            p.u64("spi_out", c.spi_out);
            p.str("local_ts", c.local_ts);
            p.str("remote_ts", c.remote_ts);
            p.str("mode", c.transport ? "transport" : "tunnel");
            p.str("encap", c.udp ? "udp" : "esp");
            p.str("outbound", c.outbound_pending ? "waiting for the old SA's deletion" : "in use");
            p.str("proposal", c.proposal);
            p.u64("packets_in", c.usage.packets_in);
            p.u64("bytes_in", c.usage.bytes_in);
            p.u64("packets_out", c.usage.packets_out);
            p.u64("bytes_out", c.usage.bytes_out);
            p.u64("age_s", c.age_s);
            p.u64("rekey_in_s", c.rekey_in_s);
            page.add(key_of(c.name), p);
        }
    return page.finish();
}

int cmd_ike_stats(const char*, const char*, rte_tel_data* d) {
    Gateway& gw = *g_gw;
    rte_tel_data_start_dict(d);
    std::lock_guard lock(gw.control_mutex);
    if (!gw.ike) return 0;
    const ike::EngineStats& s = gw.ike->stats();
    const std::pair<const char*, uint64_t> fields[] = {
        {"received", s.received}, {"sent", s.sent}, {"retransmitted_responses", s.retransmitted_responses},
        {"retransmitted_requests", s.retransmitted_requests}, {"malformed", s.malformed}, {"no_ike_sa", s.no_ike_sa},
        {"bad_message_id", s.bad_message_id}, {"undecryptable", s.undecryptable}, {"cookies_sent", s.cookies_sent},
        {"half_open_limit", s.half_open_limit}, {"no_proposal", s.no_proposal}, {"invalid_ke", s.invalid_ke},
        {"auth_failed", s.auth_failed}, {"ts_unacceptable", s.ts_unacceptable}, {"pool_exhausted", s.pool_exhausted},
        {"established", s.established}, {"children_installed", s.children_installed}, {"child_rekeys", s.child_rekeys}, {"ike_rekeys", s.ike_rekeys},
        {"fragments_in", s.fragments_in}, {"fragments_out", s.fragments_out}, {"initiated", s.initiated},
        {"initiate_failed", s.initiate_failed},
        {"deleted", s.deleted}, {"dead_peers", s.dead_peers}, {"replaced", s.replaced},
        {"ike_sas", gw.ike->ike_sa_count()}, {"half_open", gw.ike->half_open_count()}};
    for (const auto& [k, v] : fields) rte_tel_data_add_dict_u64(d, k, v);
    return 0;
}

int cmd_policies(const char*, const char* params, rte_tel_data* d) {
    Gateway& gw = *g_gw;
    Page page(d, params);
    if (!page.ok()) return -1;
    std::lock_guard lock(gw.control_mutex);
    gw.sas->for_each_policy([&](const sa::Policy& pol) {
        if (!page.wants()) return;
        JsonDict p{new_dict()};
        p.u64("id", pol.id);
        p.str("selectors", pol.selectors->str());
        p.str("action", pol.action == sa::PolicyAction::protect ? "protect" : "discard");
        const sa::Sa* out = pol.sa.load(std::memory_order_acquire);
        if (out) p.u64("outbound_spi", out->params.spi);
        page.add(key_of(pol.name), p);
    });
    return page.finish();
}

int cmd_neighbours(const char*, const char*, rte_tel_data* d) {
    Gateway& gw = *g_gw;
    rte_tel_data_start_dict(d);
    const uint64_t now = rte_rdtsc();
    for (const auto& e : gw.neighbours->snapshot()) {
        char mac[18];
        snprintf(mac, sizeof mac, "%02x:%02x:%02x:%02x:%02x:%02x", e.mac.b[0], e.mac.b[1], e.mac.b[2], e.mac.b[3],
                 e.mac.b[4], e.mac.b[5]);
        const bool live = e.resolved && e.expires_tsc > now;
        rte_tel_data_add_dict_string(d, key_of(e.addr.str()).c_str(), live ? mac : "unresolved");
    }
    return 0;
}

}  // namespace

void register_telemetry(Gateway& gw) {
    g_gw = &gw;
    rte_telemetry_register_cmd("/espgw/stats", cmd_stats, "Gateway totals. No parameters");
    rte_telemetry_register_cmd("/espgw/drops", cmd_drops, "Dropped packets by reason. No parameters");
    rte_telemetry_register_cmd("/espgw/ports", cmd_ports, "Per-port device stats and drops. No parameters");
    rte_telemetry_register_cmd("/espgw/workers", cmd_workers, "Per-worker counters. No parameters");
    rte_telemetry_register_cmd("/espgw/bounds", cmd_bounds,
                               "Resource bounds: limit, in use, refused (reassembly, neighbour queues, mbufs, IKE ring). No parameters");
    rte_telemetry_register_cmd("/espgw/sas", cmd_sas, "SAs with counters, one page. Parameter: offset (0); next_offset says where the next page starts");
    rte_telemetry_register_cmd("/espgw/sa", cmd_sa, "One SA in detail. Parameter: SPI (decimal or 0x hex)");
    rte_telemetry_register_cmd("/espgw/peers", cmd_peers, "Peers: location, liveness, SAs, one page. Parameter: offset (0); next_offset says where the next page starts");
    rte_telemetry_register_cmd("/espgw/policies", cmd_policies, "Policies: selectors, action, outbound SA, one page. Parameter: offset (0)");
    rte_telemetry_register_cmd("/espgw/neighbours", cmd_neighbours, "ARP table. No parameters");
    rte_telemetry_register_cmd("/espgw/ike_sas", cmd_ike_sas, "IKE SAs: peer, identities, NAT, state, one page. Parameter: offset (0)");
    rte_telemetry_register_cmd("/espgw/child_sas", cmd_child_sas, "CHILD SAs negotiated by IKE, with counters, one page. Parameter: offset (0)");
    rte_telemetry_register_cmd("/espgw/ike", cmd_ike_stats, "IKE engine counters. No parameters");
}

}  // namespace espgw
