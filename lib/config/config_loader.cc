// libconfig text -> Config. Every setting is checked for type and range where it is read, and
// unknown settings are refused (a typo must not silently fall back to a default).
#include <libconfig.h++>

#include <algorithm>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <set>

#include "espgw/config/config.h"
#include "espgw/ike/key_exchange.h"
#include "parse_util.h"

namespace espgw::config {

namespace {

using libconfig::Setting;

class Loader {
public:
    explicit Loader(std::string file) : file_(std::move(file)) {}

    [[noreturn]] void fail(const Setting& s, const std::string& what) const {
        throw ConfigError(file_, static_cast<int>(s.getSourceLine()), s.getPath(), what);
    }

    void only(const Setting& group, std::initializer_list<const char*> allowed) const {
        if (!group.isGroup()) fail(group, "must be a group { ... }");
        for (int k = 0; k < group.getLength(); ++k) {
            const Setting& s = group[k];
            const std::string name = s.getName() ? s.getName() : "";
            if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return name == a; }))
                fail(s, "unknown setting");
        }
    }

    const Setting& need(const Setting& group, const char* name) const {
        if (!group.exists(name)) {
            const std::string path = group.isRoot() ? name : group.getPath() + "." + name;
            throw ConfigError(file_, static_cast<int>(group.getSourceLine()), path, "missing");
        }
        return group[name];
    }

    std::string str(const Setting& s) const {
        if (s.getType() != Setting::TypeString) fail(s, "must be a string");
        return s.c_str();
    }

    long long integer(const Setting& s, long long lo, long long hi) const {
        if (s.getType() != Setting::TypeInt && s.getType() != Setting::TypeInt64)
            fail(s, "must be an integer");
        // libconfig 1.5 converts only Int64 settings to long long.
        // Hex ints above 0x7fffffff arrive as negative 32-bit ints: read them unsigned.
        long long v;
        if (s.getType() == Setting::TypeInt64)
            v = static_cast<long long>(s);
        else if (s.getFormat() == Setting::FormatHex)
            v = static_cast<uint32_t>(static_cast<int>(s));
        else
            v = static_cast<int>(s);
        if (v < lo || v > hi)
            fail(s, "must be between " + std::to_string(lo) + " and " + std::to_string(hi) +
                        (hi > INT32_MAX && s.getType() == Setting::TypeInt
                             ? " (libconfig needs an L suffix above 2147483647, e.g. 900000000000L)"
                             : ""));
        return v;
    }

    bool boolean(const Setting& s) const {
        if (s.getType() != Setting::TypeBoolean) fail(s, "must be true or false");
        return s;
    }

    template <typename T>
    void opt_int(const Setting& g, const char* name, T& out, long long lo, long long hi) const {
        if (g.exists(name)) out = static_cast<T>(integer(g[name], lo, hi));
    }

    // One IPv6 address without a length, network order.
    void ipv6(const Setting& s, uint8_t out[16]) const {
        const std::string t = str(s);
        const auto p = net::parse_prefix(t);
        if (t.find('/') != std::string::npos || !p || p->family != 6) fail(s, "not an IPv6 address");
        std::memcpy(out, p->addr.b, 16);
    }

    uint32_t ipv4(const Setting& s) const {
        const auto a = net::parse_ipv4(str(s));
        if (!a) fail(s, "not an IPv4 address");
        return *a;
    }

    net::Prefix prefix(const Setting& s) const {
        const auto p = net::parse_prefix(str(s));
        if (!p) fail(s, "not an address or prefix");
        return *p;
    }

    // One prefix, or a list/array of 1 to Selectors::kMax of them.
    std::vector<net::Prefix> prefixes(const Setting& s) const {
        if (s.getType() == Setting::TypeString) return {prefix(s)};
        if (!s.isArray() && !s.isList()) fail(s, "must be a prefix or a list of prefixes");
        if (s.getLength() < 1 || s.getLength() > static_cast<int>(sa::Selectors::kMax))
            fail(s, "must hold 1 to " + std::to_string(sa::Selectors::kMax) + " prefixes");
        std::vector<net::Prefix> out;
        for (int k = 0; k < s.getLength(); ++k) out.push_back(prefix(s[k]));
        return out;
    }

    // lifetime = { soft_bytes = ...; hard_packets = ...; soft_seconds = ...; ... } (0 = none).
    void lifetimes(const Setting& g, sa::SaSpec& s) const {
        only(g, {"soft_bytes", "hard_bytes", "soft_packets", "hard_packets", "soft_seconds", "hard_seconds"});
        constexpr long long kMax = 0x7fffffffffffffffLL;
        opt_int(g, "soft_bytes", s.soft.bytes, 0, kMax);
        opt_int(g, "hard_bytes", s.hard.bytes, 0, kMax);
        opt_int(g, "soft_packets", s.soft.packets, 0, kMax);
        opt_int(g, "hard_packets", s.hard.packets, 0, kMax);
        opt_int(g, "soft_seconds", s.soft.seconds, 0, kMax);
        opt_int(g, "hard_seconds", s.hard.seconds, 0, kMax);
        const auto check = [&](uint64_t soft, uint64_t hard, const char* name) {
            if (soft && hard && soft >= hard) fail(g[name], "the soft limit must come before the hard one");
        };
        check(s.soft.bytes, s.hard.bytes, "soft_bytes");
        check(s.soft.packets, s.hard.packets, "soft_packets");
        check(s.soft.seconds, s.hard.seconds, "soft_seconds");
    }

    void policies(const Setting& list, Config& c) const {
        if (!list.isList()) fail(list, "must be a list ( {...}, ... )");
        std::set<std::string> names;
        for (int k = 0; k < list.getLength(); ++k) {
            const Setting& g = list[k];
            only(g, {"name", "local_ts", "remote_ts", "action"});
            PolicyConfig p;
            p.line = static_cast<int>(g.getSourceLine());
            const Setting& name_s = need(g, "name");
            p.name = str(name_s);
            if (!names.insert(p.name).second) fail(name_s, "policy name used twice");
            p.local = prefixes(need(g, "local_ts"));
            p.remote = prefixes(need(g, "remote_ts"));
            for (const net::Prefix& r : p.remote) claim_remote(r, "policy " + p.name, g["remote_ts"]);
            if (c.policies.size() + 1 > c.max_sas)
                fail(g, "more policies than max_sas (" + std::to_string(c.max_sas) + ") allows");
            p.action = g.exists("action") ? choice<sa::PolicyAction>(g["action"], {{"protect", sa::PolicyAction::protect},
                                                                                   {"discard", sa::PolicyAction::discard}})
                                          : sa::PolicyAction::protect;
            c.policies.push_back(std::move(p));
        }
    }

    // A list of strings, or one string.
    std::vector<std::string> strings(const Setting& s) const {
        if (s.getType() == Setting::TypeString) return {str(s)};
        if (!s.isArray() && !s.isList()) fail(s, "must be a string or a list of strings");
        std::vector<std::string> out;
        for (int k = 0; k < s.getLength(); ++k) out.push_back(str(s[k]));
        if (out.empty()) fail(s, "must not be empty");
        return out;
    }

    std::vector<ike::OurProposal> proposals(const Setting& s, ike::ProtocolId protocol) const {
        std::vector<ike::OurProposal> out;
        const std::vector<std::string> texts = strings(s);
        for (size_t k = 0; k < texts.size(); ++k) {
            std::string err;
            auto p = ike::parse_proposal(texts[k], protocol, err);
            if (!p) fail(s.getType() == Setting::TypeString ? s : s[static_cast<int>(k)], err);
            if (protocol == ike::ProtocolId::kEsp)
                for (const ike::Transform& t : p->encr)
                    if (t.key_length && *t.key_length == 192)
                        fail(s, "AES-192 is not supported by the data plane: " + texts[k]);
            out.push_back(std::move(*p));
        }
        return out;
    }

    ike::Identity identity(const Setting& s) const {
        std::string err;
        auto id = ike::Identity::parse(str(s), err);
        if (!id) fail(s, err);
        return *id;
    }

    void ike_pools(const Setting& list, Config& c) const {
        if (!list.isList()) fail(list, "must be a list ( {...}, ... )");
        std::set<std::string> names;
        for (int k = 0; k < list.getLength(); ++k) {
            const Setting& g = list[k];
            only(g, {"name", "range"});
            ike::PoolConfig p;
            const Setting& name_s = need(g, "name");
            p.name = str(name_s);
            if (!names.insert(p.name).second) fail(name_s, "pool name used twice");
            p.range = prefix(need(g, "range"));
            if ((p.range.family == 4 && p.range.len > 30) || (p.range.family == 6 && p.range.len > 126))
                fail(g["range"], "too small for a pool");
            c.ike.pools.push_back(p);
        }
    }

    ike::ChildConfig child(const Setting& g) const {
        only(g, {"name", "local_ts", "remote_ts", "esp_proposals", "mode", "replay_window", "rekey_time", "life_time",
                 "rekey_jitter", "rekey_bytes", "life_bytes", "rekey_packets", "life_packets"});
        ike::ChildConfig ch;
        ch.name = str(need(g, "name"));
        if (g.exists("local_ts")) ch.local_ts = prefixes(g["local_ts"]);
        if (g.exists("remote_ts")) ch.remote_ts = prefixes(g["remote_ts"]);
        ch.esp = g.exists("esp_proposals") ? proposals(g["esp_proposals"], ike::ProtocolId::kEsp)
                                           : default_esp();
        if (g.exists("mode"))
            ch.mode = choice<ike::ChildMode>(g["mode"], {{"tunnel", ike::ChildMode::kTunnel},
                                                         {"transport", ike::ChildMode::kTransport}});
        opt_int(g, "replay_window", ch.replay_window, 0, 32768);
        constexpr long long kMax = 0x7fffffffffffffffLL;
        opt_int(g, "rekey_time", ch.rekey_s, 0, 10LL * 365 * 86400);
        opt_int(g, "life_time", ch.life_s, 0, 10LL * 365 * 86400);
        opt_int(g, "rekey_jitter", ch.rekey_jitter_s, 0, 86400);
        opt_int(g, "rekey_bytes", ch.rekey_bytes, 0, kMax);
        opt_int(g, "life_bytes", ch.life_bytes, 0, kMax);
        opt_int(g, "rekey_packets", ch.rekey_packets, 0, kMax);
        opt_int(g, "life_packets", ch.life_packets, 0, kMax);
        if (g.exists("rekey_time") && !g.exists("life_time")) ch.life_s = ch.rekey_s + ch.rekey_s / 10;
        if (g.exists("rekey_time") && !g.exists("rekey_jitter")) ch.rekey_jitter_s = ch.rekey_s / 10;
        if (ch.life_s && ch.rekey_s >= ch.life_s) fail(g.exists("life_time") ? g["life_time"] : g["rekey_time"], "life_time must be longer than rekey_time");
        if (ch.rekey_jitter_s >= ch.rekey_s && ch.rekey_s) fail(g.exists("rekey_jitter") ? g["rekey_jitter"] : g, "rekey_jitter must be below rekey_time");
        if (ch.life_bytes && ch.rekey_bytes >= ch.life_bytes) fail(g["rekey_bytes"], "must be below life_bytes");
        if (ch.life_packets && ch.rekey_packets >= ch.life_packets) fail(g["rekey_packets"], "must be below life_packets");
        return ch;
    }

    void connections(const Setting& list, Config& c) const {
        if (!list.isList()) fail(list, "must be a list ( {...}, ... )");
        std::set<std::string> names;
        for (int k = 0; k < list.getLength(); ++k) {
            const Setting& g = list[k];
            only(g, {"name", "remote_addrs", "local_id", "remote_id", "auth", "local_auth", "remote_auth", "psk", "cert",
                     "key", "cacerts", "proposals", "children", "pools", "dns", "dpd_delay", "dpd_timeout", "unique",
                     "remote_host", "start_action", "legacy_modp1024", "ike_rekey_time"});
            ike::Connection conn;
            const Setting& name_s = need(g, "name");
            conn.name = str(name_s);
            if (!names.insert(conn.name).second) fail(name_s, "connection name used twice");
            if (g.exists("remote_addrs")) conn.remote_addrs = prefixes(g["remote_addrs"]);
            authentication(g, conn);
            conn.ike = g.exists("proposals") ? proposals(g["proposals"], ike::ProtocolId::kIke)
                                             : proposals_default();
            // MODP-1024 is too weak for anything but old clients (stock Windows): only on request.
            const bool legacy = g.exists("legacy_modp1024") && boolean(g["legacy_modp1024"]);
            const auto check_groups = [&](const std::vector<ike::OurProposal>& ps, const Setting& where) {
                for (const ike::OurProposal& p : ps)
                    for (const ike::Transform& t : p.dh) {
                        if (!ike::supported(ike::DhGroup{t.id})) fail(where, "Diffie-Hellman group not supported");
                        if (t.id == ike::dh_id::kModp1024 && !legacy)
                            fail(where, "MODP-1024 is weak: allowed only with legacy_modp1024 = true");
                    }
            };
            check_groups(conn.ike, g.exists("proposals") ? g["proposals"] : g);
            if (g.exists("pools")) {
                for (const std::string& pn : strings(g["pools"])) {
                    const bool known = std::any_of(c.ike.pools.begin(), c.ike.pools.end(),
                                                   [&](const ike::PoolConfig& p) { return p.name == pn; });
                    if (!known) fail(g["pools"], "no pool named " + pn + " in pools");
                    conn.pools.push_back(pn);
                }
            }
            if (g.exists("dns"))
                for (const std::string& d : strings(g["dns"])) {
                    const auto p = net::parse_prefix(d);
                    if (!p || d.find('/') != std::string::npos) fail(g["dns"], "not an address: " + d);
                    conn.dns.push_back(p->addr);
                }
            opt_int(g, "ike_rekey_time", conn.ike_rekey_s, 0, 10LL * 365 * 86400);
            opt_int(g, "dpd_delay", conn.dpd_delay_s, 0, 86400);
            opt_int(g, "dpd_timeout", conn.dpd_timeout_s, 1, 86400);
            if (g.exists("unique"))
                conn.unique = choice<ike::Unique>(g["unique"], {{"no", ike::Unique::kNo},
                                                                {"replace", ike::Unique::kReplace},
                                                                {"keep", ike::Unique::kKeep}});
            if (g.exists("remote_host")) {
                const auto p = net::parse_prefix(str(g["remote_host"]));
                if (!p || str(g["remote_host"]).find('/') != std::string::npos) fail(g["remote_host"], "not an address");
                conn.remote_host = p->addr;
            }
            if (g.exists("start_action")) {
                conn.start = choice<ike::Connection::Start>(g["start_action"], {{"none", ike::Connection::Start::kNone},
                                                                               {"start", ike::Connection::Start::kStart},
                                                                               {"trap", ike::Connection::Start::kTrap}});
                if (conn.start != ike::Connection::Start::kNone && !conn.remote_host)
                    fail(g["start_action"], "start and trap need remote_host (whom to initiate to)");
            }
            const Setting& children = need(g, "children");
            if (!children.isList() || children.getLength() < 1) fail(children, "must be a list of at least one child");
            std::set<std::string> child_names;
            for (int j = 0; j < children.getLength(); ++j) {
                ike::ChildConfig ch = child(children[j]);
                if (!child_names.insert(ch.name).second) fail(children[j]["name"], "child name used twice");
                check_groups(ch.esp, children[j].exists("esp_proposals") ? children[j]["esp_proposals"] : children[j]);
                if (conn.start != ike::Connection::Start::kNone && ch.mode == ike::ChildMode::kTunnel &&
                    (ch.local_ts.empty() || ch.remote_ts.empty()))
                    fail(children[j], "a tunnel we initiate needs local_ts and remote_ts");
                conn.children.push_back(std::move(ch));
            }
            c.ike.connections.push_back(std::move(conn));
        }
    }

    static std::vector<ike::OurProposal> default_esp() {
        std::string err;
        return {*ike::parse_proposal("aes128gcm16-aes256gcm16-chacha20poly1305", ike::ProtocolId::kEsp, err),
                *ike::parse_proposal("aes128-aes256-sha256-sha1", ike::ProtocolId::kEsp, err)};
    }

    // A file the config names, relative to the config file's directory.
    std::string path_of(const Setting& s) const {
        const std::string p = str(s);
        if (p.empty() || p[0] == '/') return p;
        const size_t slash = file_.rfind('/');
        return slash == std::string::npos ? p : file_.substr(0, slash + 1) + p;
    }

    // auth (both sides) or local_auth / remote_auth: "psk" or "pubkey"; then the key, or our
    // certificate and private key and the CAs a peer's certificate must chain to.
    void authentication(const Setting& g, ike::Connection& conn) const {
        const auto kind = [&](const char* name, ike::AuthKind dflt) {
            if (!g.exists(name)) return dflt;
            return choice<ike::AuthKind>(g[name], {{"psk", ike::AuthKind::kPsk}, {"pubkey", ike::AuthKind::kPubkey}});
        };
        const ike::AuthKind both = kind("auth", ike::AuthKind::kPsk);
        conn.local_auth = kind("local_auth", both);
        conn.remote_auth = kind("remote_auth", both);
        const bool psk = conn.local_auth == ike::AuthKind::kPsk || conn.remote_auth == ike::AuthKind::kPsk;
        if (psk) {
            conn.psk = str(need(g, "psk"));
            if (conn.psk.size() < 16) fail(g["psk"], "a pre-shared key needs at least 16 characters");
        }
        if (conn.local_auth == ike::AuthKind::kPubkey) {
            std::string err;
            const Setting& cert = need(g, "cert");
            const Setting& key = need(g, "key");
            auto creds = ike::OurCredentials::load(path_of(cert), path_of(key), err);
            if (!creds) fail(cert, err);
            conn.credentials = std::make_shared<const ike::OurCredentials>(std::move(*creds));
        }
        if (conn.remote_auth == ike::AuthKind::kPubkey) {
            const Setting& cas = need(g, "cacerts");
            auto store = std::make_shared<ike::TrustStore>();
            std::string err;
            for (int k = 0; k < (cas.getType() == Setting::TypeString ? 1 : cas.getLength()); ++k) {
                const Setting& one = cas.getType() == Setting::TypeString ? cas : cas[k];
                if (!store->add_pem_file(path_of(one), err)) fail(one, err);
            }
            if (!store->size()) fail(cas, "no CA certificate");
            conn.cas = std::move(store);
        }
        if (g.exists("local_id")) {
            conn.local_id = identity(g["local_id"]);
            if (conn.local_id.any || conn.local_id.wildcard) fail(g["local_id"], "our own identity must be exact");
            if (conn.credentials && !conn.credentials->id_matches(conn.local_id.id))
                fail(g["local_id"], "not in our certificate (subject or subjectAltName)");
        } else if (conn.credentials) {
            conn.local_id.id = conn.credentials->default_id();
        } else {
            need(g, "local_id");
        }
        conn.remote_id = g.exists("remote_id") ? identity(g["remote_id"]) : identity_any();
    }

    static ike::Identity identity_any() {
        ike::Identity id;
        id.any = true;
        return id;
    }

    static std::vector<ike::OurProposal> proposals_default() {
        std::vector<ike::OurProposal> out;
        std::string err;
        for (const char* p : {"aes128gcm16-aes256gcm16-chacha20poly1305-prfsha256-prfsha384-curve25519-ecp256-modp3072-modp2048",
                              "aes128-aes256-sha256-sha384-sha1-curve25519-ecp256-modp3072-modp2048"})
            out.push_back(*ike::parse_proposal(p, ike::ProtocolId::kIke, err));
        return out;
    }

    std::vector<uint8_t> hex(const Setting& s) const {
        const auto v = parse_hex(str(s));
        if (!v) fail(s, "not a hex string");
        return *v;
    }

    template <typename E>
    E choice(const Setting& s, std::initializer_list<std::pair<const char*, E>> options) const {
        const std::string v = str(s);
        std::string names;
        for (const auto& [name, value] : options) {
            if (v == name) return value;
            names += names.empty() ? name : std::string(", ") + name;
        }
        fail(s, "must be one of " + names);
    }

    void port(const Setting& g, PortConfig& p) const {
        only(g, {"device", "address", "address6", "gateway", "gateway6", "mtu", "rx_desc", "tx_desc"});
        p.device = str(need(g, "device"));
        const Setting& a = need(g, "address");
        const std::string text = str(a);
        const auto addr = net::parse_ipv4(text.substr(0, text.find('/')));
        const auto pfx = net::parse_prefix(text);
        // The length says which addresses are on the link; guessing one (/24) would route
        // silently wrong for any other subnet.
        if (!addr || !pfx || pfx->family != 4 || text.find('/') == std::string::npos)
            fail(a, "must be an IPv4 address with a length, e.g. 192.0.2.1/24");
        p.address = *addr;
        p.prefix_len = pfx->len;
        if (g.exists("gateway")) p.gateway = ipv4(g["gateway"]);
        if (g.exists("address6")) {
            const Setting& a6 = g["address6"];
            const std::string t6 = str(a6);
            const auto p6 = net::parse_prefix(t6);
            const auto host = net::parse_prefix(t6.substr(0, t6.find('/')));
            if (!p6 || !host || p6->family != 6 || t6.find('/') == std::string::npos)
                fail(a6, "must be an IPv6 address with a length, e.g. 2001:db8:1::1/64");
            p.has_v6 = true;
            std::memcpy(p.address6, host->addr.b, 16);
            p.prefix6_len = p6->len;
        }
        if (g.exists("gateway6")) {
            if (!p.has_v6) fail(g["gateway6"], "needs address6 on the same port");
            ipv6(g["gateway6"], p.gateway6);
            p.has_gateway6 = true;
        }
        opt_int(g, "mtu", p.mtu, 576, 9000);
        opt_int(g, "rx_desc", p.rx_desc, 64, 16384);
        opt_int(g, "tx_desc", p.tx_desc, 64, 16384);
    }

    void lcores(const Setting& g, Config& c) const {
        only(g, {"control", "workers"});
        opt_int(g, "control", c.control_lcore, 0, 1023);
        if (g.exists("workers")) {
            const Setting& w = g["workers"];
            if (!w.isArray() || w.getLength() < 1 || w.getLength() > int{sa::kMaxWorkers})
                fail(w, "must be an array of 1 to " + std::to_string(sa::kMaxWorkers) + " lcore ids");
            c.worker_lcores.clear();
            std::set<unsigned> seen{c.control_lcore};
            for (int k = 0; k < w.getLength(); ++k) {
                const auto id = static_cast<unsigned>(integer(w[k], 0, 1023));
                if (!seen.insert(id).second) fail(w[k], "lcore used twice (or also the control lcore)");
                c.worker_lcores.push_back(id);
            }
        }
    }

    void peers(const Setting& list, Config& c, std::map<std::string, const PeerConfig*>& by_name) const {
        if (!list.isList()) fail(list, "must be a list ( {...}, ... )");
        c.peers.reserve(static_cast<size_t>(list.getLength()));
        for (int k = 0; k < list.getLength(); ++k) {
            const Setting& g = list[k];
            only(g, {"name", "address", "port", "nat_oa", "nat_oa_local", "follow"});
            PeerConfig p;
            p.line = static_cast<int>(g.getSourceLine());
            p.name = str(need(g, "name"));
            p.id = static_cast<uint32_t>(k + 1);
            const Setting& addr = need(g, "address");
            const std::string text = str(addr);
            if (text.find(':') != std::string::npos) {
                ipv6(addr, p.address6);
                p.v6 = true;
            } else {
                p.endpoint.addr = ipv4(addr);
            }
            long long port = 4500;
            if (g.exists("port")) port = integer(g["port"], 0, 65535);
            p.endpoint.port = static_cast<uint16_t>(port);
            p.endpoint.known = port != 0;
            if (p.v6 && (g.exists("nat_oa") || g.exists("nat_oa_local")))
                fail(g.exists("nat_oa") ? g["nat_oa"] : g["nat_oa_local"], "NAT-OA is for IPv4 peers (transport mode through a NAT)");
            if (g.exists("nat_oa")) p.nat_oa = ipv4(g["nat_oa"]);
            if (g.exists("nat_oa_local")) p.nat_oa_local = ipv4(g["nat_oa_local"]);
            if (g.exists("follow")) p.follow = boolean(g["follow"]);
            if (!p.follow && !p.endpoint.known)
                fail(g["follow"], "a peer that does not follow needs its port (port = 0 means: learn it)");
            c.peers.push_back(p);
            if (!by_name.emplace(p.name, &c.peers.back()).second) fail(g["name"], "peer name used twice");
        }
    }

    void sas(const Setting& list, Config& c, const std::map<std::string, const PeerConfig*>& peers) const {
        if (!list.isList()) fail(list, "must be a list ( {...}, ... )");
        std::set<std::pair<int, uint32_t>> spis;
        std::set<std::string> names;
        uint32_t count[2] = {0, 0};  // per direction, as the SA table holds them
        std::map<std::string, const PolicyConfig*> policy_named;
        for (const PolicyConfig& pc : c.policies) policy_named[pc.name] = &pc;
        std::map<std::string, std::string> outbound_of;  // policy -> the outbound SA it has
        uint32_t implicit_policies = 0;
        for (int k = 0; k < list.getLength(); ++k) {
            const Setting& g = list[k];
            only(g, {"name", "peer", "direction", "spi", "mode", "encap", "cipher", "key", "integrity",
                     "auth_key", "local_ts", "remote_ts", "policy", "replay_window", "esn", "lifetime"});
            SaConfig s;
            s.line = static_cast<int>(g.getSourceLine());
            sa::SaParams& p = s.params;
            p.name = g.exists("name") ? str(g["name"]) : "sa" + std::to_string(k);
            if (!names.insert(p.name).second) fail(g.exists("name") ? g["name"] : g, "SA name " + p.name + " used twice");
            const Setting& peer_s = need(g, "peer");
            const auto peer = peers.find(str(peer_s));
            if (peer == peers.end()) fail(peer_s, "no peer of that name in peers");
            s.peer = peer->second->name;
            p.peer = peer->second->endpoint;
            if (peer->second->v6) {
                if (!c.public_port.has_v6) fail(peer_s, "this peer is reached over IPv6: ports.public needs address6");
                p.outer_v6 = true;
                std::memcpy(p.peer_addr6, peer->second->address6, 16);
                std::memcpy(p.local_addr6, c.public_port.address6, 16);
            }
            p.nat_oa_peer = peer->second->nat_oa;
            p.nat_oa_local = peer->second->nat_oa_local;
            p.direction = choice<sa::Direction>(need(g, "direction"),
                                                {{"in", sa::Direction::inbound}, {"out", sa::Direction::outbound}});
            const Setting& spi_s = need(g, "spi");
            p.spi = static_cast<uint32_t>(integer(spi_s, 256, 0xffffffffLL));  // 1-255 reserved (RFC 4303 §2.1)
            if (!spis.emplace(static_cast<int>(p.direction), p.spi).second) fail(spi_s, "SPI used twice in this direction");
            if (++count[static_cast<int>(p.direction)] > c.max_sas)
                fail(g, "more " + std::string(p.direction == sa::Direction::inbound ? "inbound" : "outbound") +
                            " SAs than max_sas (" + std::to_string(c.max_sas) + ") allows");
            p.mode = g.exists("mode") ? choice<sa::Mode>(g["mode"], {{"tunnel", sa::Mode::tunnel}, {"transport", sa::Mode::transport}})
                                      : sa::Mode::tunnel;
            p.encap = g.exists("encap") ? choice<sa::Encap>(g["encap"], {{"udp", sa::Encap::udp}, {"none", sa::Encap::none}})
                                        : sa::Encap::udp;
            const Setting& cipher_s = need(g, "cipher");
            const auto cipher = crypto::parse_cipher(str(cipher_s));
            if (!cipher) fail(cipher_s, "unknown cipher (aes128-gcm, aes256-gcm, aes128-cbc, aes256-cbc, chacha20-poly1305)");
            s.cipher = *cipher;
            s.integrity = crypto::Integrity::none;
            if (g.exists("integrity")) {
                const auto integ = crypto::parse_integrity(str(g["integrity"]));
                if (!integ) fail(g["integrity"], "unknown integrity (none, hmac-sha1-96, hmac-sha256-128, hmac-sha384-192, hmac-sha512-256)");
                s.integrity = *integ;
            }
            const crypto::SuiteInfo info = crypto::suite_info(s.cipher, s.integrity);
            if (info.aead && s.integrity != crypto::Integrity::none) fail(g["integrity"], "must be none for an AEAD cipher");
            if (!info.aead && s.integrity == crypto::Integrity::none) fail(cipher_s, "needs an integrity algorithm");
            const Setting& key_s = need(g, "key");
            s.key = hex(key_s);
            if (s.key.size() != size_t{info.key_len} + info.salt_len)
                fail(key_s, "must be " + std::to_string(info.key_len + info.salt_len) + " bytes for " +
                                std::string(crypto::name_of(s.cipher)) + (info.salt_len ? " (key then 4-byte salt)" : ""));
            if (!info.aead) {
                const Setting& ak = need(g, "auth_key");
                s.auth_key = hex(ak);
                if (s.auth_key.size() != info.auth_key_len)
                    fail(ak, "must be " + std::to_string(info.auth_key_len) + " bytes for " +
                                 std::string(crypto::name_of(s.integrity)));
            } else if (g.exists("auth_key")) {
                fail(g["auth_key"], "an AEAD cipher takes no auth_key");
            }
            // 0 switches anti-replay off (for replaying a capture in a benchmark loop).
            opt_int(g, "replay_window", p.replay_window, 0, sa::ReplayWindow::kMaxSize);
            if (p.replay_window && p.replay_window < sa::ReplayWindow::kMinSize)
                fail(g["replay_window"], "must be 0 (no anti-replay) or " + std::to_string(sa::ReplayWindow::kMinSize) +
                                             ".." + std::to_string(sa::ReplayWindow::kMaxSize));
            if (g.exists("esn")) p.esn = boolean(g["esn"]);
            if (p.esn && p.replay_window == 0)
                fail(g["replay_window"], "ESN needs the replay window to infer the high half; 0 is not possible with esn");
            p.local_port = c.natt_port;
            p.local_addr = c.public_port.address;
            if (p.mode == sa::Mode::transport) {
                // Transport SAs protect traffic between the gateway itself and the peer, whose
                // IPv4 host stack is the one behind the host port.
                if (p.outer_v6) fail(g["mode"], "transport mode needs a peer reached over IPv4");
                p.local_ts = net::Prefix::v4(c.public_port.address, 32);
                p.remote_ts = net::Prefix::v4(p.peer.addr, 32);
                if (g.exists("local_ts") || g.exists("remote_ts"))
                    fail(g.exists("local_ts") ? g["local_ts"] : g["remote_ts"], "transport mode takes no traffic selectors");
                if (g.exists("policy")) fail(g["policy"], "transport mode takes no policy");
            } else if (g.exists("policy")) {
                // The policy's selectors; local_ts/remote_ts stay the first ones (for routes and logs).
                const Setting& pol_s = g["policy"];
                if (g.exists("local_ts") || g.exists("remote_ts"))
                    fail(g.exists("local_ts") ? g["local_ts"] : g["remote_ts"], "the SA's policy has the selectors");
                s.policy = str(pol_s);
                const auto named = policy_named.find(s.policy);
                if (named == policy_named.end()) fail(pol_s, "no policy of that name in policies");
                const PolicyConfig* pol = named->second;
                if (pol->action == sa::PolicyAction::discard) fail(pol_s, "a discard policy takes no SA");
                if (p.direction == sa::Direction::outbound) {
                    const auto [had, first] = outbound_of.emplace(s.policy, p.name);
                    if (!first) fail(pol_s, "policy " + s.policy + " has an outbound SA already (" + had->second + ")");
                }
                p.local_ts = pol->local[0];
                p.remote_ts = pol->remote[0];
            } else {
                p.local_ts = prefix(need(g, "local_ts"));
                p.remote_ts = prefix(need(g, "remote_ts"));
                if (p.local_ts.family != p.remote_ts.family) fail(g["remote_ts"], "local_ts and remote_ts differ in address family");
            }
            if (g.exists("lifetime")) lifetimes(g["lifetime"], s);
            // An outbound SA without a policy makes one from its remote_ts; one whose remote_ts
            // another has already would replace that one's SA (as a rekey does) or be refused.
            if (p.direction == sa::Direction::outbound && s.policy.empty()) {
                const Setting& where = g.exists("remote_ts") ? g["remote_ts"] : g;
                claim_remote(p.remote_ts, "SA " + p.name, where);
                if (++implicit_policies + c.policies.size() > c.max_sas)
                    fail(where, "more policies (outbound SAs without one, and policies) than max_sas (" +
                                    std::to_string(c.max_sas) + ") allows");
            }
            c.sas.push_back(std::move(s));
        }
    }

    // Reassembly's bounds, with their defaults filled in: it must leave most of the pool to
    // the ports, or a fragment flood stops the gateway.
    void reassembly(const Setting& root, Config& c) const {
        opt_int(root, "reassembly_mbufs", c.reassembly_mbufs, 0, c.mbufs / 2);
        opt_int(root, "reassembly_timeout_ms", c.reassembly_timeout_ms, 100, 60000);
        if (c.reassembly_mbufs == 0) c.reassembly_mbufs = c.mbufs / 8;
        const uint32_t per_worker = c.reassembly_mbufs / static_cast<uint32_t>(std::max<size_t>(c.worker_lcores.size(), 1));
        if (per_worker < 16)
            fail(root.exists("reassembly_mbufs") ? root["reassembly_mbufs"] : root,
                 "reassembly_mbufs gives each worker fewer than 16 mbufs (" + std::to_string(c.reassembly_mbufs) +
                     " for " + std::to_string(c.worker_lcores.size()) + " workers)");
        opt_int(root, "reassembly_per_source", c.reassembly_per_source, 0, per_worker);
        if (c.reassembly_per_source == 0) c.reassembly_per_source = std::max<uint32_t>(per_worker / 8, 16);
    }

    Config load(const libconfig::Config& lc) const {
        Config c;
        c.source = file_;
        const Setting& root = lc.getRoot();
        only(root, {"eal", "lcores", "polling", "idle_sleep_max_us", "mtu_policy", "natt_port", "ike_port",
                    "keepalive_interval", "neighbour_timeout", "mapping_event_interval_ms", "mbufs",
                    "reassembly_mbufs", "reassembly_per_source", "reassembly_timeout_ms",
                    "ring_size", "max_sas", "ports", "neighbours", "routes", "peers", "policies", "sas", "pools",
                    "connections", "ike"});
        if (root.exists("eal")) {
            const Setting& e = root["eal"];
            if (!e.isArray()) fail(e, "must be an array of strings");
            for (int k = 0; k < e.getLength(); ++k) c.eal_args.push_back(str(e[k]));
        }
        if (root.exists("lcores")) lcores(root["lcores"], c);
        if (root.exists("eal")) eal_options(root["eal"]);
        c.lcores_line = static_cast<int>((root.exists("lcores") ? root["lcores"] : root).getSourceLine());
        if (root.exists("polling"))
            c.polling = choice<PollMode>(root["polling"], {{"busy", PollMode::busy}, {"backoff", PollMode::backoff}});
        opt_int(root, "idle_sleep_max_us", c.idle_sleep_max_us, 1, 100000);
        if (root.exists("mtu_policy"))
            c.mtu_policy = choice<MtuPolicy>(root["mtu_policy"], {{"icmp", MtuPolicy::icmp}, {"fragment", MtuPolicy::fragment}});
        opt_int(root, "natt_port", c.natt_port, 1, 65535);
        opt_int(root, "ike_port", c.ike_port, 1, 65535);
        // Both arrive on the public address: one port cannot tell IKE from ESP in UDP (the
        // non-ESP marker exists only on the NAT-T port).
        if (c.natt_port == c.ike_port)
            fail(root.exists("natt_port") ? root["natt_port"] : root["ike_port"],
                 "natt_port and ike_port must differ (both are " + std::to_string(c.ike_port) + ")");
        opt_int(root, "keepalive_interval", c.keepalive_interval_s, 0, 3600);
        opt_int(root, "neighbour_timeout", c.neighbour_timeout_s, 1, 86400);
        opt_int(root, "mapping_event_interval_ms", c.mapping_event_interval_ms, 1, 60000);
        opt_int(root, "mbufs", c.mbufs, 1023, 4 * 1024 * 1024);
        reassembly(root, c);
        opt_int(root, "ring_size", c.ring_size, 64, 65536);
        if (c.ring_size & (c.ring_size - 1)) fail(root["ring_size"], "must be a power of two");
        opt_int(root, "max_sas", c.max_sas, 2, 1 << 20);

        const Setting& ports = need(root, "ports");
        only(ports, {"public", "protected", "host"});
        port(need(ports, "public"), c.public_port);
        port(need(ports, "protected"), c.protected_port);
        if (ports.exists("host")) {
            const Setting& h = ports["host"];
            only(h, {"device", "iface", "configure"});
            c.host.device = str(need(h, "device"));
            c.host.iface = h.exists("iface") ? str(h["iface"]) : "espgw0";
            if (h.exists("configure")) c.host.configure = boolean(h["configure"]);
            distinct_devices(ports["public"]["device"], ports["host"]["device"]);
            distinct_devices(ports["protected"]["device"], ports["host"]["device"]);
        }
        distinct_devices(ports["public"]["device"], ports["protected"]["device"]);
        separate_subnets(ports, c.public_port, c.protected_port);

        if (root.exists("neighbours")) {
            const Setting& list = root["neighbours"];
            if (!list.isList()) fail(list, "must be a list ( {...}, ... )");
            for (int k = 0; k < list.getLength(); ++k) {
                only(list[k], {"address", "mac"});
                StaticNeighbour n;
                n.address = ipv4(need(list[k], "address"));
                const Setting& mac = need(list[k], "mac");
                if (!parse_mac(str(mac), n.mac)) fail(mac, "not a MAC address (aa:bb:cc:dd:ee:ff)");
                c.neighbours.push_back(n);
            }
        }
        if (root.exists("routes")) {
            const Setting& list = root["routes"];
            if (!list.isList()) fail(list, "must be a list ( {...}, ... )");
            for (int k = 0; k < list.getLength(); ++k) {
                only(list[k], {"prefix", "via", "port"});
                Route r;
                r.prefix = prefix(need(list[k], "prefix"));
                if (r.prefix.family != 4) fail(list[k]["prefix"], "must be an IPv4 prefix");
                if (list[k].exists("via")) r.via = ipv4(list[k]["via"]);
                if (list[k].exists("port"))
                    r.public_side = choice<bool>(list[k]["port"], {{"public", true}, {"protected", false}});
                c.routes.push_back(r);
            }
        }
        std::map<std::string, const PeerConfig*> by_name;
        if (root.exists("peers")) peers(root["peers"], c, by_name);
        if (root.exists("policies")) policies(root["policies"], c);
        if (root.exists("sas")) sas(root["sas"], c, by_name);
        if (root.exists("pools")) ike_pools(root["pools"], c);
        if (root.exists("connections")) connections(root["connections"], c);
        if (root.exists("ike")) {
            const Setting& g = root["ike"];
            only(g, {"cookie_threshold", "half_open_per_source"});
            opt_int(g, "cookie_threshold", c.ike.cookie_threshold, 0, 1 << 20);
            opt_int(g, "half_open_per_source", c.ike.half_open_per_source, 1, 1 << 20);
        }
        return c;
    }

private:
    // Every option rte_eal_init (DPDK 22.11) knows, and whether it takes a value: EAL stops at
    // the first it does not know, after the ports and lcores would have been promised.
    void eal_options(const Setting& e) const {
        struct Option {
            const char* name;
            enum { none, required, optional } value;
        };
        static constexpr Option kOptions[] = {
            {"-a", Option::required}, {"--allow", Option::required}, {"-b", Option::required},
            {"--block", Option::required}, {"-c", Option::required}, {"-d", Option::required},
            {"-h", Option::none}, {"--help", Option::none}, {"-l", Option::required}, {"-m", Option::required},
            {"-n", Option::required}, {"-r", Option::required}, {"-s", Option::required}, {"-S", Option::required},
            {"-v", Option::none}, {"--base-virtaddr", Option::required}, {"--create-uio-dev", Option::none},
            {"--file-prefix", Option::required}, {"--force-max-simd-bitwidth", Option::required},
            {"--huge-dir", Option::required}, {"--huge-unlink", Option::optional},
            {"--huge-worker-stack", Option::optional}, {"--in-memory", Option::none},
            {"--iova-mode", Option::required}, {"--lcores", Option::required}, {"--legacy-mem", Option::none},
            {"--log-level", Option::required}, {"--main-lcore", Option::required},
            {"--match-allocations", Option::none}, {"--mbuf-pool-ops-name", Option::required},
            {"--no-hpet", Option::none}, {"--no-huge", Option::none}, {"--no-pci", Option::none},
            {"--no-shconf", Option::none}, {"--no-telemetry", Option::none}, {"--proc-type", Option::required},
            {"--single-file-segments", Option::none}, {"--socket-limit", Option::required},
            {"--socket-mem", Option::required}, {"--syslog", Option::optional}, {"--telemetry", Option::none},
            {"--trace", Option::required}, {"--trace-bufsz", Option::required}, {"--trace-dir", Option::required},
            {"--trace-mode", Option::required}, {"--vdev", Option::required}, {"--vfio-intr", Option::required},
            {"--vfio-vf-token", Option::required}, {"--vmware-tsc-map", Option::none},
        };
        for (int k = 0; k < e.getLength(); ++k) {
            const std::string arg = e[k].c_str();
            const bool is_long = arg.rfind("--", 0) == 0;
            // --name=value, or -Xvalue for a short option
            const std::string name = is_long ? arg.substr(0, arg.find('=')) : arg.substr(0, 2);
            const bool inline_value = is_long ? arg.find('=') != std::string::npos : arg.size() > 2;
            const Option* o = nullptr;
            for (const Option& x : kOptions)
                if (name == x.name) o = &x;
            if (arg.empty() || arg[0] != '-' || !o) fail(e[k], "not an EAL option: " + arg);
            if (inline_value && o->value == Option::none) fail(e[k], name + " takes no value");
            if (o->value == Option::required && !inline_value && ++k >= e.getLength())
                fail(e[k - 1], name + " needs a value");
        }
    }

    // What a device string names: the DPDK device (before the first comma) and, for the
    // af_packet, pcap and tap drivers, the Linux interface it takes (iface=...).
    static std::pair<std::string, std::string> device_of(const std::string& d) {
        std::string iface;
        for (size_t at = d.find(','); at != std::string::npos; at = d.find(',', at + 1))
            if (d.compare(at + 1, 6, "iface=") == 0) iface = d.substr(at + 7, d.find(',', at + 1) - at - 7);
        return {d.substr(0, d.find(',')), iface};
    }

    void distinct_devices(const Setting& a, const Setting& b) const {
        const auto [dev_a, if_a] = device_of(a.c_str());
        const auto [dev_b, if_b] = device_of(b.c_str());
        if (dev_a == dev_b) fail(b, "device " + dev_b + " is also " + a.getPath() + ": each port needs its own");
        if (!if_a.empty() && if_a == if_b)
            fail(b, "interface " + if_b + " is also " + a.getPath() + "'s: each port needs its own");
    }

    // The public and the protected subnets must not overlap: the forwarding decision (which
    // port, ARP on which side) goes by subnet.
    void separate_subnets(const Setting& ports, const PortConfig& pub, const PortConfig& prot) const {
        const auto in = [](uint32_t a, const PortConfig& p) {
            const uint32_t mask = p.prefix_len ? ~uint32_t{0} << (32 - p.prefix_len) : 0;
            return ((a ^ p.address) & mask) == 0;
        };
        const auto subnet = [](const PortConfig& p) {
            const uint32_t mask = p.prefix_len ? ~uint32_t{0} << (32 - p.prefix_len) : 0;
            return net::ipv4_str(p.address & mask) + "/" + std::to_string(p.prefix_len);
        };
        if (in(prot.address, pub))
            fail(ports["protected"]["address"], "the protected address is inside the public subnet " + subnet(pub));
        if (in(pub.address, prot))
            fail(ports["protected"]["address"], "the protected subnet " + subnet(prot) + " holds the public address");
    }

    // The outbound lookup sends each remote selector to one policy: a second claim is an error.
    void claim_remote(const net::Prefix& r, const std::string& who, const Setting& where) const {
        const auto [it, fresh] = remote_owner_.emplace(r.str(), std::make_pair(who, static_cast<int>(where.getSourceLine())));
        if (!fresh)
            fail(where, "remote selector " + r.str() + " is " + it->second.first + "'s already (line " +
                            std::to_string(it->second.second) + "): outbound traffic can go to one of them only");
    }

    std::string file_;
    mutable std::map<std::string, std::pair<std::string, int>> remote_owner_;  // selector -> who, line
};

Config load_with(const std::string& name, const std::function<void(libconfig::Config&)>& read) {
    libconfig::Config lc;
    try {
        read(lc);
    } catch (const libconfig::FileIOException&) {
        throw ConfigError(name, 0, "", "cannot read the file");
    } catch (const libconfig::ParseException& e) {
        throw ConfigError(name, e.getLine(), "", std::string("syntax error: ") + e.getError());
    }
    return Loader(name).load(lc);
}

}  // namespace

Config load_config_file(const std::string& path) {
    return load_with(path, [&](libconfig::Config& lc) { lc.readFile(path.c_str()); });
}

Config load_config_string(const std::string& text, const std::string& name) {
    return load_with(name, [&](libconfig::Config& lc) { lc.readString(text); });
}

}  // namespace espgw::config
