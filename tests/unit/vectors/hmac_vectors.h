// Known-answer test vectors for HMAC-SHA-1 and HMAC-SHA-256/384/512.
//
// Sources:
//  - RFC 4231, "Identifiers and Test Vectors for HMAC-SHA-224, HMAC-SHA-256,
//    HMAC-SHA-384, and HMAC-SHA-512", December 2005, section 4 (test cases
//    1-7; SHA-224 omitted). Full-length outputs, except test case 5 whose
//    outputs are published truncated to 128 bits (16 bytes).
//  - RFC 2202, "Test Cases for HMAC-MD5 and HMAC-SHA-1", September 1997,
//    section 3 (HMAC-SHA-1 test cases 1-7; for case 5 both the full digest
//    and the published digest-96 are given).
//  - RFC 4868, "Using HMAC-SHA-256, HMAC-SHA-384, and HMAC-SHA-512 with
//    IPsec", May 2007, section 2.7: 2.7.1 PRF test cases PRF-1..PRF-6 (keys,
//    data and outputs identical to RFC 4231 cases 1,2,3,4,6,7) and 2.7.2
//    authenticator test cases AUTH256/384/512-1..4, each as the full
//    PRF-HMAC-SHA-xxx output and as the truncated HMAC-SHA-256-128 /
//    HMAC-SHA-384-192 / HMAC-SHA-512-256 output.
//    AUTH512-4: key per verified RFC 4868 erratum 1785 (the RFC text shows an
//    extra leading row 0a0b..19, i.e. 80 bytes; the published MAC is for the
//    64-byte key 0102..40). AUTH384-4: key exactly as published
//    (0102..20 || 0a0b..19); erratum 5507 ("held for document update")
//    proposes 2122..30 for the last row, but the published MAC matches the
//    published key.
//
// mac is exactly as published: its length (bytes) is sha_bits/8 for a full
// output, shorter when truncated (names say "truncated").
// Hex strings: lowercase, no separators; long values are split into adjacent
// string literals.
// Every vector is checked by tests/unit/vectors/verify_vectors.py.
#pragma once

#include <cstdint>

struct HmacVector {
    const char* name;
    int sha_bits;  // 1 (SHA-1), 256, 384, 512
    const char* key;
    const char* data;
    const char* mac;  // full or truncated, as published
};

inline constexpr HmacVector kHmacVectors[] = {
    // ---- RFC 4231 section 4 ----
    {
        /* name */ "RFC 4231 test case 1 HMAC-SHA-256",
        /* sha_bits */ 256,
        /* key */ "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
        /* data */ "4869205468657265",
        /* mac */ "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
    },
    {
        /* name */ "RFC 4231 test case 1 HMAC-SHA-384",
        /* sha_bits */ 384,
        /* key */ "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
        /* data */ "4869205468657265",
        /* mac */ "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59c"
                  "faea9ea9076ede7f4af152e8b2fa9cb6",
    },
    {
        /* name */ "RFC 4231 test case 1 HMAC-SHA-512",
        /* sha_bits */ 512,
        /* key */ "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
        /* data */ "4869205468657265",
        /* mac */ "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
                  "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854",
    },
    {
        /* name */ "RFC 4231 test case 2 HMAC-SHA-256",
        /* sha_bits */ 256,
        /* key */ "4a656665",
        /* data */ "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
        /* mac */ "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    },
    {
        /* name */ "RFC 4231 test case 2 HMAC-SHA-384",
        /* sha_bits */ 384,
        /* key */ "4a656665",
        /* data */ "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
        /* mac */ "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e"
                  "8e2240ca5e69e2c78b3239ecfab21649",
    },
    {
        /* name */ "RFC 4231 test case 2 HMAC-SHA-512",
        /* sha_bits */ 512,
        /* key */ "4a656665",
        /* data */ "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
        /* mac */ "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
                  "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
    },
    {
        /* name */ "RFC 4231 test case 3 HMAC-SHA-256",
        /* sha_bits */ 256,
        /* key */ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        /* data */ "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
                   "dddddddddddddddddddddddddddddddddddd",
        /* mac */ "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
    },
    {
        /* name */ "RFC 4231 test case 3 HMAC-SHA-384",
        /* sha_bits */ 384,
        /* key */ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        /* data */ "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
                   "dddddddddddddddddddddddddddddddddddd",
        /* mac */ "88062608d3e6ad8a0aa2ace014c8a86f0aa635d947ac9febe83ef4e55966144b"
                  "2a5ab39dc13814b94e3ab6e101a34f27",
    },
    {
        /* name */ "RFC 4231 test case 3 HMAC-SHA-512",
        /* sha_bits */ 512,
        /* key */ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        /* data */ "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
                   "dddddddddddddddddddddddddddddddddddd",
        /* mac */ "fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39"
                  "bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb",
    },
    {
        /* name */ "RFC 4231 test case 4 HMAC-SHA-256",
        /* sha_bits */ 256,
        /* key */ "0102030405060708090a0b0c0d0e0f10111213141516171819",
        /* data */ "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
                   "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",
        /* mac */ "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
    },
    {
        /* name */ "RFC 4231 test case 4 HMAC-SHA-384",
        /* sha_bits */ 384,
        /* key */ "0102030405060708090a0b0c0d0e0f10111213141516171819",
        /* data */ "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
                   "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",
        /* mac */ "3e8a69b7783c25851933ab6290af6ca77a9981480850009cc5577c6e1f573b4e"
                  "6801dd23c4a7d679ccf8a386c674cffb",
    },
    {
        /* name */ "RFC 4231 test case 4 HMAC-SHA-512",
        /* sha_bits */ 512,
        /* key */ "0102030405060708090a0b0c0d0e0f10111213141516171819",
        /* data */ "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
                   "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",
        /* mac */ "b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3db"
                  "a91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd",
    },
    // RFC 4231 test case 5: output published truncated to 128 bits
    {
        /* name */ "RFC 4231 test case 5 HMAC-SHA-256 (truncated to 128 bits)",
        /* sha_bits */ 256,
        /* key */ "0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c",
        /* data */ "546573742057697468205472756e636174696f6e",
        /* mac */ "a3b6167473100ee06e0c796c2955552b",
    },
    // RFC 4231 test case 5: output published truncated to 128 bits
    {
        /* name */ "RFC 4231 test case 5 HMAC-SHA-384 (truncated to 128 bits)",
        /* sha_bits */ 384,
        /* key */ "0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c",
        /* data */ "546573742057697468205472756e636174696f6e",
        /* mac */ "3abf34c3503b2a23a46efc619baef897",
    },
    // RFC 4231 test case 5: output published truncated to 128 bits
    {
        /* name */ "RFC 4231 test case 5 HMAC-SHA-512 (truncated to 128 bits)",
        /* sha_bits */ 512,
        /* key */ "0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c",
        /* data */ "546573742057697468205472756e636174696f6e",
        /* mac */ "415fad6271580a531d4179bc891d87a6",
    },
    {
        /* name */ "RFC 4231 test case 6 HMAC-SHA-256",
        /* sha_bits */ 256,
        /* key */ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaa",
        /* data */ "54657374205573696e67204c6172676572205468616e20426c6f636b2d53697a"
                   "65204b6579202d2048617368204b6579204669727374",
        /* mac */ "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
    },
    {
        /* name */ "RFC 4231 test case 6 HMAC-SHA-384",
        /* sha_bits */ 384,
        /* key */ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaa",
        /* data */ "54657374205573696e67204c6172676572205468616e20426c6f636b2d53697a"
                   "65204b6579202d2048617368204b6579204669727374",
        /* mac */ "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c6"
                  "0c2ef6ab4030fe8296248df163f44952",
    },
    {
        /* name */ "RFC 4231 test case 6 HMAC-SHA-512",
        /* sha_bits */ 512,
        /* key */ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaa",
        /* data */ "54657374205573696e67204c6172676572205468616e20426c6f636b2d53697a"
                   "65204b6579202d2048617368204b6579204669727374",
        /* mac */ "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352"
                  "6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598",
    },
    {
        /* name */ "RFC 4231 test case 7 HMAC-SHA-256",
        /* sha_bits */ 256,
        /* key */ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaa",
        /* data */ "5468697320697320612074657374207573696e672061206c6172676572207468"
                   "616e20626c6f636b2d73697a65206b657920616e642061206c61726765722074"
                   "68616e20626c6f636b2d73697a6520646174612e20546865206b6579206e6565"
                   "647320746f20626520686173686564206265666f7265206265696e6720757365"
                   "642062792074686520484d414320616c676f726974686d2e",
        /* mac */ "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
    },
    {
        /* name */ "RFC 4231 test case 7 HMAC-SHA-384",
        /* sha_bits */ 384,
        /* key */ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaa",
        /* data */ "5468697320697320612074657374207573696e672061206c6172676572207468"
                   "616e20626c6f636b2d73697a65206b657920616e642061206c61726765722074"
                   "68616e20626c6f636b2d73697a6520646174612e20546865206b6579206e6565"
                   "647320746f20626520686173686564206265666f7265206265696e6720757365"
                   "642062792074686520484d414320616c676f726974686d2e",
        /* mac */ "6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5"
                  "a678cc31e799176d3860e6110c46523e",
    },
    {
        /* name */ "RFC 4231 test case 7 HMAC-SHA-512",
        /* sha_bits */ 512,
        /* key */ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaa",
        /* data */ "5468697320697320612074657374207573696e672061206c6172676572207468"
                   "616e20626c6f636b2d73697a65206b657920616e642061206c61726765722074"
                   "68616e20626c6f636b2d73697a6520646174612e20546865206b6579206e6565"
                   "647320746f20626520686173686564206265666f7265206265696e6720757365"
                   "642062792074686520484d414320616c676f726974686d2e",
        /* mac */ "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944"
                  "b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58",
    },
    // ---- RFC 2202 section 3 (HMAC-SHA-1) ----
    {
        /* name */ "RFC 2202 HMAC-SHA-1 test case 1",
        /* sha_bits */ 1,
        /* key */ "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
        /* data */ "4869205468657265",
        /* mac */ "b617318655057264e28bc0b6fb378c8ef146be00",
    },
    {
        /* name */ "RFC 2202 HMAC-SHA-1 test case 2",
        /* sha_bits */ 1,
        /* key */ "4a656665",
        /* data */ "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
        /* mac */ "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
    },
    {
        /* name */ "RFC 2202 HMAC-SHA-1 test case 3",
        /* sha_bits */ 1,
        /* key */ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        /* data */ "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
                   "dddddddddddddddddddddddddddddddddddd",
        /* mac */ "125d7342b9ac11cd91a39af48aa17b4f63f175d3",
    },
    {
        /* name */ "RFC 2202 HMAC-SHA-1 test case 4",
        /* sha_bits */ 1,
        /* key */ "0102030405060708090a0b0c0d0e0f10111213141516171819",
        /* data */ "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
                   "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",
        /* mac */ "4c9007f4026250c6bc8414f9bf50c86c2d7235da",
    },
    {
        /* name */ "RFC 2202 HMAC-SHA-1 test case 5",
        /* sha_bits */ 1,
        /* key */ "0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c",
        /* data */ "546573742057697468205472756e636174696f6e",
        /* mac */ "4c1a03424b55e07fe7f27be1d58bb9324a9a5a04",
    },
    // RFC 2202 test case 5 digest-96 (HMAC-SHA-1-96)
    {
        /* name */ "RFC 2202 HMAC-SHA-1 test case 5 digest-96 (truncated to 96 bits)",
        /* sha_bits */ 1,
        /* key */ "0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c",
        /* data */ "546573742057697468205472756e636174696f6e",
        /* mac */ "4c1a03424b55e07fe7f27be1",
    },
    {
        /* name */ "RFC 2202 HMAC-SHA-1 test case 6",
        /* sha_bits */ 1,
        /* key */ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        /* data */ "54657374205573696e67204c6172676572205468616e20426c6f636b2d53697a"
                   "65204b6579202d2048617368204b6579204669727374",
        /* mac */ "aa4ae5e15272d00e95705637ce8a3b55ed402112",
    },
    {
        /* name */ "RFC 2202 HMAC-SHA-1 test case 7",
        /* sha_bits */ 1,
        /* key */ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        /* data */ "54657374205573696e67204c6172676572205468616e20426c6f636b2d53697a"
                   "65204b657920616e64204c6172676572205468616e204f6e6520426c6f636b2d"
                   "53697a652044617461",
        /* mac */ "e8e99d0f45237d786d6bbaa7965c7808bbff1a91",
    },
    // ---- RFC 4868 section 2.7.1 (PRF test vectors) ----
    {
        /* name */ "RFC 4868 PRF-1 PRF-HMAC-SHA-256",
        /* sha_bits */ 256,
        /* key */ "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
        /* data */ "4869205468657265",
        /* mac */ "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
    },
    {
        /* name */ "RFC 4868 PRF-1 PRF-HMAC-SHA-384",
        /* sha_bits */ 384,
        /* key */ "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
        /* data */ "4869205468657265",
        /* mac */ "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59c"
                  "faea9ea9076ede7f4af152e8b2fa9cb6",
    },
    {
        /* name */ "RFC 4868 PRF-1 PRF-HMAC-SHA-512",
        /* sha_bits */ 512,
        /* key */ "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
        /* data */ "4869205468657265",
        /* mac */ "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
                  "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854",
    },
    {
        /* name */ "RFC 4868 PRF-2 PRF-HMAC-SHA-256",
        /* sha_bits */ 256,
        /* key */ "4a656665",
        /* data */ "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
        /* mac */ "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    },
    {
        /* name */ "RFC 4868 PRF-2 PRF-HMAC-SHA-384",
        /* sha_bits */ 384,
        /* key */ "4a656665",
        /* data */ "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
        /* mac */ "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e"
                  "8e2240ca5e69e2c78b3239ecfab21649",
    },
    {
        /* name */ "RFC 4868 PRF-2 PRF-HMAC-SHA-512",
        /* sha_bits */ 512,
        /* key */ "4a656665",
        /* data */ "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
        /* mac */ "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
                  "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
    },
    {
        /* name */ "RFC 4868 PRF-3 PRF-HMAC-SHA-256",
        /* sha_bits */ 256,
        /* key */ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        /* data */ "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
                   "dddddddddddddddddddddddddddddddddddd",
        /* mac */ "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
    },
    {
        /* name */ "RFC 4868 PRF-3 PRF-HMAC-SHA-384",
        /* sha_bits */ 384,
        /* key */ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        /* data */ "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
                   "dddddddddddddddddddddddddddddddddddd",
        /* mac */ "88062608d3e6ad8a0aa2ace014c8a86f0aa635d947ac9febe83ef4e55966144b"
                  "2a5ab39dc13814b94e3ab6e101a34f27",
    },
    {
        /* name */ "RFC 4868 PRF-3 PRF-HMAC-SHA-512",
        /* sha_bits */ 512,
        /* key */ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        /* data */ "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
                   "dddddddddddddddddddddddddddddddddddd",
        /* mac */ "fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39"
                  "bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb",
    },
    {
        /* name */ "RFC 4868 PRF-4 PRF-HMAC-SHA-256",
        /* sha_bits */ 256,
        /* key */ "0102030405060708090a0b0c0d0e0f10111213141516171819",
        /* data */ "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
                   "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",
        /* mac */ "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
    },
    {
        /* name */ "RFC 4868 PRF-4 PRF-HMAC-SHA-384",
        /* sha_bits */ 384,
        /* key */ "0102030405060708090a0b0c0d0e0f10111213141516171819",
        /* data */ "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
                   "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",
        /* mac */ "3e8a69b7783c25851933ab6290af6ca77a9981480850009cc5577c6e1f573b4e"
                  "6801dd23c4a7d679ccf8a386c674cffb",
    },
    {
        /* name */ "RFC 4868 PRF-4 PRF-HMAC-SHA-512",
        /* sha_bits */ 512,
        /* key */ "0102030405060708090a0b0c0d0e0f10111213141516171819",
        /* data */ "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
                   "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",
        /* mac */ "b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3db"
                  "a91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd",
    },
    {
        /* name */ "RFC 4868 PRF-5 PRF-HMAC-SHA-256",
        /* sha_bits */ 256,
        /* key */ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaa",
        /* data */ "54657374205573696e67204c6172676572205468616e20426c6f636b2d53697a"
                   "65204b6579202d2048617368204b6579204669727374",
        /* mac */ "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
    },
    {
        /* name */ "RFC 4868 PRF-5 PRF-HMAC-SHA-384",
        /* sha_bits */ 384,
        /* key */ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaa",
        /* data */ "54657374205573696e67204c6172676572205468616e20426c6f636b2d53697a"
                   "65204b6579202d2048617368204b6579204669727374",
        /* mac */ "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c6"
                  "0c2ef6ab4030fe8296248df163f44952",
    },
    {
        /* name */ "RFC 4868 PRF-5 PRF-HMAC-SHA-512",
        /* sha_bits */ 512,
        /* key */ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaa",
        /* data */ "54657374205573696e67204c6172676572205468616e20426c6f636b2d53697a"
                   "65204b6579202d2048617368204b6579204669727374",
        /* mac */ "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352"
                  "6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598",
    },
    {
        /* name */ "RFC 4868 PRF-6 PRF-HMAC-SHA-256",
        /* sha_bits */ 256,
        /* key */ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaa",
        /* data */ "5468697320697320612074657374207573696e672061206c6172676572207468"
                   "616e20626c6f636b2d73697a65206b657920616e642061206c61726765722074"
                   "68616e20626c6f636b2d73697a6520646174612e20546865206b6579206e6565"
                   "647320746f20626520686173686564206265666f7265206265696e6720757365"
                   "642062792074686520484d414320616c676f726974686d2e",
        /* mac */ "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
    },
    {
        /* name */ "RFC 4868 PRF-6 PRF-HMAC-SHA-384",
        /* sha_bits */ 384,
        /* key */ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaa",
        /* data */ "5468697320697320612074657374207573696e672061206c6172676572207468"
                   "616e20626c6f636b2d73697a65206b657920616e642061206c61726765722074"
                   "68616e20626c6f636b2d73697a6520646174612e20546865206b6579206e6565"
                   "647320746f20626520686173686564206265666f7265206265696e6720757365"
                   "642062792074686520484d414320616c676f726974686d2e",
        /* mac */ "6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5"
                  "a678cc31e799176d3860e6110c46523e",
    },
    {
        /* name */ "RFC 4868 PRF-6 PRF-HMAC-SHA-512",
        /* sha_bits */ 512,
        /* key */ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaa",
        /* data */ "5468697320697320612074657374207573696e672061206c6172676572207468"
                   "616e20626c6f636b2d73697a65206b657920616e642061206c61726765722074"
                   "68616e20626c6f636b2d73697a6520646174612e20546865206b6579206e6565"
                   "647320746f20626520686173686564206265666f7265206265696e6720757365"
                   "642062792074686520484d414320616c676f726974686d2e",
        /* mac */ "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944"
                  "b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58",
    },
    // ---- RFC 4868 section 2.7.2 (authenticator test vectors) ----
    {
        /* name */ "RFC 4868 AUTH256-1 PRF-HMAC-SHA-256",
        /* sha_bits */ 256,
        /* key */ "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
        /* data */ "4869205468657265",
        /* mac */ "198a607eb44bfbc69903a0f1cf2bbdc5ba0aa3f3d9ae3c1c7a3b1696a0b68cf7",
    },
    {
        /* name */ "RFC 4868 AUTH256-1 HMAC-SHA-256-128 (truncated)",
        /* sha_bits */ 256,
        /* key */ "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
        /* data */ "4869205468657265",
        /* mac */ "198a607eb44bfbc69903a0f1cf2bbdc5",
    },
    {
        /* name */ "RFC 4868 AUTH256-2 PRF-HMAC-SHA-256",
        /* sha_bits */ 256,
        /* key */ "4a6566654a6566654a6566654a6566654a6566654a6566654a6566654a656665",
        /* data */ "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
        /* mac */ "167f928588c5cc2eef8e3093caa0e87c9ff566a14794aa61648d81621a2a40c6",
    },
    {
        /* name */ "RFC 4868 AUTH256-2 HMAC-SHA-256-128 (truncated)",
        /* sha_bits */ 256,
        /* key */ "4a6566654a6566654a6566654a6566654a6566654a6566654a6566654a656665",
        /* data */ "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
        /* mac */ "167f928588c5cc2eef8e3093caa0e87c",
    },
    {
        /* name */ "RFC 4868 AUTH256-3 PRF-HMAC-SHA-256",
        /* sha_bits */ 256,
        /* key */ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        /* data */ "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
                   "dddddddddddddddddddddddddddddddddddd",
        /* mac */ "cdcb1220d1ecccea91e53aba3092f962e549fe6ce9ed7fdc43191fbde45c30b0",
    },
    {
        /* name */ "RFC 4868 AUTH256-3 HMAC-SHA-256-128 (truncated)",
        /* sha_bits */ 256,
        /* key */ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        /* data */ "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
                   "dddddddddddddddddddddddddddddddddddd",
        /* mac */ "cdcb1220d1ecccea91e53aba3092f962",
    },
    {
        /* name */ "RFC 4868 AUTH256-4 PRF-HMAC-SHA-256",
        /* sha_bits */ 256,
        /* key */ "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20",
        /* data */ "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
                   "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",
        /* mac */ "372efcf9b40b35c2115b1346903d2ef42fced46f0846e7257bb156d3d7b30d3f",
    },
    {
        /* name */ "RFC 4868 AUTH256-4 HMAC-SHA-256-128 (truncated)",
        /* sha_bits */ 256,
        /* key */ "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20",
        /* data */ "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
                   "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",
        /* mac */ "372efcf9b40b35c2115b1346903d2ef4",
    },
    {
        /* name */ "RFC 4868 AUTH384-1 PRF-HMAC-SHA-384",
        /* sha_bits */ 384,
        /* key */ "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"
                  "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
        /* data */ "4869205468657265",
        /* mac */ "b6a8d5636f5c6a7224f9977dcf7ee6c7fb6d0c48cbdee9737a959796489bddbc"
                  "4c5df61d5b3297b4fb68dab9f1b582c2",
    },
    {
        /* name */ "RFC 4868 AUTH384-1 HMAC-SHA-384-192 (truncated)",
        /* sha_bits */ 384,
        /* key */ "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"
                  "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
        /* data */ "4869205468657265",
        /* mac */ "b6a8d5636f5c6a7224f9977dcf7ee6c7fb6d0c48cbdee973",
    },
    {
        /* name */ "RFC 4868 AUTH384-2 PRF-HMAC-SHA-384",
        /* sha_bits */ 384,
        /* key */ "4a6566654a6566654a6566654a6566654a6566654a6566654a6566654a656665"
                  "4a6566654a6566654a6566654a656665",
        /* data */ "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
        /* mac */ "2c7353974f1842fd66d53c452ca42122b28c0b594cfb184da86a368e9b8e16f5"
                  "349524ca4e82400cbde0686d403371c9",
    },
    {
        /* name */ "RFC 4868 AUTH384-2 HMAC-SHA-384-192 (truncated)",
        /* sha_bits */ 384,
        /* key */ "4a6566654a6566654a6566654a6566654a6566654a6566654a6566654a656665"
                  "4a6566654a6566654a6566654a656665",
        /* data */ "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
        /* mac */ "2c7353974f1842fd66d53c452ca42122b28c0b594cfb184d",
    },
    {
        /* name */ "RFC 4868 AUTH384-3 PRF-HMAC-SHA-384",
        /* sha_bits */ 384,
        /* key */ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        /* data */ "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
                   "dddddddddddddddddddddddddddddddddddd",
        /* mac */ "809f439be00274321d4a538652164b53554a508184a0c3160353e3428597003d"
                  "35914a18770f9443987054944b7c4b4a",
    },
    {
        /* name */ "RFC 4868 AUTH384-3 HMAC-SHA-384-192 (truncated)",
        /* sha_bits */ 384,
        /* key */ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        /* data */ "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
                   "dddddddddddddddddddddddddddddddddddd",
        /* mac */ "809f439be00274321d4a538652164b53554a508184a0c316",
    },
    // AUTH384-4: key exactly as published (see erratum 5507 note above)
    {
        /* name */ "RFC 4868 AUTH384-4 PRF-HMAC-SHA-384",
        /* sha_bits */ 384,
        /* key */ "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"
                  "0a0b0c0d0e0f10111213141516171819",
        /* data */ "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
                   "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",
        /* mac */ "5b540085c6e6358096532b2493609ed1cb298f774f87bb5c2ebf182c83cc7428"
                  "707fb92eab2536a5812258228bc96687",
    },
    {
        /* name */ "RFC 4868 AUTH384-4 HMAC-SHA-384-192 (truncated)",
        /* sha_bits */ 384,
        /* key */ "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"
                  "0a0b0c0d0e0f10111213141516171819",
        /* data */ "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
                   "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",
        /* mac */ "5b540085c6e6358096532b2493609ed1cb298f774f87bb5c",
    },
    {
        /* name */ "RFC 4868 AUTH512-1 PRF-HMAC-SHA-512",
        /* sha_bits */ 512,
        /* key */ "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"
                  "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
        /* data */ "4869205468657265",
        /* mac */ "637edc6e01dce7e6742a99451aae82df23da3e92439e590e43e761b33e910fb8"
                  "ac2878ebd5803f6f0b61dbce5e251ff8789a4722c1be65aea45fd464e89f8f5b",
    },
    {
        /* name */ "RFC 4868 AUTH512-1 HMAC-SHA-512-256 (truncated)",
        /* sha_bits */ 512,
        /* key */ "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"
                  "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
        /* data */ "4869205468657265",
        /* mac */ "637edc6e01dce7e6742a99451aae82df23da3e92439e590e43e761b33e910fb8",
    },
    {
        /* name */ "RFC 4868 AUTH512-2 PRF-HMAC-SHA-512",
        /* sha_bits */ 512,
        /* key */ "4a6566654a6566654a6566654a6566654a6566654a6566654a6566654a656665"
                  "4a6566654a6566654a6566654a6566654a6566654a6566654a6566654a656665",
        /* data */ "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
        /* mac */ "cb370917ae8a7ce28cfd1d8f4705d6141c173b2a9362c15df235dfb251b15454"
                  "6aa334ae9fb9afc2184932d8695e397bfa0ffb93466cfcceaae38c833b7dba38",
    },
    {
        /* name */ "RFC 4868 AUTH512-2 HMAC-SHA-512-256 (truncated)",
        /* sha_bits */ 512,
        /* key */ "4a6566654a6566654a6566654a6566654a6566654a6566654a6566654a656665"
                  "4a6566654a6566654a6566654a6566654a6566654a6566654a6566654a656665",
        /* data */ "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
        /* mac */ "cb370917ae8a7ce28cfd1d8f4705d6141c173b2a9362c15df235dfb251b15454",
    },
    {
        /* name */ "RFC 4868 AUTH512-3 PRF-HMAC-SHA-512",
        /* sha_bits */ 512,
        /* key */ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        /* data */ "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
                   "dddddddddddddddddddddddddddddddddddd",
        /* mac */ "2ee7acd783624ca9398710f3ee05ae41b9f9b0510c87e49e586cc9bf961733d8"
                  "623c7b55cebefccf02d5581acc1c9d5fb1ff68a1de45509fbe4da9a433922655",
    },
    {
        /* name */ "RFC 4868 AUTH512-3 HMAC-SHA-512-256 (truncated)",
        /* sha_bits */ 512,
        /* key */ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        /* data */ "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
                   "dddddddddddddddddddddddddddddddddddd",
        /* mac */ "2ee7acd783624ca9398710f3ee05ae41b9f9b0510c87e49e586cc9bf961733d8",
    },
    // AUTH512-4: 64-byte key as corrected by verified erratum 1785
    {
        /* name */ "RFC 4868 AUTH512-4 PRF-HMAC-SHA-512",
        /* sha_bits */ 512,
        /* key */ "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"
                  "2122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f40",
        /* data */ "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
                   "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",
        /* mac */ "5e6688e5a3daec826ca32eaea224eff5e700628947470e13ad01302561bab108"
                  "b8c48cbc6b807dcfbd850521a685babc7eae4a2a2e660dc0e86b931d65503fd2",
    },
    {
        /* name */ "RFC 4868 AUTH512-4 HMAC-SHA-512-256 (truncated)",
        /* sha_bits */ 512,
        /* key */ "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"
                  "2122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f40",
        /* data */ "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
                   "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",
        /* mac */ "5e6688e5a3daec826ca32eaea224eff5e700628947470e13ad01302561bab108",
    },
};
