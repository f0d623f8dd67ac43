#!/usr/bin/env bash
# What opening each view costs at 100,000 activities, in the release build (issue 19, item 10):
# CPU seconds of the web process and the app from the click to the first paint with data and a
# second after, and until both are quiet; the median of five, against opening Settings in the
# same run. The full run is outside CI (the release build takes ~12 minutes here, the library
# ~1 minute); CI runs a short one (3,000 activities, one round) on the release build its package
# step made.
#
# Usage: scripts/bench-views.sh [BINARY ...]   (default: target/release/tributary-desktop, built
# when missing). Several binaries are measured one after the other on the same library, e.g. a
# build from before a change against one after it; each result is labelled by its place and
# name. TRIBUTARY_BENCH_LIBRARY reuses a seeded data directory (kept); BENCH_VIEWS_ACTIVITIES
# changes the scale of a new one.
set -euo pipefail
# The binaries, read from where the caller stands, before moving to the tree.
bins=()
for bin in "$@"; do
  if [ ! -x "$bin" ]; then
    echo "bench-views: $bin is not an executable" >&2
    exit 2
  fi
  bins+=("$(realpath -e "$bin")")
done
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2}
activities=${BENCH_VIEWS_ACTIVITIES:-100000}
if [ -n "${TRIBUTARY_BENCH_LIBRARY:-}" ]; then
  lib=$TRIBUTARY_BENCH_LIBRARY
else
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' EXIT
  lib=$scratch/library
fi
# Seeded once: the mark is written only after the whole library is.
if [ ! -f "$lib/seeded" ]; then
  rm -rf "$lib"
  mkdir -p "$lib"
  echo "== Seeding $activities activities into $lib" >&2
  BENCH_QUERY_ACTIVITIES=$activities BENCH_QUERY_SEED_DIR="$lib" \
    cargo test --quiet -p tributary-core --bench queries
  echo "$activities" >"$lib/seeded"
fi
if [ ${#bins[@]} -eq 0 ]; then
  if [ ! -x target/release/tributary-desktop ]; then
    scripts/build-ui.sh --install-only
    ui/node_modules/.bin/tauri build --ci --no-bundle
  fi
  bins=("$PWD/target/release/tributary-desktop")
fi
i=0
for bin in "${bins[@]}"; do
  i=$((i + 1))
  echo "== $bin" >&2
  TRIBUTARY_APP_BIN=$bin TRIBUTARY_BENCH_LIBRARY="$lib" TRIBUTARY_BENCH_ACTIVITIES="$(cat "$lib/seeded")" \
    TRIBUTARY_BENCH_LABEL="$i-$(basename "$bin")" TRIBUTARY_E2E_FILES=tests/bench/views.bench.mjs \
    scripts/e2e.sh
done
