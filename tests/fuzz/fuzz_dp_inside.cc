// The protected port's path on arbitrary frames, from the Ethernet header on: ARP and NDP,
// IPv4 and IPv6 header checks, the policy and SA lookup by destination, path MTU (ICMP
// "fragmentation needed" / "packet too big", fragmenting before encryption, or the outer
// packet with mtu_policy fragment), ESP encap. Besides no crash, no sanitizer report and
// every mbuf back in its pool after each input: every ESP packet espgw sends toward the peer
// must authenticate and decrypt with the peer's copy of the SA.
//
// Input: one options octet (bit 0: mtu_policy fragment; bits 1-2 pick the tunnel MTU 1500,
// 1400, 576, 1280), then operations:
//   op % 4 != 3: a frame  [u16 length][frame]
//   op % 4 == 3: hand the burst so far to the pipeline
// Bursts also go when they reach 32 frames, and at the end.
#include <rte_ip.h>
#include <rte_udp.h>

#include "dp_fuzz_support.h"

using namespace espgw;
using testing_dp = espgw::testing::StandaloneDatapath;
namespace T = espgw::testing;

namespace {

constexpr uint32_t kSpiOut = 0x2001, kSpiOut6 = 0x2006;

struct State {
    testing_dp dp{4095};
    fuzz::PoolLevels baseline{};
    std::unique_ptr<sa::Sa> mirror, mirror6;
    State() {
        dp.enable_v6();
        dp.enable_public_v6();
    }
    void reset() {
        for (uint32_t spi : {kSpiOut, kSpiOut6}) dp.table().remove(sa::Direction::outbound, spi);
        dp.install(sa::Direction::outbound, kSpiOut);  // 10.1.0.0/16 <-> kInner/32
        std::string err;
        if (!dp.table().install(dp.make_sa6(sa::Direction::outbound, kSpiOut6), err)) std::abort();
        mirror = dp.make_sa(sa::Direction::inbound, kSpiOut);
        mirror6 = dp.make_sa(sa::Direction::inbound, kSpiOut6);
        dp.gw_peer(false)->move({T::kPeer, 4500, true});
        dp.flush_reassembly();
        baseline = fuzz::PoolLevels::of(dp);
    }
};

// An ESP-in-UDP packet the gateway sent (Ethernet frame, whole, not a fragment) must open with
// the peer's copy of its SA.
void check_sealed(testing_dp& dp, State& s, rte_mbuf* m) {
    if (rte_pktmbuf_data_len(m) < sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr) + sizeof(rte_udp_hdr) + 8) return;
    const auto* eth = rte_pktmbuf_mtod(m, const rte_ether_hdr*);
    if (eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)) return;
    const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(eth + 1);
    if (ip->next_proto_id != IPPROTO_UDP || rte_ipv4_frag_pkt_is_fragmented(ip)) return;
    const auto* udp = reinterpret_cast<const rte_udp_hdr*>(reinterpret_cast<const uint8_t*>(ip) + rte_ipv4_hdr_len(ip));
    if (udp->src_port != rte_cpu_to_be_16(4500)) return;
    uint32_t spi_be;
    std::memcpy(&spi_be, udp + 1, sizeof spi_be);
    const uint32_t spi = rte_be_to_cpu_32(spi_be);
    rte_pktmbuf_adj(m, static_cast<uint16_t>(sizeof(rte_ether_hdr) + rte_ipv4_hdr_len(ip) + sizeof(rte_udp_hdr)));
    FUZZ_CHECK(spi == kSpiOut || spi == kSpiOut6);
    dp::Drop why{};
    FUZZ_CHECK(T::open_as_peer(dp.mgr, spi == kSpiOut ? *s.mirror : *s.mirror6, m, nullptr, &why));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static State s;
    s.reset();
    testing_dp& dp = s.dp;
    fuzz::Reader in(data, size);
    const uint8_t options = in.u8();
    static constexpr uint16_t kMtu[] = {1500, 1400, 576, 1280};
    dp.shared.mtu_policy = options & 1 ? dp::MtuPolicy::fragment : dp::MtuPolicy::icmp;
    dp.shared.public_mtu = kMtu[(options >> 1) & 3];
    std::vector<rte_mbuf*> burst;
    auto go = [&] {
        if (burst.empty()) return;
        dp.rx_protected(std::exchange(burst, {}));
        for (rte_mbuf* m : dp.take(dp::kPublic)) {
            check_sealed(dp, s, m);
            rte_pktmbuf_free(m);
        }
    };
    while (!in.empty()) {
        const uint8_t op = in.u8();
        if (op % 4 == 3) {
            go();
            continue;
        }
        const std::vector<uint8_t> bytes = in.blob();
        if (rte_mbuf* m = fuzz::frame(dp, bytes)) burst.push_back(m);
        if (burst.size() == 32) go();
    }
    go();
    fuzz::settle_and_check(dp, s.baseline);
    return 0;
}
