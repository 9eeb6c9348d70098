// Owning handles for the OpenSSL objects the certificate code juggles, and OpenSSL's error
// queue turned into one message. Internal to lib/ike.
#pragma once

#include <openssl/err.h>

#include <memory>
#include <string>
#include <string_view>

namespace espgw::ike::ossl {

// unique_ptr<T, Free<T_free>>: frees with the OpenSSL function named.
template <auto FreeFn>
struct Free {
    template <typename T>
    void operator()(T* p) const {
        FreeFn(p);
    }
};
template <typename T, auto FreeFn>
using Handle = std::unique_ptr<T, Free<FreeFn>>;

// "what: <OpenSSL's reason>", and the queue emptied so that the next failure is not
// blamed on this one.
inline std::string error(std::string_view what) {
    std::string text(what);
    if (const unsigned long e = ERR_peek_last_error(); e != 0) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        text += ": ";
        text += buf;
    }
    ERR_clear_error();
    return text;
}

}  // namespace espgw::ike::ossl
