#!/usr/bin/env bash
# Installs what building, running and testing Tributary needs on Debian/Ubuntu, skipping what is
# already there. Safe to run again. Usage: scripts/setup-debian.sh [run|test]
set -euo pipefail
purpose=${1:-run}

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Build tools, curl for the sandbox demo, and a Secret Service (gnome-keyring) in a D-Bus session.
packages=(build-essential pkg-config curl ca-certificates dbus-daemon dbus-user-session gnome-keyring)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}" >&2
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  [ -x "$HOME/.cargo/bin/cargo" ] || {
    echo "installing the Rust toolchain with rustup" >&2
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c clippy,rustfmt
  }
fi
if [ "$purpose" = test ] && command -v rustup >/dev/null 2>&1; then
  rustup component list --installed 2>/dev/null | grep -q clippy || rustup component add clippy rustfmt
fi
