#!/bin/sh
# bench-go.sh BIN [WORKLOAD...] - the C benchmark (BIN, build/bench) under
# both runtimes next to the same workloads in Go (bench/go, built into
# build/bench-go).
#
# For each workload it runs rounds (RUNS, default 5) of three samples, one
# after the other: C under the M:N runtime (the default), C with one thread
# per goroutine (GOC_RUNTIME=threads) and Go, so the three see the same
# machine at nearly the same moment. Per workload it prints the three
# medians, the median of the per-round ratios C/Go for each runtime (below
# 1: C is faster), the spread of the M:N ratios (the largest per-round ratio
# over the smallest: how steady the comparison is) and whether the targets
# of issue 18 are met (M:N/Go at most 1.0, spread at most 1.5), then the
# same ratio and spread for CPU time per operation. Extra fields
# (kib_per_goroutine=) get their medians below the table, then the memory
# report of both. goroutines_100k is not run with one thread per goroutine:
# 100,000 threads at once is past what the kernel allows (about 32,000 here)
# and would stall a shared machine; it shows as "-".
#
# Without a Go toolchain it says how to get one and exits 0: Go is optional.
# The Go program has no dependencies, so the build needs no network.
set -eu

[ $# -ge 1 ] || { echo "usage: $0 BIN [WORKLOAD...]   (RUNS=N: rounds, default 5)" >&2; exit 2; }
bin=$1
shift
runs=${RUNS:-5}
case $runs in '' | *[!0-9]* | 0) echo "$0: RUNS must be a positive number" >&2; exit 2 ;; esac
if ! command -v go >/dev/null 2>&1; then
    echo "bench-go: no Go toolchain found (the 'go' command), so the comparison is skipped."
    echo "bench-go: on Debian or Ubuntu: scripts/install-deps.sh go   (golang-go, Go 1.19 or newer;"
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

# sample LABEL WORKLOAD ROUND COMMAND...: one run; appends "LABEL ROUND
# key=value..." (every field after n=) to $tmp/samples. A failure stops the
# script.
sample() {
    label=$1 w=$2 round=$3
    shift 3
    if "$@" "$w" >"$tmp/line" 2>"$tmp/err"; then
        printf '%s %s %s\n' "$label" "$round" "$(cut -d' ' -f3- "$tmp/line")" >>"$tmp/samples"
    else
        echo "$0: '$* $w' failed:" >&2
        cat "$tmp/err" >&2
        exit 1
    fi
}

# target WORKLOAD: the ratio C (M:N) / Go that issue 18 asks for ("-" if none).
target() {
    case $1 in
    buf_spsc | buf_mpmc | unbuf_pingpong | select2 | pool | pipeline | ctx_cancel | \
        sema_uncontended | sema_contended | spawn) echo 1.0 ;;
    *) echo - ;;
    esac
}

echo "# C $bin (M:N, GOMAXPROCS=${GOC_MAXPROCS:-all CPUs}; threads) vs Go $gobin" \
    "(GOMAXPROCS=${GOMAXPROCS:-default}): $runs rounds, alternating, on $(uname -n)," \
    "$(nproc 2>/dev/null || echo '?') CPUs; load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-18s %10s %11s %10s %7s %7s %13s %6s %4s %7s %6s\n' workload "C M:N ns" "C thread ns" "Go ns" \
    "M:N/Go" "thr/Go" "M:N/Go range" spread met "cpu r" "cpu sp"
: >"$tmp/extras"
for w in $workloads; do
    [ "$w" != memory ] || continue
    if ! echo "$go_workloads" | grep -qx "$w"; then
        echo "bench-go: $w has no Go version; skipped" >&2
        continue
    fi
    : >"$tmp/samples"
    i=1
    while [ "$i" -le "$runs" ]; do
        sample mn "$w" "$i" env GOC_RUNTIME=mn "$bin"
        [ "$w" = goroutines_100k ] || sample threads "$w" "$i" env GOC_RUNTIME=threads "$bin"
        sample go "$w" "$i" "$gobin"
        i=$((i + 1))
    done
    awk -v w="$w" -v t="$(target "$w")" -v extras="$tmp/extras" '
        function median(a, k,    i, j, x) { # sorts a[1..k] in place
            for (i = 2; i <= k; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
            return k == 0 ? -1 : (k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2)
        }
        function fmt(x) { return x < 0 ? "-" : sprintf("%.2f", x) }
        {
            for (f = 3; f <= NF; f++) {
                split($f, kv, "=")
                v[$1, $2, kv[1]] = kv[2]
                if (kv[1] != "ns_per_op" && kv[1] != "ops_per_s" && kv[1] != "cpu_ns_per_op") keys[kv[1]] = 1
            }
            rounds = $2 > rounds ? $2 : rounds
        }
        END {
            split("mn threads go", who, " ")
            for (s = 1; s <= 3; s++) {
                k = 0
                for (r = 1; r <= rounds; r++) if ((who[s], r, "ns_per_op") in v) x[++k] = v[who[s], r, "ns_per_op"]
                med[who[s]] = median(x, k)
            }
            for (s = 1; s <= 2; s++) {
                k = 0
                for (r = 1; r <= rounds; r++)
                    if ((who[s], r, "ns_per_op") in v && (("go", r, "ns_per_op") in v))
                        x[++k] = v[who[s], r, "ns_per_op"] / v["go", r, "ns_per_op"]
                if (s == 1) { lo = 1e18; hi = 0; for (j = 1; j <= k; j++) { lo = x[j] < lo ? x[j] : lo; hi = x[j] > hi ? x[j] : hi } }
                ratio[who[s]] = median(x, k)
            }
            spread = lo > 0 ? hi / lo : 0
            k = 0 # CPU time: the per-round ratio C (M:N) / Go and its spread
            for (r = 1; r <= rounds; r++)
                if (("mn", r, "cpu_ns_per_op") in v && ("go", r, "cpu_ns_per_op") in v && v["go", r, "cpu_ns_per_op"] > 0)
                    x[++k] = v["mn", r, "cpu_ns_per_op"] / v["go", r, "cpu_ns_per_op"]
            clo = 1e18; chi = 0; for (j = 1; j <= k; j++) { clo = x[j] < clo ? x[j] : clo; chi = x[j] > chi ? x[j] : chi }
            cratio = median(x, k)
            cspread = clo > 0 ? chi / clo : 0
            r = sprintf("%.2f", ratio["mn"]) + 0 # judged as printed
            sp = sprintf("%.2f", spread) + 0
            met = t == "-" ? "" : (r <= t + 0 && sp <= 1.5 ? "yes" : "NO")
            printf "%-18s %10s %11s %10s %7s %7s %13s %6.2f %4s %7s %6.2f\n", w, fmt(med["mn"]), fmt(med["threads"]),
                fmt(med["go"]), fmt(ratio["mn"]), fmt(ratio["threads"]), sprintf("%.2f-%.2f", lo, hi), spread, met,
                fmt(cratio), cspread
            for (key in keys) {
                line = sprintf("%s %s:", w, key)
                for (s = 1; s <= 3; s++) {
                    k = 0
                    for (r2 = 1; r2 <= rounds; r2++) if ((who[s], r2, key) in v) x[++k] = v[who[s], r2, key]
                    line = line sprintf(" %s %s", who[s] == "mn" ? "C (M:N)" : who[s] == "go" ? "Go" : "C (threads)", fmt(median(x, k)))
                }
                print line >> extras
            }
        }' "$tmp/samples"
done
echo "(medians of $runs rounds; M:N/Go and thr/Go are medians of the per-round ratios; spread:"
echo " the largest M:N/Go ratio of a round over the smallest; met: M:N/Go <= target 1.0 and spread <= 1.5;"
echo " cpu r and cpu sp: the same ratio and spread for CPU time per op (cpu_ns_per_op), what the work"
echo " cost whatever share of the CPUs the rest of the machine left us)"
if [ -s "$tmp/extras" ]; then
    echo
    echo "# extra fields, medians"
    cat "$tmp/extras"
fi

echo
echo "# memory: bytes per live object (C: requested from goc_malloc; Go: allocated, TotalAlloc)"
"$bin" memory >"$tmp/cmem"
"$gobin" memory >"$tmp/gomem"
printf '%-20s %8s %8s\n' object C Go
awk -F'[= ]' 'NR == FNR { c[$2] = $4; next } { printf "%-20s %8s %8s\n", $2, c[$2], $4 }' \
    "$tmp/cmem" "$tmp/gomem"
echo "# load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
