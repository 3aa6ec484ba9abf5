#!/bin/sh
# check-layers.sh - the core reads leaf-first: fail if the modules of a
# directory (common/ by default) include each other in a circle.
#
# A module is the files that share a name before the first '_' or '.'
# (chan.h, chan.c, chan_internal.h: chan). Every `#include "common/X"` of
# every .c and .h file is an edge "module-of-file module-of-X" (edges
# within one module are left out); tsort(1) orders them, and fails on a
# loop. On a loop this prints the circle, with the include line behind each
# step, and exits 1. Otherwise it prints the layers, leaf first: layer 1
# includes nothing of the others, and every module sits one layer above the
# highest module it includes (the order common/README.md's table follows).
#
# POSIX sh, awk and tsort only. Usage: scripts/check-layers.sh [DIR]
set -eu

dir=${1:-common}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-layers.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

set -- "$dir"/*.c "$dir"/*.h
[ -e "$1" ] || { echo "check-layers: no C files in $dir" >&2; exit 2; }

# "from to file header" per include across modules; "m m" per module, so
# that a module that includes nothing still has its place in the order.
awk '
function module(path) { sub(/.*\//, "", path); sub(/[_.].*/, "", path); return path }
FNR == 1 { from = module(FILENAME); print from, from, FILENAME, "-" }
/^[ \t]*#[ \t]*include[ \t]*"common\// {
    header = $0
    sub(/^[^"]*"common\//, "", header)
    sub(/".*/, "", header)
    to = module(header)
    if (to != from)
        print from, to, FILENAME, header
}' "$@" | sort -u > "$tmp/edges"

if ! awk '{ print $1, $2 }' "$tmp/edges" | tsort > "$tmp/order" 2> "$tmp/tsort.err"; then
    echo "check-layers: the modules of $dir include each other in a circle:" >&2
    # One circle, found by a depth-first search, with the includes behind it.
    awk '
    $1 != $2 {
        if (!(($1, $2) in why)) {
            next_of[$1] = next_of[$1] " " $2
            why[$1, $2] = $3 " includes common/" $4
        }
    }
    { node[$1] = 1; node[$2] = 1 }
    function visit(m,    n, i, targets, t, k) {
        state[m] = 1          # on the current path
        path[++depth] = m
        n = split(next_of[m], targets, " ")
        for (i = 1; i <= n; i++) {
            t = targets[i]
            if (state[t] == 1) {    # back to a module on the path: the circle
                for (k = depth; path[k] != t; k--)
                    ;
                for (; k < depth; k++)
                    printf "  %s -> %s   (%s)\n", path[k], path[k + 1], why[path[k], path[k + 1]]
                printf "  %s -> %s   (%s)\n", m, t, why[m, t]
                return 1
            }
            if (state[t] == 0 && visit(t))
                return 1
        }
        state[m] = 2
        depth--
        return 0
    }
    END {
        for (m in node)
            if (state[m] == 0 && visit(m))
                exit 0
    }' "$tmp/edges" >&2
    # tsort names every loop it breaks; its first report is enough.
    awk '/loop/ { n++ } n == 1 { print "  " $0 }' "$tmp/tsort.err" >&2
    exit 1
fi

# Layers, leaf first: tsort lists a module before the modules it includes.
awk '
NR == FNR { if ($1 != $2) deps[$1] = deps[$1] " " $2; next }
{ order[++n] = $1 }
END {
    for (i = n; i >= 1; i--) {
        m = order[i]
        layer[m] = 1
        k = split(deps[m], d, " ")
        for (j = 1; j <= k; j++)
            if (layer[d[j]] + 1 > layer[m])
                layer[m] = layer[d[j]] + 1
        print layer[m], m
    }
}' "$tmp/edges" "$tmp/order" | sort -k1,1n -k2,2 | awk '
BEGIN { print "check-layers: no include cycle in the modules of the core; its layers, leaf first:" }
$1 != layer { if (line != "") print line; layer = $1; line = sprintf("  %2d:", $1) }
{ line = line " " $2 }
END { print line }'

