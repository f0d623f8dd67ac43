#!/usr/bin/env bash
# Plays the athlete in the sandbox: opens an authorize URL, clicks "Authorize" (or another link
# by id, e.g. `deny`), and follows the redirect to Tributary's loopback listener, as a browser would.
# Usage: scripts/sandbox-approve.sh AUTHORIZE_URL [approve|deny|approve-without-activities]
set -euo pipefail
url=$1
choice=${2:-approve}
page=$(curl -fsS "$url")
href=$(printf '%s' "$page" | grep -o "id=\"$choice\" href=\"[^\"]*\"" | sed -e 's/.*href="//' -e 's/"$//' -e 's/&amp;/\&/g')
[ -n "$href" ] || { echo "no '$choice' link on the authorize page" >&2; exit 1; }
approve="$(dirname "${url%%\?*}")/$href"
redirect=$(curl -fsS -o /dev/null -w '%{redirect_url}' "$approve")
[ -n "$redirect" ] || { echo "the sandbox did not redirect" >&2; exit 1; }
# Deliver the redirect to the waiting app; its answer is the page a browser would show.
curl -fsS --retry 3 --retry-connrefused "$redirect"
echo
