// What one IKE_SA_INIT costs the control core, per Diffie-Hellman group: the responder's whole
// answer (ike::respond_sa_init: parse, choose, key pair, shared secret, NAT-D, encode) to a
// fresh request, median of N runs, with the machine's clock. The control core takes at most
// kIkePerPoll IKE messages per loop round (src/control.cc), so the longest it can be away from
// ARP, keepalives and events is about that many times the slowest row.
//   bench_ike [N]
#include <openssl/rand.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "espgw/ike/key_exchange.h"
#include "espgw/ike/message.h"
#include "espgw/ike/payloads.h"
#include "espgw/ike/proposals.h"
#include "espgw/ike/sa_init.h"

using namespace espgw;
using namespace espgw::ike;

namespace {

std::vector<uint8_t> request_for(const char* proposal, uint16_t group) {
    std::string err;
    const OurProposal o = *parse_proposal(proposal, ProtocolId::kIke, err);
    Proposal p;
    p.protocol = ProtocolId::kIke;
    for (const auto* l : {&o.encr, &o.prf, &o.integ, &o.dh})
        for (const Transform& t : *l) p.transforms.push_back(t);
    auto ke = KeyExchange::generate(DhGroup{group});
    Message m;
    RAND_bytes(reinterpret_cast<uint8_t*>(&m.header.spi_i), 8);
    m.header.exchange = ExchangeType::kIkeSaInit;
    m.header.initiator = true;
    std::vector<uint8_t> ni(32);
    RAND_bytes(ni.data(), 32);
    m.payloads.push_back(RawPayload{PayloadType::kSa, false, 0, build_sa(SaPayload{{p}})});
    m.payloads.push_back(RawPayload{PayloadType::kKe, false, 0, build_ke(KePayload{group, ke->public_value()})});
    m.payloads.push_back(RawPayload{PayloadType::kNonce, false, 0, build_nonce(NoncePayload{ni})});
    return build_message(m);
}

}  // namespace

int main(int argc, char** argv) {
    const int n = argc > 1 ? std::atoi(argv[1]) : 50;
    const struct {
        const char* name;
        const char* proposal;
        uint16_t group;
    } rows[] = {
        {"Curve25519", "aes128gcm16-prfsha256-curve25519", dh_id::kCurve25519},
        {"ECP-256", "aes128gcm16-prfsha256-ecp256", dh_id::kEcp256},
        {"ECP-384", "aes256gcm16-prfsha384-ecp384", dh_id::kEcp384},
        {"MODP-2048", "aes128-sha256-modp2048", dh_id::kModp2048},
        {"MODP-3072", "aes128-sha256-modp3072", dh_id::kModp3072},
        {"MODP-4096", "aes256-sha256-modp4096", dh_id::kModp4096},
    };
    std::printf("%-11s %12s %12s %14s\n", "group", "median_us", "p90_us", "per_second");
    for (const auto& r : rows) {
        SaInitConfig cfg;
        std::string err;
        cfg.proposals.push_back(*parse_proposal(r.proposal, ProtocolId::kIke, err));
        std::vector<double> us;
        for (int k = 0; k < n; ++k) {
            const auto req = request_for(r.proposal, r.group);  // not timed: the initiator's work
            std::vector<uint8_t> nr(32, 7);
            const auto t0 = std::chrono::steady_clock::now();
            const SaInitResult res = respond_sa_init(cfg, req, UdpEnd{net::IpAddr::v4(0xc6336402), 500},
                                                     UdpEnd{net::IpAddr::v4(0xc0000201), 500}, 0x1234 + k, nr, nullptr);
            const auto t1 = std::chrono::steady_clock::now();
            if (res.outcome != SaInitResult::established) {
                std::fprintf(stderr, "%s: %s\n", r.name, res.reason.c_str());
                return 1;
            }
            us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
        }
        std::sort(us.begin(), us.end());
        const double med = us[us.size() / 2], p90 = us[us.size() * 9 / 10];
        std::printf("%-11s %12.0f %12.0f %14.0f\n", r.name, med, p90, 1e6 / med);
    }
    return 0;
}
