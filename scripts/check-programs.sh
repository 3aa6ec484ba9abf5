#!/usr/bin/env bash
# scripts/check-programs.sh DIR - run the five lesson programs built in DIR
# (build/musl, build/aarch64, ...) the way a learner would, and check each
# run's exit status and output.
#
# Every lesson runs with its defaults and with a few of its own flags (a
# faster or larger run, another variant); each such run must exit 0 and end
# with the clean-shutdown line. --help must exit 0 and print a usage, an
# unknown flag must exit 2 with a message. The programs run behind
# $GOC_RUN_WRAPPER if it is set (qemu-aarch64 -L ... for check-aarch64).
# One line per run; exits 1 if any run failed.
set -uo pipefail

[ $# -eq 1 ] && [ -d "$1" ] || {
    echo "usage: $0 BUILD_DIR (the folder holding 01-worker-pool ... 05-pipeline)" >&2
    exit 2
}
dir=$1
read -r -a wrapper <<<"${GOC_RUN_WRAPPER:-}"
clean_line="Clean shutdown: every goroutine returned, every allocation freed."
limit=${CHECK_PROGRAMS_TIMEOUT:-120} # seconds per run: a hang fails, never blocks
out=$(mktemp)
trap 'rm -f "$out"' EXIT
passed=0
failed=0

# check EXPECTED_STATUS WHAT PROGRAM ARGS...: WHAT is "clean" (must end with
# the clean-shutdown line), "usage" (stdout starts with Usage:) or "refused"
# (stderr names the flag).
check() {
    local want=$1 what=$2 prog=$3 status verdict=ok
    shift 3
    timeout -k 5 "$limit" "${wrapper[@]}" "$dir/$prog" "$@" >"$out" 2>"$out.err"
    status=$?
    [ "$status" -eq "$want" ] || verdict="exit $status, expected $want"
    case $what in
    clean) [ "$(tail -n 1 "$out")" = "$clean_line" ] || verdict="$verdict; no clean-shutdown line last" ;;
    usage) grep -qi '^usage:' "$out" || verdict="$verdict; no usage on stdout" ;;
    refused) grep -q -- "--no-such-flag" "$out.err" || verdict="$verdict; stderr does not name the flag" ;;
    esac
    if [ "$verdict" = ok ]; then
        printf 'PASS %-18s %s\n' "$prog" "$*"
        passed=$((passed + 1))
    else
        printf 'FAIL %-18s %s: %s\n' "$prog" "$*" "${verdict#ok; }"
        sed 's/^/    /' "$out" "$out.err" | tail -n 20
        failed=$((failed + 1))
    fi
    rm -f "$out.err"
}

for prog in 01-worker-pool 02-fan-in-fan-out 03-semaphore 04-context 05-pipeline; do
    check 0 clean "$prog"
    check 0 usage "$prog" --help
    check 2 refused "$prog" --no-such-flag
done
check 0 clean 01-worker-pool --workers 8 --tasks 200 --work-ms 1 --queue 0
check 0 clean 02-fan-in-fan-out --workers 5 --jobs 500 --work-ms 0 --ordered
check 0 clean 03-semaphore --tasks 20 --limit 4 --work-ms 5 --weighted
check 0 clean 03-semaphore --tasks 20 --limit 4 --work-ms 5 --channel
check 0 clean 04-context --task-ms 300 --cancel-after-ms 100 --timeout-ms 100
check 0 clean 05-pipeline --n 2000 --workers 4 --sink-ms 0
check 0 clean 05-pipeline --n 100 --take 5 --sink-ms 0 --tee

echo "check-programs $dir${GOC_RUNTIME:+ ($GOC_RUNTIME runtime)}: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
