#!/bin/sh
# bench.sh BIN [WORKLOAD...] - runs each workload of the benchmark program
# BIN (build/bench) RUNS times (default 5) with one worker (GOC_MAXPROCS=1)
# and RUNS times with one per CPU, alternating, each run in a fresh process,
# and prints per workload the median and the min-max ns per operation of
# both and their ratio (all CPUs / one: above 1, more workers made it
# slower), then the medians with all CPUs in the one-line format of
# BENCH.md (extra fields such as kib_per_goroutine= too), then the memory
# report. The runtime is whatever GOC_RUNTIME says (default M:N); with
# GOC_RUNTIME=threads there are no workers and both columns are alike.
#
# One run is one sample; the median of five shrugs off one unlucky run, and
# the min-max spread says how noisy the machine was. Needs only sh, awk, sort.
set -eu

usage() {
    echo "usage: $0 BIN [WORKLOAD...]   (RUNS=N in the environment: runs per workload, default 5)" >&2
    exit 2
}
[ $# -ge 1 ] || usage
bin=$1
shift
runs=${RUNS:-5}
case $runs in '' | *[!0-9]* | 0) echo "$0: RUNS must be a positive number" >&2; exit 2 ;; esac
if [ ! -x "$bin" ]; then
    echo "$0: $bin is not an executable (run make first)" >&2
    exit 1
fi

if [ $# -gt 0 ]; then workloads=$*; else workloads=$("$bin" --list); fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# stats FILE: "median min max" of the numbers in FILE, one a line.
stats() {
    sort -g "$1" | awk '{ v[NR] = $1 }
        END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
              printf "%.2f %.2f %.2f\n", m, v[1], v[NR] }'
}

# field NAME: the value of NAME=... on each line of standard input.
field() {
    awk -v key="$1=" '{ for (i = 1; i <= NF; i++) if (index($i, key) == 1) print substr($i, length(key) + 1) }'
}

cpus=$(nproc 2>/dev/null || echo 2)
echo "# $bin: $runs runs per workload and worker count on $(uname -n), $cpus CPUs," \
    "runtime ${GOC_RUNTIME:-mn}, load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"
printf '%-18s %12s %21s %12s %21s %8s\n' workload "1 worker" "min-max" "$cpus workers" "min-max" \
    "$cpus/1"
: >"$tmp/medians"
for w in $workloads; do
    [ "$w" != memory ] || continue # printed at the end in any case
    if [ "$w" = goroutines_100k ] && [ "${GOC_RUNTIME:-mn}" = threads ]; then
        echo "$0: goroutines_100k skipped: 100,000 threads at once is past what the kernel allows" >&2
        continue
    fi
    : >"$tmp/ns1"
    : >"$tmp/nsall"
    : >"$tmp/extra"
    n=
    i=0
    while [ "$i" -lt "$runs" ]; do
        for procs in 1 "$cpus"; do
            [ "$procs" = 1 ] && out=ns1 || out=nsall
            if ! GOC_MAXPROCS=$procs "$bin" "$w" >"$tmp/line" 2>"$tmp/err"; then
                echo "$0: 'GOC_MAXPROCS=$procs $bin $w' failed:" >&2
                cat "$tmp/err" >&2
                exit 1
            fi
            field ns_per_op <"$tmp/line" >>"$tmp/$out"
            [ "$out" = ns1 ] || cut -d' ' -f5- "$tmp/line" >>"$tmp/extra" # after ops_per_s
            [ "$cpus" != 1 ] || break
        done
        n=$(field n <"$tmp/line")
        i=$((i + 1))
    done
    [ -s "$tmp/nsall" ] || cp "$tmp/ns1" "$tmp/nsall"
    read -r med1 lo1 hi1 <<EOF
$(stats "$tmp/ns1")
EOF
    read -r med lo hi <<EOF
$(stats "$tmp/nsall")
EOF
    printf '%-18s %12s %21s %12s %21s %8s\n' "$w" "$med1" "$lo1-$hi1" "$med" "$lo-$hi" \
        "$(awk -v a="$med" -v b="$med1" 'BEGIN { printf "%.2f", a / b }')"
    # Extra fields: the median of each, in the order of the first run.
    extras=
    for key in $(head -n 1 "$tmp/extra" | tr ' ' '\n' | sed -n 's/=.*//p'); do
        field "$key" <"$tmp/extra" >"$tmp/values"
        extras="$extras $key=$(stats "$tmp/values" | cut -d' ' -f1)"
    done
    awk -v w="$w" -v n="$n" -v m="$med" -v x="$extras" \
        'BEGIN { printf "workload=%s n=%s ns_per_op=%.2f ops_per_s=%.1f%s\n", w, n, m, 1e9 / m, x }' \
        >>"$tmp/medians"
done

echo
echo "# medians with $cpus workers, in the format of BENCH.md"
cat "$tmp/medians"
echo
echo "# memory: bytes per live object (alloc_live_bytes)"
"$bin" memory
