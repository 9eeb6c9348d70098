// One trial: send a trial's frames toward espgw at a set rate (or as fast as the port takes
// them) from one lcore, receive what espgw forwards on the other side, then verify every
// received packet (decrypting espgw's ESP with the generator's own codec) and report loss,
// throughput and latency.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "frames.h"
#include "peer_set.h"

struct rte_mempool;

namespace espgen {

enum class Direction { decap, encap };  // decap: peers -> espgw -> LAN; encap: LAN -> espgw -> peers

struct Ports {
    uint16_t pub = 0, inside = 0;  // the generator's ports facing espgw's public and protected ports
    MacPair pub_mac{}, inside_mac{};
    rte_mempool* pool = nullptr;
};

struct TrialSpec {
    Direction dir = Direction::decap;
    double rate_pps = 0;     // 0: as fast as the port takes them
    uint32_t size = 64;      // inner IP packet bytes; 0: IMIX 7:4:1 of 64/576/1500
    bool random_access = true;  // each packet through a peer picked at random (else in turn)
    double drain_s = 0.2;    // how long to wait for the last packets after sending
    // Every frame back counts as received, unverified: for timing a plain forwarder (testpmd
    // in io mode, which returns the frames as they were) to find the ports' own cost.
    bool count_only = false;
};

struct TrialResult {
    uint64_t sent = 0, received = 0, lost = 0;
    uint64_t invalid = 0;     // received but failing verification (first reason kept)
    uint64_t duplicates = 0;  // a slot received twice
    uint64_t other = 0;       // frames that are not ours (ARP, IKE, ...), not counted as received
    uint64_t refused = 0;     // at a set rate: frames the port would not take (espgw's ring full)
    bool stalled = false;     // flat out, the port took nothing for 5 s: the trial was cut short
    double seconds = 0;       // from first to last frame sent
    double offered_pps = 0, received_pps = 0;
    double gbps_inner = 0;    // received inner IP bits per second
    double p50_us = 0, p99_us = 0, p999_us = 0, max_us = 0;
    std::string first_invalid;
    double loss() const { return sent ? double(lost) / double(sent) : 1.0; }
};

// Builds and owns the frames of successive trials: each SA's sequence numbers go on from
// one trial to the next, as espgw's replay window requires.
class Trials {
public:
    Trials(const PeerSet& peers, const Ports& ports);
    // Builds `packets` frames for `spec` (encrypting them in the decap direction).
    void prepare(const TrialSpec& spec, uint64_t packets, uint32_t seed);
    TrialResult run(const TrialSpec& spec);
    const FrameBlob& frames() const { return blob_; }  // what prepare() built

private:
    TrialResult verify(const TrialSpec& spec, std::vector<uint64_t>& lat_cycles);

    const PeerSet& peers_;
    Ports ports_;
    std::vector<uint32_t> seq_in_;  // last sequence number sent on each peer's inbound SA
    FrameBlob blob_;
    std::vector<uint64_t> tx_tsc_;  // per slot: when it was sent (0: not sent)
    // Encap captures (ESP frames from espgw) and decap receptions, verified after the trial.
    FrameBlob capture_;  // offset[0..captured_] used; kept (and its pages) from trial to trial
    size_t captured_ = 0;
    std::vector<uint64_t> rx_tsc_;
    std::vector<uint8_t> seen_;
    TrialResult pending_;
};

std::vector<uint32_t> imix_lengths(uint64_t packets);

}  // namespace espgen
