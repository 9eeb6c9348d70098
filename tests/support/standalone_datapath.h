// The data-plane pipeline without ports, lcores or a control core: one worker whose output
// is collected per port, a gateway 192.0.2.1 (public) / 10.1.0.1 (protected, 10.1.0.0/16) with
// static neighbours, and helpers to make SAs and packets. Used by the pipeline unit tests
// and the benchmark, so both drive exactly the code the workers run.
#pragma once

#include <intel-ipsec-mb.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>

#include <memory>
#include <string>
#include <vector>

#include "espgw/crypto/cipher_suite.h"
#include "espgw/dp/datapath.h"

namespace espgw::testing {

constexpr uint32_t kGw = 0xc0000201;        // 192.0.2.1
constexpr uint32_t kGwLan = 0x0a010001;     // 10.1.0.1
constexpr uint32_t kPeer = 0xc00002fe;      // 192.0.2.254 (the NAT in front of the peer)
constexpr uint32_t kLanHost = 0x0a010002;   // 10.1.0.2
constexpr uint32_t kInner = 0x0a020002;     // 10.2.0.2, behind the peer
// IPv6 inside the tunnels (has_v6 on the protected port): 2001:db8:1::1/64 is the gateway.
constexpr uint8_t kGwLan6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
constexpr uint8_t kLanHost6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
constexpr uint8_t kInner6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
// IPv6 on the public port (peers reached over IPv6): the gateway 2001:db8:ff::1/64 and a peer.
constexpr uint8_t kGw6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
constexpr uint8_t kPeer6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xfe};

class StandaloneDatapath {
public:
    // EAL must be initialised. max_sas: the SA table's capacity (per direction).
    explicit StandaloneDatapath(uint32_t mbufs = 4095, uint32_t max_sas = 64);
    ~StandaloneDatapath();

    // An SA between kGw and kPeer:4500 (UDP encapsulated) with selectors 10.1.0.0/16 <->
    // kInner/32 and a fixed AES-128-GCM key; installed in the table unless install=false.
    // key_mgr: the IPsec-MB manager of the calling thread (default: the fixture's own);
    // peer: the Peer the SA shares (default: one of its own, as the peer's side has).
    std::unique_ptr<sa::Sa> make_sa(sa::Direction dir, uint32_t spi, IMB_MGR* key_mgr = nullptr,
                                    bool outer6 = false, std::shared_ptr<sa::Peer> peer = nullptr) const;
    // make_sa with the gateway's Peer for kPeer (outer IPv4), installed.
    sa::Sa* install(sa::Direction dir, uint32_t spi);
    // The gateway's view of the peer at kPeer:4500 (kPeer6 with outer6), id 1 (2 for IPv6),
    // shared by every SA installed through install() or made with it.
    std::shared_ptr<sa::Peer> gw_peer(bool outer6 = false);

    // An Ethernet frame carrying an IPv4/UDP packet of total IP length len, src -> dst.
    rte_mbuf* inner_frame(uint32_t len, uint32_t src, uint32_t dst, bool df = false);
    // What the peer would send: inner_frame(len, kInner, inner_dst) encrypted with `peer_sa`
    // (an outbound SA with the gateway's inbound SPI and key), as an Ethernet frame from
    // kPeer:sport to kGw:4500.
    rte_mbuf* esp_frame(sa::Sa& peer_sa, uint32_t len, uint16_t sport = 4500, uint32_t inner_dst = kLanHost);
    // The same with IPv6 inside: an IPv6/UDP packet of total length len (header included).
    rte_mbuf* inner_frame6(uint32_t len, const uint8_t src[16], const uint8_t dst[16], uint8_t hop_limit = 64);
    // Any inner Ethernet frame, encrypted as the peer would (next_header: IPPROTO_IPIP or
    // IPPROTO_IPV6) and framed for rx_public from kPeer:sport (kPeer6 if the SA's outer
    // header is IPv6).
    rte_mbuf* seal_as_peer(sa::Sa& peer_sa, rte_mbuf* inner, uint8_t next_header, uint16_t sport = 4500);
    rte_mbuf* esp_frame6(sa::Sa& peer_sa, uint32_t len, const uint8_t inner_dst[16] = kLanHost6);
    // Turns on IPv6 on the protected port (kGwLan6/64, kLanHost6 resolved) and makes an SA
    // like make_sa whose selectors are 2001:db8:1::/64 <-> kInner6/128.
    void enable_v6();
    // Turns on IPv6 on the public port (kGw6/64, kPeer6 resolved); make_sa(..., outer6=true)
    // then makes SAs whose outer header is IPv6 between kGw6 and kPeer6.
    void enable_public_v6();
    std::unique_ptr<sa::Sa> make_sa6(sa::Direction dir, uint32_t spi) const;

    void rx_public(std::vector<rte_mbuf*> pkts);
    // The same at a TSC the caller chooses (for tests of time-outs without waiting).
    void rx_public_at(uint64_t now, std::vector<rte_mbuf*> pkts);
    void rx_protected(std::vector<rte_mbuf*> pkts);
    // Takes (and then owns) what the pipeline sent on a port since the last call.
    std::vector<rte_mbuf*> take(unsigned role);
    uint64_t drops(dp::Drop why) const;
    // Frees whatever the pipeline handed to the control core (IKE, ARP/NDP, held packets)
    // and discards its events.
    void drain_control_rings();
    // Frees the fragments the reassembly table holds (they would wait for their time-out).
    void flush_reassembly();
    // Starts reassembly afresh with these bounds (the default: 256 mbufs, 256 per source, 1 s).
    void set_reassembly(const dp::ReassemblyLimits& limits);

    // Hostile input for rx_public: `frames` copies of the models (picked at random), each with
    // 1..max_flips random bytes changed (with header_bias, 3 in 4 of them within the first 80
    // bytes) and one in truncate_one_in cut short anywhere, in bursts of 32; all the pipeline
    // hands on is freed. Returns the drops counted meanwhile.
    struct Mutations {
        unsigned frames = 10000;
        unsigned max_flips = 4;
        bool header_bias = false;
        unsigned truncate_one_in = 3;
        uint32_t seed = 2463534242u;
    };
    uint64_t rx_public_mutated(const std::vector<std::vector<uint8_t>>& models, const Mutations& how);

    // For a test that runs the pipeline on its own thread while the table changes: the
    // thread registers as RCU reader `id` (0: this fixture's worker; ExtraWorker ids for
    // others) and reports a quiescent state after each burst.
    static constexpr unsigned kMaxReaders = 4;
    void reader_online(unsigned id = 0);
    void reader_quiescent(unsigned id = 0);
    void reader_offline(unsigned id = 0);
    sa::SaTable& table() { return *sas_; }

    // The suite make_sa gives its SAs (every SA the same fixed keys of that suite).
    crypto::Cipher cipher = crypto::Cipher::aes128_gcm;
    crypto::Integrity integrity = crypto::Integrity::none;
    uint32_t replay_window = 4096;  // of the SAs make_sa builds from now on (0: no anti-replay)

    dp::Shared shared;
    dp::WorkerCounters counters;
    dp::Worker worker;
    IMB_MGR* mgr;

private:
    std::shared_ptr<sa::Peer> gw_peer_[2];
    static void collect(dp::Worker& w, unsigned role);
    rte_rcu_qsbr* rcu_;
    std::unique_ptr<sa::SaTable> sas_;
    std::unique_ptr<net::NeighbourTable> neighbours_;
    std::vector<rte_mbuf*> sent_[dp::kRoles];
    std::string name_;
};

// Another worker on the same tables (its own counters, IPsec-MB manager, reassembly table and
// sent packets), for tests that race workers: each runs on its own thread, as RCU reader `id`.
class ExtraWorker {
public:
    ExtraWorker(StandaloneDatapath& dp, unsigned id);
    ~ExtraWorker();
    ExtraWorker(const ExtraWorker&) = delete;
    ExtraWorker& operator=(const ExtraWorker&) = delete;
    void rx_public(std::vector<rte_mbuf*> pkts);
    void rx_protected(std::vector<rte_mbuf*> pkts);
    std::vector<rte_mbuf*> take(unsigned role);

    dp::WorkerCounters counters;
    dp::Worker worker;

private:
    static void collect(dp::Worker& w, unsigned role);
    std::vector<rte_mbuf*> sent_[dp::kRoles];
};

// For a thread a test starts: it inherits the EAL main lcore's single CPU, so without this
// it would only ever take turns with the test's own thread, never race it.
void any_cpu();

// The bytes of a (contiguous) mbuf from offset on.
std::vector<uint8_t> bytes_of(const rte_mbuf* m, uint32_t offset = 0);
void free_all(const std::vector<rte_mbuf*>& v);
// frame (Ethernet, IPv4 without options, then anything) rebuilt with 4 bytes of IPv4 options
// (NOP, NOP, NOP, end of list) after the header; frame is freed.
rte_mbuf* with_ip_options(StandaloneDatapath& dp, rte_mbuf* frame);
// The bytes of each (contiguous) mbuf, which are then freed.
std::vector<std::vector<uint8_t>> take_bytes(const std::vector<rte_mbuf*>& v);

// What the peer does with a packet the gateway sent: m's data starts at the ESP header; with
// `mirror` (the gateway's outbound SA as the peer's inbound one) it is authenticated,
// decrypted and stripped in place. False (drop reason in *why) if that fails.
bool open_as_peer(IMB_MGR* mgr, sa::Sa& mirror, rte_mbuf* m, uint8_t* next_header = nullptr,
                  dp::Drop* why = nullptr);

}  // namespace espgw::testing
