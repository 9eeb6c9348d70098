#include "pcap_writer.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace espgen {
namespace {

struct Writer {
    FILE* f;
    uint32_t usec = 0;
    void header() {
        const uint32_t magic = 0xa1b2c3d4, snaplen = 65535, linktype = 1;  // Ethernet
        const uint16_t major = 2, minor = 4;
        const int32_t zone = 0;
        const uint32_t sigfigs = 0;
        fwrite(&magic, 4, 1, f);
        fwrite(&major, 2, 1, f);
        fwrite(&minor, 2, 1, f);
        fwrite(&zone, 4, 1, f);
        fwrite(&sigfigs, 4, 1, f);
        fwrite(&snaplen, 4, 1, f);
        fwrite(&linktype, 4, 1, f);
    }
    void frame(const uint8_t* p, uint32_t len) {
        const uint32_t rec[4] = {usec / 1000000, usec % 1000000, len, len};
        ++usec;  // 1 Mpps of timestamps; replay tools set their own rate
        fwrite(rec, 4, 4, f);
        fwrite(p, 1, len, f);
    }
};

void put16(uint8_t* p, uint16_t v) {
    p[0] = uint8_t(v >> 8);
    p[1] = uint8_t(v);
}

// A UDP datagram from peer i's NAT address and port to espgw.
std::vector<uint8_t> udp_frame(const PeerSet& peers, uint32_t i, const MacPair& macs, uint16_t sport, uint16_t dport,
                               const std::vector<uint8_t>& payload) {
    std::vector<uint8_t> f;
    ether_header(macs.gw, macs.gen, f);
    // outer_headers writes 4500 as the destination and the NAT port as the source; adjust.
    outer_headers(peers, i, payload.size(), f);
    uint8_t* udp = f.data() + 14 + 20;
    put16(udp, sport);
    put16(udp + 2, dport);
    f.insert(f.end(), payload.begin(), payload.end());
    return f;
}

// An IKEv2 header alone (IKE_SA_INIT request from a new initiator, or an INFORMATIONAL for an
// IKE SA espgw does not have): espgw's control core answers or drops it; the workers only
// pass it on.
std::vector<uint8_t> ike_header(uint32_t i, bool informational) {
    std::vector<uint8_t> h(28, 0);
    for (int k = 0; k < 8; ++k) h[k] = uint8_t((i * 2654435761u) >> (k * 3));
    h[0] |= 1;  // never a zero SPI
    h[16] = 0;  // next payload: none
    h[17] = 0x20;
    h[18] = informational ? 37 : 34;
    h[19] = 0x08;  // initiator
    h[27] = 28;
    if (informational) h[8] = 1;
    return h;
}

}  // namespace

std::string write_pcap(const std::string& path, const FrameBlob& frames, const PeerSet& peers, const MacPair& macs,
                       bool public_side, const PcapMix& mix, uint64_t& extra) {
    extra = 0;
    Writer w{fopen(path.c_str(), "wb")};
    if (!w.f) return path + ": " + strerror(errno);
    w.header();
    unsigned ike = 0;
    for (size_t k = 0; k < frames.count(); ++k) {
        w.frame(frames.frame(k), frames.length(k));
        if (!public_side) continue;
        const uint32_t p = frames.peer[k];
        if (mix.keepalive_every && k % mix.keepalive_every == mix.keepalive_every - 1) {
            const std::vector<uint8_t> f = udp_frame(peers, p, macs, peers.nat_port(p), 4500, {0xff});
            w.frame(f.data(), uint32_t(f.size()));
            ++extra;
        }
        if (mix.ike_every && k % mix.ike_every == mix.ike_every - 1) {
            std::vector<uint8_t> f;
            if (ike++ % 2 == 0) {
                f = udp_frame(peers, p, macs, 500, 500, ike_header(uint32_t(k), false));
            } else {
                std::vector<uint8_t> marked(4, 0);  // RFC 3948 non-ESP marker
                const std::vector<uint8_t> h = ike_header(uint32_t(k), true);
                marked.insert(marked.end(), h.begin(), h.end());
                f = udp_frame(peers, p, macs, peers.nat_port(p), 4500, marked);
            }
            w.frame(f.data(), uint32_t(f.size()));
            ++extra;
        }
    }
    if (fclose(w.f) != 0) return path + ": " + strerror(errno);
    return {};
}

}  // namespace espgen
