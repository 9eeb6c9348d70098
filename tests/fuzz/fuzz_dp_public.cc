// The public port's path on arbitrary frames, from the Ethernet header on: RFC 3948
// classification (keepalive, non-ESP marker, ESP by SPI, UDP/500), plain ESP, ARP and NDP,
// outer IPv4 and IPv6 fragments, and ESP decap with real SAs (IPv4 and IPv6 outer headers) on
// packets sealed with the peer's keys, so that what is inside a valid ICV is fuzzed too:
// inner header checks, traffic selectors, forwarding, peer moves. Nothing may crash, trip a
// sanitizer, or keep an mbuf (every pool is full again after each input).
//
// Input: one options octet (bit 0: mtu_policy fragment), then operations:
//   op % 4 == 0 or 1: a raw frame        [u16 length][frame]
//   op % 4 == 2:      a sealed frame     [u8 kind][u16 UDP source port][u16 length][inner IP packet]
//                     kind bit 0: the IPv6-outer SA; bits 1-2: next header IPIP, IPv6, 59, raw octet
//   op % 4 == 3:      hand the burst so far to the pipeline
// Bursts also go when they reach 32 frames, and at the end.
#include <netinet/in.h>

#include "dp_fuzz_support.h"

using namespace espgw;
using testing_dp = espgw::testing::StandaloneDatapath;
namespace T = espgw::testing;

namespace {

constexpr uint32_t kSpiIn = 0x1001, kSpiOut = 0x2001, kSpiIn6 = 0x1006;

struct State {
    testing_dp dp{4095};
    fuzz::PoolLevels baseline{};
    State() {
        dp.enable_v6();
        dp.enable_public_v6();
        dp.install(sa::Direction::outbound, kSpiOut);
    }
    // The inbound SAs afresh (anti-replay windows empty), the peers where they began.
    void reset() {
        for (uint32_t spi : {kSpiIn, kSpiIn6}) dp.table().remove(sa::Direction::inbound, spi);
        dp.install(sa::Direction::inbound, kSpiIn);
        std::string err;
        if (!dp.table().install(dp.make_sa(sa::Direction::inbound, kSpiIn6, nullptr, true, dp.gw_peer(true)), err))
            std::abort();
        dp.gw_peer(false)->move({T::kPeer, 4500, true});
        dp.gw_peer(true)->move({0, 4500, true}, T::kPeer6);
        dp.flush_reassembly();
        baseline = fuzz::PoolLevels::of(dp);
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static State s;
    s.reset();
    testing_dp& dp = s.dp;
    fuzz::Reader in(data, size);
    dp.shared.mtu_policy = in.u8() & 1 ? dp::MtuPolicy::fragment : dp::MtuPolicy::icmp;
    auto peer = dp.make_sa(sa::Direction::outbound, kSpiIn);
    auto peer6 = dp.make_sa(sa::Direction::outbound, kSpiIn6, nullptr, true);
    std::vector<rte_mbuf*> burst;
    auto go = [&] {
        if (!burst.empty()) dp.rx_public(std::exchange(burst, {}));
    };
    while (!in.empty()) {
        const uint8_t op = in.u8();
        rte_mbuf* m = nullptr;
        if (op % 4 < 2) {
            const std::vector<uint8_t> bytes = in.blob();
            m = fuzz::frame(dp, bytes);
        } else if (op % 4 == 2) {
            const uint8_t kind = in.u8();
            const uint16_t sport = in.u16();
            std::vector<uint8_t> inner(sizeof(rte_ether_hdr), 0);
            const auto body = in.bytes(in.u16() % 1400 + 1);
            inner.insert(inner.end(), body.begin(), body.end());
            static constexpr uint8_t kNext[] = {IPPROTO_IPIP, IPPROTO_IPV6, 59, 0};
            uint8_t next = kNext[(kind >> 1) & 3];
            if (next == 0) next = in.u8();
            m = dp.seal_as_peer(kind & 1 ? *peer6 : *peer, fuzz::frame(dp, inner), next, sport);
        } else {
            go();
        }
        if (m) burst.push_back(m);
        if (burst.size() == 32) go();
    }
    go();
    fuzz::settle_and_check(dp, s.baseline);
    return 0;
}
