#!/usr/bin/env bash
# The package's install test (run by scripts/test.sh after scripts/package.sh --bundles deb):
# installs the .deb with apt, checks it as a new user with a home of its own (the binaries'
# --version, the man pages, the user unit, the installed app under Xvfb: its dashboard and
# sign-in links opened three ways), runs lintian and appstreamcli on it, removes it, and finds
# nothing of it left under /usr. Needs root (or sudo) for apt and the throwaway user.
# Usage: scripts/install-test.sh PACKAGE.deb
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
deb=$(realpath "$1")
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
export PATH="$HOME/.cargo/bin:$PATH"

failures=0
check() { # name command...
  local name=$1
  shift
  if "$@"; then
    echo "ok - $name"
  else
    echo "not ok - $name"
    failures=$((failures + 1))
  fi
}

package=$(dpkg-deb --field "$deb" Package)
version=$(dpkg-deb --field "$deb" Version)
workspace_version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
echo "== $package $version ($(du -k "$deb" | cut -f1) KiB): $deb"
check "the package's version is the workspace's ($workspace_version)" test "$version" = "$workspace_version"

echo "== lintian"
# Errors fail the test; warnings are printed for the closing note.
lintian_out=$(lintian --allow-root --tag-display-limit 0 "$deb" 2>&1 || true)
echo "${lintian_out:-(no tags)}"
check "lintian reports no error" bash -c '! grep -q "^E:" <<<"$1"' _ "$lintian_out"

echo "== install with apt"
if dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
  as_root env DEBIAN_FRONTEND=noninteractive apt-get remove --purge -y -qq "$package" >/dev/null
fi
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$deb" >/dev/null
files=$(dpkg -L "$package" | while read -r f; do if [ -f "$f" ]; then echo "$f"; fi; done)
echo "$files" | sed 's/^/  /'

check "AppStream metadata is valid" appstreamcli validate --no-net /usr/share/metainfo/app.tributary.Tributary.metainfo.xml
check "the desktop entry is valid" desktop-file-validate /usr/share/applications/Tributary.desktop
check "the user unit verifies" systemd-analyze verify /usr/lib/systemd/user/tributary-agent.service
check "the user unit is not enabled by the package" test ! -e /etc/systemd/user/default.target.wants/tributary-agent.service
check "both binaries are stripped" bash -c 'for b in /usr/bin/tributary /usr/bin/tributary-desktop; do file "$b" | grep -q ", stripped" || exit 1; done'
check "the man pages are there" bash -c 'for p in tributary tributary-desktop tributary-agent; do zcat /usr/share/man/man1/$p.1.gz | grep -q "^.TH" || exit 1; done'
check "icons in the hicolor sizes" bash -c 'for s in 32x32 128x128 256x256 512x512; do test -f /usr/share/icons/hicolor/$s/apps/tributary-desktop.png || exit 1; done'

echo "== as a new user"
user=tributary-install-test
as_root userdel --remove "$user" 2>/dev/null || true
as_root useradd --create-home --shell /bin/bash "$user"
home=$(getent passwd "$user" | cut -d: -f6)
# What the user runs: the WebDriver client and tauri-driver, copied where the user can read them.
kit=$(mktemp -d)
cp tests/install/installed-app.mjs tests/e2e/webdriver.mjs "$kit/"
cp "$(command -v tauri-driver)" "$kit/tauri-driver"
chmod -R a+rX "$kit"
# A login session's runtime folder (tray icons and D-Bus sockets go there), private to the user.
runtime=$(mktemp -d)
chmod 700 "$runtime"
as_root chown "$user" "$runtime"
as_user() { as_root runuser -u "$user" -- env -i HOME="$home" USER="$user" XDG_RUNTIME_DIR="$runtime" PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 "$@"; }

# Each asked with no display: they must answer without starting a window.
cli_version=$(as_user tributary --version || true)
check "tributary --version says $version" test "$cli_version" = "tributary $version"
app_version=$(as_user timeout 10 tributary-desktop --version || true)
check "tributary-desktop --version answers without a display" test "$app_version" = "tributary-desktop $version"
app_help=$(as_user timeout 10 tributary-desktop --help || true)
check "tributary-desktop --help answers without a display" grep -q "^Usage: tributary-desktop" <<<"$app_help"

# The app under Xvfb, in the user's own D-Bus session with an unlocked keyring (as a desktop
# login gives). The app's log is left in the user's home.
session='echo -n throwaway | gnome-keyring-daemon --unlock --components=secrets >/dev/null
exec node --test --test-reporter=tap --test-concurrency=1 "$KIT/installed-app.mjs"'
if as_user KIT="$kit" TAURI_DRIVER="$kit/tauri-driver" \
  xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- bash -c "$session"; then
  echo "ok - the installed app: dashboard and sign-in links"
else
  echo "not ok - the installed app: dashboard and sign-in links"
  failures=$((failures + 1))
  as_root tail -40 "$home/app.log" 2>/dev/null || true
fi
as_root pkill -KILL -u "$user" 2>/dev/null || true
sleep 1
as_root userdel --remove "$user" 2>/dev/null || true
as_root rm -rf "$kit" "$runtime"

echo "== remove"
as_root env DEBIAN_FRONTEND=noninteractive apt-get remove --purge -y -qq "$package" >/dev/null
left=$(while read -r f; do if [ -e "$f" ]; then echo "$f"; fi; done <<<"$files")
check "every file the package installed is gone" test -z "$left"
left_usr=$(find /usr -iname '*tributary*' 2>/dev/null; grep -rls 'tributary' /usr/share/applications/mimeinfo.cache 2>/dev/null || true)
check "nothing named tributary is left under /usr" test -z "$left_usr"
[ -z "$left$left_usr" ] || echo "$left $left_usr"

if [ "$failures" -gt 0 ]; then
  echo "== install test: $failures failed"
  exit 1
fi
echo "== install test: all passed"
