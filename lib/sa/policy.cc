#include "espgw/sa/policy.h"

namespace espgw::sa {

bool Selectors::make(const std::vector<net::Prefix>& l, const std::vector<net::Prefix>& r, Selectors& out) {
    if (l.empty() || r.empty() || l.size() > kMax || r.size() > kMax) return false;
    out = Selectors{};
    for (const net::Prefix& p : l) out.local[out.n_local++] = p;
    for (const net::Prefix& p : r) out.remote[out.n_remote++] = p;
    return true;
}

std::string Selectors::str() const {
    std::string s;
    for (unsigned k = 0; k < n_local; ++k) s += (k ? "," : "") + local[k].str();
    s += " === ";
    for (unsigned k = 0; k < n_remote; ++k) s += (k ? "," : "") + remote[k].str();
    return s;
}

}  // namespace espgw::sa
