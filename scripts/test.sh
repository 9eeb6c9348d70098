#!/usr/bin/env bash
# Sets everything up, builds, and runs every test (unit and end-to-end).
# Prints "N passed, M failed" last and exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh || { echo "0 passed, 1 failed"; exit 1; }
bash scripts/build.sh || { echo "0 passed, 1 failed"; exit 1; }

meson test -C build --print-errorlogs --num-processes 1 "$@"
rc=$?
log=build/meson-logs/testlog.json
passed=$(grep -c '"result": "OK"' "$log" 2>/dev/null); passed=${passed:-0}
failed=$(grep -cE '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$log" 2>/dev/null); failed=${failed:-0}
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "$passed passed, $failed failed"
[ "$rc" -eq 0 ] && [ "$failed" -eq 0 ]
