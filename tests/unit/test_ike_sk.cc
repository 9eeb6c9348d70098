// The Encrypted payload and PSK authentication against a real exchange between two strongSwan
// charons (tests/tools/record_strongswan_ike_auth.py: IKE_SA_INIT both ways, the initiator's
// IKE_AUTH, and the secrets the initiator's charon logged): from the logged Diffie-Hellman
// secret our key derivation must give charon's SK_* keys, our SK decryption must open its
// IKE_AUTH, and our PSK AUTH must equal the one charon sent. Then sealing and opening with each
// cipher suite, and every tampering refused.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "espgw/ike/encrypted.h"
#include "espgw/ike/kdf.h"
#include "espgw/ike/message.h"
#include "espgw/ike/payloads.h"
#include "espgw/ike/psk_auth.h"
#include "espgw/ike/transform_ids.h"

using namespace espgw::ike;

namespace {

std::vector<uint8_t> file(const std::string& name) {
    std::ifstream f(ESPGW_SOURCE_DIR "/tests/data/" + name, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), {}};
}

std::map<std::string, std::vector<uint8_t>> logged_secrets() {
    std::map<std::string, std::vector<uint8_t>> out;
    std::ifstream f(ESPGW_SOURCE_DIR "/tests/data/strongswan_auth_secrets.txt");
    std::string line;
    while (std::getline(f, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream in(line);
        std::string name, hex;
        in >> name >> hex;
        std::vector<uint8_t> b;
        for (size_t k = 0; k + 1 < hex.size(); k += 2) b.push_back(static_cast<uint8_t>(std::stoi(hex.substr(k, 2), nullptr, 16)));
        out[name] = b;
    }
    return out;
}

std::vector<uint8_t> bytes(const Secret& s) { return {s.bytes().begin(), s.bytes().end()}; }

std::vector<uint8_t> nonce_of(const std::vector<uint8_t>& msg) {
    const auto m = parse_message(msg);
    EXPECT_TRUE(m.ok());
    const auto n = parse_nonce(m->find(PayloadType::kNonce)->body);
    EXPECT_TRUE(n.ok());
    return n->nonce;
}

const SkSuite kGcm128{encr_id::kAesGcm16, 128, 0};

}  // namespace

TEST(IkeSk, StrongSwansExchangeOpensAndAuthenticates) {
    const auto init_req = file("strongswan_auth_init_request.bin");
    const auto init_resp = file("strongswan_auth_init_response.bin");
    const auto auth_req = file("strongswan_auth_auth_request.bin");
    auto logged = logged_secrets();
    ASSERT_FALSE(init_req.empty() || init_resp.empty() || auth_req.empty() || logged.empty());
    const auto req = parse_message(init_req), resp = parse_message(init_resp);
    ASSERT_TRUE(req.ok() && resp.ok());
    const uint64_t spi_i = req->header.spi_i, spi_r = resp->header.spi_r;
    const auto ni = nonce_of(init_req), nr = nonce_of(init_resp);

    // Our key derivation from charon's Diffie-Hellman secret gives charon's keys.
    const Secret seed = skeyseed(Prf::hmac_sha256, ni, nr, logged["g_ir"]);
    const auto keys = ike_sa_keys(Prf::hmac_sha256, seed.bytes(), ni, nr, spi_i, spi_r, 0, encr_key_size(kGcm128));
    ASSERT_TRUE(keys.has_value());
    EXPECT_EQ(bytes(keys->d), logged["Sk_d"]);
    EXPECT_EQ(bytes(keys->ei), logged["Sk_ei"]);
    EXPECT_EQ(bytes(keys->er), logged["Sk_er"]);
    EXPECT_EQ(bytes(keys->pi), logged["Sk_pi"]);
    EXPECT_EQ(bytes(keys->pr), logged["Sk_pr"]);

    // Its IKE_AUTH opens with SK_ei.
    const Opened o = open_sk(kGcm128, SkKeys{keys->ei, {}}, auth_req);
    ASSERT_TRUE(o.ok) << o.error;
    const RawPayload *idi = nullptr, *auth = nullptr;
    for (const RawPayload& p : o.payloads) {
        if (p.type == PayloadType::kIdi) idi = &p;
        if (p.type == PayloadType::kAuth) auth = &p;
    }
    ASSERT_TRUE(idi && auth);
    const auto id = parse_id(idi->body);
    ASSERT_TRUE(id.ok());
    EXPECT_EQ(std::string(id->data.begin(), id->data.end()), "client@example.net");
    const auto a = parse_auth(auth->body);
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a->method, AuthMethod::kSharedKeyMic);

    // And its AUTH is what we compute from the PSK: the whole RFC 7296 §2.15 chain matches.
    const std::string psk = "recorded-for-tests";
    const Secret ours = psk_auth(Prf::hmac_sha256, std::span(reinterpret_cast<const uint8_t*>(psk.data()), psk.size()),
                                 init_req, nr, keys->pi.bytes(), idi->body);
    EXPECT_EQ(bytes(ours), a->data);
    const std::string wrong = "recorded-for-tesTs";
    EXPECT_NE(bytes(psk_auth(Prf::hmac_sha256, std::span(reinterpret_cast<const uint8_t*>(wrong.data()), wrong.size()),
                             init_req, nr, keys->pi.bytes(), idi->body)),
              a->data);

    // Any flipped bit of the message, and the other direction's key, are refused.
    for (size_t at : {size_t{0}, size_t{20}, size_t{30}, auth_req.size() / 2, auth_req.size() - 1}) {
        auto bad = auth_req;
        bad[at] ^= 0x01;
        EXPECT_FALSE(open_sk(kGcm128, SkKeys{keys->ei, {}}, bad).ok) << "byte " << at;
    }
    EXPECT_FALSE(open_sk(kGcm128, SkKeys{keys->er, {}}, auth_req).ok);
}

TEST(IkeSk, EverySuiteSealsAndOpens) {
    const SkSuite suites[] = {{encr_id::kAesGcm16, 128, 0},
                              {encr_id::kAesGcm16, 256, 0},
                              {encr_id::kChacha20Poly1305, 0, 0},
                              {encr_id::kAesCbc, 128, integ_id::kHmacSha2_256_128},
                              {encr_id::kAesCbc, 256, integ_id::kHmacSha1_96},
                              {encr_id::kAesCbc, 256, integ_id::kHmacSha2_512_256}};
    std::vector<RawPayload> inner(2);
    inner[0].type = PayloadType::kIdr;
    inner[0].body = {2, 0, 0, 0, 'g', 'w', '.', 'e', 'x'};
    inner[1].type = PayloadType::kAuth;
    inner[1].body.assign(36, 0x5a);
    Header h;
    h.spi_i = 0x1122334455667788;
    h.spi_r = 0x99aabbccddeeff00;
    h.exchange = ExchangeType{35};
    h.response = true;
    h.message_id = 1;
    for (const SkSuite& s : suites) {
        ASSERT_TRUE(supported(s));
        SkKeys k{Secret(std::vector<uint8_t>(encr_key_size(s), 0x42)), Secret(std::vector<uint8_t>(integ_key_size(s), 0x17))};
        const std::vector<uint8_t> iv(iv_size(s), 0x07);
        for (size_t pad : {0, 3}) {
            const auto msg = seal_sk(s, k, h, inner, iv, pad);
            ASSERT_FALSE(msg.empty());
            const Opened o = open_sk(s, k, msg);
            ASSERT_TRUE(o.ok) << o.error << " encr " << s.encr;
            EXPECT_EQ(o.payloads, inner);
            EXPECT_EQ(parse_message(msg)->header, h);
            auto bad = msg;
            bad[bad.size() - 20] ^= 0x80;
            EXPECT_FALSE(open_sk(s, k, bad).ok) << "encr " << s.encr;
        }
        SkKeys other{Secret(std::vector<uint8_t>(encr_key_size(s), 0x43)), Secret(std::vector<uint8_t>(integ_key_size(s), 0x17))};
        EXPECT_FALSE(open_sk(s, other, seal_sk(s, k, h, inner, iv)).ok);
    }
}
