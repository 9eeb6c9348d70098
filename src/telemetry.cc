// Counters for operators through DPDK telemetry (dpdk-telemetry.py, or any client of the
// telemetry socket). Commands: /espgw/stats, /espgw/drops, /espgw/ports, /espgw/workers,
// /espgw/bounds, /espgw/sas[,<offset>] (paged), /espgw/sa,<spi>, /espgw/peers, /espgw/neighbours. Reads are relaxed loads of counters each
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
    uint64_t drops[dp::kDropReasons]{}, held = 0;
    for (size_t k = 0; k < gw.workers.size(); ++k) {
        held += load(gw.counters[k].reassembly_held);
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

// /espgw/sas[,offset]: SAs in a stable order (inbound, then outbound, each by SPI), as many
// from offset on as one reply holds, keyed by direction and SPI (names need not be unique).
// total, offset and count come with every page; next_offset only when the page was cut, and
// is what to ask for next. (Between two pages SAs may come and go: a walk is not a snapshot.)
int cmd_sas(const char*, const char* params, rte_tel_data* d) {
    Gateway& gw = *g_gw;
    size_t offset = 0;
    if (params && *params) {
        char* end = nullptr;
        offset = std::strtoul(params, &end, 10);
        if (*end || !isdigit(static_cast<unsigned char>(*params))) return -1;
    }
    // The reply wraps the dict in {"/espgw/sas":...}; the page's own fields take < 100 bytes.
    constexpr size_t kBudget = 16 * 1024 - 256;
    constexpr unsigned kMeta = 4;  // total, offset, count, next_offset
    rte_tel_data_start_dict(d);
    std::lock_guard lock(gw.control_mutex);
    size_t seen = 0, shown = 0, bytes = 0;
    bool cut = false;
    gw.sas->for_each([&](sa::Sa& sa) {
        if (seen++ < offset || cut) return;
        if (shown + kMeta >= RTE_TEL_MAX_DICT_ENTRIES) {
            cut = true;
            return;
        }
        char key[16];
        snprintf(key, sizeof key, "%s_%08x", sa.params.direction == sa::Direction::inbound ? "in" : "out", sa.params.spi);
        rte_tel_data* s = new_dict();
        const size_t size = describe_sa(s, sa, false) + strlen(key) + 4;
        if (bytes + size > kBudget) {
            rte_tel_data_free(s);
            cut = true;
            return;
        }
        rte_tel_data_add_dict_container(d, key, s, 0);
        bytes += size;
        ++shown;
    });
    rte_tel_data_add_dict_u64(d, "total", gw.sas->size());
    rte_tel_data_add_dict_u64(d, "offset", offset);
    rte_tel_data_add_dict_u64(d, "count", shown);
    if (cut) rte_tel_data_add_dict_u64(d, "next_offset", offset + shown);
    return 0;
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

int cmd_peers(const char*, const char*, rte_tel_data* d) {
    Gateway& gw = *g_gw;
    rte_tel_data_start_dict(d);
    std::lock_guard lock(gw.control_mutex);
    const uint64_t now = rte_rdtsc();
    unsigned n = 0;
    for (const control::PeerTable::Info& i : gw.peers.list()) {
        if (++n > RTE_TEL_MAX_DICT_ENTRIES) break;
        rte_tel_data* p = new_dict();
        rte_tel_data_add_dict_u64(p, "id", i.peer->id);
        rte_tel_data_add_dict_string(p, "location", sa::endpoint_str(i.addr, i.endpoint).c_str());
        rte_tel_data_add_dict_string(p, "follows", i.peer->follows() ? "yes" : "no");
        rte_tel_data_add_dict_string(p, "nat_here", i.peer->nat_here() ? "yes" : "no");
        rte_tel_data_add_dict_string(p, "nat_there", i.peer->nat_there() ? "yes" : "no");
        rte_tel_data_add_dict_u64(p, "sas", i.sas);
        // Authenticated traffic and keepalives tell that the peer is alive.
        const uint64_t seen = i.peer->last_seen_tsc.load(std::memory_order_relaxed);
        if (seen) rte_tel_data_add_dict_u64(p, "idle_ms", (now - seen) * 1000 / gw.tsc_hz);
        rte_tel_data_add_dict_container(d, key_of(i.peer->name).c_str(), p, 0);
    }
    return 0;
}

std::string where_str(const ike::UdpEnd& e) {
    return (e.addr.is_v4() ? e.addr.str() : "[" + e.addr.str() + "]") + ":" + std::to_string(e.port);
}

// IKE SAs: one dict per IKE SA (telemetry nests one level, so CHILD SAs are their own command).
int cmd_ike_sas(const char*, const char*, rte_tel_data* d) {
    Gateway& gw = *g_gw;
    rte_tel_data_start_dict(d);
    std::lock_guard lock(gw.control_mutex);
    if (!gw.ike) return 0;
    unsigned n = 0;
    for (const ike::IkeSaInfo& i : gw.ike->list(rte_rdtsc() / (gw.tsc_hz / 1000))) {
        if (++n > RTE_TEL_MAX_DICT_ENTRIES) break;
        rte_tel_data* p = new_dict();
        char spis[40];
        snprintf(spis, sizeof spis, "%016" PRIx64 "_%016" PRIx64, i.spi_i, i.spi_r);
        rte_tel_data_add_dict_string(p, "connection", i.connection.c_str());
        rte_tel_data_add_dict_string(p, "state", i.state.c_str());
        rte_tel_data_add_dict_string(p, "local", where_str(i.local).c_str());
        rte_tel_data_add_dict_string(p, "remote", where_str(i.remote).c_str());
        rte_tel_data_add_dict_string(p, "local_id", i.local_id.c_str());
        rte_tel_data_add_dict_string(p, "remote_id", i.remote_id.c_str());
        rte_tel_data_add_dict_string(p, "nat_here", i.nat_here ? "yes" : "no");
        rte_tel_data_add_dict_string(p, "nat_there", i.nat_there ? "yes" : "no");
        rte_tel_data_add_dict_string(p, "proposal", i.proposal.c_str());
        std::string vips;
        for (const std::string& v : i.vips) vips += (vips.empty() ? "" : ",") + v;
        rte_tel_data_add_dict_string(p, "virtual_ips", vips.c_str());
        rte_tel_data_add_dict_u64(p, "age_s", i.age_s);
        rte_tel_data_add_dict_u64(p, "child_sas", i.children.size());
        rte_tel_data_add_dict_container(d, spis, p, 0);
    }
    return 0;
}

int cmd_child_sas(const char*, const char*, rte_tel_data* d) {
    Gateway& gw = *g_gw;
    rte_tel_data_start_dict(d);
    std::lock_guard lock(gw.control_mutex);
    if (!gw.ike) return 0;
    unsigned n = 0;
    for (const ike::IkeSaInfo& i : gw.ike->list(rte_rdtsc() / (gw.tsc_hz / 1000)))
        for (const ike::IkeSaInfo::Child& c : i.children) {
            if (++n > RTE_TEL_MAX_DICT_ENTRIES) return 0;
            rte_tel_data* p = new_dict();
            rte_tel_data_add_dict_string(p, "remote_id", i.remote_id.c_str());
            rte_tel_data_add_dict_u64(p, "spi_in", c.spi_in);
            rte_tel_data_add_dict_u64(p, "spi_out", c.spi_out);
            rte_tel_data_add_dict_string(p, "local_ts", c.local_ts.c_str());
            rte_tel_data_add_dict_string(p, "remote_ts", c.remote_ts.c_str());
            rte_tel_data_add_dict_string(p, "mode", c.transport ? "transport" : "tunnel");
            rte_tel_data_add_dict_string(p, "encap", c.udp ? "udp" : "esp");
            rte_tel_data_add_dict_string(p, "proposal", c.proposal.c_str());
            rte_tel_data_add_dict_u64(p, "packets_in", c.usage.packets_in);
            rte_tel_data_add_dict_u64(p, "bytes_in", c.usage.bytes_in);
            rte_tel_data_add_dict_u64(p, "packets_out", c.usage.packets_out);
            rte_tel_data_add_dict_u64(p, "bytes_out", c.usage.bytes_out);
            rte_tel_data_add_dict_u64(p, "age_s", c.age_s);
            rte_tel_data_add_dict_u64(p, "rekey_in_s", c.rekey_in_s);
            rte_tel_data_add_dict_container(d, key_of(c.name).c_str(), p, 0);
        }
    return 0;
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

int cmd_policies(const char*, const char*, rte_tel_data* d) {
    Gateway& gw = *g_gw;
    rte_tel_data_start_dict(d);
    std::lock_guard lock(gw.control_mutex);
    unsigned n = 0;
    gw.sas->for_each_policy([&](const sa::Policy& pol) {
        if (++n > RTE_TEL_MAX_DICT_ENTRIES) return;
        rte_tel_data* p = new_dict();
        rte_tel_data_add_dict_u64(p, "id", pol.id);
        rte_tel_data_add_dict_string(p, "selectors", pol.selectors->str().c_str());
        rte_tel_data_add_dict_string(p, "action", pol.action == sa::PolicyAction::protect ? "protect" : "discard");
        const sa::Sa* out = pol.sa.load(std::memory_order_acquire);
        if (out) rte_tel_data_add_dict_u64(p, "outbound_spi", out->params.spi);
        rte_tel_data_add_dict_container(d, key_of(pol.name).c_str(), p, 0);
    });
    return 0;
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
    rte_telemetry_register_cmd("/espgw/peers", cmd_peers, "Peers: location, liveness, SAs. No parameters");
    rte_telemetry_register_cmd("/espgw/policies", cmd_policies, "Policies: selectors, action, outbound SA. No parameters");
    rte_telemetry_register_cmd("/espgw/neighbours", cmd_neighbours, "ARP table. No parameters");
    rte_telemetry_register_cmd("/espgw/ike_sas", cmd_ike_sas, "IKE SAs: peer, identities, NAT, state. No parameters");
    rte_telemetry_register_cmd("/espgw/child_sas", cmd_child_sas, "CHILD SAs negotiated by IKE, with counters. No parameters");
    rte_telemetry_register_cmd("/espgw/ike", cmd_ike_stats, "IKE engine counters. No parameters");
}

}  // namespace espgw
