#!/bin/sh
# bench.sh BIN [WORKLOAD...] - runs each workload of the benchmark program
# BIN (build/bench) RUNS times (default 5), each run in a fresh process, and
# prints per workload the median and the min-max ns per operation, then the
# medians again in the one-line format of BENCH.md, then the memory report.
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

echo "# $bin: $runs runs per workload on $(uname -n), $(nproc 2>/dev/null || echo '?') CPUs," \
    "load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"
printf '%-18s %12s %25s\n' workload "median ns/op" "min-max ns/op"
: >"$tmp/medians"
for w in $workloads; do
    [ "$w" != memory ] || continue # printed at the end in any case
    : >"$tmp/ns"
    n=
    i=0
    while [ "$i" -lt "$runs" ]; do
        if ! "$bin" "$w" >"$tmp/line" 2>"$tmp/err"; then
            echo "$0: '$bin $w' failed:" >&2
            cat "$tmp/err" >&2
            exit 1
        fi
        field ns_per_op <"$tmp/line" >>"$tmp/ns"
        n=$(field n <"$tmp/line")
        i=$((i + 1))
    done
    read -r med lo hi <<EOF
$(stats "$tmp/ns")
EOF
    printf '%-18s %12s %25s\n' "$w" "$med" "$lo-$hi"
    awk -v w="$w" -v n="$n" -v m="$med" \
        'BEGIN { printf "workload=%s n=%s ns_per_op=%.2f ops_per_s=%.1f\n", w, n, m, 1e9 / m }' \
        >>"$tmp/medians"
done

echo
echo "# medians, in the format of BENCH.md"
cat "$tmp/medians"
echo
echo "# memory: bytes per live object (alloc_live_bytes)"
"$bin" memory
