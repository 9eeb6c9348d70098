// NAT detection hashes (RFC 7296 §2.23) checked against a real strongSwan: its recorded
// IKE_SA_INIT request (tests/tools/record_strongswan_init.py) carries NAT_DETECTION_SOURCE_IP
// and _DESTINATION_IP computed by charon; ours must be the same bytes, and the verdict on that
// message (no NAT between the two namespaces) must be "no NAT", with a NAT when the address or
// port seen differs.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <vector>

#include "espgw/ike/nat_detection.h"

using namespace espgw;

namespace {

struct Recorded {
    std::vector<uint8_t> msg;
    uint64_t spi_i = 0;
    std::vector<std::vector<uint8_t>> source;  // NAT_DETECTION_SOURCE_IP data
    std::vector<uint8_t> destination;
};

// A walk of the generic payload chain (RFC 7296 §3.2), independent of the codec under test
// elsewhere: only what this test needs.
Recorded load() {
    Recorded r;
    std::ifstream f(ESPGW_SOURCE_DIR "/tests/data/strongswan_ike_sa_init.bin", std::ios::binary);
    r.msg.assign(std::istreambuf_iterator<char>(f), {});
    EXPECT_GE(r.msg.size(), 28u);
    for (int k = 0; k < 8; ++k) r.spi_i = r.spi_i << 8 | r.msg[static_cast<size_t>(k)];
    uint8_t next = r.msg[16];
    size_t at = 28;
    while (next != 0 && at + 4 <= r.msg.size()) {
        const uint8_t type = next;
        next = r.msg[at];
        const size_t len = size_t{r.msg[at + 2]} << 8 | r.msg[at + 3];
        if (len < 4 || at + len > r.msg.size()) break;
        if (type == 41 && len >= 8) {  // Notify: protocol ID, SPI size, type, then SPI and data
            const unsigned notify = unsigned{r.msg[at + 6]} << 8 | r.msg[at + 7];
            const size_t data = at + 8 + r.msg[at + 5];
            std::vector<uint8_t> d(r.msg.begin() + static_cast<long>(data), r.msg.begin() + static_cast<long>(at + len));
            if (notify == 16388) r.source.push_back(d);
            if (notify == 16389) r.destination = d;
        }
        at += len;
    }
    return r;
}

const net::IpAddr kFrom = net::IpAddr::v4(0xc6336402);  // 198.51.100.2, as recorded
const net::IpAddr kTo = net::IpAddr::v4(0xc6336401);    // 198.51.100.1

}  // namespace

TEST(NatDetection, OurHashesAreStrongSwans) {
    const Recorded r = load();
    ASSERT_EQ(r.source.size(), 1u) << "the recording has one source hash";
    ASSERT_EQ(r.destination.size(), 20u);
    const ike::NatdHash src = ike::natd_hash(r.spi_i, 0, kFrom, 500);
    const ike::NatdHash dst = ike::natd_hash(r.spi_i, 0, kTo, 500);
    EXPECT_EQ(std::vector<uint8_t>(src.begin(), src.end()), r.source[0]);
    EXPECT_EQ(std::vector<uint8_t>(dst.begin(), dst.end()), r.destination);
}

TEST(NatDetection, VerdictsFollowWhatWasRewritten) {
    const Recorded r = load();
    auto v = ike::nat_verdict(r.spi_i, 0, r.source, r.destination, kFrom, 500, kTo, 500);
    EXPECT_FALSE(v.nat_there);
    EXPECT_FALSE(v.nat_here);
    // As if a NAT in front of the peer had changed its port, then its address.
    v = ike::nat_verdict(r.spi_i, 0, r.source, r.destination, kFrom, 31337, kTo, 500);
    EXPECT_TRUE(v.nat_there);
    EXPECT_FALSE(v.nat_here);
    v = ike::nat_verdict(r.spi_i, 0, r.source, r.destination, net::IpAddr::v4(0xc0000201), 500, kTo, 500);
    EXPECT_TRUE(v.nat_there);
    // As if we sat behind a NAT: the peer sent to an address that is not ours.
    v = ike::nat_verdict(r.spi_i, 0, r.source, r.destination, kFrom, 500, net::IpAddr::v4(0x0a000001), 500);
    EXPECT_FALSE(v.nat_there);
    EXPECT_TRUE(v.nat_here);
    // A multihomed peer may send several source hashes: one match is enough.
    std::vector<std::vector<uint8_t>> several = {std::vector<uint8_t>(20, 0xab), r.source[0]};
    EXPECT_FALSE(ike::nat_verdict(r.spi_i, 0, several, r.destination, kFrom, 500, kTo, 500).nat_there);
}

// IPv6 addresses hash as 16 bytes, IPv4 ones as 4: the same digits in a mapped and a real
// IPv6 address give different hashes.
TEST(NatDetection, AddressFamiliesHashTheirOwnLength) {
    uint8_t mapped6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 51, 100, 2};
    mapped6[10] = 0xfe;  // a real IPv6 address, not a mapped one
    EXPECT_NE(ike::natd_hash(1, 2, kFrom, 500), ike::natd_hash(1, 2, net::IpAddr::v6(mapped6), 500));
    EXPECT_NE(ike::natd_hash(1, 2, kFrom, 500), ike::natd_hash(1, 3, kFrom, 500));
}
