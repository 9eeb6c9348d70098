// The config loader on arbitrary text: libconfig's parser, then every setting's checks (types,
// ranges, addresses, prefixes, ports, SAs, policies, IKE connections, pools). Whatever the
// text, the loader either returns a config or throws ConfigError naming the file, a line
// within the text and what is wrong; no other exception, no crash, no sanitizer report.
// (The loader reads no files except a connection's certificates and keys, named relative to
// the config: here relative to a directory that does not exist.)
//
// Input: the text of a config file.
#include <algorithm>
#include <exception>
#include <string>

#include "espgw/config/config.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    const int lines = static_cast<int>(std::count(text.begin(), text.end(), '\n')) + 1;
    try {
        const espgw::config::Config c = espgw::config::load_config_string(text, "/nonexistent/fuzz.conf");
        FUZZ_CHECK(!c.worker_lcores.empty());
        FUZZ_CHECK(c.reassembly_mbufs > 0 && c.reassembly_mbufs <= c.mbufs / 2);
    } catch (const espgw::config::ConfigError& e) {
        FUZZ_CHECK(e.file() == "/nonexistent/fuzz.conf");
        FUZZ_CHECK(e.line() >= 0 && e.line() <= lines);
        FUZZ_CHECK(std::string(e.what()).size() > e.file().size() + 2);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "not a ConfigError: %s\n", e.what());
        FUZZ_CHECK(!"the loader threw something other than ConfigError");
    }
    return 0;
}
