#include "espgw/ike/key_exchange.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/dh.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <algorithm>

namespace espgw::ike {

namespace {

enum class Kind { modp, ecp, x25519 };

struct GroupInfo {
    Kind kind;
    const char* name;  // OpenSSL's group name; nullptr: explicit prime and generator (MODP-1024)
    size_t size;       // KE data length
};

std::optional<GroupInfo> info(DhGroup g) {
    switch (g) {
    // RFC 2409's Oakley group 2: OpenSSL has no name for it, so its prime is given explicitly.
    case DhGroup::modp1024: return GroupInfo{Kind::modp, nullptr, 128};
    case DhGroup::modp2048: return GroupInfo{Kind::modp, "modp_2048", 256};
    case DhGroup::modp3072: return GroupInfo{Kind::modp, "modp_3072", 384};
    case DhGroup::modp4096: return GroupInfo{Kind::modp, "modp_4096", 512};
    case DhGroup::ecp256: return GroupInfo{Kind::ecp, "P-256", 64};
    case DhGroup::ecp384: return GroupInfo{Kind::ecp, "P-384", 96};
    case DhGroup::curve25519: return GroupInfo{Kind::x25519, "X25519", 32};
    }
    return std::nullopt;
}

struct CtxFree {
    void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
struct KeyFree {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Ctx = std::unique_ptr<EVP_PKEY_CTX, CtxFree>;
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
struct BldFree {
    void operator()(OSSL_PARAM_BLD* b) const { OSSL_PARAM_BLD_free(b); }
};
struct ParamsFree {
    void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
struct BnFree {
    void operator()(BIGNUM* b) const { BN_clear_free(b); }
};

const char* type_name(Kind k) { return k == Kind::modp ? "DH" : k == Kind::ecp ? "EC" : "X25519"; }

// The group into a parameter list: its name, or for MODP-1024 the prime and generator 2.
// bns keeps the numbers alive until the list is built.
void push_group(OSSL_PARAM_BLD* bld, const GroupInfo& gi, std::vector<std::unique_ptr<BIGNUM, BnFree>>& bns) {
    if (gi.name) {
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, gi.name, 0);
        return;
    }
    bns.emplace_back(BN_get_rfc2409_prime_1024(nullptr));
    bns.emplace_back(BN_new());
    BN_set_word(bns.back().get(), 2);
    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_FFC_P, bns[bns.size() - 2].get());
    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_FFC_G, bns.back().get());
}

// A key of the group from OpenSSL parameters (the peer's public value, or a known private key).
Key from_params(const GroupInfo& gi, OSSL_PARAM* params, int selection) {
    Ctx ctx(EVP_PKEY_CTX_new_from_name(nullptr, type_name(gi.kind), nullptr));
    EVP_PKEY* k = nullptr;
    if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0 || EVP_PKEY_fromdata(ctx.get(), &k, selection, params) <= 0)
        return nullptr;
    return Key(k);
}

// Our public value in KE payload form.
std::optional<std::vector<uint8_t>> encode_public(const GroupInfo& gi, EVP_PKEY* k) {
    std::vector<uint8_t> out(gi.size);
    if (gi.kind == Kind::x25519) {
        size_t len = out.size();
        if (EVP_PKEY_get_raw_public_key(k, out.data(), &len) <= 0 || len != gi.size) return std::nullopt;
        return out;
    }
    if (gi.kind == Kind::ecp) {
        std::vector<uint8_t> point(gi.size + 1);
        size_t len = 0;
        if (EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size(), &len) <= 0 ||
            len != point.size() || point[0] != 0x04)
            return std::nullopt;
        std::copy(point.begin() + 1, point.end(), out.begin());  // x | y without the 0x04 prefix
        return out;
    }
    BIGNUM* y = nullptr;
    if (EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_PUB_KEY, &y) <= 0) return std::nullopt;
    std::unique_ptr<BIGNUM, BnFree> hold(y);
    if (BN_bn2binpad(y, out.data(), static_cast<int>(out.size())) < 0) return std::nullopt;
    return out;
}

// The peer's KE data as an OpenSSL key of the group; nullptr if it is not a valid element.
Key peer_key(const GroupInfo& gi, std::span<const uint8_t> v) {
    if (v.size() != gi.size) return nullptr;
    if (gi.kind == Kind::x25519) return Key(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, v.data(), v.size()));
    std::unique_ptr<OSSL_PARAM_BLD, BldFree> bld(OSSL_PARAM_BLD_new());
    std::vector<uint8_t> point;
    std::unique_ptr<BIGNUM, BnFree> y;
    std::vector<std::unique_ptr<BIGNUM, BnFree>> bns;
    push_group(bld.get(), gi, bns);
    if (gi.kind == Kind::ecp) {
        point.push_back(0x04);
        point.insert(point.end(), v.begin(), v.end());
        OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size());
    } else {
        y.reset(BN_bin2bn(v.data(), static_cast<int>(v.size()), nullptr));
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, y.get());
    }
    std::unique_ptr<OSSL_PARAM, ParamsFree> params(OSSL_PARAM_BLD_to_param(bld.get()));
    Key k = params ? from_params(gi, params.get(), EVP_PKEY_PUBLIC_KEY) : nullptr;
    if (!k) return nullptr;
    // On the curve / in the subgroup (SP 800-56A checks), not 0, 1 or p-1.
    Ctx check(EVP_PKEY_CTX_new_from_pkey(nullptr, k.get(), nullptr));
    if (!check || EVP_PKEY_public_check(check.get()) <= 0) return nullptr;
    return k;
}

}  // namespace

bool supported(DhGroup g) { return info(g).has_value(); }

size_t ke_size(DhGroup g) {
    const auto gi = info(g);
    return gi ? gi->size : 0;
}

KeyExchange::KeyExchange(DhGroup g, evp_pkey_st* key) : group_(g), key_(key) {}

KeyExchange::~KeyExchange() { EVP_PKEY_free(key_); }

std::unique_ptr<KeyExchange> KeyExchange::generate(DhGroup g) {
    const auto gi = info(g);
    if (!gi) return nullptr;
    Ctx ctx;
    Key domain;
    if (gi->name || gi->kind != Kind::modp) {
        ctx.reset(EVP_PKEY_CTX_new_from_name(nullptr, type_name(gi->kind), nullptr));
    } else {
        // Explicit domain parameters first, then a key pair of them.
        std::unique_ptr<OSSL_PARAM_BLD, BldFree> bld(OSSL_PARAM_BLD_new());
        std::vector<std::unique_ptr<BIGNUM, BnFree>> bns;
        push_group(bld.get(), *gi, bns);
        std::unique_ptr<OSSL_PARAM, ParamsFree> params(OSSL_PARAM_BLD_to_param(bld.get()));
        if (params) domain = from_params(*gi, params.get(), EVP_PKEY_KEY_PARAMETERS);
        if (!domain) return nullptr;
        ctx.reset(EVP_PKEY_CTX_new_from_pkey(nullptr, domain.get(), nullptr));
    }
    if (!ctx || EVP_PKEY_keygen_init(ctx.get()) <= 0) return nullptr;
    if (gi->kind != Kind::x25519 && gi->name && EVP_PKEY_CTX_set_group_name(ctx.get(), gi->name) <= 0) return nullptr;
    EVP_PKEY* k = nullptr;
    if (EVP_PKEY_keygen(ctx.get(), &k) <= 0) return nullptr;
    std::unique_ptr<KeyExchange> kx(new KeyExchange(g, k));
    auto pub = encode_public(*gi, k);
    if (!pub) return nullptr;
    kx->public_ = std::move(*pub);
    return kx;
}

std::unique_ptr<KeyExchange> KeyExchange::from_private(DhGroup g, std::span<const uint8_t> priv,
                                                       std::span<const uint8_t> pub) {
    const auto gi = info(g);
    if (!gi) return nullptr;
    Key k;
    if (gi->kind == Kind::x25519) {
        k.reset(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, priv.data(), priv.size()));
    } else {
        std::unique_ptr<OSSL_PARAM_BLD, BldFree> bld(OSSL_PARAM_BLD_new());
        std::unique_ptr<BIGNUM, BnFree> x(BN_bin2bn(priv.data(), static_cast<int>(priv.size()), nullptr));
        std::vector<uint8_t> point;
        std::vector<std::unique_ptr<BIGNUM, BnFree>> bns;
        push_group(bld.get(), *gi, bns);
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, x.get());
        if (gi->kind == Kind::ecp) {
            if (pub.size() != gi->size) return nullptr;
            point.push_back(0x04);
            point.insert(point.end(), pub.begin(), pub.end());
            OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size());
        }
        std::unique_ptr<OSSL_PARAM, ParamsFree> params(OSSL_PARAM_BLD_to_param(bld.get()));
        if (params) k = from_params(*gi, params.get(), EVP_PKEY_KEYPAIR);
    }
    if (!k) return nullptr;
    auto out = encode_public(*gi, k.get());
    if (!out) return nullptr;
    std::unique_ptr<KeyExchange> kx(new KeyExchange(g, k.release()));
    kx->public_ = std::move(*out);
    return kx;
}

std::optional<Secret> KeyExchange::shared(std::span<const uint8_t> peer) const {
    const auto gi = info(group_);
    Key p = peer_key(*gi, peer);
    if (!p) return std::nullopt;
    Ctx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key_, nullptr));
    if (!ctx || EVP_PKEY_derive_init(ctx.get()) <= 0) return std::nullopt;
    // MODP: g^ir is padded to the prime's length (RFC 7296 §2.14), not stripped of leading zeros.
    if (gi->kind == Kind::modp && EVP_PKEY_CTX_set_dh_pad(ctx.get(), 1) <= 0) return std::nullopt;
    if (EVP_PKEY_derive_set_peer(ctx.get(), p.get()) <= 0) return std::nullopt;
    size_t len = 0;
    if (EVP_PKEY_derive(ctx.get(), nullptr, &len) <= 0) return std::nullopt;
    std::vector<uint8_t> s(len);
    if (EVP_PKEY_derive(ctx.get(), s.data(), &len) <= 0) {
        OPENSSL_cleanse(s.data(), s.size());
        return std::nullopt;
    }
    s.resize(len);
    // RFC 8031 §2: an all-zero X25519 result means a low-order peer value: refuse it.
    if (std::all_of(s.begin(), s.end(), [](uint8_t b) { return b == 0; })) return std::nullopt;
    return Secret(std::move(s));
}

}  // namespace espgw::ike
