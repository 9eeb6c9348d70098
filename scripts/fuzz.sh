#!/usr/bin/env bash
# Builds the libFuzzer targets (build-fuzz/, clang, ASan + UBSan, see tests/fuzz/: the IKE
# engine, the data plane's ports and reassembly, the config loader) and runs each for FUZZ_SECONDS (default 60) on a copy of its seed corpus
# (tests/fuzz/corpus/<target>/ stays as checked in). Any crash, sanitizer report, leak,
# timeout or out-of-memory fails the target; its input is kept in
# build-fuzz/fuzz-artifacts/<target>/ (replay: build-fuzz/tests/fuzz/<target> <file>).
# Prints one line per target, "fuzz <target>: ok (N runs)" or "fuzz <target>: FAILED (...)",
# and exits non-zero if any failed.
# FUZZ_TARGETS="fuzz_ike_message ..." runs only those.
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-60}
all="fuzz_ike_message fuzz_ike_responder fuzz_ike_crypto_parsers fuzz_dp_public fuzz_dp_inside fuzz_dp_reassembly fuzz_config"
read -r -a targets <<< "${FUZZ_TARGETS:-$all}"
declare -A max_len=([fuzz_ike_message]=8192 [fuzz_ike_responder]=8192 [fuzz_ike_crypto_parsers]=4096
                    [fuzz_dp_public]=16384 [fuzz_dp_inside]=16384 [fuzz_dp_reassembly]=2048 [fuzz_config]=8192)

if [ ! -f build-fuzz/build.ninja ]; then
    CXX=clang++ nice -n 10 meson setup build-fuzz -Dfuzz=true -Dbuildtype=debugoptimized -Dwerror=true >/dev/null ||
        { echo "fuzz build: FAILED (meson setup build-fuzz)"; exit 1; }
fi
nice -n 10 ninja -C build-fuzz $(printf 'tests/fuzz/%s ' "${targets[@]}") >/dev/null ||
    { echo "fuzz build: FAILED (ninja -C build-fuzz)"; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
for t in "${targets[@]}"; do
    artifacts=build-fuzz/fuzz-artifacts/$t
    rm -rf "$artifacts"
    mkdir -p "$artifacts"
    cp -r "tests/fuzz/corpus/$t" "$work/$t"
    log=$work/$t.log
    # Leaks are found per input (-detect_leaks) and at exit; UBSan reports abort (the build
    # has -fno-sanitize-recover=undefined).
    ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$PWD/tests/fuzz/lsan.supp UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        nice -n 10 "build-fuzz/tests/fuzz/$t" -max_total_time="$seconds" -max_len="${max_len[$t]:-4096}" \
        -timeout=10 -rss_limit_mb=2048 -detect_leaks=1 -print_final_stats=1 \
        -artifact_prefix="$artifacts/" "$work/$t" >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    cov=$(grep -o 'cov: [0-9]* ft: [0-9]* corp: [0-9/]*[a-zA-Z]*' "$log" | tail -n 1)
    crash=$(find "$artifacts" -type f | head -n 1)
    if [ "$rc" -eq 0 ] && [ -z "$crash" ]; then
        echo "  $t: $cov"
        echo "fuzz $t: ok (${runs:-0} runs)"
    else
        cp "$log" "$artifacts/fuzz.log"
        grep -E 'ERROR|SUMMARY|fuzz check failed|runtime error|^ +#[0-4] ' "$log" | head -n 9 | sed 's/^/  /'
        echo "fuzz $t: FAILED (crash file ${crash:-none}, exit $rc, log $artifacts/fuzz.log)"
        failed=1
    fi
done
exit "$failed"
