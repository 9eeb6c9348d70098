// GoogleTest main for unit tests that need DPDK (mbufs, hash, lpm, rcu): a small EAL with no
// hugepages, no PCI and no shared files, so tests can run anywhere and in parallel.
#include <gtest/gtest.h>
#include <rte_eal.h>
#include <unistd.h>

#include <filesystem>
#include <string>

int main(int argc, char** argv) {
    testing::InitGoogleTest(&argc, argv);
    std::string prefix = "espgw-unit-" + std::to_string(getpid());
    const char* eal[] = {"unit", "--no-pci", "--no-huge", "-m", "512", "--no-shconf", "--no-telemetry",
                         "-l", "0", "--log-level", "lib.eal:error", "--file-prefix", prefix.c_str()};
    if (rte_eal_init(static_cast<int>(std::size(eal)), const_cast<char**>(eal)) < 0) {
        fprintf(stderr, "rte_eal_init failed\n");
        return 1;
    }
    const int rc = RUN_ALL_TESTS();
    rte_eal_cleanup();
    // EAL leaves its runtime directory behind even with --no-shconf.
    const std::string dir = "/var/run/dpdk/" + prefix;
    std::filesystem::remove_all(dir);
    return rc;
}
