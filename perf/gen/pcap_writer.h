// Captures for replay by other generators (Pktgen-DPDK, tcpreplay, a hardware tester): the
// frames a trial would send, written as a classic pcap file, the public side's mixed with
// the other traffic a concentrator's public port sees (IKE on 500 and, behind the non-ESP
// marker, on 4500; NAT keepalives).
#pragma once

#include <string>

#include "frames.h"

namespace espgen {

struct PcapMix {
    unsigned ike_every = 64;        // one IKE frame per this many frames (0: none)
    unsigned keepalive_every = 32;  // one NAT keepalive per this many frames (0: none)
};

// Writes `frames` (public side: with the mix; protected side: as they are) and counts the
// mixed-in frames in `extra`. Returns an empty string or what went wrong.
std::string write_pcap(const std::string& path, const FrameBlob& frames, const PeerSet& peers, const MacPair& macs,
                       bool public_side, const PcapMix& mix, uint64_t& extra);

}  // namespace espgen
