#!/bin/sh
# bench-go.sh BIN [WORKLOAD...] - the C benchmark (BIN, build/bench) next to
# the same workloads in Go (bench/go, built into build/bench-go).
#
# For each workload it runs C and Go alternately, RUNS times each (default
# 5), so both see the same machine at nearly the same moment, and prints
# the C median, the Go median and the ratio C/Go (below 1: C is faster),
# with the target of issue 8. Then the memory report of both.
#
# Without a Go toolchain it says how to get one and exits 0: Go is optional.
# The Go program has no dependencies, so the build needs no network.
set -eu

[ $# -ge 1 ] || { echo "usage: $0 BIN [WORKLOAD...]" >&2; exit 2; }
bin=$1
shift
runs=${RUNS:-5}
case $runs in '' | *[!0-9]* | 0) echo "$0: RUNS must be a positive number" >&2; exit 2 ;; esac
if ! command -v go >/dev/null 2>&1; then
    echo "bench-go: no Go toolchain found (the 'go' command), so the comparison is skipped."
    echo "bench-go: on Debian or Ubuntu: sudo apt-get install golang-go   (Go 1.19 or newer;"
    echo "bench-go: elsewhere see https://go.dev/doc/install), then run 'make bench-go' again."
    exit 0
fi
if [ ! -x "$bin" ]; then
    echo "$0: $bin is not an executable (run make first)" >&2
    exit 1
fi

root=$(cd "$(dirname "$0")/.." && pwd)

# atomic.Uint64 (the reference ring) needs Go 1.19.
go_version=$(go env GOVERSION 2>/dev/null || true)
minor=$(echo "$go_version" | sed -n 's/^go1\.\([0-9][0-9]*\).*/\1/p')
if [ -n "$minor" ] && [ "$minor" -lt 19 ]; then
    echo "bench-go: $go_version is too old (Go 1.19 or newer is needed); skipped."
    exit 0
fi

gobin=$(cd "$(dirname "$bin")" && pwd)/bench-go
export GOFLAGS=-buildvcs=false GOTOOLCHAIN=local GOPROXY=off GO111MODULE=on
if [ -z "${GOCACHE:-}" ] && [ -z "${HOME:-}" ] && [ -z "${XDG_CACHE_HOME:-}" ]; then
    export GOCACHE="$root/build/go-cache" # go needs a cache; without HOME it has none
fi
echo "bench-go: building $gobin with $go_version"
(cd "$root/bench/go" && go build -o "$gobin" .)

if [ $# -gt 0 ]; then workloads=$*; else workloads=$("$bin" --list); fi
go_workloads=$("$gobin" --list)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# median FILE: the median of the numbers in FILE, one a line.
median() {
    sort -g "$1" | awk '{ v[NR] = $1 }
        END { printf "%.2f\n", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# sample PROGRAM WORKLOAD OUTFILE: one run, its ns_per_op appended to OUTFILE.
sample() {
    if ! "$1" "$2" >"$tmp/line" 2>"$tmp/err"; then
        echo "$0: '$1 $2' failed:" >&2
        cat "$tmp/err" >&2
        exit 1
    fi
    awk '{ for (i = 1; i <= NF; i++) if (index($i, "ns_per_op=") == 1) print substr($i, 11) }' \
        "$tmp/line" >>"$3"
}

# target WORKLOAD: the ratio C/Go that issue 8 asks for ("-" if none).
target() {
    case $1 in
    buf_spsc | buf_mpmc | select2 | pool | ctx_cancel | sema_uncontended | sema_contended) echo 1.0 ;;
    unbuf_pingpong | pipeline) echo 2.0 ;;
    *) echo - ;;
    esac
}

echo "# C $bin vs Go $gobin: $runs runs each, alternating, on $(uname -n)," \
    "$(nproc 2>/dev/null || echo '?') CPUs, GOMAXPROCS=${GOMAXPROCS:-default}," \
    "load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"
printf '%-18s %12s %12s %9s %8s %5s\n' workload "C ns/op" "Go ns/op" "C/Go" target met
for w in $workloads; do
    [ "$w" != memory ] || continue
    if ! echo "$go_workloads" | grep -qx "$w"; then
        echo "bench-go: $w has no Go version; skipped" >&2
        continue
    fi
    : >"$tmp/c"
    : >"$tmp/go"
    i=0
    while [ "$i" -lt "$runs" ]; do
        sample "$bin" "$w" "$tmp/c"
        sample "$gobin" "$w" "$tmp/go"
        i=$((i + 1))
    done
    c=$(median "$tmp/c")
    g=$(median "$tmp/go")
    echo "$w $c" >>"$tmp/c_medians"
    awk -v w="$w" -v c="$c" -v g="$g" -v t="$(target "$w")" 'BEGIN {
        r = sprintf("%.2f", c / g) + 0 # judged as printed
        met = t == "-" ? "" : (r <= t + 0 ? "yes" : "NO")
        printf "%-18s %12.2f %12.2f %9.2f %8s %5s\n", w, c, g, r, t, met }'
done

# The two targets that compare C with C.
awk '{ m[$1] = $2 }
    END {
        if ("pool" in m && "pool16" in m)
            printf "C pool16 / pool = %.2f (target: at most 2: spinning must not hurt when threads outnumber cores)\n", m["pool16"] / m["pool"]
        if ("buf_spsc" in m && "ref_spsc_ring" in m)
            printf "C buf_spsc / ref_spsc_ring = %.2f (target: at most 3)\n", m["buf_spsc"] / m["ref_spsc_ring"]
        if ("unbuf_pingpong" in m && "ref_cacheline" in m)
            printf "C unbuf_pingpong / ref_cacheline = %.2f (cache-line round trips per hand-off round trip, about)\n", m["unbuf_pingpong"] / m["ref_cacheline"]
    }' "$tmp/c_medians" 2>/dev/null || true

echo
echo "# memory: bytes per live object (C: requested from goc_malloc; Go: allocated, TotalAlloc)"
"$bin" memory >"$tmp/cmem"
"$gobin" memory >"$tmp/gomem"
printf '%-20s %8s %8s\n' object C Go
awk -F'[= ]' 'NR == FNR { c[$2] = $4; next } { printf "%-20s %8s %8s\n", $2, c[$2], $4 }' \
    "$tmp/cmem" "$tmp/gomem"
