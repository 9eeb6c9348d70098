#include "espgw/ike/child_sa.h"

#include "espgw/ike/encrypted.h"
#include "espgw/sa/policy.h"

namespace espgw::ike {

ChildChoice choose_child(const std::vector<ChildConfig>& children, const ChildRequest& req,
                         const std::vector<net::Prefix>& local_dynamic, const std::vector<net::Prefix>& remote_dynamic) {
    ChildChoice c;
    c.error = NotifyType::kTsUnacceptable;
    c.reason = "no child of the connection covers the proposed traffic selectors";
    bool proposal_failed = false, mode_failed = false;
    // A child of the mode asked for first; a tunnel child may still answer a transport request
    // (the answer without USE_TRANSPORT_MODE means tunnel, §1.3.1).
    std::vector<const ChildConfig*> order;
    for (const ChildConfig& child : children)
        if ((child.mode == ChildMode::kTransport) == req.transport) order.push_back(&child);
    for (const ChildConfig& child : children)
        if ((child.mode == ChildMode::kTransport) != req.transport) order.push_back(&child);
    for (const ChildConfig* cp : order) {
        const ChildConfig& child = *cp;
        const auto& local = child.local_ts.empty() ? local_dynamic : child.local_ts;
        const auto& remote = child.remote_ts.empty() ? remote_dynamic : child.remote_ts;
        Narrowed tsi = narrow(req.tsi, remote, sa::Selectors::kMax);
        Narrowed tsr = narrow(req.tsr, local, sa::Selectors::kMax);
        if (tsi.empty() || tsr.empty()) continue;
        // The mode: transport only when both want it (§1.3.1: without the notify, tunnel).
        const bool transport = req.transport && child.mode == ChildMode::kTransport;
        if (child.mode == ChildMode::kTransport && !req.transport) {
            mode_failed = true;
            continue;
        }
        auto chosen = choose(child.esp, req.sa);
        if (!chosen) {
            proposal_failed = true;
            continue;
        }
        c.ok = true;
        c.config = &child;
        c.proposal = std::move(*chosen);
        c.tsi = std::move(tsi);
        c.tsr = std::move(tsr);
        c.transport = transport;
        c.reason.clear();
        return c;
    }
    if (proposal_failed) {
        c.error = NotifyType::kNoProposalChosen;
        c.reason = "no ESP proposal acceptable";
    } else if (mode_failed) {
        c.error = NotifyType::kNoProposalChosen;
        c.reason = "the child requires transport mode, the peer asked for tunnel";
    }
    return c;
}

std::optional<ChildKeys> child_keys(Prf prf, std::span<const uint8_t> sk_d, std::span<const uint8_t> g_ir,
                                    std::span<const uint8_t> ni, std::span<const uint8_t> nr, const Proposal& esp) {
    const SkSuite s = suite_of(esp);
    if (!supported(s)) return std::nullopt;
    const size_t e = encr_key_size(s), a = integ_key_size(s);
    const auto km = child_sa_keymat(prf, sk_d, g_ir, ni, nr, 2 * (e + a));
    if (!km) return std::nullopt;
    ChildKeys k;
    k.encr_i = km->slice(0, e);
    k.integ_i = km->slice(e, a);
    k.encr_r = km->slice(e + a, e);
    k.integ_r = km->slice(2 * e + a, a);
    return k;
}

}  // namespace espgw::ike
