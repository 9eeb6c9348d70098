// Known-answer test vectors for AES-GCM / AES-GMAC in IPsec ESP.
//
// Source: D. McGrew, "Test Cases for the use of Galois/Counter Mode (GCM) and
// Galois Message Authentication Code (GMAC) in IPsec ESP",
// draft-mcgrew-gcm-test-01, March 2009, section 4 ("Test Cases").
//
// The draft's test cases are unnumbered; "case N" is the N-th test case in
// document order (this is also the numbering used by e.g. OpenDataPlane and
// intel-ipsec-mb). Case 7 uses a 192-bit key and is omitted. Case 15 is the
// only AES-GMAC-ESP case; it is kept out of kEspGcmVectors (whose entries are all
// AES-GCM-ESP with a non-empty plaintext) and given separately in
// kEspGmacVectors, with the same struct.
//
// Field mapping from the draft: nonce = salt || iv (salt = first 4 bytes,
// iv = the 8-byte explicit IV carried in the packet); "ctext+tag" is split
// into ciphertext and the 16-byte tag. key is the AES key only (no salt).
// seq is the full sequence number as given; esn is true when the draft gives
// an 8-octet (extended) sequence number, in which case aad is
// SPI || seq_hi || seq_lo (12 bytes) and the ESP header on the wire carries
// only seq_lo. Otherwise aad is SPI || seq (8 bytes).
// The plaintext is exactly as given (RestOfPayloadData || Padding ||
// PadLength || NextHeader). The per-vector comments give the trailer as
// parsed from the plaintext; several inner packets in the draft are not
// complete IP datagrams (noted where the IPv4 total-length field disagrees).
//
// Hex strings: lowercase, no separators; long values are split into adjacent
// string literals.
// Every vector is checked by tests/unit/vectors/verify_vectors.py.
#pragma once

#include <cstdint>

struct EspGcmVector {
    const char* name;        // "draft-mcgrew-gcm-test-01 case N"
    const char* key;         // AES key only (16 or 32 bytes)
    const char* salt;        // 4 bytes
    const char* iv;          // 8-byte explicit IV
    uint32_t spi;
    uint64_t seq;            // full sequence number (64-bit if the case uses ESN)
    bool esn;                // true if the AAD is SPI||seq_hi||seq_lo (12 bytes)
    const char* plaintext;   // exactly as given: inner packet + padding + pad length + next header
    const char* aad;         // as given
    const char* ciphertext;  // ciphertext without the tag
    const char* tag;         // 16 bytes
};

// AES-GCM-ESP (RFC 4106) cases with 128- or 256-bit keys.
inline constexpr EspGcmVector kEspGcmVectors[] = {
    // draft-mcgrew-gcm-test-01 case 1: AES-128-GCM, 64-bit ESN
    //   inner packet 68 bytes (its IPv4 total-length field says 72), pad length 2, next header 1 (0x01)
    {
        /* name */ "draft-mcgrew-gcm-test-01 case 1",
        /* key */ "4c80cdefbb5d10da906ac73c3613a634",
        /* salt */ "2e443b68",
        /* iv */ "4956ed7e3b244cfe",
        /* spi */ 0x00004321u,
        /* seq */ 0x8765432100000000ull,
        /* esn */ true,
        /* plaintext */ "45000048699a000080114db7c0a80102c0a801010a9bf15638d3010000010000"
                        "00000000045f736970045f756470037369700963796265726369747902646b00"
                        "0021000101020201",
        /* aad */ "000043218765432100000000",
        /* ciphertext */ "fecf537e729d5b07dc30df528dd22b768d1b98736696a6fd348509fa13ceac34"
                         "cfa2436f14a3f3cf65925bf1f4a13c5d15b21e1884f5ff6247aeabb786b93bce"
                         "61bc17d768fd9732",
        /* tag */ "459018148f6cbe722fd04796562dfdb4",
    },
    // draft-mcgrew-gcm-test-01 case 2: AES-128-GCM, 32-bit sequence number
    //   inner packet 62 bytes, pad length 0, next header 1 (0x01)
    {
        /* name */ "draft-mcgrew-gcm-test-01 case 2",
        /* key */ "feffe9928665731c6d6a8f9467308308",
        /* salt */ "cafebabe",
        /* iv */ "facedbaddecaf888",
        /* spi */ 0x0000a5f8u,
        /* seq */ 0x000000000000000aull,
        /* esn */ false,
        /* plaintext */ "4500003e698f000080114dccc0a80102c0a801010a980035002a2343b2d00100"
                        "0001000000000000037369700963796265726369747902646b00000100010001",
        /* aad */ "0000a5f80000000a",
        /* ciphertext */ "deb22cd9b07c72c16e3a65beeb8df304a5a5897d33ae530f1ba76d5d114d2a5c"
                         "3de81827c10e9a4f51330d0eec416642cfbb85a5b47e48a4ec3b9ba95d918bd1",
        /* tag */ "83b70d3aa8bc6ee4c309e9d85a41ad4a",
    },
    // draft-mcgrew-gcm-test-01 case 3: AES-256-GCM, 32-bit sequence number
    //   inner packet 48 bytes, pad length 2, next header 1 (0x01)
    {
        /* name */ "draft-mcgrew-gcm-test-01 case 3",
        /* key */ "abbccddef00112233445566778899aababbccddef00112233445566778899aab",
        /* salt */ "11223344",
        /* iv */ "0102030405060708",
        /* spi */ 0x4a2cbfe3u,
        /* seq */ 0x0000000000000002ull,
        /* esn */ false,
        /* plaintext */ "4500003069a6400080062690c0a801029389155e0a9e008b2dc57ee000000000"
                        "7002400020bf0000020405b40101040201020201",
        /* aad */ "4a2cbfe300000002",
        /* ciphertext */ "ff425c9b724599df7a3bcd510194e00d6a78107f1b0b1cbf06efae9d65a5d763"
                         "748a637985771d347f0545659f14e99def842d8e",
        /* tag */ "b335f4eecfdbf831824b4c4915956c96",
    },
    // draft-mcgrew-gcm-test-01 case 4: AES-128-GCM, 32-bit sequence number
    //   inner packet 60 bytes, pad length 2, next header 1 (0x01)
    {
        /* name */ "draft-mcgrew-gcm-test-01 case 4",
        /* key */ "00000000000000000000000000000000",
        /* salt */ "00000000",
        /* iv */ "0000000000000000",
        /* spi */ 0x00000000u,
        /* seq */ 0x0000000000000001ull,
        /* esn */ false,
        /* plaintext */ "4500003c99c500008001cb7a40679318010101010800075c0200440061626364"
                        "65666768696a6b6c6d6e6f707172737475767761626364656667686901020201",
        /* aad */ "0000000000000001",
        /* ciphertext */ "4688daf2f973a392732909c331d56d60f694abaa414b5e7ff5fdcdfff5e9a284"
                         "456476492719ffb64de7d9dca1e1d894bc3bd57873ed4d181d19d4d5c8c18af3",
        /* tag */ "f821d496eeb096e98ad2b69e4799c71d",
    },
    // draft-mcgrew-gcm-test-01 case 5: AES-128-GCM, 64-bit ESN
    //   inner packet 60 bytes, pad length 2, next header 1 (0x01)
    {
        /* name */ "draft-mcgrew-gcm-test-01 case 5",
        /* key */ "3de09874b388e6491988d0c3607eae1f",
        /* salt */ "57690e43",
        /* iv */ "4e280000a2fca1a3",
        /* spi */ 0x42f67e3fu,
        /* seq */ 0x1010101010101010ull,
        /* esn */ true,
        /* plaintext */ "4500003c99c300008001cb7c40679318010101010800085c0200430061626364"
                        "65666768696a6b6c6d6e6f707172737475767761626364656667686901020201",
        /* aad */ "42f67e3f1010101010101010",
        /* ciphertext */ "fba2caa4853cf9f0f22cb10d86dd83b0fec75691cf1a04b00d1138ec9c357917"
                         "65acbd8701ad79845bf9fe3fba487bc91755e6662b4c8d0d1f5e22739530320a",
        /* tag */ "e0d731cc978ecafaeae88f00e80d6e48",
    },
    // draft-mcgrew-gcm-test-01 case 6: AES-128-GCM, 64-bit ESN
    //   inner packet 24 bytes (its IPv4 total-length field says 28), pad length 2, next header 1 (0x01)
    {
        /* name */ "draft-mcgrew-gcm-test-01 case 6",
        /* key */ "3de09874b388e6491988d0c3607eae1f",
        /* salt */ "57690e43",
        /* iv */ "4e280000a2fca1a3",
        /* spi */ 0x42f67e3fu,
        /* seq */ 0x1010101010101010ull,
        /* esn */ true,
        /* plaintext */ "4500001c42a200008001441f406793b6e00000020a00f5ff01020201",
        /* aad */ "42f67e3f1010101010101010",
        /* ciphertext */ "fba2ca845e5df9f0f22c3e6e86dd831e1fc65792cd1af9130e1379ed",
        /* tag */ "369f071f35e034be95f112e4e7d05d35",
    },
    // draft-mcgrew-gcm-test-01 case 8: AES-128-GCM, 64-bit ESN
    //   inner packet 73 bytes, pad length 1, next header 1 (0x01)
    {
        /* name */ "draft-mcgrew-gcm-test-01 case 8",
        /* key */ "abbccddef00112233445566778899aab",
        /* salt */ "decaf888",
        /* iv */ "cafedebaceface74",
        /* spi */ 0x00000100u,
        /* seq */ 0x0000000000000001ull,
        /* esn */ true,
        /* plaintext */ "4500004933ba00007f119106c3fb1d10c2b1d326c02831ce0035dd7b800302d5"
                        "00004e20001e8c18d75b81dc91baa0476b91b924b280389d92c963bac046ec95"
                        "9b6266c04722b14923010101",
        /* aad */ "000001000000000000000001",
        /* ciphertext */ "18a6fd42f72cbf4ab2a2ea901f73d814e3e7f243d95412e1c349c1d2fbec168f"
                         "9190feebaf2cb01984e65863965d7472b79da345e0e780191f0d2f0e0f496c22"
                         "6f2127b27db35724e7845d68",
        /* tag */ "651f57e65f354f75ff17015769623436",
    },
    // draft-mcgrew-gcm-test-01 case 9: AES-256-GCM, 64-bit ESN
    //   inner packet 38 bytes (its IPv4 total-length field says 40), pad length 0, next header 1 (0x01)
    {
        /* name */ "draft-mcgrew-gcm-test-01 case 9",
        /* key */ "abbccddef00112233445566778899aababbccddef00112233445566778899aab",
        /* salt */ "73616c74",
        /* iv */ "616e640169766563",
        /* spi */ 0x17405e67u,
        /* seq */ 0x156f3126dd0db99bull,
        /* esn */ true,
        /* plaintext */ "45080028732c00004006e9f90a0106120a01038f06b88023dd6bafbecb712602"
                        "50101f646d540001",
        /* aad */ "17405e67156f3126dd0db99b",
        /* ciphertext */ "f2d69ecdbd5a0d5b8d5ef38bad4da58d1f278fde98ef67549d524a3018d9a57f"
                         "f4d3a31ce673119e",
        /* tag */ "451626c2415771e3b7eebca614c89b35",
    },
    // draft-mcgrew-gcm-test-01 case 10: AES-128-GCM, 64-bit ESN
    //   inner packet 73 bytes, pad length 1, next header 1 (0x01)
    {
        /* name */ "draft-mcgrew-gcm-test-01 case 10",
        /* key */ "3de09874b388e6491988d0c3607eae1f",
        /* salt */ "57690e43",
        /* iv */ "4e280000a2fca1a3",
        /* spi */ 0x42f67e3fu,
        /* seq */ 0x1010101010101010ull,
        /* esn */ true,
        /* plaintext */ "45000049333e00007f119182c3fb1d10c2b1d326c02831ce0035cb458003025b"
                        "000001e0001e8c18d65759d52284a0352c71475c8880391c764d6e5ee0496b32"
                        "5ae270c03899493915010101",
        /* aad */ "42f67e3f1010101010101010",
        /* ciphertext */ "fba2cad12fc1f9f00d3cebf305410db83d7784b607323d220f24b0a97d541828"
                         "00cadb0f68d99ef0e0c0c89ae9bea8884e52d65bc1afd0740f742444747b5b39"
                         "ab533163aad4550ee5160975",
        /* tag */ "cdb608c5769189609763b8e18caa81e2",
    },
    // draft-mcgrew-gcm-test-01 case 11: AES-256-GCM, 64-bit ESN
    //   inner packet 68 bytes, pad length 2, next header 1 (0x01)
    {
        /* name */ "draft-mcgrew-gcm-test-01 case 11",
        /* key */ "abbccddef00112233445566778899aababbccddef00112233445566778899aab",
        /* salt */ "73616c74",
        /* iv */ "616e640169766563",
        /* spi */ 0x17405e67u,
        /* seq */ 0x156f3126dd0db99bull,
        /* esn */ true,
        /* plaintext */ "636973636f0172756c657301746865016e6574776501646566696e6501746865"
                        "746563686e6f6c6f67696573017468617477696c6c01646566696e65746f6d6f"
                        "72726f7701020201",
        /* aad */ "17405e67156f3126dd0db99b",
        /* ciphertext */ "d4b7ed86a1777f2ea13d6973d324c69e7b43f826fb56831226508bebd2dceb18"
                         "d0a6df10e5487df074113e14c641024e3e6773d91a62ee429b043a10e3efe6b0"
                         "12a49363412364f8",
        /* tag */ "c0cac587f249e56b11e24f30e44ccc76",
    },
    // draft-mcgrew-gcm-test-01 case 12: AES-128-GCM, 32-bit sequence number
    //   inner packet 0 bytes, pad length 2, next header 1 (0x01)
    {
        /* name */ "draft-mcgrew-gcm-test-01 case 12",
        /* key */ "7d773d00c144c525ac619d18c84a3f47",
        /* salt */ "d9664267",
        /* iv */ "43457e9182443bc6",
        /* spi */ 0x335467aeu,
        /* seq */ 0x00000000ffffffffull,
        /* esn */ false,
        /* plaintext */ "01020201",
        /* aad */ "335467aeffffffff",
        /* ciphertext */ "437f866b",
        /* tag */ "cb3f699fe9b0822bac961c4504bef270",
    },
    // draft-mcgrew-gcm-test-01 case 13: AES-128-GCM, 64-bit ESN
    //   inner packet 18 bytes, pad length 0, next header 1 (0x01)
    {
        /* name */ "draft-mcgrew-gcm-test-01 case 13",
        /* key */ "abbccddef00112233445566778899aab",
        /* salt */ "decaf888",
        /* iv */ "cafedebaceface74",
        /* spi */ 0x00000100u,
        /* seq */ 0x0000000000000001ull,
        /* esn */ true,
        /* plaintext */ "746f016265016f72016e6f7401746f0162650001",
        /* aad */ "000001000000000000000001",
        /* ciphertext */ "29c9fc69a197d038ccdd14e2ddfcaa0543332164",
        /* tag */ "412503524303ed3c6c5f283843af8c3e",
    },
    // draft-mcgrew-gcm-test-01 case 14: AES-256-GCM, 64-bit ESN
    //   inner packet 48 bytes, pad length 2, next header 1 (0x01)
    {
        /* name */ "draft-mcgrew-gcm-test-01 case 14",
        /* key */ "6c6567616c697a656d6172696a75616e61616e64646f69746265666f72656961",
        /* salt */ "7475726e",
        /* iv */ "333021696765746d",
        /* spi */ 0x796b6963u,
        /* seq */ 0xffffffffffffffffull,
        /* esn */ true,
        /* plaintext */ "45000030da3a00008001df3bc0a80005c0a800010800c6cd0200070061626364"
                        "65666768696a6b6c6d6e6f707172737401020201",
        /* aad */ "796b6963ffffffffffffffff",
        /* ciphertext */ "f97ab2aa356d8edce17644ac8c78e25dd24dedbb29ebf1b64a274b39b49c3a86"
                         "4cd3d78ca4ae68a32b42458fb57dbe821dcc63b9",
        /* tag */ "d0937ba2945f669368661a329fb4c053",
    },
    // draft-mcgrew-gcm-test-01 case 16: AES-128-GCM, 64-bit ESN
    //   inner packet 48 bytes, pad length 2, next header 1 (0x01)
    {
        /* name */ "draft-mcgrew-gcm-test-01 case 16",
        /* key */ "3de09874b388e6491988d0c3607eae1f",
        /* salt */ "57690e43",
        /* iv */ "4e280000a2fca1a3",
        /* spi */ 0x3f7ef642u,
        /* seq */ 0x1010101010101010ull,
        /* esn */ true,
        /* plaintext */ "45000030da3a00008001df3bc0a80005c0a800010800c6cd0200070061626364"
                        "65666768696a6b6c6d6e6f707172737401020201",
        /* aad */ "3f7ef6421010101010101010",
        /* ciphertext */ "fba2caa8c6c5f9f0f22ca54a061210ad3f6e5791cf1aca210d117cec9c357917"
                         "65acbd8701ad79845bf9fe3fba487bc963219306",
        /* tag */ "84eecadb56912546e7a95c9740d7cb05",
    },
    // draft-mcgrew-gcm-test-01 case 17: AES-128-GCM, 64-bit ESN
    //   inner packet 28 bytes, pad length 2, next header 1 (0x01)
    {
        /* name */ "draft-mcgrew-gcm-test-01 case 17",
        /* key */ "4c80cdefbb5d10da906ac73c3613a634",
        /* salt */ "22433c64",
        /* iv */ "4855ec7d3a234bfd",
        /* spi */ 0x00004321u,
        /* seq */ 0x8765432100000007ull,
        /* esn */ true,
        /* plaintext */ "0800c6cd020007006162636465666768696a6b6c6d6e6f707172737401020201",
        /* aad */ "000043218765432100000007",
        /* ciphertext */ "74752e8aeb5d873cd7c0f4acc36c4bff84b7d7b98f0ca8b6acda6894bc619069",
        /* tag */ "ef9cbc28fe1b56a7c4e0d58c86cd2bc0",
    },
};

// AES-GMAC-ESP (RFC 4543) case from the same draft: empty plaintext and
// ciphertext, the whole ESP payload is authenticated as AAD.
inline constexpr EspGcmVector kEspGmacVectors[] = {
    // draft-mcgrew-gcm-test-01 case 15: AES-128-GMAC (RFC 4543, ENCR_NULL_AUTH_AES_GMAC), 32-bit sequence number
    //   plaintext is empty: SPI||Seq||IV||payload||padding||pad length||next header is all AAD;
    //   payload in the AAD: 48-byte inner packet, pad length 2, next header 1; tag taken from the end of the published packet
    {
        /* name */ "draft-mcgrew-gcm-test-01 case 15",
        /* key */ "4c80cdefbb5d10da906ac73c3613a634",
        /* salt */ "22433c64",
        /* iv */ "0000000000000000",
        /* spi */ 0x00004321u,
        /* seq */ 0x0000000000000007ull,
        /* esn */ false,
        /* plaintext */ "",
        /* aad */ "0000432100000007000000000000000045000030da3a00008001df3bc0a80005"
                  "c0a800010800c6cd020007006162636465666768696a6b6c6d6e6f7071727374"
                  "01020201",
        /* ciphertext */ "",
        /* tag */ "f2a9a836e155106aa8dcd618e4099aaa",
    },
};
