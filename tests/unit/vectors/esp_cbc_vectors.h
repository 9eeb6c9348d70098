// Known-answer test vectors for AES-CBC and its use in IPsec ESP.
//
// Source: S. Frankel, R. Glenn, S. Kelly, "The AES-CBC Cipher Algorithm and
// Its Use with IPsec", RFC 3602, September 2003, section 4 ("Test Vectors").
//
// Cases 1-4 are plain AES-CBC encryptions (no padding; ASCII plaintexts are
// given here as hex, without a trailing NUL). Cases 5-8 are ESP packets:
// plaintext is the RFC's "pre-encryption data with padding, pad length and
// next header", ciphertext is the "encrypted data", iv is the 16-byte IV
// carried after the ESP header, esp_header_hex is SPI || Sequence Number as
// given ("SPI/Seq #"). All RFC 3602 cases use 128-bit keys. ESP cases carry
// no ICV (the RFC's examples are encryption-only).
//
// Hex strings: lowercase, no separators; long values are split into adjacent
// string literals.
// Every vector is checked by tests/unit/vectors/verify_vectors.py.
#pragma once

#include <cstdint>

struct CbcVector {
    const char* name;
    const char* key;
    const char* iv;
    const char* plaintext;
    const char* ciphertext;
    bool is_esp;
    uint32_t spi;
    uint32_t seq;
    const char* esp_header_hex;  // for ESP cases: the 8-byte ESP header as given, else ""
};

inline constexpr CbcVector kCbcVectors[] = {
    // RFC 3602 case #1: encrypting 16 bytes (1 block) with AES-128-CBC; plaintext is the ASCII string "Single block msg"
    {
        /* name */ "RFC 3602 case 1",
        /* key */ "06a9214036b8a15b512e03d534120006",
        /* iv */ "3dafba429d9eb430b422da802c9fac41",
        /* plaintext */ "53696e676c6520626c6f636b206d7367",
        /* ciphertext */ "e353779c1079aeb82708942dbe77181a",
        /* is_esp */ false,
        /* spi */ 0x00000000u,
        /* seq */ 0u,
        /* esp_header_hex */ "",
    },
    // RFC 3602 case #2: encrypting 32 bytes (2 blocks) with AES-128-CBC
    {
        /* name */ "RFC 3602 case 2",
        /* key */ "c286696d887c9aa0611bbb3e2025a45a",
        /* iv */ "562e17996d093d28ddb3ba695a2e6f58",
        /* plaintext */ "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
        /* ciphertext */ "d296cd94c2cccf8a3a863028b5e1dc0a7586602d253cfff91b8266bea6d61ab1",
        /* is_esp */ false,
        /* spi */ 0x00000000u,
        /* seq */ 0u,
        /* esp_header_hex */ "",
    },
    // RFC 3602 case #3: encrypting 48 bytes (3 blocks) with AES-128-CBC; plaintext is the ASCII string "This is a 48-byte message (exactly 3 AES blocks)"
    {
        /* name */ "RFC 3602 case 3",
        /* key */ "6c3ea0477630ce21a2ce334aa746c2cd",
        /* iv */ "c782dc4c098c66cbd9cd27d825682c81",
        /* plaintext */ "5468697320697320612034382d62797465206d65737361676520286578616374"
                        "6c7920332041455320626c6f636b7329",
        /* ciphertext */ "d0a02b3836451753d493665d33f0e8862dea54cdb293abc7506939276772f8d5"
                         "021c19216bad525c8579695d83ba2684",
        /* is_esp */ false,
        /* spi */ 0x00000000u,
        /* seq */ 0u,
        /* esp_header_hex */ "",
    },
    // RFC 3602 case #4: encrypting 64 bytes (4 blocks) with AES-128-CBC
    {
        /* name */ "RFC 3602 case 4",
        /* key */ "56e47a38c5598974bc46903dba290349",
        /* iv */ "8ce82eefbea0da3c44699ed7db51b7d9",
        /* plaintext */ "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
                        "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf",
        /* ciphertext */ "c30e32ffedc0774e6aff6af0869f71aa0f3af07a9a31a9c684db207eb0ef8e4e"
                         "35907aa632c3ffdf868bb7b29d3d46ad83ce9f9a102ee99d49a53e87f4c3da55",
        /* is_esp */ false,
        /* spi */ 0x00000000u,
        /* seq */ 0u,
        /* esp_header_hex */ "",
    },
    // RFC 3602 case #5: sample transport-mode ESP packet, AES-128-CBC; payload 64 bytes, pad length 14, next header 1
    {
        /* name */ "RFC 3602 case 5",
        /* key */ "90d382b410eeba7ad938c46cec1a82bf",
        /* iv */ "e96e8c08ab465763fd098d45dd3ff893",
        /* plaintext */ "08000ebda70a00008e9c083db95b070008090a0b0c0d0e0f1011121314151617"
                        "18191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637"
                        "0102030405060708090a0b0c0d0e0e01",
        /* ciphertext */ "f663c25d325c18c6a9453e194e120849a4870b66cc6b9965330013b4898dc856"
                         "a4699e523a55db080b59ec3a8e4b7e52775b07d1db34ed9c538ab50c551b874a"
                         "a269add047ad2d5913ac19b7cfbad4a6",
        /* is_esp */ true,
        /* spi */ 0x00004321u,
        /* seq */ 1u,
        /* esp_header_hex */ "0000432100000001",
    },
    // RFC 3602 case #6: sample transport-mode ESP packet, AES-128-CBC; payload 28 bytes, pad length 2, next header 1
    {
        /* name */ "RFC 3602 case 6",
        /* key */ "90d382b410eeba7ad938c46cec1a82bf",
        /* iv */ "69d08df7d203329db093fc4924e5bd80",
        /* plaintext */ "0800b5e8a80a0500a69c083d0b660e0077777777777777777777777701020201",
        /* ciphertext */ "f51995881ec4e0c4488987ce742e8109689bb379d2d750c0d915dca346a89f75",
        /* is_esp */ true,
        /* spi */ 0x00004321u,
        /* seq */ 8u,
        /* esp_header_hex */ "0000432100000008",
    },
    // RFC 3602 case #7: sample tunnel-mode ESP packet, AES-128-CBC; payload 84 bytes, pad length 10, next header 4
    {
        /* name */ "RFC 3602 case 7",
        /* key */ "0123456789abcdef0123456789abcdef",
        /* iv */ "f4e765244f6407adf13dc1380f673f37",
        /* plaintext */ "45000054090400004001f988c0a87b03c0a87bc808009f76a90a0100b49c083d"
                        "02a2040008090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20212223"
                        "2425262728292a2b2c2d2e2f30313233343536370102030405060708090a0a04",
        /* ciphertext */ "773b5241a4c449225e4f3ce5ed611b0c237ca96cf74a93013c1b0ea1a0cf70f8"
                         "e4ecaec78ac53aad7a0f022b859243c647752e94a859352b8a4d4d2decd136e5"
                         "c177f132ad3fbfb2201ac9904c74ee0a109e0ca1e4dfe9d5a100b842f1c22f0d",
        /* is_esp */ true,
        /* spi */ 0x00008765u,
        /* seq */ 2u,
        /* esp_header_hex */ "0000876500000002",
    },
    // RFC 3602 case #8: sample tunnel-mode ESP packet, AES-128-CBC; payload 68 bytes, pad length 10, next header 4
    {
        /* name */ "RFC 3602 case 8",
        /* key */ "0123456789abcdef0123456789abcdef",
        /* iv */ "85d47224b5f3dd5d2101d4ea8dffab22",
        /* plaintext */ "45000044090c00004001f990c0a87b03c0a87bc80800d63caa0a0200c69c083d"
                        "a3de0300ffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
                        "ffffffff0102030405060708090a0a04",
        /* ciphertext */ "15b92683819596a8047232cc00f7048fe45318e11f8a0f62ede3c3fc61203bb5"
                         "0f980a08c9843fd3a1b06d5c07ff9639b7eb7dfb3512e5de435e7207ed971ef3"
                         "d2726d9b5ef6affc6d17a0decbb13892",
        /* is_esp */ true,
        /* spi */ 0x00008765u,
        /* seq */ 5u,
        /* esp_header_hex */ "0000876500000005",
    },
};
