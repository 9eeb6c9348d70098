// What the fuzz targets share: OpenSSL's randomness made deterministic (a fuzz input must
// replay to the same run: key generation, nonces, SPIs, IVs and cookie secrets all come
// from it), a reader that takes fields off the front of the input (so that seeds are easy
// to write, see fuzz_seeds.cc), and a check that stops the run when a property fails.
//
// Built with -DOPENSSL_SUPPRESS_DEPRECATED (tests/fuzz/meson.build): RAND_METHOD is
// deprecated in OpenSSL 3, and it is the one way to take over every RAND_bytes and
// RAND_priv_bytes call, the providers' key generation included.
#pragma once

#include <openssl/rand.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <vector>

namespace espgw::fuzz {

// A property that must hold: print what failed and abort (libFuzzer saves the input).
#define FUZZ_CHECK(cond)                                                                       \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            std::fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__, __LINE__, #cond); \
            std::abort();                                                                      \
        }                                                                                      \
    } while (0)

// --- Deterministic randomness --------------------------------------------------------------

namespace detail {
inline uint64_t& rng_state() {
    static uint64_t s = 0;
    return s;
}
// splitmix64: not for real keys, only a fixed stream per seed.
inline uint64_t next_random() {
    uint64_t z = (rng_state() += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
inline int rand_bytes(unsigned char* buf, int num) {
    for (int i = 0; i < num; ++i) buf[i] = static_cast<unsigned char>(next_random() >> 56);
    return 1;
}
inline int rand_seed(const void*, int) { return 1; }
inline int rand_add(const void*, int, double) { return 1; }
inline int rand_status() { return 1; }
}  // namespace detail

// From here on OpenSSL's random numbers are the fixed stream of `seed`; call at the start of
// every input.
inline void deterministic_random(uint64_t seed) {
    static RAND_METHOD method = {detail::rand_seed, detail::rand_bytes, nullptr,
                                 detail::rand_add,  detail::rand_bytes, detail::rand_status};
    static const bool installed = [] {
        // The default method first: set over an unresolved one, ours makes OpenSSL's
        // cleanup at exit leak (LeakSanitizer would report it after every replay).
        (void)RAND_get_rand_method();
        return RAND_set_rand_method(&method) == 1;
    }();
    if (!installed) std::abort();
    detail::rng_state() = seed;
}

// --- Reading the input ---------------------------------------------------------------------

// Fields off the front of the input; past its end every read gives zeros / empty.
class Reader {
public:
    Reader(const uint8_t* data, size_t size) : p_(data), left_(size) {}
    bool empty() const { return left_ == 0; }
    size_t left() const { return left_; }
    uint8_t u8() {
        if (!left_) return 0;
        --left_;
        return *p_++;
    }
    uint16_t u16() {
        const uint16_t hi = u8();
        return static_cast<uint16_t>(hi << 8 | u8());
    }
    // Up to n octets (fewer at the end of the input).
    std::span<const uint8_t> bytes(size_t n) {
        if (n > left_) n = left_;
        std::span<const uint8_t> s(p_, n);
        p_ += n;
        left_ -= n;
        return s;
    }
    // A 16-bit length, then that many octets.
    std::vector<uint8_t> blob() {
        const auto s = bytes(u16());
        return {s.begin(), s.end()};
    }
    std::span<const uint8_t> rest() { return bytes(left_); }

private:
    const uint8_t* p_;
    size_t left_;
};

}  // namespace espgw::fuzz
