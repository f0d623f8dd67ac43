#!/usr/bin/env bash
# The README's test command: sets up, then runs every check and test CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-debian.sh test
[ -d "$HOME/.cargo/bin" ] && export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2}
start=$(date +%s)

echo "== Formatting and lints"
cargo fmt --all --check
cargo clippy --workspace --all-targets --quiet -- -D warnings

echo "== The core never depends on tauri"
if cargo tree -p tributary-core -e normal --prefix none | grep -i '^tauri'; then
  echo "tributary-core depends on tauri" >&2
  exit 1
fi

echo "== Tests (the keyring tests run against a real gnome-keyring in a private D-Bus session)"
log=$(mktemp)
# --lib --bins --tests: every test target, without the (empty) doc-test pass and without benches.
scripts/with-keyring.sh cargo test --workspace --lib --bins --tests -- --include-ignored 2>&1 | tee "$log"
passed=$(grep -Eo '[0-9]+ passed' "$log" | awk '{s+=$1} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed' "$log" | awk '{s+=$1} END {print s+0}')
rm -f "$log"

echo "== All checks passed in $(( $(date +%s) - start )) s"
echo "tests: $passed passed, $failed failed"
