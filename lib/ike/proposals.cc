#include "espgw/ike/proposals.h"

#include "espgw/ike/encrypted.h"

#include <algorithm>
#include <map>

namespace espgw::ike {

namespace {

Transform t(TransformType type, uint16_t id, std::optional<uint16_t> bits = std::nullopt) {
    return Transform{type, id, bits, {}};
}

bool is_aead(const Transform& e) {
    return e.id == encr_id::kAesGcm8 || e.id == encr_id::kAesGcm12 || e.id == encr_id::kAesGcm16 ||
           e.id == encr_id::kChacha20Poly1305;
}

// The token table: strongSwan's names for what espgw implements.
const std::map<std::string_view, Transform>& encr_tokens() {
    static const std::map<std::string_view, Transform> m = {
        {"aes128", t(TransformType::kEncr, encr_id::kAesCbc, 128)},
        {"aes192", t(TransformType::kEncr, encr_id::kAesCbc, 192)},
        {"aes256", t(TransformType::kEncr, encr_id::kAesCbc, 256)},
        {"aes128gcm16", t(TransformType::kEncr, encr_id::kAesGcm16, 128)},
        {"aes192gcm16", t(TransformType::kEncr, encr_id::kAesGcm16, 192)},
        {"aes256gcm16", t(TransformType::kEncr, encr_id::kAesGcm16, 256)},
        {"aes128gcm", t(TransformType::kEncr, encr_id::kAesGcm16, 128)},
        {"aes256gcm", t(TransformType::kEncr, encr_id::kAesGcm16, 256)},
        {"chacha20poly1305", t(TransformType::kEncr, encr_id::kChacha20Poly1305)},
    };
    return m;
}
const std::map<std::string_view, uint16_t>& integ_tokens() {
    static const std::map<std::string_view, uint16_t> m = {
        {"sha1", integ_id::kHmacSha1_96},
        {"sha256", integ_id::kHmacSha2_256_128},
        {"sha384", integ_id::kHmacSha2_384_192},
        {"sha512", integ_id::kHmacSha2_512_256},
    };
    return m;
}
const std::map<std::string_view, uint16_t>& prf_tokens() {
    static const std::map<std::string_view, uint16_t> m = {
        {"prfsha1", prf_id::kHmacSha1},
        {"prfsha256", prf_id::kHmacSha2_256},
        {"prfsha384", prf_id::kHmacSha2_384},
        {"prfsha512", prf_id::kHmacSha2_512},
    };
    return m;
}
// The PRF that goes with an integrity hash when none is named.
uint16_t prf_for_integ(uint16_t integ) {
    switch (integ) {
    case integ_id::kHmacSha1_96: return prf_id::kHmacSha1;
    case integ_id::kHmacSha2_256_128: return prf_id::kHmacSha2_256;
    case integ_id::kHmacSha2_384_192: return prf_id::kHmacSha2_384;
    default: return prf_id::kHmacSha2_512;
    }
}
const std::map<std::string_view, uint16_t>& dh_tokens() {
    static const std::map<std::string_view, uint16_t> m = {
        {"modp1024", dh_id::kModp1024}, {"modp2048", dh_id::kModp2048}, {"modp3072", dh_id::kModp3072}, {"modp4096", dh_id::kModp4096},
        {"ecp256", dh_id::kEcp256},     {"ecp384", dh_id::kEcp384},     {"curve25519", dh_id::kCurve25519},
        {"x25519", dh_id::kCurve25519},
    };
    return m;
}

void add_unique(std::vector<Transform>& v, const Transform& x) {
    if (std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
}

const std::vector<Transform>* list_of(const OurProposal& p, TransformType type) {
    switch (type) {
    case TransformType::kEncr: return &p.encr;
    case TransformType::kPrf: return &p.prf;
    case TransformType::kInteg: return &p.integ;
    case TransformType::kDh: return &p.dh;
    case TransformType::kEsn: return &p.esn;
    }
    return nullptr;
}

}  // namespace

bool OurProposal::aead() const {
    return !encr.empty() && std::all_of(encr.begin(), encr.end(), is_aead);
}

std::optional<OurProposal> parse_proposal(std::string_view text, ProtocolId protocol, std::string& error) {
    OurProposal p;
    p.protocol = protocol;
    std::vector<uint16_t> hashes;
    size_t at = 0;
    while (at <= text.size()) {
        const size_t dash = text.find('-', at);
        const std::string_view tok = text.substr(at, dash == std::string_view::npos ? std::string_view::npos : dash - at);
        at = dash == std::string_view::npos ? text.size() + 1 : dash + 1;
        if (auto e = encr_tokens().find(tok); e != encr_tokens().end()) {
            add_unique(p.encr, e->second);
        } else if (auto i = integ_tokens().find(tok); i != integ_tokens().end()) {
            add_unique(p.integ, t(TransformType::kInteg, i->second));
            hashes.push_back(i->second);
        } else if (auto f = prf_tokens().find(tok); f != prf_tokens().end() && protocol == ProtocolId::kIke) {
            add_unique(p.prf, t(TransformType::kPrf, f->second));
        } else if (auto d = dh_tokens().find(tok); d != dh_tokens().end()) {
            add_unique(p.dh, t(TransformType::kDh, d->second));
        } else if ((tok == "esn" || tok == "noesn") && protocol == ProtocolId::kEsp) {
            add_unique(p.esn, t(TransformType::kEsn, tok == "esn" ? esn_id::kYes : esn_id::kNo));
        } else {
            error = "unknown algorithm \"" + std::string(tok) + "\" in proposal \"" + std::string(text) + "\"";
            return std::nullopt;
        }
    }
    if (p.encr.empty()) {
        error = "proposal \"" + std::string(text) + "\" names no encryption algorithm";
        return std::nullopt;
    }
    const bool aead = p.aead();
    if (aead) {
        if (protocol == ProtocolId::kIke && p.prf.empty())  // "aes128gcm16-sha256": the hash is the PRF
            for (uint16_t h : hashes) add_unique(p.prf, t(TransformType::kPrf, prf_for_integ(h)));
        p.integ.clear();
    } else if (p.integ.empty()) {
        error = "proposal \"" + std::string(text) + "\" needs an integrity algorithm for its cipher";
        return std::nullopt;
    }
    if (protocol == ProtocolId::kIke) {
        if (p.prf.empty())
            for (const Transform& i : p.integ) add_unique(p.prf, t(TransformType::kPrf, prf_for_integ(i.id)));
        if (p.prf.empty() || p.dh.empty()) {
            error = "IKE proposal \"" + std::string(text) + "\" needs a PRF and a Diffie-Hellman group";
            return std::nullopt;
        }
    } else if (p.esn.empty()) {
        p.esn.push_back(t(TransformType::kEsn, esn_id::kNo));
    }
    return p;
}

std::optional<Proposal> choose(std::span<const OurProposal> ours, const SaPayload& offer) {
    for (const OurProposal& mine : ours) {
        for (const Proposal& theirs : offer.proposals) {
            if (theirs.protocol != mine.protocol) continue;
            Proposal chosen{theirs.number, theirs.protocol, theirs.spi, {}};
            bool ok = true;
            // Every type the peer offers must be one we use, and every type we use must be
            // offered; the transform is our most preferred one among the peer's.
            for (TransformType type : {TransformType::kEncr, TransformType::kPrf, TransformType::kInteg,
                                       TransformType::kDh, TransformType::kEsn}) {
                const std::vector<Transform>* want = list_of(mine, type);
                const bool offered = std::any_of(theirs.transforms.begin(), theirs.transforms.end(),
                                                 [&](const Transform& x) { return x.type == type; });
                // "INTEG none" with an AEAD cipher (§3.3.2) counts as no INTEG at all.
                const bool only_none = type == TransformType::kInteg && offered &&
                                       std::all_of(theirs.transforms.begin(), theirs.transforms.end(), [&](const Transform& x) {
                                           return x.type != type || x.id == integ_id::kNone;
                                       });
                if (want->empty()) {
                    if (offered && !only_none) ok = false;
                    continue;
                }
                if (!offered) {
                    // A peer without ESN transforms in an ESP proposal means no ESN.
                    if (type == TransformType::kEsn && want->front().id == esn_id::kNo) continue;
                    ok = false;
                    break;
                }
                const Transform* pick = nullptr;
                for (const Transform& w : *want) {
                    for (const Transform& x : theirs.transforms)
                        if (x.type == type && x.id == w.id && x.key_length == w.key_length && x.other_attributes.empty()) {
                            pick = &x;
                            break;
                        }
                    if (pick) break;
                }
                if (!pick) {
                    ok = false;
                    break;
                }
                chosen.transforms.push_back(*pick);
            }
            if (ok) return chosen;
        }
    }
    return std::nullopt;
}

SaPayload offer(const std::vector<OurProposal>& ours, ProtocolId protocol, const std::vector<uint8_t>& spi, bool with_dh) {
    SaPayload sa;
    uint8_t number = 1;
    for (const OurProposal& o : ours) {
        Proposal p;
        p.number = number++;
        p.protocol = protocol;
        p.spi = spi;
        for (const auto* list : {&o.encr, &o.prf, &o.integ})
            for (const Transform& t : *list) p.transforms.push_back(t);
        if (with_dh)
            for (const Transform& t : o.dh) p.transforms.push_back(t);
        for (const Transform& t : o.esn) p.transforms.push_back(t);
        if (protocol == ProtocolId::kEsp && o.esn.empty()) p.transforms.push_back(Transform{TransformType::kEsn, esn_id::kNo, {}, {}});
        sa.proposals.push_back(std::move(p));
    }
    return sa;
}

uint16_t transform_of(const Proposal& p, TransformType t) {
    for (const Transform& x : p.transforms)
        if (x.type == t) return x.id;
    return 0;
}

uint16_t dh_group_of(const Proposal& p) { return transform_of(p, TransformType::kDh); }

uint16_t key_bits_of(const Proposal& p) {
    for (const Transform& x : p.transforms)
        if (x.type == TransformType::kEncr) return x.key_length.value_or(0);
    return 0;
}

SkSuite suite_of(const Proposal& p) {
    return SkSuite{transform_of(p, TransformType::kEncr), key_bits_of(p), transform_of(p, TransformType::kInteg)};
}

std::string to_string(const Proposal& p) {
    std::string s;
    for (const Transform& t : p.transforms) {
        std::string name;
        const std::string bits = t.key_length ? "_" + std::to_string(*t.key_length) : "";
        switch (t.type) {
        case TransformType::kEncr:
            name = t.id == encr_id::kAesCbc ? "AES_CBC" + bits
                   : t.id == encr_id::kAesGcm16 ? "AES_GCM_16" + bits
                   : t.id == encr_id::kChacha20Poly1305 ? "CHACHA20_POLY1305" : "ENCR_" + std::to_string(t.id) + bits;
            break;
        case TransformType::kPrf:
            name = t.id == prf_id::kHmacSha1 ? "PRF_HMAC_SHA1"
                   : t.id == prf_id::kHmacSha2_256 ? "PRF_HMAC_SHA2_256"
                   : t.id == prf_id::kHmacSha2_384 ? "PRF_HMAC_SHA2_384"
                   : t.id == prf_id::kHmacSha2_512 ? "PRF_HMAC_SHA2_512" : "PRF_" + std::to_string(t.id);
            break;
        case TransformType::kInteg:
            name = t.id == integ_id::kHmacSha1_96 ? "HMAC_SHA1_96"
                   : t.id == integ_id::kHmacSha2_256_128 ? "HMAC_SHA2_256_128"
                   : t.id == integ_id::kHmacSha2_384_192 ? "HMAC_SHA2_384_192"
                   : t.id == integ_id::kHmacSha2_512_256 ? "HMAC_SHA2_512_256" : "INTEG_" + std::to_string(t.id);
            break;
        case TransformType::kDh:
            name = t.id == dh_id::kModp1024 ? "MODP_1024"
                   : t.id == dh_id::kModp2048 ? "MODP_2048"
                   : t.id == dh_id::kModp3072 ? "MODP_3072"
                   : t.id == dh_id::kModp4096 ? "MODP_4096"
                   : t.id == dh_id::kEcp256 ? "ECP_256"
                   : t.id == dh_id::kEcp384 ? "ECP_384"
                   : t.id == dh_id::kCurve25519 ? "CURVE_25519" : "DH_" + std::to_string(t.id);
            break;
        case TransformType::kEsn:
            name = t.id == esn_id::kYes ? "ESN" : "NO_ESN";
            break;
        }
        s += (s.empty() ? "" : "/") + name;
    }
    return s;
}

}  // namespace espgw::ike
