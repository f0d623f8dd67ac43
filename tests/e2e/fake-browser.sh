#!/usr/bin/env bash
# Stands in for the system browser in end-to-end tests. Opened (through xdg-open's $BROWSER) with
# the sandbox's authorize URL, it approves like an athlete would, then delivers the redirect the
# way the OS does for a registered scheme: by launching the app binary with the deep link, which
# the single-instance plugin forwards to the running app.
set -euo pipefail
url=$1
log=${TRIBUTARY_E2E_LOG:-/dev/null}
echo "browser: opened $url" >>"$log"
page=$(curl -fsS "$url")
href=$(printf '%s' "$page" | grep -o 'id="approve" href="[^"]*"' | sed -e 's/.*href="//' -e 's/"$//' -e 's/&amp;/\&/g')
location=$(curl -fsS -o /dev/null -w '%{redirect_url}' "$(dirname "${url%%\?*}")/$href")
echo "browser: redirected to ${location%%\?*}" >>"$log"
case "$location" in
  # A loopback redirect (Google's desktop clients): the app is listening on it.
  http://*) curl -fsS -o /dev/null "$location" >>"$log" 2>&1 & ;;
  *) "$TRIBUTARY_APP_BIN" "$location" >>"$log" 2>&1 & ;;
esac
