// RFC 3948 §2: demultiplexing of UDP/4500 payloads.
#include <gtest/gtest.h>

#include <vector>

#include "espgw/esp/natt_classify.h"

using espgw::esp::classify_natt;
using espgw::esp::NattKind;

namespace {
NattKind classify(const std::vector<uint8_t>& p) { return classify_natt(p.data(), p.size()); }
}  // namespace

TEST(NattClassify, KeepaliveIsOneFFOctet) {
    EXPECT_EQ(classify({0xff}), NattKind::keepalive);
    EXPECT_EQ(classify({0x00}), NattKind::malformed);
    EXPECT_EQ(classify({0xff, 0xff}), NattKind::malformed);
}

TEST(NattClassify, NonEspMarkerIsIke) {
    std::vector<uint8_t> ike(4 + 28, 0x11);
    ike[0] = ike[1] = ike[2] = ike[3] = 0;
    EXPECT_EQ(classify(ike), NattKind::ike);
    ike.resize(4 + 27);  // shorter than an IKE header
    EXPECT_EQ(classify(ike), NattKind::malformed);
    EXPECT_EQ(classify({0, 0, 0, 0}), NattKind::malformed);
}

TEST(NattClassify, NonZeroSpiIsEsp) {
    std::vector<uint8_t> esp(12, 0);
    esp[3] = 1;  // SPI 1 in the first four octets
    EXPECT_EQ(classify(esp), NattKind::esp);
    esp.resize(11);
    EXPECT_EQ(classify(esp), NattKind::malformed);
    EXPECT_EQ(classify({1, 2, 3}), NattKind::malformed);
    EXPECT_EQ(classify({}), NattKind::malformed);
}
