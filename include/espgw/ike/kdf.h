// IKEv2 key derivation (RFC 7296 §2.13, §2.14, §2.17, §2.18) with the negotiated PRF:
// prf, prf+, SKEYSEED and the IKE SA's seven keys, CHILD SA keying material, and the
// SKEYSEED of an IKE SA rekey. OpenSSL does the HMACs. Secrets live in Secret, which wipes
// itself.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "espgw/ike/transform_ids.h"

namespace espgw::ike {


// Key material: wiped when it goes.
class Secret {
public:
    Secret() = default;
    explicit Secret(std::vector<uint8_t> b) : b_(std::move(b)) {}
    Secret(std::span<const uint8_t> b) : b_(b.begin(), b.end()) {}  // NOLINT: spans convert
    Secret(const Secret& o) : b_(o.b_) {}
    Secret(Secret&& o) noexcept : b_(std::move(o.b_)) {}
    Secret& operator=(Secret o) noexcept {
        wipe();
        b_.swap(o.b_);
        return *this;
    }
    ~Secret() { wipe(); }
    std::span<const uint8_t> bytes() const { return b_; }
    size_t size() const { return b_.size(); }
    bool operator==(const Secret& o) const { return b_ == o.b_; }
    // [from, from + n) of the material.
    Secret slice(size_t from, size_t n) const { return Secret(std::span(b_).subspan(from, n)); }

private:
    void wipe();
    std::vector<uint8_t> b_;
};

// The PRF's output length (its preferred key length too, RFC 7296 §2.13).
size_t prf_size(Prf p);
Secret prf(Prf p, std::span<const uint8_t> key, std::span<const uint8_t> data);
// prf+ (RFC 7296 §2.13): T1 | T2 | ... truncated to len; nullopt if len needs more than 255
// rounds (the counter is one octet).
std::optional<Secret> prf_plus(Prf p, std::span<const uint8_t> key, std::span<const uint8_t> seed, size_t len);

// SKEYSEED = prf(Ni | Nr, g^ir) (§2.14).
Secret skeyseed(Prf p, std::span<const uint8_t> ni, std::span<const uint8_t> nr, std::span<const uint8_t> g_ir);
// The IKE SA's keys, {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} =
// prf+(SKEYSEED, Ni | Nr | SPIi | SPIr) (§2.14). integ_len 0 for AEAD ciphers; encr_len
// includes any salt (e.g. AES-GCM's 4 bytes, RFC 5282).
struct IkeSaKeys {
    Secret d, ai, ar, ei, er, pi, pr;
};
std::optional<IkeSaKeys> ike_sa_keys(Prf p, std::span<const uint8_t> skeyseed, std::span<const uint8_t> ni,
                                     std::span<const uint8_t> nr, uint64_t spi_i, uint64_t spi_r, size_t integ_len,
                                     size_t encr_len);
// The whole DKM of §2.14 (for known-answer tests and for ike_sa_keys).
std::optional<Secret> ike_sa_keymat(Prf p, std::span<const uint8_t> skeyseed, std::span<const uint8_t> ni,
                                    std::span<const uint8_t> nr, uint64_t spi_i, uint64_t spi_r, size_t len);
// CHILD SA keying material, prf+(SK_d, [g^ir (new) |] Ni | Nr) (§2.17): empty g_ir_new
// without PFS. Split by the caller: initiator-to-responder keys first, then the other way.
std::optional<Secret> child_sa_keymat(Prf p, std::span<const uint8_t> sk_d, std::span<const uint8_t> g_ir_new,
                                      std::span<const uint8_t> ni, std::span<const uint8_t> nr, size_t len);
// SKEYSEED of the new IKE SA in a rekey: prf(SK_d (old), g^ir (new) | Ni | Nr) (§2.18).
Secret rekey_skeyseed(Prf p, std::span<const uint8_t> sk_d_old, std::span<const uint8_t> g_ir_new,
                      std::span<const uint8_t> ni, std::span<const uint8_t> nr);

}  // namespace espgw::ike
