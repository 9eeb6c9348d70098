// The generator's output: one table row per result, and the same as JSON.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "trial.h"

namespace espgen {

struct ResultRow {
    std::string dir, cipher, size;  // size: "64" or "imix"
    uint32_t peers = 0;
    std::string access;
    bool searched = false;    // the RFC 2544 search's answer, not one trial at a set rate
    double loss_limit = 0;    // the search's acceptable loss
    unsigned trials = 0;      // trials the search took
    bool generator_bound = false;  // the generator could not offer the rate asked: a floor
    double flat_mpps = 0;          // search: what espgw forwarded flat out (memif pushing back)
    TrialResult r;
};

void print_header(FILE* f);
void print_row(FILE* f, const ResultRow& row);
bool write_json(const std::string& path, const std::string& machine, const std::vector<ResultRow>& rows);

}  // namespace espgen
