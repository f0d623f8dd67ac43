#!/usr/bin/env bash
# The command-line demo (scripts/run.sh --cli): builds and runs Tributary's main job with the CLI:
# - with your own Strava API app configured (TRIBUTARY_STRAVA_CLIENT_ID/_SECRET): connects in
#   your browser, syncs and shows the history;
# - otherwise: the sandbox demo, where a script plays the athlete on the sandbox's consent page.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --bin tributary
bin=target/debug/tributary

if [ -n "${TRIBUTARY_STRAVA_CLIENT_ID:-}" ] && [ -n "${TRIBUTARY_STRAVA_CLIENT_SECRET:-}" ]; then
  "$bin" connect strava
  "$bin" sync strava
  exec "$bin" history strava
fi

demo() {
  local urlfile
  urlfile=$(mktemp)
  echo "== Sandbox demo: no provider credentials configured; using the built-in Strava emulator."
  "$bin" --sandbox connect strava --no-browser >"$urlfile" &
  local pid=$!
  for _ in $(seq 100); do [ -s "$urlfile" ] && break; sleep 0.1; done
  echo "== Playing the athlete: approving $(head -c 80 "$urlfile")…"
  scripts/sandbox-approve.sh "$(head -1 "$urlfile")" >/dev/null
  wait "$pid"
  rm -f "$urlfile"
  echo "== Sync"
  "$bin" --sandbox sync strava
  echo "== History"
  "$bin" --sandbox history strava
  echo "== Latest activities"
  "$bin" --sandbox activities --limit 5
  echo "== Explore: $bin --sandbox summary | connections | activities --json (run scripts/run.sh --cli again to reconnect and sync)"
}
export -f demo
export bin
# The demo's tokens are fake: keep them in a throwaway keyring, never in your own.
exec scripts/with-keyring.sh bash -c demo
