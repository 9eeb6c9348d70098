// Proposal strings and the responder's choice, against the offer of a real strongSwan
// (tests/data/strongswan_ike_sa_init.bin: aes128gcm16-prfsha256-ecp256, then
// aes256-sha256-modp2048) and hand-made ESP offers.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <vector>

#include "espgw/ike/message.h"
#include "espgw/ike/proposals.h"

using namespace espgw::ike;

namespace {

SaPayload strongswan_offer() {
    std::ifstream f(ESPGW_SOURCE_DIR "/tests/data/strongswan_ike_sa_init.bin", std::ios::binary);
    const std::vector<uint8_t> bytes{std::istreambuf_iterator<char>(f), {}};
    const auto msg = parse_message(bytes);
    EXPECT_TRUE(msg.ok());
    const auto sa = parse_sa(msg->find(PayloadType::kSa)->body);
    EXPECT_TRUE(sa.ok());
    return *sa;
}

std::vector<OurProposal> ours(std::initializer_list<const char*> texts, ProtocolId protocol = ProtocolId::kIke) {
    std::vector<OurProposal> out;
    for (const char* text : texts) {
        std::string err;
        auto p = parse_proposal(text, protocol, err);
        EXPECT_TRUE(p.has_value()) << text << ": " << err;
        if (p) out.push_back(*p);
    }
    return out;
}

bool has(const Proposal& p, TransformType type, uint16_t id) {
    for (const Transform& t : p.transforms)
        if (t.type == type && t.id == id) return true;
    return false;
}

}  // namespace

TEST(Proposals, StringsReadAsStrongSwanWritesThem) {
    std::string err;
    auto gcm = parse_proposal("aes128gcm16-prfsha256-ecp256", ProtocolId::kIke, err);
    ASSERT_TRUE(gcm) << err;
    EXPECT_TRUE(gcm->aead());
    EXPECT_TRUE(gcm->integ.empty());
    ASSERT_EQ(gcm->prf.size(), 1u);
    EXPECT_EQ(gcm->prf[0].id, prf_id::kHmacSha2_256);
    auto cbc = parse_proposal("aes256-sha256-modp2048", ProtocolId::kIke, err);
    ASSERT_TRUE(cbc) << err;
    EXPECT_EQ(cbc->encr[0].key_length, 256);
    EXPECT_EQ(cbc->integ[0].id, integ_id::kHmacSha2_256_128);
    EXPECT_EQ(cbc->prf[0].id, prf_id::kHmacSha2_256) << "the hash gives the PRF too";
    auto esp = parse_proposal("aes128gcm16", ProtocolId::kEsp, err);
    ASSERT_TRUE(esp) << err;
    ASSERT_EQ(esp->esn.size(), 1u);
    EXPECT_EQ(esp->esn[0].id, esn_id::kNo);
    EXPECT_TRUE(esp->dh.empty()) << "no PFS";

    EXPECT_FALSE(parse_proposal("aes128-modp2048", ProtocolId::kIke, err));
    EXPECT_NE(err.find("integrity"), std::string::npos) << err;
    EXPECT_FALSE(parse_proposal("aes128gcm16-prfsha256", ProtocolId::kIke, err)) << "IKE needs a group";
    EXPECT_FALSE(parse_proposal("des-sha1-modp2048", ProtocolId::kIke, err));
    EXPECT_NE(err.find("\"des\""), std::string::npos) << err;
}

TEST(Proposals, OurPreferenceOrderPicksFromTheRealOffer) {
    const SaPayload offer = strongswan_offer();
    auto p = choose(ours({"aes256-sha256-modp2048", "aes128gcm16-prfsha256-ecp256"}), offer);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->number, 2) << "our first choice is the peer's second proposal";
    EXPECT_TRUE(has(*p, TransformType::kEncr, encr_id::kAesCbc));
    EXPECT_EQ(dh_group_of(*p), dh_id::kModp2048);
    EXPECT_EQ(p->transforms.size(), 4u) << "one of each: ENCR, PRF, INTEG, DH";

    p = choose(ours({"aes128gcm16-prfsha256-ecp256"}), offer);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->number, 1);
    EXPECT_EQ(dh_group_of(*p), dh_id::kEcp256);
    EXPECT_FALSE(has(*p, TransformType::kInteg, integ_id::kHmacSha2_256_128));

    EXPECT_FALSE(choose(ours({"aes128-sha1-modp3072"}), offer)) << "NO_PROPOSAL_CHOSEN";
    EXPECT_FALSE(choose(ours({"aes256gcm16-prfsha256-ecp256"}), offer)) << "key length matters";
}

TEST(Proposals, EspOffersWithEsnPfsAndUnknownAttributes) {
    auto transform = [](TransformType type, uint16_t id, std::optional<uint16_t> bits = std::nullopt) {
        return Transform{type, id, bits, {}};
    };
    SaPayload offer;
    offer.proposals.push_back(Proposal{1, ProtocolId::kEsp, {0xc0, 0, 0, 1},
                                       {transform(TransformType::kEncr, encr_id::kAesGcm16, 128),
                                        transform(TransformType::kEsn, esn_id::kYes),
                                        transform(TransformType::kEsn, esn_id::kNo)}});
    auto p = choose(ours({"aes128gcm16-esn"}, ProtocolId::kEsp), offer);
    ASSERT_TRUE(p);
    EXPECT_TRUE(has(*p, TransformType::kEsn, esn_id::kYes));
    EXPECT_EQ(p->spi, (std::vector<uint8_t>{0xc0, 0, 0, 1})) << "the peer's SPI comes along";
    p = choose(ours({"aes128gcm16"}, ProtocolId::kEsp), offer);
    ASSERT_TRUE(p);
    EXPECT_TRUE(has(*p, TransformType::kEsn, esn_id::kNo));
    EXPECT_FALSE(choose(ours({"aes128gcm16-ecp256"}, ProtocolId::kEsp), offer)) << "we want PFS, the peer offers none";

    offer.proposals[0].transforms[0].other_attributes = {0x80, 0x63, 0, 1};  // an attribute we do not know
    EXPECT_FALSE(choose(ours({"aes128gcm16"}, ProtocolId::kEsp), offer)) << "§3.3.6";
}
