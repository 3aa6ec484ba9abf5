#!/usr/bin/env bash
# scripts/check-html.sh - loads one lesson's timeline page in headless
# Chromium and checks it; `make check-html` and `make pictures` run it.
#
#   scripts/check-html.sh [--arrows N] [--png FILE] PROGRAM [ARGS...]
#
# Runs PROGRAM ARGS --trace T.json --html P.html (into build/html/NAME/),
# then fails unless:
#   - the program exits 0;
#   - the page names no http: or https: anywhere, and has no src, href,
#     @import or url() but url(#id), in the file or in the DOM it builds;
#   - Chromium, with the page's script run, leaves in #selfcheck no error
#     (window.onerror and failed loads), no resource loaded (performance
#     entries), as many lanes as the JSON has tracks and as many arrows as
#     it has flows (two writers, one recording; unless the page says it left
#     events out), and N arrows if given;
#   - driven by its own #selftest (wheel, drag, double-click, hover), the
#     page zooms, pans, resets and shows details, still without an error;
#   - Chromium's console log shows no uncaught error and no failed load.
# Then writes a screenshot: FILE, or build/html/NAME/timeline.png.
#
# Chromium runs as root here, hence --no-sandbox; every run gets a fresh
# profile and no network services.
set -euo pipefail

usage() {
    echo "usage: scripts/check-html.sh [--arrows N] [--png FILE] PROGRAM [ARGS...]" >&2
    exit 2
}
arrows_wanted= png=
while [ $# -gt 0 ]; do
    case "$1" in
    --arrows) [ $# -ge 2 ] || usage; arrows_wanted=$2; shift 2 ;;
    --png) [ $# -ge 2 ] || usage; png=$2; shift 2 ;;
    --*) echo "check-html: unknown option '$1'" >&2; usage ;;
    *) break ;;
    esac
done
[ $# -ge 1 ] || usage
prog=$1
shift
name=$(basename "$prog")
dir=build/html/$name
fail() {
    echo "check-html: $name: FAIL: $*" >&2
    exit 1
}
command -v chromium >/dev/null || fail "no chromium (scripts/install-deps.sh chromium installs it)"
rm -rf "$dir"
mkdir -p "$dir"
page=$(realpath "$dir")/timeline.html
json=$dir/trace.json

"$prog" "$@" --trace "$json" --html "$page" >"$dir/stdout" 2>"$dir/stderr" ||
    fail "the program failed (see $dir/stderr)"
# Nothing that could fetch: no URL, no src or href attribute, no CSS
# url() but a reference to an element of the page itself (#id).
if grep -nE 'https?:|[[:space:]](src|href)=|@import|url\([^#]' "$page" >"$dir/urls"; then
    fail "the page refers to something outside it: $(head -n 1 "$dir/urls")"
fi

chromium_run() {
    local profile
    profile=$(mktemp -d)
    timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --enable-logging=stderr --v=0 --user-data-dir="$profile" "$@" 2>>"$dir/chromium.log" || {
        rm -rf "$profile"
        fail "chromium failed (see $dir/chromium.log)"
    }
    rm -rf "$profile"
}

chromium_run --dump-dom "file://$page" >"$dir/dom.html"
if grep -nE '[[:space:]](src|href)=' "$dir/dom.html" >"$dir/urls"; then
    fail "the page's DOM refers to something outside it: $(head -n 1 "$dir/urls")"
fi
check=$(grep -o 'self-check: [^<]*' "$dir/dom.html" | head -n 1)
[ -n "$check" ] || fail "no self-check line in the DOM"
field() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$check"; }
lanes=$(field lanes) drawn=$(field arrows) data=$(field data-arrows)
resources=$(field resources) errors=$(sed -n 's/.* errors=\([0-9]*\).*/\1/p' <<<"$check")
tracks=$(grep -c '"name":"thread_name"' "$json" || true)
flows=$(grep -c '"ph":"s"' "$json" || true)

[ "$errors" = 0 ] || fail "the page's script reported errors: $(grep -A5 'self-check' "$dir/dom.html")"
[ "$resources" = 0 ] || fail "the page loaded $resources resources"
[ "$lanes" = "$tracks" ] || fail "$lanes lanes in the DOM, $tracks tracks in the JSON"
# A page past its limit keeps the earliest items only, and says so.
left_out=$(grep -o '"page":[0-9]*' "$page" | head -n 1 | cut -d: -f2)
[ "${left_out:-0}" != 0 ] || [ "$drawn" = "$flows" ] ||
    fail "$drawn arrows in the DOM, $flows flows in the JSON"
[ "$drawn" = "$data" ] || fail "$drawn arrows drawn of $data in the data"
[ -z "$arrows_wanted" ] || [ "$drawn" = "$arrows_wanted" ] ||
    fail "$drawn arrows, $arrows_wanted expected"
# Once more, the page driving itself: zoom, pan, double-click, hover.
chromium_run --dump-dom "file://$page#selftest" >"$dir/dom-selftest.html"
interaction=$(grep -o 'self-check: [^<]*' "$dir/dom-selftest.html" | head -n 1)
grep -q ' errors=0' <<<"$interaction" || fail "errors while driven: $interaction"
steps=$(sed -n 's/.* interaction=\([^ ]*\).*/\1/p' <<<"$interaction")
# Under the M:N runtime (the default) every span knows its worker, and the
# page can colour by it: that must work too.
want=zoom,pan,reset,hover
[ "${GOC_RUNTIME:-mn}" = threads ] || want=$want,workers
[ "$steps" = "$want" ] || fail "the page's interactions ($want) do not all work: '$steps'"
if grep -E 'CONSOLE.*(Uncaught|Failed to load)|net::ERR_' "$dir/chromium.log" >"$dir/console"; then
    fail "chromium's console: $(head -n 1 "$dir/console")"
fi

# A window that fits every lane: header (with room for the line that says
# what was left out), axis, lanes, the self-check line.
png=${png:-$dir/timeline.png}
chromium_run --hide-scrollbars --window-size="1200,$((245 + 30 * lanes))" \
    --screenshot="$(realpath -m "$png")" "file://$page"
[ -s "$png" ] || fail "no screenshot"
echo "check-html: $name: OK: $check, driven: $steps, $(du -k "$png" | cut -f1) KB screenshot in $png"
