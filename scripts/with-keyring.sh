#!/usr/bin/env bash
# Runs a command inside a private D-Bus session with a fresh, unlocked gnome-keyring (a throwaway
# Secret Service), as CI and the sandbox demo need. Usage: scripts/with-keyring.sh CMD [ARGS...]
set -euo pipefail
if [ -z "${TRIBUTARY_IN_KEYRING_SESSION:-}" ]; then
  export TRIBUTARY_IN_KEYRING_SESSION=1
  # A fresh keyring directory: an old login.keyring with another password would stay locked.
  XDG_DATA_HOME=$(mktemp -d) exec dbus-run-session -- "$0" "$@"
fi
echo -n "tributary-throwaway" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
exec "$@"
