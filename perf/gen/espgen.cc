// espgen: a DPDK traffic generator for espgw. It plays many peers behind NATs on one port and
// a protected host on the other, sends ESP-in-UDP toward the gateway (decap) or plain packets
// from the protected side (encap), verifies what comes back with its own ESP code, and finds
// the highest rate with loss under a limit the way RFC 2544 finds throughput.
//
//   espgen --write-config FILE [--peers N] [--cipher C] ...     the gateway's config, then exit
//   espgen [--peers N] [--cipher C] [--size 64,512,1420,imix] [--dir decap,encap]
//          [--search | --rate PPS] [--seconds T] [--loss 0.001] [--json FILE] ...
//
// On this machine the ports are memif servers that espgw (the memif client, as the written
// config says) connects to; on a testbed --public-dev/--inside-dev name NIC ports and
// --gw-public-mac/--gw-inside-mac espgw's. Options: espgen --help.
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include "pcap_writer.h"
#include "peer_set.h"
#include "report.h"
#include "trial.h"

using namespace espgen;

namespace {

struct Options {
    uint32_t peers = 1, per_nat = 16, seed = 1;
    Cipher cipher = Cipher::aes128_gcm;
    std::vector<std::string> sizes{"64", "512", "1420", "imix"};
    std::vector<Direction> dirs{Direction::decap, Direction::encap};
    bool random_access = true;
    bool search = false;
    double rate = 0, seconds = 1.0, loss = 0.001;
    uint64_t packets = 0, max_bytes = uint64_t(1) << 30;
    std::string json, write_config, write_pcap;
    bool anti_replay = true;
    bool udp_encap = true;
    bool count_only = false;
    std::string write_secgw_config;
    std::string gw_eal = "\"--no-huge\", \"-m\", \"1024\", \"--no-pci\", \"--file-prefix\", \"espgw-bench\"";
    std::string eal = "--no-huge -m 1536 --no-pci";
    unsigned lcore = 0;
    std::string socket_dir = "/espgen";  // abstract socket names
    std::string public_dev, inside_dev;   // testbed: NIC ports instead of memif
    std::string gw_public_dev, gw_inside_dev;    // testbed: espgw's NIC ports, for --write-config
    std::string gen_public_mac, gen_inside_mac;  // testbed: the generator's NIC MACs, for --write-config
    std::string gw_public_mac = "02:e5:00:00:00:01", gw_inside_mac = "02:e5:00:00:00:02";
    double wait_s = 60;
    uint32_t gw_mbufs = 32767;
};

const char* kUsage =
    "espgen: traffic generator for espgw (peers behind NATs on one side, a host on the other)\n"
    "  --peers N            peers, one SA pair each (default 1, up to 1048576)\n"
    "  --per-nat K          peers sharing one NAT address, on distinct ports (default 16)\n"
    "  --cipher C           aes128-gcm (default), aes256-gcm, aes128-cbc (+HMAC-SHA-256), chacha20-poly1305\n"
    "  --seed S             key seed; the config and the generator must use the same (default 1)\n"
    "  --size L[,L...]      inner IP packet bytes, or imix (7:4:1 of 64/576/1500); default 64,512,1420,imix\n"
    "  --dir D[,D...]       decap (peers -> LAN) and/or encap (LAN -> peers); default both\n"
    "  --access A           random (default: each packet through a peer picked at random) or seq\n"
    "  --search             find the highest rate with loss <= --loss (RFC 2544 throughput)\n"
    "  --rate PPS           one trial at this rate (0: as fast as the port takes; the default)\n"
    "  --seconds T          length of a trial (default 1)\n"
    "  --packets P          packets per trial at --rate 0 (default: what --max-mb holds)\n"
    "  --loss F             acceptable loss for --search (default 0.001 = 0.1 %)\n"
    "  --max-mb M           memory for one trial's frames (default 1024)\n"
    "  --json FILE          results as JSON too\n"
    "  --write-config FILE  write espgw's config for these peers and exit\n"
    "  --no-anti-replay     ... with replay_window = 0 on espgw's inbound SAs (to replay captures in a loop)\n"
    "  --encap E            udp (default: ESP in UDP from NAT ports) or none (plain ESP, one address per peer)\n"
    "  --count-only         count every frame back as received, verify nothing (to time a plain\n"
    "                       forwarder such as testpmd in io mode: the ports' own cost)\n"
    "  --write-secgw-config FILE  the same tunnels as a DPDK ipsec-secgw config (needs --encap none), and exit\n"
    "  --write-pcap PREFIX  write PREFIX-public.pcap (ESP from the peers' NAT ports, IKE and keepalives\n"
    "                       mixed in) and PREFIX-protected.pcap (plain packets to the peers) and exit;\n"
    "                       --packets frames (default 65536) of the first --size\n"
    "  --gw-eal LIST        EAL list for that config (default: no hugepages)\n"
    "  --gw-mbufs N         espgw's mbufs in that config (default 32767)\n"
    "  --eal \"ARGS\"         the generator's own EAL arguments (default: --no-huge -m 1536 --no-pci)\n"
    "  --lcore K            the generator's lcore (default 0)\n"
    "  --socket-dir D       memif socket names D/public.sock, D/inside.sock (abstract; default /espgen)\n"
    "  --public-dev DEV --inside-dev DEV   NIC ports (testbed) instead of memif\n"
    "  --gw-public-mac M --gw-inside-mac M espgw's MACs (default the memif ones the config sets)\n"
    "  --gw-public-dev DEV --gw-inside-dev DEV  testbed: espgw's NIC ports in the written config\n"
    "  --gen-public-mac M --gen-inside-mac M    testbed: the generator's NIC MACs in the written config\n"
    "  --wait S             seconds to wait for espgw's links, then for it to forward (default 60)\n";

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::stringstream in(s);
    std::string item;
    while (std::getline(in, item, sep))
        if (!item.empty()) out.push_back(item);
    return out;
}

bool parse_mac(const std::string& s, uint8_t m[6]) {
    unsigned v[6];
    if (sscanf(s.c_str(), "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6) return false;
    for (int k = 0; k < 6; ++k) m[k] = uint8_t(v[k]);
    return true;
}

[[noreturn]] void die(const std::string& msg) {
    fprintf(stderr, "espgen: %s\n", msg.c_str());
    exit(2);
}

Options parse(int argc, char** argv) {
    Options o;
    for (int k = 1; k < argc; ++k) {
        const std::string a = argv[k];
        auto val = [&]() -> std::string {
            if (k + 1 >= argc) die(a + " needs a value");
            return argv[++k];
        };
        auto num = [&](double lo, double hi) {
            const std::string v = val();
            char* end = nullptr;
            const double d = strtod(v.c_str(), &end);
            if (end == v.c_str() || *end || d < lo || d > hi)
                die(a + ": " + v + " is not a number in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
            return d;
        };
        if (a == "--help" || a == "-h") {
            fputs(kUsage, stdout);
            exit(0);
        } else if (a == "--peers") o.peers = uint32_t(num(1, 1 << 20));
        else if (a == "--per-nat") o.per_nat = uint32_t(num(1, 60000));
        else if (a == "--seed") o.seed = uint32_t(num(0, 4294967295.0));
        else if (a == "--cipher") {
            const std::string c = val();
            if (!parse_cipher(c, o.cipher)) die("--cipher: unknown cipher " + c);
        } else if (a == "--size") {
            o.sizes = split(val(), ',');
            for (const std::string& s : o.sizes)
                if (s != "imix" && (atoi(s.c_str()) < int(kMinInner) || atoi(s.c_str()) > 1500))
                    die("--size: " + s + " is neither imix nor 40..1500");
        } else if (a == "--dir") {
            o.dirs.clear();
            for (const std::string& d : split(val(), ','))
                if (d == "decap") o.dirs.push_back(Direction::decap);
                else if (d == "encap") o.dirs.push_back(Direction::encap);
                else die("--dir: " + d + " is neither decap nor encap");
        } else if (a == "--access") {
            const std::string v = val();
            if (v != "random" && v != "seq") die("--access: random or seq");
            o.random_access = v == "random";
        } else if (a == "--search") o.search = true;
        else if (a == "--rate") o.rate = num(0, 1e9);
        else if (a == "--seconds") o.seconds = num(0.01, 3600);
        else if (a == "--packets") o.packets = uint64_t(num(1, 1e9));
        else if (a == "--loss") o.loss = num(0, 1);
        else if (a == "--max-mb") o.max_bytes = uint64_t(num(16, 1 << 20)) << 20;
        else if (a == "--json") o.json = val();
        else if (a == "--write-config") o.write_config = val();
        else if (a == "--no-anti-replay") o.anti_replay = false;
        else if (a == "--encap") {
            const std::string v = val();
            if (v != "udp" && v != "none") die("--encap: udp or none");
            o.udp_encap = v == "udp";
        } else if (a == "--write-secgw-config") o.write_secgw_config = val();
        else if (a == "--count-only") o.count_only = true;
        else if (a == "--write-pcap") o.write_pcap = val();
        else if (a == "--gw-eal") o.gw_eal = val();
        else if (a == "--gw-mbufs") o.gw_mbufs = uint32_t(num(1023, 1 << 24));
        else if (a == "--eal") o.eal = val();
        else if (a == "--lcore") o.lcore = unsigned(num(0, 1023));
        else if (a == "--socket-dir") o.socket_dir = val();
        else if (a == "--public-dev") o.public_dev = val();
        else if (a == "--inside-dev") o.inside_dev = val();
        else if (a == "--gw-public-mac") o.gw_public_mac = val();
        else if (a == "--gw-inside-mac") o.gw_inside_mac = val();
        else if (a == "--gw-public-dev") o.gw_public_dev = val();
        else if (a == "--gw-inside-dev") o.gw_inside_dev = val();
        else if (a == "--gen-public-mac") o.gen_public_mac = val();
        else if (a == "--gen-inside-mac") o.gen_inside_mac = val();
        else if (a == "--wait") o.wait_s = num(0, 3600);
        else die("unknown option " + a + " (see --help)");
    }
    return o;
}

// The generator's own MACs on memif, and the devices on each side.
constexpr uint8_t kGenPublicMac[6] = {0x02, 0xe6, 0, 0, 0, 1};
constexpr uint8_t kGenInsideMac[6] = {0x02, 0xe6, 0, 0, 0, 2};

std::string memif(const Options& o, int id, const char* side, const char* role) {
    // 4096-slot rings (rsize=12), as deep as a NIC ring an operator would set: a vCPU that is
    // briefly descheduled should not turn into loss at rates a dedicated core would carry.
    return "net_memif" + std::to_string(id) + ",role=" + role + ",id=0,rsize=12,socket=" + o.socket_dir + "/" + side + ".sock";
}

void setup_port(uint16_t port, rte_mempool* pool) {
    rte_eth_conf conf{};
    if (rte_eth_dev_configure(port, 1, 1, &conf) != 0) die("cannot configure port " + std::to_string(port));
    const int socket = rte_eth_dev_socket_id(port);
    if (rte_eth_rx_queue_setup(port, 0, 1024, socket < 0 ? 0 : unsigned(socket), nullptr, pool) != 0 ||
        rte_eth_tx_queue_setup(port, 0, 1024, socket < 0 ? 0 : unsigned(socket), nullptr) != 0)
        die("cannot set up the queues of port " + std::to_string(port));
    if (rte_eth_dev_start(port) != 0) die("cannot start port " + std::to_string(port));
}

bool link_up(uint16_t port) {
    rte_eth_link l{};
    return rte_eth_link_get_nowait(port, &l) == 0 && l.link_status == RTE_ETH_LINK_UP;
}

std::string machine() {
    std::ifstream in("/proc/cpuinfo");
    std::string line, model = "unknown CPU";
    while (std::getline(in, line))
        if (line.rfind("model name", 0) == 0) {
            model = line.substr(line.find(':') + 2);
            break;
        }
    char b[256];
    snprintf(b, sizeof b, "%s, %ld CPUs online, TSC %.2f GHz", model.c_str(), sysconf(_SC_NPROCESSORS_ONLN),
             double(rte_get_tsc_hz()) / 1e9);
    return b;
}

uint64_t packets_for(const Options& o, const std::string& size, double rate) {
    const double frame = size == "imix" ? 400 : atof(size.c_str()) + 100;
    const uint64_t cap = uint64_t(double(o.max_bytes) / frame);
    uint64_t want = rate > 0 ? uint64_t(rate * o.seconds) : (o.packets ? o.packets : cap);
    return std::max<uint64_t>(1000, std::min(want, cap));
}

ResultRow row_for(const Options& o, Direction d, const std::string& size) {
    ResultRow row;
    row.dir = d == Direction::decap ? "decap" : "encap";
    row.cipher = cipher_name(o.cipher);
    row.size = size;
    row.peers = o.peers;
    row.access = o.random_access ? "random" : "seq";
    row.loss_limit = o.loss;
    return row;
}

TrialResult trial(Trials& t, TrialSpec spec, uint64_t packets, uint32_t& seed) {
    t.prepare(spec, packets, seed++);
    return t.run(spec);
}

// RFC 2544 throughput: the highest rate at which the loss stays at or under the limit, found
// by halving the interval between a rate that passed and one that failed. The first guess is
// what espgw forwarded flat out (over memif the port pushes back, so flat out loses nothing
// and shows the most espgw can take; a rate-paced trial then drops what does not fit).
ResultRow search(Trials& t, const Options& o, TrialSpec spec, const std::string& size, uint32_t& seed) {
    ResultRow row = row_for(o, spec.dir, size);
    row.searched = true;
    spec.rate_pps = 0;
    const TrialResult flat = trial(t, spec, packets_for(o, size, 0) / 4, seed);
    row.trials = 1;
    row.r = flat;
    row.flat_mpps = flat.received_pps / 1e6;
    double lo = 0, hi = flat.received_pps * 1.2, rate = flat.received_pps;
    bool have = false;
    for (int k = 0; k < 16 && rate > 1000; ++k) {
        spec.rate_pps = rate;
        TrialResult r = trial(t, spec, packets_for(o, size, rate), seed);
        ++row.trials;
        if (r.loss() <= o.loss && !r.invalid) {
            lo = rate;
            row.r = r;
            // The generator itself could not send at the rate asked: the answer is a floor.
            row.generator_bound = r.offered_pps < 0.97 * rate;
            have = true;
        } else {
            hi = rate;
            if (!have) row.r = r;
        }
        if (have && hi - lo <= 0.01 * hi) break;
        rate = have ? (lo + hi) / 2 : rate * 0.7;
    }
    return row;
}

}  // namespace

int main(int argc, char** argv) {
    const Options o = parse(argc, argv);
    const PeerSet peers(o.peers, o.per_nat, o.cipher, o.seed, o.udp_encap);
    MacPair pub{}, in{};
    std::memcpy(pub.gen, kGenPublicMac, 6);
    std::memcpy(in.gen, kGenInsideMac, 6);
    if (!parse_mac(o.gw_public_mac, pub.gw) || !parse_mac(o.gw_inside_mac, in.gw)) die("bad --gw-*-mac");

    if (!o.write_secgw_config.empty()) {
        std::string err;
        if (!peers.write_secgw_config(o.write_secgw_config, pub, in, err)) die(err);
        printf("espgen: wrote %s (%u peers, %s, for ipsec-secgw)\n", o.write_secgw_config.c_str(), o.peers,
               cipher_name(o.cipher));
        if (o.write_config.empty()) return 0;
    }
    if (!o.write_config.empty()) {
        // On a testbed espgw's ports are NICs with their own MACs: then the config names the
        // devices, and the neighbours are the generator's NICs.
        if ((!o.gen_public_mac.empty() && !parse_mac(o.gen_public_mac, pub.gen)) ||
            (!o.gen_inside_mac.empty() && !parse_mac(o.gen_inside_mac, in.gen)))
            die("bad --gen-*-mac");
        const std::string pub_dev = o.gw_public_dev.empty() ? memif(o, 0, "public", "client") : o.gw_public_dev;
        const std::string in_dev = o.gw_inside_dev.empty() ? memif(o, 1, "inside", "client") : o.gw_inside_dev;
        std::string err;
        if (!peers.write_gateway_config(o.write_config, pub_dev, in_dev, pub, in, o.gw_eal, o.gw_mbufs, o.anti_replay,
                                        err))
            die(err);
        printf("espgen: wrote %s (%u peers, %s)\n", o.write_config.c_str(), o.peers, cipher_name(o.cipher));
        return 0;
    }
    if (!o.write_pcap.empty()) {
        // The same frames a trial sends (sequence numbers from 1 on each SA), no DPDK needed.
        Ports none;
        none.pub_mac = pub;
        none.inside_mac = in;
        const uint64_t n = o.packets ? o.packets : 65536;
        const std::string& size = o.sizes.front();
        for (int side = 0; side < 2; ++side) {
            Trials t(peers, none);
            TrialSpec spec;
            spec.dir = side == 0 ? Direction::decap : Direction::encap;
            spec.size = size == "imix" ? 0 : uint32_t(atoi(size.c_str()));
            spec.random_access = o.random_access;
            t.prepare(spec, n, 1);
            const std::string path = o.write_pcap + (side == 0 ? "-public.pcap" : "-protected.pcap");
            uint64_t extra = 0;
            const std::string err = write_pcap(path, t.frames(), peers, side == 0 ? pub : in, side == 0, PcapMix{}, extra);
            if (!err.empty()) die(err);
            printf("espgen: wrote %s (%llu packets of %s bytes through %u peers", path.c_str(),
                   static_cast<unsigned long long>(n), size.c_str(), o.peers);
            if (extra)
                printf(", and %llu IKE and keepalive frames: ESP share %llu/%llu", static_cast<unsigned long long>(extra),
                       static_cast<unsigned long long>(n), static_cast<unsigned long long>(n + extra));
            printf(")\n");
        }
        return 0;
    }

    // EAL: our lcore, our own file prefix, the two ports.
    std::vector<std::string> args{"espgen", "-l", std::to_string(o.lcore), "--file-prefix", "espgen", "--log-level",
                                  "pmd.net.memif:warning", "--log-level", "lib.eal:warning", "--no-telemetry"};
    for (const std::string& a : split(o.eal, ' ')) args.push_back(a);
    const bool nic = !o.public_dev.empty();
    if (nic) {
        args.insert(args.end(), {"-a", o.public_dev, "-a", o.inside_dev});
    } else {
        args.insert(args.end(), {"--vdev", memif(o, 0, "public", "server") + ",mac=" + mac_str(pub.gen), "--vdev",
                                 memif(o, 1, "inside", "server") + ",mac=" + mac_str(in.gen)});
    }
    std::vector<char*> cargs;
    for (std::string& a : args) cargs.push_back(a.data());
    if (rte_eal_init(int(cargs.size()), cargs.data()) < 0) die("EAL initialisation failed");
    if (rte_eth_dev_count_avail() < 2) die("need two ports, found " + std::to_string(rte_eth_dev_count_avail()));
    Ports ports;
    ports.pub = 0;
    ports.inside = 1;
    ports.pool = rte_pktmbuf_pool_create("espgen", 16383, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, int(rte_socket_id()));
    if (!ports.pool) die("cannot create the mbuf pool");
    setup_port(ports.pub, ports.pool);
    setup_port(ports.inside, ports.pool);
    if (nic) {
        rte_ether_addr a;
        rte_eth_macaddr_get(ports.pub, &a);
        std::memcpy(pub.gen, a.addr_bytes, 6);
        rte_eth_macaddr_get(ports.inside, &a);
        std::memcpy(in.gen, a.addr_bytes, 6);
    }
    ports.pub_mac = pub;
    ports.inside_mac = in;

    const uint64_t hz = rte_get_tsc_hz();
    const uint64_t deadline = rte_rdtsc() + uint64_t(o.wait_s * double(hz));
    while (!(link_up(ports.pub) && link_up(ports.inside))) {
        if (rte_rdtsc() > deadline) die("espgw did not connect to both ports (is it running with --write-config's file?)");
        rte_delay_ms(50);
    }
    if (o.udp_encap)
        printf("espgen: %u peers (%u per NAT address), %s, links up; %s\n", o.peers, o.per_nat, cipher_name(o.cipher),
               machine().c_str());
    else
        printf("espgen: %u peers (plain ESP), %s, links up; %s\n", o.peers, cipher_name(o.cipher), machine().c_str());

    Trials trials(peers, ports);
    uint32_t seed = 1;
    // A first small trial shows the path works before any number is taken.
    for (Direction d : o.dirs) {
        TrialSpec spec;
        spec.dir = d;
        spec.rate_pps = 20000;
        spec.random_access = o.random_access;
        spec.count_only = o.count_only;
        // espgw may still be installing its SAs when its links come up (a million peers take a
        // while): try until every probe packet comes back, for up to --wait seconds, so that
        // no measured trial overlaps the installation.
        TrialResult w;
        const uint64_t ready_by = rte_rdtsc() + uint64_t(o.wait_s * double(hz));
        do {
            w = trial(trials, spec, std::min<uint64_t>(2000, std::max<uint32_t>(o.peers, 200)), seed);
            if (w.received && w.lost == 0 && !w.invalid) break;
            rte_delay_ms(500);
        } while (rte_rdtsc() < ready_by);
        if (w.received == 0)
            die(std::string("espgw forwarded nothing") + (w.invalid ? " valid" : "") + " in the " +
                (d == Direction::decap ? "decap" : "encap") + " direction" +
                (w.invalid ? " (" + std::to_string(w.invalid) + " invalid, first: " + w.first_invalid + ")" : ""));
    }

    std::vector<ResultRow> rows;
    print_header(stdout);
    for (Direction d : o.dirs)
        for (const std::string& size : o.sizes) {
            TrialSpec spec;
            spec.dir = d;
            spec.size = size == "imix" ? 0 : uint32_t(atoi(size.c_str()));
            spec.random_access = o.random_access;
            spec.count_only = o.count_only;
            ResultRow row;
            if (o.search) {
                row = search(trials, o, spec, size, seed);
            } else {
                row = row_for(o, d, size);
                spec.rate_pps = o.rate;
                row.r = trial(trials, spec, packets_for(o, size, o.rate), seed);
            }
            print_row(stdout, row);
            rows.push_back(row);
        }
    if (!o.json.empty() && !write_json(o.json, machine(), rows)) die("cannot write " + o.json);
    int bad = 0;
    for (const ResultRow& r : rows) bad += r.r.invalid > 0;
    for (uint16_t p : {ports.pub, ports.inside}) {
        rte_eth_dev_stop(p);
        rte_eth_dev_close(p);
    }
    rte_eal_cleanup();
    return bad ? 1 : 0;
}
