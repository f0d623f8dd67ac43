#!/usr/bin/env bash
# Runs inside Xvfb and the private D-Bus/keyring session (see scripts/e2e.sh): starts the fake
# notification server and tray host, then the scenarios (each starts its own tauri-driver on free ports, with
# its own data directory), and on failure prints what explains it.
set -uo pipefail
/usr/bin/python3 "$(dirname "$0")/fake-notifyd.py" >"$work/notifyd.log" 2>&1 &
notifyd=$!
for _ in $(seq 50); do grep -q ready "$work/notifyd.log" 2>/dev/null && break; sleep 0.1; done
# A tray that shows icons, as on most desktops (the no-tray scenario ends it: $TRIBUTARY_TRAY_HOST_PID).
/usr/bin/python3 "$(dirname "$0")/fake-tray-host.py" >"$work/tray-host.log" 2>&1 &
export TRIBUTARY_TRAY_HOST_PID=$!
for _ in $(seq 50); do grep -q ready "$work/tray-host.log" 2>/dev/null && break; sleep 0.1; done
# TRIBUTARY_E2E_FILES: a subset of the scenario files (while working on one).
# shellcheck disable=SC2086
node --test --test-reporter=tap --test-concurrency=1 --test-timeout=300000 ${TRIBUTARY_E2E_FILES:-tests/e2e/}
status=$?
kill "$notifyd" "$TRIBUTARY_TRAY_HOST_PID" 2>/dev/null
wait "$notifyd" "$TRIBUTARY_TRAY_HOST_PID" 2>/dev/null
if [ "$status" -ne 0 ]; then
  echo "--- notification server"; cat "$work/notifyd.log" "$TRIBUTARY_NOTIFY_LOG" 2>/dev/null | tail -20
  echo "--- scenario logs: $TRIBUTARY_E2E_ARTIFACTS/*.log"
  for f in "$TRIBUTARY_E2E_ARTIFACTS"/*.log; do echo "--- $f (tail)"; tail -25 "$f"; done
fi
exit "$status"
