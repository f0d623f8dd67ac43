#!/usr/bin/env bash
# The README's run command. Sets up, builds, and opens the Tributary desktop app: against your own
# provider API apps when their credentials are configured, otherwise in the labelled sandbox demo.
#   scripts/run.sh --cli   runs the command-line demo instead (no display needed).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-debian.sh run
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2}

if [ "${1:-}" = --cli ]; then
  exec scripts/cli-demo.sh
fi

scripts/build-ui.sh
cargo build --quiet -p tributary-desktop
app=target/debug/tributary-desktop
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "No display: the desktop app needs a graphical session. Try: scripts/run.sh --cli" >&2
  exit 1
fi
# Use the desktop session's keyring when it has one; otherwise a throwaway one, so the demo
# still runs (its tokens are fake anyway).
if dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.ListActivatableNames 2>/dev/null | grep -q org.freedesktop.secrets \
  || dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.ListNames 2>/dev/null | grep -q org.freedesktop.secrets; then
  exec "$app"
fi
echo "No Secret Service in this session: using a throwaway keyring for this run." >&2
exec scripts/with-keyring.sh "$app"
