#!/usr/bin/env bash
# Installs what building, running and testing Tributary needs on Debian/Ubuntu, skipping what is
# already there. Safe to run again. Usage: scripts/setup-debian.sh [run|package|test]
set -euo pipefail
purpose=${1:-run}

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

packages=(
  # Rust builds, the CLI demo and its throwaway Secret Service
  build-essential pkg-config curl ca-certificates file dbus-daemon dbus-user-session gnome-keyring
  # the desktop app (Tauri 2 on WebKitGTK 4.1)
  libwebkit2gtk-4.1-dev libjavascriptcoregtk-4.1-dev libsoup-3.0-dev libgtk-3-dev
  libayatana-appindicator3-dev librsvg2-dev libxdo-dev xdg-utils desktop-file-utils
  # the UI build
  nodejs npm
)
if [ "$purpose" = package ] || [ "$purpose" = test ]; then
  # scripts/package.sh: the shared-library dependencies of the binaries (dpkg-shlibdeps)
  packages+=(dpkg-dev)
fi
if [ "$purpose" = test ]; then
  # the package's install test: its checks (lintian, appstreamcli, systemd-analyze, rpm's query)
  packages+=(lintian appstream systemd rpm libglib2.0-bin)
  # a real window without a display, and WebDriver for WebKit; the e2e suite's X11 window helper
  # and fake desktop-notification server (python3-xlib, python3-dbus, python3-gi)
  packages+=(xvfb xauth webkit2gtk-driver fonts-dejavu-core python3-xlib python3-dbus python3-gi)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# A Node.js that did not come from Debian's package counts as present.
if command -v node >/dev/null 2>&1; then
  missing=("${missing[@]/nodejs/}")
  missing=("${missing[@]/npm/}")
fi
read -r -a missing <<<"${missing[*]}"
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}" >&2
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "The UI build needs Node.js 20 or newer (found ${node_major}); install it (e.g. from NodeSource) and run again." >&2
  exit 1
fi

if ! command -v cargo >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/cargo" ]; then
  echo "installing the Rust toolchain with rustup" >&2
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c clippy,rustfmt
fi
export PATH="$HOME/.cargo/bin:$PATH"
if [ "$purpose" = test ]; then
  rustup component list --installed 2>/dev/null | grep -q clippy || rustup component add clippy rustfmt
  command -v tauri-driver >/dev/null 2>&1 || cargo install tauri-driver --locked --version 2.1.0
fi
