// Operator log: one line per event on stderr, with a UTC timestamp. Never used by workers
// on the packet path (they count; the control core logs).
#pragma once

#include <cstdarg>
#include <cstdio>
#include <ctime>

namespace espgw {

__attribute__((format(printf, 1, 2))) inline void log_line(const char* fmt, ...) {
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    tm t;
    gmtime_r(&ts.tv_sec, &t);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &t);
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s.%03ldZ espgw: %s\n", stamp, ts.tv_nsec / 1000000, msg);
}

}  // namespace espgw
