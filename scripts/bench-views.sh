#!/usr/bin/env bash
# What opening each view costs at 100,000 activities, in the release build (issue 19, item 10):
# CPU seconds of the web process and the app from the click to the first paint with data and a
# second after, the median of five, against opening Settings in the same run. Outside CI (the
# release build takes ~12 minutes here; the library ~1 minute).
#
# Usage: scripts/bench-views.sh [BINARY ...]   (default: target/release/tributary-desktop, built
# when missing). Several binaries are measured one after the other on the same library, e.g. a
# build from before a change against one after it. TRIBUTARY_BENCH_LIBRARY reuses a seeded data
# directory; BENCH_VIEWS_ACTIVITIES changes the scale.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2}
lib=${TRIBUTARY_BENCH_LIBRARY:-$(mktemp -d)/library}
if [ ! -f "$lib/tributary.db" ]; then
  mkdir -p "$lib"
  echo "== Seeding ${BENCH_VIEWS_ACTIVITIES:-100000} activities into $lib" >&2
  BENCH_QUERY_ACTIVITIES=${BENCH_VIEWS_ACTIVITIES:-100000} BENCH_QUERY_SEED_DIR="$lib" \
    cargo test --quiet -p tributary-core --bench queries
fi
if [ ! -x target/release/tributary-desktop ]; then
  scripts/build-ui.sh --install-only
  ui/node_modules/.bin/tauri build --ci --no-bundle
fi
# The stand-in browser and provider emulator the session starts are the debug ones.
[ -x target/debug/tributary-sandbox ] || cargo build -p tributary-sandbox
bins=("$@")
[ ${#bins[@]} -gt 0 ] || bins=(target/release/tributary-desktop)
for bin in "${bins[@]}"; do
  echo "== $bin" >&2
  TRIBUTARY_APP_BIN=$(realpath "$bin") TRIBUTARY_BENCH_LIBRARY="$lib" \
    TRIBUTARY_BENCH_LABEL=$(basename "$bin") TRIBUTARY_E2E_FILES=tests/bench/views.bench.mjs \
    scripts/e2e.sh
done
