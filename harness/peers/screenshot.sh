#!/usr/bin/env bash
# screenshot.sh — a PNG of an HTML page in headless chromium (the flags of harness/tests/browser/), for the
# comparison page committed under docs/ (docs/peers/README.md).
#
#   harness/peers/screenshot.sh PAGE.html OUT.png [WIDTH,HEIGHT]
set -eu
[ $# -ge 2 ] || { echo "usage: $0 PAGE.html OUT.png [WIDTH,HEIGHT]" >&2; exit 2; }
page=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
out=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
chrome=$(command -v chromium || command -v chromium-browser) || { echo "screenshot.sh: no chromium" >&2; exit 1; }
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
"$chrome" --headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update \
	--disable-sync --disable-quic --no-first-run --disable-dev-shm-usage --user-data-dir="$profile" \
	--hide-scrollbars --virtual-time-budget=3000 --window-size="${3:-1400,1800}" --screenshot="$out" \
	"file://$page" >/dev/null 2>&1
[ -s "$out" ] || { echo "screenshot.sh: chromium wrote no $out" >&2; exit 1; }
echo "screenshot: $out"
