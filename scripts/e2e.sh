#!/usr/bin/env bash
# End-to-end tests: the real desktop app in a real WebKit window under Xvfb, driven through
# tauri-driver and WebKitWebDriver, in sandbox mode, inside a private D-Bus session with a fresh
# gnome-keyring. Assumes the app and UI are built (scripts/test.sh builds them first).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d)
# TRIBUTARY_PROFILE=release runs the release build (built beforehand; e.g. for the footprint figures).
export TRIBUTARY_PROFILE=${TRIBUTARY_PROFILE:-debug}
# TRIBUTARY_APP_BIN: another binary (scripts/bench-views.sh compares two builds).
export TRIBUTARY_APP_BIN=${TRIBUTARY_APP_BIN:-"$root/target/$TRIBUTARY_PROFILE/tributary-desktop"}
# A blank Tauri 2 window from the same build: the footprint scenario's baseline.
export TRIBUTARY_BLANK_BIN="$root/target/$TRIBUTARY_PROFILE/examples/blank"
# The standalone provider emulator: the real-mode scenario points the app's endpoints at it.
export TRIBUTARY_SANDBOX_BIN="$root/target/debug/tributary-sandbox"
export TRIBUTARY_DATA_DIR="$work/data" XDG_CONFIG_HOME="$work/config"
export TRIBUTARY_MODE=sandbox
# xdg-open hands web URLs to $BROWSER when no desktop environment is running: our stand-in.
export BROWSER="$root/tests/e2e/fake-browser.sh"
export TRIBUTARY_E2E_LOG="$work/browser.log"
export TRIBUTARY_E2E_ARTIFACTS="$root/artifacts/e2e"
# Desktop notifications land in a fake org.freedesktop.Notifications server's log.
export TRIBUTARY_NOTIFY_LOG="$work/notifications.log"
# While this file exists, the fake server "clicks" each notification it shows.
export TRIBUTARY_NOTIFY_CLICK_FLAG="$work/notify-click"
mkdir -p "$TRIBUTARY_E2E_ARTIFACTS"

export work
xvfb-run -a -s "-screen 0 1280x800x24" scripts/with-keyring.sh tests/e2e/in-session.sh
