// INFORMATIONAL as responder (RFC 7296 §1.4, §1.5): DELETE of the IKE SA (every CHILD SA goes
// with it) or of CHILD SAs (we delete our half of each pair and name it in the answer, §1.4.1),
// and the empty request that checks liveness (answered empty).
#include "engine_core.h"

namespace espgw::ike {

std::vector<RawPayload> respond_informational(EngineCore& core, IkeSa& ike, const std::vector<RawPayload>& in,
                                              uint64_t) {
    std::vector<RawPayload> out;
    DeletePayload ours{ProtocolId::kEsp, {}};
    for (const RawPayload& p : in) {
        if (p.type != PayloadType::kDelete) continue;
        const auto d = parse_delete(p.body);
        if (!d) continue;
        if (d->protocol == ProtocolId::kIke) {
            // The IKE SA and all its CHILD SAs end; the answer is empty (§1.4.1).
            while (!ike.children.empty()) core.remove_child(ike, ike.children.back().spi_in);
            ike.state = IkeSa::State::kDeleting;
            ike.pending.reset();
            return {};
        }
        if (d->protocol != ProtocolId::kEsp) continue;
        for (uint32_t spi : d->spis) {
            ChildSa* c = ike.child_by_spi_out(spi);
            if (!c) continue;  // gone already (we deleted it at the same time, §1.4.1)
            core.log("CHILD SA %s deleted by the peer%s", c->name.c_str(), c->rekeyed ? " (rekeyed)" : "");
            ours.spis.push_back(c->spi_in);
            core.remove_child(ike, c->spi_in);
        }
    }
    if (!ours.spis.empty()) out.push_back(RawPayload{PayloadType::kDelete, false, 0, build_delete(ours)});
    return out;
}

}  // namespace espgw::ike
