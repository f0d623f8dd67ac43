#!/usr/bin/env bash
# Runs inside Xvfb and the private D-Bus/keyring session (see scripts/e2e.sh): starts
# tauri-driver, runs the tests, and on failure prints the logs that explain it.
set -uo pipefail
tauri-driver --port 4444 >"$work/driver.log" 2>&1 &
driver=$!
for _ in $(seq 100); do curl -fs http://127.0.0.1:4444/status >/dev/null 2>&1 && break; sleep 0.1; done
node --test --test-concurrency=1 tests/e2e/
status=$?
kill "$driver" 2>/dev/null
wait "$driver" 2>/dev/null
if [ "$status" -ne 0 ]; then
  echo "--- browser stand-in log"; cat "$TRIBUTARY_E2E_LOG" 2>/dev/null
  echo "--- tauri-driver and app log (tail)"; tail -40 "$work/driver.log"
fi
exit "$status"
