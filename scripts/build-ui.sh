#!/usr/bin/env bash
# Installs the UI's npm packages (exactly as locked) and builds ui/dist, which the desktop binary
# embeds at compile time. `--install-only` installs the packages and stops (scripts/package.sh
# needs the pinned Tauri CLI from them before anything is built).
set -euo pipefail
cd "$(dirname "$0")/../ui"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
[ "${1:-}" = --install-only ] && exit 0
npm run --silent build
