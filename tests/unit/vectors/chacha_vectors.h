// Known-answer test vectors for ChaCha20-Poly1305.
//
// Sources:
//  - RFC 7634, "ChaCha20, Poly1305, and Their Use in the Internet Key
//    Exchange Protocol (IKE) and IPsec", August 2015, Appendix A ("ESP
//    Example"): tunnel-mode ESP packet. The RFC's 36-byte KEYMAT is split
//    into the 32-byte key and the 4-byte salt; nonce = salt || iv; aad is
//    SPI || 32-bit sequence number (no ESN); plaintext includes padding, pad
//    length and next header.
//  - RFC 8439, "ChaCha20 and Poly1305 for IETF Protocols", June 2018,
//    section 2.8.2 ("Example and Test Vector for AEAD_CHACHA20_POLY1305"):
//    plain AEAD (is_esp = false, spi = seq = 0). Its 12-byte nonce is the
//    "32-bit fixed-common part" (salt) followed by the 8-byte IV.
//
// Hex strings: lowercase, no separators; long values are split into adjacent
// string literals.
// Every vector is checked by tests/unit/vectors/verify_vectors.py.
#pragma once

#include <cstdint>

struct ChachaVector {
    const char* name;
    const char* key;         // 32 bytes
    const char* salt;        // 4-byte fixed part of nonce; for RFC 8439 the first 4 bytes of its 12-byte nonce
    const char* iv;          // remaining 8 bytes
    uint32_t spi;
    uint64_t seq;
    bool esn;
    bool is_esp;
    const char* plaintext;
    const char* aad;
    const char* ciphertext;
    const char* tag;         // 16 bytes
};

inline constexpr ChachaVector kChachaVectors[] = {
    // RFC 7634 Appendix A: inner packet 84 bytes, pad length 2, next header 4 (IP-in-IP, tunnel mode)
    {
        /* name */ "RFC 7634 Appendix A ESP example",
        /* key */ "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
        /* salt */ "a0a1a2a3",
        /* iv */ "1011121314151617",
        /* spi */ 0x01020304u,
        /* seq */ 0x0000000000000005ull,
        /* esn */ false,
        /* is_esp */ true,
        /* plaintext */ "45000054a6f200004001e778c6336405c000020508005b7a3a080000553bec10"
                        "0007362708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20212223"
                        "2425262728292a2b2c2d2e2f303132333435363701020204",
        /* aad */ "0102030400000005",
        /* ciphertext */ "24039428b97f417e3c13753a4f05087b67c352e6a7fab1b982d466ef407ae5c6"
                         "14ee8099d52844eb61aa95dfab4c02f72aa71e7c4c4f64c9befe2facc638e8f3"
                         "cbec163fac469b502773f6fb94e664da9165b82829f641e0",
        /* tag */ "76aaa8266b7fb0f7b11b369907e1ad43",
    },
    // RFC 8439 section 2.8.2: plaintext is the ASCII "Ladies and Gentlemen of the class of '99: ..." (114 bytes)
    {
        /* name */ "RFC 8439 section 2.8.2 AEAD example",
        /* key */ "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
        /* salt */ "07000000",
        /* iv */ "4041424344454647",
        /* spi */ 0x00000000u,
        /* seq */ 0x0000000000000000ull,
        /* esn */ false,
        /* is_esp */ false,
        /* plaintext */ "4c616469657320616e642047656e746c656d656e206f662074686520636c6173"
                        "73206f66202739393a204966204920636f756c64206f6666657220796f75206f"
                        "6e6c79206f6e652074697020666f7220746865206675747572652c2073756e73"
                        "637265656e20776f756c642062652069742e",
        /* aad */ "50515253c0c1c2c3c4c5c6c7",
        /* ciphertext */ "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
                         "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
                         "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
                         "3ff4def08e4b7a9de576d26586cec64b6116",
        /* tag */ "1ae10b594f09e26a7e902ecbd0600691",
    },
};
