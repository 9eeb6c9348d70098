#include "report.h"

namespace espgen {

void print_header(FILE* f) {
    fprintf(f, "%-6s %-18s %-5s %8s %-6s %9s %9s %7s %9s %9s %9s %9s %9s %s\n", "dir", "cipher", "size", "peers",
            "access", "Mpps", "Gbps", "loss%", "sent", "p50 us", "p99 us", "p99.9 us", "flat Mpps", "note");
}

void print_row(FILE* f, const ResultRow& row) {
    const TrialResult& r = row.r;
    std::string note;
    if (row.searched) note = "search (" + std::to_string(row.trials) + " trials)";
    if (row.generator_bound) note += note.empty() ? "generator-bound" : ", generator-bound";
    if (r.invalid) note += (note.empty() ? "" : "; ") + std::to_string(r.invalid) + " INVALID: " + r.first_invalid;
    if (r.stalled) note += (note.empty() ? "" : "; ") + std::string("STALLED: espgw took nothing for 5 s");
    if (r.duplicates) note += (note.empty() ? "" : "; ") + std::to_string(r.duplicates) + " duplicates";
    fprintf(f, "%-6s %-18s %-5s %8u %-6s %9.3f %9.3f %7.3f %9llu %9.1f %9.1f %9.1f %9.3f %s\n", row.dir.c_str(),
            row.cipher.c_str(), row.size.c_str(), row.peers, row.access.c_str(), r.received_pps / 1e6, r.gbps_inner,
            100 * r.loss(), static_cast<unsigned long long>(r.sent), r.p50_us, r.p99_us, r.p999_us, row.flat_mpps,
            note.c_str());
    fflush(f);
}

bool write_json(const std::string& path, const std::string& machine, const std::vector<ResultRow>& rows) {
    FILE* f = fopen(path.c_str(), "w");
    if (!f) return false;
    fprintf(f, "{\n \"machine\": \"%s\",\n \"results\": [\n", machine.c_str());
    for (size_t k = 0; k < rows.size(); ++k) {
        const ResultRow& w = rows[k];
        const TrialResult& r = w.r;
        fprintf(f,
                "  {\"direction\": \"%s\", \"cipher\": \"%s\", \"size\": \"%s\", \"peers\": %u, \"access\": \"%s\", "
                "\"searched\": %s, \"loss_limit\": %g, \"trials\": %u, \"generator_bound\": %s, \"flat_mpps\": %.4f, "
                "\"sent\": %llu, \"received\": %llu, \"lost\": %llu, \"invalid\": %llu, \"duplicates\": %llu, \"refused\": %llu, "
                "\"seconds\": %.4f, \"offered_mpps\": %.4f, \"mpps\": %.4f, \"gbps_inner\": %.4f, "
                "\"latency_us\": {\"p50\": %.2f, \"p99\": %.2f, \"p99.9\": %.2f, \"max\": %.2f}}%s\n",
                w.dir.c_str(), w.cipher.c_str(), w.size.c_str(), w.peers, w.access.c_str(), w.searched ? "true" : "false",
                w.loss_limit, w.trials, w.generator_bound ? "true" : "false", w.flat_mpps,
                static_cast<unsigned long long>(r.sent),
                static_cast<unsigned long long>(r.received), static_cast<unsigned long long>(r.lost),
                static_cast<unsigned long long>(r.invalid), static_cast<unsigned long long>(r.duplicates),
                static_cast<unsigned long long>(r.refused), r.seconds,
                r.offered_pps / 1e6, r.received_pps / 1e6, r.gbps_inner, r.p50_us, r.p99_us, r.p999_us, r.max_us,
                k + 1 < rows.size() ? "," : "");
    }
    fprintf(f, " ]\n}\n");
    return fclose(f) == 0;
}

}  // namespace espgen
