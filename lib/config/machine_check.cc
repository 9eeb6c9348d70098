// Config checks against the machine espgw runs on (unlike the loader's, which hold anywhere).
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "espgw/config/config.h"

namespace espgw::config {

void check_machine(const Config& c) {
    // With --lcores the mapping to CPUs is the operator's, and EAL checks it itself.
    if (std::find(c.eal_args.begin(), c.eal_args.end(), "--lcores") != c.eal_args.end()) return;
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    const bool known = sched_getaffinity(0, sizeof allowed, &allowed) == 0;
    std::vector<unsigned> ids{c.control_lcore};
    ids.insert(ids.end(), c.worker_lcores.begin(), c.worker_lcores.end());
    for (unsigned id : ids) {
        // EAL's own test for a CPU that exists (eal_cpu_detected), then our affinity.
        const std::string sys = "/sys/devices/system/cpu/cpu" + std::to_string(id) + "/topology/core_id";
        const bool exists = access(sys.c_str(), F_OK) == 0;
        if (!exists || (known && (id >= CPU_SETSIZE || !CPU_ISSET(id, &allowed))))
            throw ConfigError(c.source, c.lcores_line, "lcores",
                              "lcore " + std::to_string(id) + ": this machine has no CPU " + std::to_string(id) +
                                  (exists ? " this process may run on" : "") +
                                  " (EAL maps lcore n to CPU n; map them with --lcores in eal)");
    }
}

}  // namespace espgw::config
