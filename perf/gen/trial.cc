#include "trial.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <cstring>
#include <random>

namespace espgen {
namespace {

constexpr uint16_t kBurst = 32;

uint16_t get16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }
uint32_t get32(const uint8_t* p) { return uint32_t(get16(p)) << 16 | get16(p + 2); }

double percentile(const std::vector<uint64_t>& sorted, double q) {
    if (sorted.empty()) return 0;
    const size_t k = std::min(sorted.size() - 1, size_t(q * double(sorted.size())));
    return double(sorted[k]);
}

}  // namespace

std::vector<uint32_t> imix_lengths(uint64_t packets) {
    static const uint32_t kImix[12] = {64, 64, 64, 64, 64, 64, 64, 576, 576, 576, 576, 1500};
    std::vector<uint32_t> v(packets);
    for (uint64_t k = 0; k < packets; ++k) v[k] = kImix[k % 12];
    std::shuffle(v.begin(), v.end(), std::mt19937(12));
    return v;
}

Trials::Trials(const PeerSet& peers, const Ports& ports)
    : peers_(peers), ports_(ports), seq_in_(peers.count(), 0) {}

void Trials::prepare(const TrialSpec& spec, uint64_t packets, uint32_t seed) {
    const bool decap = spec.dir == Direction::decap;
    std::mt19937_64 rng(seed);
    const std::vector<uint32_t> imix = spec.size ? std::vector<uint32_t>{} : imix_lengths(packets);
    EspCodec codec;
    blob_.bytes.clear();
    blob_.offset.assign(1, 0);
    blob_.peer.clear();
    blob_.offset.reserve(packets + 1);
    blob_.peer.reserve(packets);
    std::vector<uint8_t> inner, frame;
    std::vector<SaKeys> keys;  // keys of the peers used, computed once each
    std::vector<uint8_t> have;
    if (decap) {
        keys.resize(peers_.count());
        have.assign(peers_.count(), 0);
    }
    for (uint64_t k = 0; k < packets; ++k) {
        const uint32_t p = spec.random_access ? uint32_t(rng() % peers_.count()) : uint32_t(k % peers_.count());
        const uint32_t len = spec.size ? spec.size : imix[k];
        inner_packet(peers_, p, uint32_t(k), len, decap, inner);
        frame.clear();
        if (decap) {
            if (!have[p]) {
                keys[p] = peers_.keys(p, true);
                have[p] = 1;
            }
            ether_header(ports_.pub_mac.gw, ports_.pub_mac.gen, frame);
            outer_headers(peers_, p, EspCodec::overhead(peers_.cipher(), len) + len, frame);
            codec.seal(keys[p], peers_.spi_in(p), ++seq_in_[p], inner.data(), inner.size(), frame);
        } else {
            ether_header(ports_.inside_mac.gw, ports_.inside_mac.gen, frame);
            frame.insert(frame.end(), inner.begin(), inner.end());
        }
        blob_.bytes.insert(blob_.bytes.end(), frame.begin(), frame.end());
        blob_.offset.push_back(uint32_t(blob_.bytes.size()));
        blob_.peer.push_back(p);
    }
    tx_tsc_.assign(packets, 0);
    // What comes back is at most the ESP overhead (and outer headers) bigger per frame. The
    // buffers are written (resize zero-fills) before the trial: a page first touched while
    // receiving costs a page fault per few frames and would be the generator's limit.
    const size_t need = blob_.bytes.size() + packets * 96 + 65536;
    if (capture_.bytes.size() < need) capture_.bytes.resize(need);
    if (capture_.offset.size() < packets + 4097) capture_.offset.resize(packets + 4097);
    if (rx_tsc_.size() < packets + 4096) rx_tsc_.resize(packets + 4096);
    captured_ = 0;
    capture_.offset[0] = 0;
}

TrialResult Trials::run(const TrialSpec& spec) {
    const bool decap = spec.dir == Direction::decap;
    const uint16_t tx_port = decap ? ports_.pub : ports_.inside;
    const uint16_t rx_port = decap ? ports_.inside : ports_.pub;
    const uint64_t hz = rte_get_tsc_hz();
    const size_t count = blob_.count();
    const double gap = spec.rate_pps > 0 ? double(hz) / spec.rate_pps : 0;
    TrialResult r;
    rte_mbuf* bufs[kBurst];
    size_t next = 0;
    size_t end = count;  // frames offered: fewer if espgw stops taking any (it died, say)
    const uint64_t t0 = rte_rdtsc();
    uint64_t t_end = 0, last_rx = t0, last_tx = t0;
    const uint64_t drain = uint64_t(spec.drain_s * double(hz));
    for (;;) {
        const uint64_t now = rte_rdtsc();
        if (next < end) {
            size_t allowed = end;
            if (gap > 0) allowed = std::min<size_t>(end, size_t(double(now - t0) / gap) + 1);
            const uint16_t n = uint16_t(std::min<size_t>(kBurst, allowed - next));
            if (n && rte_pktmbuf_alloc_bulk(ports_.pool, bufs, n) == 0) {
                for (uint16_t j = 0; j < n; ++j) {
                    const uint32_t len = blob_.length(next + j);
                    std::memcpy(rte_pktmbuf_append(bufs[j], uint16_t(len)), blob_.frame(next + j), len);
                    tx_tsc_[next + j] = now;
                }
                const uint16_t sent = rte_eth_tx_burst(tx_port, 0, bufs, n);
                for (uint16_t j = sent; j < n; ++j) rte_pktmbuf_free(bufs[j]);
                // At a set rate a frame the port does not take now is lost, as on a wire: memif
                // pushes back when espgw's receive ring is full, which on a NIC is espgw's
                // loss. Flat out, the push-back is the point: the frame goes again next turn.
                if (gap > 0) {
                    r.refused += n - sent;
                    next += n;
                } else {
                    next += sent;
                }
                if (sent || gap > 0) last_tx = now;
                if (next == end) t_end = rte_rdtsc();
            }
            if (next < end && now - last_tx > 5 * hz) {  // flat out, and nothing taken for 5 s
                end = next;
                t_end = now;
                r.stalled = true;
            }
        } else if (now - last_rx > drain && now - t_end > drain) {
            break;
        } else if (now - t_end > 10 * hz) {
            break;  // something keeps sending to us
        }
        const uint16_t got = rte_eth_rx_burst(rx_port, 0, bufs, kBurst);
        if (got) last_rx = rte_rdtsc();
        for (uint16_t j = 0; j < got; ++j) {
            const uint32_t len = rte_pktmbuf_pkt_len(bufs[j]);
            const uint32_t at = capture_.offset[captured_];
            if (at + len <= capture_.bytes.size() && captured_ + 1 < capture_.offset.size() &&
                captured_ < rx_tsc_.size() && rte_pktmbuf_is_contiguous(bufs[j])) {
                std::memcpy(capture_.bytes.data() + at, rte_pktmbuf_mtod(bufs[j], const uint8_t*), len);
                rx_tsc_[captured_] = last_rx;
                capture_.offset[++captured_] = at + len;
            } else {
                ++r.other;  // no room to keep it: counted, not verified
            }
        }
        rte_pktmbuf_free_bulk(bufs, got);
        // Whatever espgw sends out of the other port (it should send nothing) is dropped here.
        const uint16_t stray = rte_eth_rx_burst(tx_port, 0, bufs, kBurst);
        r.other += stray;
        rte_pktmbuf_free_bulk(bufs, stray);
    }
    r.sent = end;
    r.seconds = double(t_end - t0) / double(hz);
    pending_ = r;
    std::vector<uint64_t> lat;
    TrialResult v = verify(spec, lat);
    std::sort(lat.begin(), lat.end());
    const double us = 1e6 / double(hz);
    v.p50_us = percentile(lat, 0.50) * us;
    v.p99_us = percentile(lat, 0.99) * us;
    v.p999_us = percentile(lat, 0.999) * us;
    v.max_us = lat.empty() ? 0 : double(lat.back()) * us;
    return v;
}

TrialResult Trials::verify(const TrialSpec& spec, std::vector<uint64_t>& lat) {
    const bool decap = spec.dir == Direction::decap;
    TrialResult r = pending_;
    seen_.assign(r.sent, 0);
    EspCodec codec;
    std::vector<uint8_t> inner;
    std::vector<SaKeys> keys(decap ? 0 : peers_.count());
    std::vector<uint8_t> have(keys.size(), 0);
    uint64_t inner_bytes = 0;
    lat.reserve(captured_);
    auto invalid = [&](const std::string& why) {
        if (!r.invalid++) r.first_invalid = why;
    };
    if (spec.count_only) {
        r.received = std::min<uint64_t>(captured_, r.sent);
        captured_ = 0;  // nothing to verify
    }
    for (size_t k = 0; k < captured_; ++k) {
        const uint8_t* f = capture_.frame(k);
        size_t ip_len = 0;
        const uint8_t* ip = ipv4_of(f, capture_.length(k), ip_len);
        if (!ip) {
            ++r.other;
            continue;
        }
        InnerStamp st;
        std::string why;
        if (decap) {
            why = check_inner(peers_, ip, ip_len, true, st);
        } else {
            // ESP in UDP from espgw's 4500 to the peer's NAT address and port, or plain ESP.
            const uint32_t outer = peers_.outer_bytes();
            if (ip_len < outer + 8 || (peers_.udp_encap() ? ip[9] != 17 || get16(ip + 20) != 4500 : ip[9] != 50)) {
                ++r.other;
                continue;
            }
            const uint8_t* esp = ip + outer;
            const uint32_t p = peers_.peer_of_spi_out(get32(esp));
            if (p == peers_.count()) {
                invalid("ESP with an SPI that is no peer's");
                continue;
            }
            if (get32(ip + 16) != peers_.nat_addr(p) || (peers_.udp_encap() && get16(ip + 22) != peers_.nat_port(p))) {
                invalid("ESP sent to another address or port than the peer's");
                continue;
            }
            if (!have[p]) {
                keys[p] = peers_.keys(p, false);
                have[p] = 1;
            }
            why = codec.open(keys[p], esp, ip_len - outer, inner);
            if (why.empty()) {
                why = check_inner(peers_, inner.data(), inner.size(), false, st);
                if (why.empty() && st.peer != p) why = "inner packet of another peer's tunnel";
            }
        }
        if (why.empty() && (st.slot >= r.sent || blob_.peer[st.slot] != st.peer)) why = "stamp names no slot sent";
        if (!why.empty()) {
            invalid(why);
            continue;
        }
        if (seen_[st.slot]++) {
            ++r.duplicates;
            continue;
        }
        ++r.received;
        inner_bytes += decap ? ip_len : inner.size();
        lat.push_back(rx_tsc_[k] - tx_tsc_[st.slot]);
    }
    r.lost = r.sent - r.received;
    if (r.seconds > 0) {
        r.offered_pps = double(r.sent) / r.seconds;
        r.received_pps = double(r.received) / r.seconds;
        r.gbps_inner = double(inner_bytes) * 8 / r.seconds / 1e9;
    }
    return r;
}

}  // namespace espgen
