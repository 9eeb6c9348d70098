// ESP known answers from published vectors: whole ESP packets through the real decap path
// (draft-mcgrew-gcm-test-01, RFC 7634 App. A), the seal side through the burst crypto
// (same vectors, RFC 3602 §4, RFC 8439 §2.8.2), and our HMAC key preparation (RFC 2202,
// RFC 4231, RFC 4868) driven through IPsec-MB.
#include <gtest/gtest.h>
#include <rte_mbuf.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "espgw/crypto/esp_crypto.h"
#include "espgw/esp/esp_decap.h"
#include "espgw/esp/esp_encap.h"
#include "vectors/chacha_vectors.h"
#include "vectors/esp_cbc_vectors.h"
#include "vectors/esp_gcm_vectors.h"
#include "vectors/hmac_vectors.h"

using namespace espgw;
using Bytes = std::vector<uint8_t>;

namespace {

Bytes hex(const char* s) {
    Bytes out;
    for (size_t k = 0; s[k] && s[k + 1]; k += 2) out.push_back(static_cast<uint8_t>(std::stoi(std::string(s + k, 2), nullptr, 16)));
    return out;
}

Bytes cat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

Bytes be32(uint32_t v) { return {uint8_t(v >> 24), uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)}; }

// Inner payload and next header from a plaintext that ends with the ESP trailer.
void split_trailer(const Bytes& pt, Bytes& inner, uint8_t& nh) {
    const uint8_t pad = pt[pt.size() - 2];
    nh = pt.back();
    inner.assign(pt.begin(), pt.end() - 2 - pad);
}

class EspVectors : public testing::Test {
protected:
    static void SetUpTestSuite() {
        pool_ = rte_pktmbuf_pool_create("kat_pool", 255, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
        mgr_ = crypto::make_mb_mgr();
        ASSERT_NE(pool_, nullptr);
        ASSERT_NE(mgr_, nullptr);
    }

    std::unique_ptr<sa::Sa> make_sa(crypto::Cipher c, crypto::Integrity i, const Bytes& key, const Bytes& auth,
                                    uint32_t spi, bool esn) {
        sa::SaParams p;
        p.spi = spi;
        p.esn = esn;
        p.replay_window = 64;
        auto s = sa::Sa::make(p);
        std::string err;
        EXPECT_TRUE(crypto::expand_sa_keys(mgr_, c, i, key, auth, s->keys, err)) << err;
        return s;
    }

    rte_mbuf* mbuf_of(const Bytes& data) {
        rte_mbuf* m = rte_pktmbuf_alloc(pool_);
        EXPECT_NE(m, nullptr);
        auto* dst = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(data.size())));
        std::memcpy(dst, data.data(), data.size());
        return m;
    }

    // Runs a whole ESP packet through prepare / open_burst / finish.
    bool decap(sa::Sa& s, const Bytes& packet, uint64_t seq, Bytes& payload, uint8_t& next_header) {
        if (seq > 1) s.replay.accept(seq - 1);  // place the window so the ESN high bits infer
        esp::InboundEsp p{};
        p.m = mbuf_of(packet);
        p.sa = &s;
        bool ok = esp::esp_in_prepare(p);
        EXPECT_EQ(p.seq, seq);
        if (ok) {
            crypto::CryptoOp* op = &p.op;
            crypto::open_burst(mgr_, &op, 1);
            ok = esp::esp_in_finish(p);
        }
        if (ok) {
            payload.assign(rte_pktmbuf_mtod(p.m, uint8_t*), rte_pktmbuf_mtod(p.m, uint8_t*) + rte_pktmbuf_data_len(p.m));
            next_header = p.next_header;
        }
        rte_pktmbuf_free(p.m);
        return ok;
    }

    // Seals plaintext (payload + trailer) in place with a given IV; returns ciphertext || ICV.
    Bytes seal(const crypto::SaKeys& keys, const Bytes& esp_header, const Bytes& iv, const Bytes& plaintext,
               const Bytes& aad) {
        Bytes buf = cat({esp_header, iv, plaintext, Bytes(32, 0)});
        crypto::CryptoOp op{};
        op.keys = &keys;
        op.auth_start = buf.data();
        op.iv = buf.data() + 8;
        op.payload = buf.data() + 8 + iv.size();
        op.payload_len = static_cast<uint32_t>(plaintext.size());
        op.auth_len = static_cast<uint32_t>(8 + iv.size() + plaintext.size());
        op.icv = op.payload + plaintext.size();
        op.aad_len = static_cast<uint8_t>(aad.size());
        op.aad = aad.data();
        crypto::CryptoOp* ops[] = {&op};
        crypto::seal_burst(mgr_, ops, 1);
        EXPECT_TRUE(op.ok);
        return Bytes(op.payload, op.payload + plaintext.size() + keys.info.icv_len);
    }

    // The packet SPI || seq || IV || ciphertext || tag must decap to the vector's plaintext.
    void expect_decap(sa::Sa& s, uint32_t spi, uint64_t seq, const char* iv, const char* ct, const char* tag,
                      const char* plaintext) {
        const Bytes packet = cat({be32(spi), be32(static_cast<uint32_t>(seq)), hex(iv), hex(ct), hex(tag)});
        Bytes want, got;
        uint8_t want_nh, got_nh = 0;
        split_trailer(hex(plaintext), want, want_nh);
        ASSERT_TRUE(decap(s, packet, seq, got, got_nh));
        EXPECT_EQ(got, want);
        EXPECT_EQ(got_nh, want_nh);
    }

    static inline rte_mempool* pool_ = nullptr;
    static inline IMB_MGR* mgr_ = nullptr;
};


}  // namespace

TEST_F(EspVectors, GcmDraftMcgrewDecap) {
    for (const EspGcmVector& v : kEspGcmVectors) {
        SCOPED_TRACE(v.name);
        const Bytes key = cat({hex(v.key), hex(v.salt)});
        const auto cipher = key.size() == 20 ? crypto::Cipher::aes128_gcm : crypto::Cipher::aes256_gcm;
        auto s = make_sa(cipher, crypto::Integrity::none, key, {}, v.spi, v.esn);
        expect_decap(*s, v.spi, v.seq, v.iv, v.ciphertext, v.tag, v.plaintext);

        // One flipped bit anywhere in the authenticated part must fail the ICV check.
        auto s2 = make_sa(cipher, crypto::Integrity::none, key, {}, v.spi, v.esn);
        Bytes bad = cat({be32(v.spi), be32(static_cast<uint32_t>(v.seq)), hex(v.iv), hex(v.ciphertext), hex(v.tag)});
        Bytes got;
        uint8_t got_nh = 0;
        bad[bad.size() / 2] ^= 0x20;
        EXPECT_FALSE(decap(*s2, bad, v.seq, got, got_nh));
    }
}

TEST_F(EspVectors, GcmDraftMcgrewSeal) {
    for (const EspGcmVector& v : kEspGcmVectors) {
        SCOPED_TRACE(v.name);
        const Bytes key = cat({hex(v.key), hex(v.salt)});
        const auto cipher = key.size() == 20 ? crypto::Cipher::aes128_gcm : crypto::Cipher::aes256_gcm;
        auto s = make_sa(cipher, crypto::Integrity::none, key, {}, v.spi, v.esn);
        const Bytes out = seal(s->keys, cat({be32(v.spi), be32(static_cast<uint32_t>(v.seq))}), hex(v.iv),
                               hex(v.plaintext), hex(v.aad));
        EXPECT_EQ(out, cat({hex(v.ciphertext), hex(v.tag)}));
    }
}

TEST_F(EspVectors, ChaChaRfc7634AndRfc8439) {
    for (const ChachaVector& v : kChachaVectors) {
        SCOPED_TRACE(v.name);
        const Bytes key = cat({hex(v.key), hex(v.salt)});
        auto s = make_sa(crypto::Cipher::chacha20_poly1305, crypto::Integrity::none, key, {}, v.spi, v.esn);
        const Bytes aad = hex(v.aad);
        const Bytes header = v.is_esp ? Bytes(aad.begin(), aad.begin() + 8) : Bytes(8, 0);
        Bytes sealed = seal(s->keys, header, hex(v.iv), hex(v.plaintext), aad);
        EXPECT_EQ(sealed, cat({hex(v.ciphertext), hex(v.tag)}));
        if (v.is_esp) expect_decap(*s, v.spi, v.seq, v.iv, v.ciphertext, v.tag, v.plaintext);
    }
}

TEST_F(EspVectors, CbcRfc3602) {
    for (const CbcVector& v : kCbcVectors) {
        SCOPED_TRACE(v.name);
        const Bytes key = hex(v.key);
        const auto cipher = key.size() == 16 ? crypto::Cipher::aes128_cbc : crypto::Cipher::aes256_cbc;
        auto s = make_sa(cipher, crypto::Integrity::hmac_sha256_128, key, Bytes(32, 0x0b), v.spi, false);
        const Bytes header = v.is_esp ? hex(v.esp_header_hex) : Bytes(8, 0);
        Bytes out = seal(s->keys, header, hex(v.iv), hex(v.plaintext), {});
        out.resize(out.size() - s->keys.info.icv_len);
        EXPECT_EQ(out, hex(v.ciphertext));
    }
}

TEST_F(EspVectors, HmacKeyPreparation) {
    int checked = 0;
    for (const HmacVector& v : kHmacVectors) {
        SCOPED_TRACE(v.name);
        const Bytes key = hex(v.key), data = hex(v.data), mac = hex(v.mac);
        crypto::Integrity integ;
        IMB_HASH_ALG alg;
        uint64_t full;
        switch (v.sha_bits) {
        case 1: integ = crypto::Integrity::hmac_sha1_96; alg = IMB_AUTH_HMAC_SHA_1; full = 20; break;
        case 256: integ = crypto::Integrity::hmac_sha256_128; alg = IMB_AUTH_HMAC_SHA_256; full = 32; break;
        case 384: integ = crypto::Integrity::hmac_sha384_192; alg = IMB_AUTH_HMAC_SHA_384; full = 48; break;
        default: integ = crypto::Integrity::hmac_sha512_256; alg = IMB_AUTH_HMAC_SHA_512; full = 64; break;
        }
        auto keys = std::make_unique<crypto::SaKeys>();
        if (!crypto::hmac_precompute(mgr_, integ, key, *keys)) {
            EXPECT_GT(key.size(), v.sha_bits >= 384 ? 128u : 64u);  // only over-long keys are refused
            continue;
        }
        uint8_t tag[64];
        IMB_JOB* job = IMB_GET_NEXT_JOB(mgr_);
        job->cipher_mode = IMB_CIPHER_NULL;
        job->cipher_direction = IMB_DIR_ENCRYPT;
        job->chain_order = IMB_ORDER_HASH_CIPHER;
        job->hash_alg = alg;
        job->src = data.data();
        job->hash_start_src_offset_in_bytes = 0;
        job->msg_len_to_hash_in_bytes = data.size();
        job->auth_tag_output = tag;
        job->auth_tag_output_len_in_bytes = full;
        job->u.HMAC._hashed_auth_key_xor_ipad = keys->hmac_ipad;
        job->u.HMAC._hashed_auth_key_xor_opad = keys->hmac_opad;
        IMB_SUBMIT_JOB(mgr_);
        job = IMB_FLUSH_JOB(mgr_);
        ASSERT_NE(job, nullptr);
        ASSERT_EQ(job->status, IMB_STATUS_COMPLETED);
        EXPECT_EQ(Bytes(tag, tag + mac.size()), mac);
        ++checked;
    }
    EXPECT_GT(checked, 50);
}

// RFC 4303 §2.4: the receiver checks that padding is 1, 2, 3, ... Authentic packets with every
// pad length from 0 to 40 are accepted; one wrong pad byte (first, middle or last) makes an
// otherwise authentic packet a bad_padding drop, for the short (one-word) and the long check.
TEST_F(EspVectors, PaddingIsChecked) {
    const Bytes key = hex("feffe9928665731c6d6a8f9467308308");
    uint32_t seq = 0;
    for (uint32_t inner_len : {1u, 5u, 20u}) {
        for (unsigned pad_len = 0; pad_len <= 40; ++pad_len) {
            if ((inner_len + pad_len + 2) % 4) continue;  // the trailer ends on a 4-byte boundary
            for (int wrong = -1; wrong < 3; ++wrong) {
                if (wrong >= 0 && pad_len == 0) continue;
                auto s = make_sa(crypto::Cipher::aes128_gcm, crypto::Integrity::none, cat({key, hex("cafebabe")}), {},
                                 0x100, false);
                Bytes pt(inner_len, 0x45);
                for (unsigned k = 1; k <= pad_len; ++k) pt.push_back(static_cast<uint8_t>(k));
                if (wrong >= 0) pt[inner_len + (wrong == 0 ? 0 : wrong == 1 ? pad_len / 2 : pad_len - 1)] ^= 0x40;
                pt.push_back(static_cast<uint8_t>(pad_len));
                pt.push_back(4);
                ++seq;
                const Bytes hdr = cat({be32(0x100), be32(seq)});
                const Bytes iv = hex("0001020304050607");
                const Bytes packet = cat({hdr, iv, seal(s->keys, hdr, iv, pt, hdr)});
                Bytes got;
                uint8_t nh = 0;
                EXPECT_EQ(decap(*s, packet, seq, got, nh), wrong < 0)
                    << "inner " << inner_len << " pad " << pad_len << " wrong " << wrong;
                if (wrong < 0) {
                    EXPECT_EQ(got, Bytes(inner_len, 0x45));
                }
            }
        }
    }
}

// Our own encapsulation pads correctly for every remainder: payloads of 1..40 bytes sealed by
// esp_out_prepare (AES-CBC: pad 0..15; AES-GCM: pad 0..3) open again under the strict trailer
// check of the decap path, with the payload and next header intact.
TEST_F(EspVectors, EncapPaddingRoundTrips) {
    struct Suite {
        crypto::Cipher cipher;
        crypto::Integrity integrity;
        Bytes key, auth;
    };
    const Suite suites[] = {
        {crypto::Cipher::aes128_cbc, crypto::Integrity::hmac_sha256_128, hex("000102030405060708090a0b0c0d0e0f"),
         Bytes(32, 0x5a)},
        {crypto::Cipher::aes128_gcm, crypto::Integrity::none, hex("000102030405060708090a0b0c0d0e0fcafebabe"), {}},
    };
    for (const Suite& su : suites) {
        for (uint32_t len = 1; len <= 40; ++len) {
            auto out = make_sa(su.cipher, su.integrity, su.key, su.auth, 0x300, false);
            auto in = make_sa(su.cipher, su.integrity, su.key, su.auth, 0x300, false);
            out->params.encap = sa::Encap::none;
            out->move_peer({0xc0000202, 0, true});
            Bytes payload(len);
            for (uint32_t k = 0; k < len; ++k) payload[k] = static_cast<uint8_t>(k * 3 + 1);
            esp::OutboundEsp o{mbuf_of(payload), out.get(), esp::reserve_seq(*out, 1), {}, {}};
            ASSERT_TRUE(esp::esp_out_prepare(mgr_, o, 17, esp::OuterFields{}));
            crypto::CryptoOp* op = &o.op;
            crypto::seal_burst(mgr_, &op, 1);
            ASSERT_TRUE(op->ok);
            const auto* d = rte_pktmbuf_mtod(o.m, const uint8_t*);
            const Bytes packet(d + 20, d + rte_pktmbuf_data_len(o.m));  // after the outer IPv4 header
            rte_pktmbuf_free(o.m);
            Bytes got;
            uint8_t nh = 0;
            ASSERT_TRUE(decap(*in, packet, 1, got, nh)) << crypto::name_of(su.cipher) << " payload " << len;
            EXPECT_EQ(got, payload);
            EXPECT_EQ(nh, 17);
        }
    }
}
