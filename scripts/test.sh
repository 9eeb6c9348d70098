#!/usr/bin/env bash
# Sets everything up, builds, and runs every test: unit and end-to-end tests on the release
# build, then the unit tests and the scapy end-to-end tests again built with AddressSanitizer +
# UndefinedBehaviorSanitizer (build-san/; skip with ESPGW_NO_SANITIZERS=1), then the libFuzzer targets for
# FUZZ_SECONDS each (default 30; build-fuzz/, clang; skip with ESPGW_NO_FUZZ=1), as one test.
# Prints "N passed, M failed" last and exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh || { echo "0 passed, 1 failed"; exit 1; }
bash scripts/build.sh || { echo "0 passed, 1 failed"; exit 1; }

count() {  # $1: a meson testlog.json; prints "passed failed"
    local p f
    p=$(grep -c '"result": "OK"' "$1" 2>/dev/null); p=${p:-0}
    f=$(grep -cE '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$1" 2>/dev/null); f=${f:-0}
    echo "$p $f"
}

meson test -C build --print-errorlogs --num-processes 1 "$@"
rc=$?
read -r passed failed < <(count build/meson-logs/testlog.json)
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi

if [ "${ESPGW_NO_SANITIZERS:-0}" != 1 ]; then
    echo "== unit tests under ASan + UBSan (build-san/)"
    san_rc=0
    if [ ! -f build-san/build.ninja ]; then
        meson setup build-san --buildtype=debugoptimized -Dsanitizers=true >/dev/null || san_rc=1
    fi
    # Only what the unit tests need: the library, the test programs (the list read after
    # build.ninja is regenerated, so tests added since the last run are in it).
    [ "$san_rc" -eq 0 ] && { ninja -C build-san build.ninja >/dev/null || san_rc=1; }
    [ "$san_rc" -eq 0 ] && { ninja -C build-san $(cd build-san && ninja -t targets all | grep -o '^tests/unit/test_[a-z0-9_]*' | sort -u) || san_rc=1; }
    if [ "$san_rc" -eq 0 ]; then
        # LeakSanitizer stays on: a leak in our code fails the test.
        ASAN_OPTIONS=abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
            meson test -C build-san --no-rebuild --print-errorlogs --num-processes 1 --suite unit
        san_rc=$?
    fi
    read -r p f < <(count build-san/meson-logs/testlog.json)
    if [ "$san_rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    passed=$((passed + p)); failed=$((failed + f)); rc=$((rc | san_rc))

    # The scapy end-to-end tests against an espgw built with the sanitizers: a report makes
    # espgw write it to $reports (it may keep running, or abort), and either fails the pass.
    echo "== scapy end-to-end tests with espgw under ASan + UBSan (build-san/)"
    reports=$(mktemp -d)
    e2e_rc=0
    ninja -C build-san src/espgw >/dev/null || e2e_rc=1
    if [ "$e2e_rc" -eq 0 ]; then
        ASAN_OPTIONS=log_path=$reports/asan UBSAN_OPTIONS=print_stacktrace=1:log_path=$reports/ubsan \
            meson test -C build-san --no-rebuild --print-errorlogs --num-processes 1 \
            scapy_peer scapy_peer_pcap fragment_flood
        e2e_rc=$?
    fi
    read -r p f < <(count build-san/meson-logs/testlog.json)
    if [ -n "$(ls -A "$reports")" ]; then
        echo "sanitizer reports from espgw:"; cat "$reports"/*; f=$((f + 1)); e2e_rc=1
    fi
    rm -rf "$reports"
    if [ "$e2e_rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    passed=$((passed + p)); failed=$((failed + f)); rc=$((rc | e2e_rc))
fi

if [ "${ESPGW_NO_FUZZ:-0}" != 1 ]; then
    secs=${FUZZ_SECONDS:-30}
    echo "== fuzz targets, $secs s each (build-fuzz/)"
    if FUZZ_SECONDS="$secs" timeout --foreground $((8 * secs + 900)) bash scripts/fuzz.sh; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1)); rc=1
    fi
fi

echo "$passed passed, $failed failed"
[ "$rc" -eq 0 ] && [ "$failed" -eq 0 ]
