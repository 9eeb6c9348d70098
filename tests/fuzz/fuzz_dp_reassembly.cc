// Outer fragment reassembly (IPv4 and IPv6) under any sequence of fragments and clock steps:
// overlaps, duplicates, holes, too many pieces, oversized datagrams, a few sources and
// identifiers so that fragments collide. The bounds must hold after every fragment: no more
// than the share of mbufs held, none over a source's share, the per-source counts adding up
// to the total; once the clock passes the time-out the sweep frees everything; and every mbuf
// is back in its pool after each input.
//
// Input: operations, 7 octets each:
//   [kind][source][id][offset hi][offset lo][length][fill]
//   kind bit 0: IPv6; bit 1: more fragments; bits 2-3: protocol UDP, ESP, UDP to 4500 with a
//   zero marker, other; bits 4-7 == 15: instead of a fragment, step the clock by `length` ms
//   and sweep
// Each fragment goes to the pipeline on its own, as a burst of one.
#include <rte_cycles.h>
#include <rte_ip.h>
#include <rte_ip_frag.h>
#include <rte_udp.h>

#include <numeric>

#include "dp_fuzz_support.h"
#include "espgw/dp/fragments.h"

using namespace espgw;
using testing_dp = espgw::testing::StandaloneDatapath;
namespace T = espgw::testing;

namespace {

constexpr uint32_t kMaxMbufs = 48, kPerSource = 12;
constexpr uint64_t kTimeoutMs = 50;

struct State {
    testing_dp dp{4095};
    State() { dp.enable_public_v6(); }
};

uint64_t tsc_per_ms() { return rte_get_tsc_hz() / 1000; }

rte_mbuf* fragment(testing_dp& dp, bool v6, bool more, uint8_t proto_kind, uint8_t source, uint8_t id, uint16_t offset,
                   uint8_t length, uint8_t fill) {
    static constexpr uint8_t kProto[] = {IPPROTO_UDP, IPPROTO_ESP, IPPROTO_UDP, IPPROTO_GRE};
    const uint8_t proto = kProto[proto_kind & 3];
    const uint32_t payload = length;  // 0 is allowed: a fragment with nothing in it
    const uint32_t l3 = v6 ? sizeof(rte_ipv6_hdr) + sizeof(rte_ipv6_fragment_ext) : sizeof(rte_ipv4_hdr);
    std::vector<uint8_t> f(sizeof(rte_ether_hdr) + l3 + payload, fill);
    auto* eth = reinterpret_cast<rte_ether_hdr*>(f.data());
    std::memset(eth, 0, sizeof *eth);
    eth->ether_type = rte_cpu_to_be_16(v6 ? RTE_ETHER_TYPE_IPV6 : RTE_ETHER_TYPE_IPV4);
    uint8_t* body = f.data() + sizeof(rte_ether_hdr) + l3;
    if (offset == 0 && payload >= 12 && proto_kind == 2) {  // a UDP header to the NAT-T port, zero marker
        auto* udp = reinterpret_cast<rte_udp_hdr*>(body);
        udp->src_port = rte_cpu_to_be_16(4500);
        udp->dst_port = rte_cpu_to_be_16(4500);
        udp->dgram_len = rte_cpu_to_be_16(static_cast<uint16_t>(payload));
        udp->dgram_cksum = 0;
        std::memset(body + 8, 0, 4);
    }
    if (v6) {
        auto* ip = reinterpret_cast<rte_ipv6_hdr*>(eth + 1);
        ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
        ip->payload_len = rte_cpu_to_be_16(static_cast<uint16_t>(sizeof(rte_ipv6_fragment_ext) + payload));
        ip->proto = IPPROTO_FRAGMENT;
        ip->hop_limits = 64;
        std::memcpy(ip->src_addr, T::kPeer6, 16);
        ip->src_addr[15] = static_cast<uint8_t>(source % 5);
        std::memcpy(ip->dst_addr, T::kGw6, 16);
        auto* fh = reinterpret_cast<rte_ipv6_fragment_ext*>(ip + 1);
        fh->next_header = proto;
        fh->reserved = 0;
        fh->frag_data = rte_cpu_to_be_16(static_cast<uint16_t>((offset & 0x1fff) << 3 | (more ? 1 : 0)));
        fh->id = rte_cpu_to_be_32(id % 4);
    } else {
        auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
        ip->version_ihl = 0x45;
        ip->type_of_service = 0;
        ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(sizeof(rte_ipv4_hdr) + payload));
        ip->packet_id = rte_cpu_to_be_16(id % 4);
        ip->fragment_offset = rte_cpu_to_be_16(static_cast<uint16_t>((offset & 0x1fff) | (more ? RTE_IPV4_HDR_MF_FLAG : 0)));
        ip->time_to_live = 64;
        ip->next_proto_id = proto;
        ip->src_addr = rte_cpu_to_be_32(T::kPeer + source % 5);
        ip->dst_addr = rte_cpu_to_be_32(T::kGw);
        ip->hdr_checksum = 0;
        ip->hdr_checksum = rte_ipv4_cksum(ip);
    }
    return fuzz::frame(dp, f);
}

void check_bounds(const dp::Reassembly& r) {
    FUZZ_CHECK(r.held <= kMaxMbufs);
    uint32_t sum = 0;
    for (uint16_t n : r.per_source) {
        FUZZ_CHECK(n <= kPerSource);
        sum += n;
    }
    FUZZ_CHECK(sum == r.held);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static State s;
    testing_dp& dp = s.dp;
    dp::ReassemblyLimits limits;
    limits.max_mbufs = kMaxMbufs;
    limits.per_source = kPerSource;
    limits.timeout_tsc = kTimeoutMs * tsc_per_ms();
    dp.set_reassembly(limits);
    const fuzz::PoolLevels baseline = fuzz::PoolLevels::of(dp);
    uint64_t now = rte_rdtsc();
    fuzz::Reader in(data, size);
    while (in.left() >= 7) {
        const uint8_t kind = in.u8(), source = in.u8(), id = in.u8();
        const uint16_t offset = in.u16();
        const uint8_t length = in.u8(), fill = in.u8();
        if ((kind >> 4) == 15) {
            now += length * tsc_per_ms();
            dp.worker.now = now;
            dp::reassembly_sweep(dp.worker);
        } else if (rte_mbuf* m = fragment(dp, kind & 1, kind & 2, (kind >> 2) & 3, source, id, offset, length, fill)) {
            dp.rx_public_at(now, {m});
        }
        check_bounds(dp.worker.reassembly);
        for (unsigned r = 0; r < dp::kRoles; ++r) T::free_all(dp.take(r));
    }
    // Past the time-out, a sweep (no traffic) leaves nothing held.
    dp.worker.now = now + (kTimeoutMs + 1) * tsc_per_ms();
    dp.worker.reassembly.next_sweep = 0;
    dp::reassembly_sweep(dp.worker);
    FUZZ_CHECK(dp.worker.reassembly.held == 0);
    fuzz::settle_and_check(dp, baseline);
    return 0;
}
