// The generator's own ESP (RFC 4303) over OpenSSL: it encrypts what it sends toward the
// gateway and decrypts what the gateway encrypted, so a run checks espgw's packets against a
// second implementation instead of against espgw's own code. Used off the packet path only:
// before a trial (building the frames) and after it (verifying the capture).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace espgen {

enum class Cipher { aes128_gcm, aes256_gcm, aes128_cbc_sha256, chacha20_poly1305 };

bool parse_cipher(const std::string& name, Cipher& out);
const char* cipher_name(Cipher c);     // as espgw's config spells it ("aes128-gcm", ...)
size_t cipher_key_bytes(Cipher c);     // including the 4-byte salt of the AEADs
size_t auth_key_bytes(Cipher c);       // 0 for the AEADs

struct SaKeys {
    Cipher cipher = Cipher::aes128_gcm;
    std::vector<uint8_t> key;   // cipher key, then salt for the AEADs
    std::vector<uint8_t> auth;  // HMAC key (CBC only)
};

class EspCodec {
public:
    EspCodec();
    ~EspCodec();
    EspCodec(const EspCodec&) = delete;
    EspCodec& operator=(const EspCodec&) = delete;

    // Appends SPI, sequence number, IV, the encrypted `inner` packet (next header 4 or 41 from
    // its version) with padding and trailer, and the ICV to `out`. The IV is derived from the
    // sequence number (unique per SA, as RFC 4106 asks).
    void seal(const SaKeys& k, uint32_t spi, uint32_t seq, const uint8_t* inner, size_t len,
              std::vector<uint8_t>& out);

    // Checks the ICV of an ESP packet (from the SPI on) and writes the inner packet to `inner`.
    // Returns an empty string, or why it is not a valid packet of this SA.
    std::string open(const SaKeys& k, const uint8_t* esp, size_t len, std::vector<uint8_t>& inner);

    static size_t overhead(Cipher c, size_t inner_len);  // ESP bytes beyond the inner packet

private:
    struct Ctx;
    std::unique_ptr<Ctx> ctx_;
};

}  // namespace espgen
