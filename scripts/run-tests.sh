#!/usr/bin/env bash
# scripts/run-tests.sh CONFIG BIN... - run test binaries (or lesson programs)
# in one configuration and fail unless every one of them really passed.
#
#   release            Criterion binaries of build/
#   asan               Criterion binaries of build/asan/ (ASan + UBSan + LSan)
#   tsan               shim binaries of build/tsan/ (tests/tsan/runner.c)
#   shim               shim binaries without a sanitizer (build/aarch64/),
#                      run behind $GOC_RUN_WRAPPER if set (qemu-aarch64 ...),
#                      which the tests also put in front of the programs
#                      they start
#   valgrind           Criterion binaries of build/ under valgrind memcheck
#   valgrind-programs  lesson programs (build/NN-name), run with no arguments
#                      and with --help, under valgrind memcheck
#
# An exit status of 0 is not enough evidence: Criterion exits 0 after an
# unknown flag having run nothing, and it ignores leaks reported when a test
# process exits. So a binary passes only if
#   - it exits 0 and its closing line says it ran at least one test, none of
#     which failed or crashed, and
#   - no sanitizer or valgrind report was written (each run writes them into a
#     fresh folder, build/logs/CONFIG/run.XXXXXX/, checked afterwards).
# One line per binary, then "CONFIG: N passed, N failed". With GOC_RUNTIME
# set (mn or threads: see common/sched.h), it shows in every line as
# CONFIG/RUNTIME, and the programs run under that runtime. The folder is
# removed when everything passed and kept (its path printed) otherwise.
set -uo pipefail

usage() {
    echo "usage: $0 release|asan|tsan|shim|valgrind|valgrind-programs BIN..." >&2
    exit 2
}

[ $# -ge 1 ] || usage
config=$1
shift
case $config in
release | asan | tsan | shim | valgrind | valgrind-programs) ;;
*) usage ;;
esac

if [ $# -eq 0 ]; then
    if [ "$config" = valgrind-programs ]; then
        echo "$config: no lesson program to run"
        exit 0
    fi
    echo "$config: no test binary given: nothing would be tested" >&2
    exit 1
fi

repo=$(cd "$(dirname "$0")/.." && pwd) # for tests/lsan.supp
label=$config${GOC_RUNTIME:+/$GOC_RUNTIME}

# Several people (and make -j) may run tests at once: each run gets its own
# folder, so no run deletes or reads another's reports.
# The path is absolute: sanitizers and valgrind write there from anywhere.
mkdir -p "$repo/build/logs/$config"
logroot=$(mktemp -d "$repo/build/logs/$config/run.XXXXXX")

# Leak kinds that fail a run: "possibly lost" is left out because every
# block from goc_malloc is reached through a pointer just past its
# bookkeeping header, which memcheck calls "possibly lost" even while it is
# reachable; real leaks still show up as definite or indirect, and the tests
# themselves assert alloc_live() is back to its baseline.
# shellcheck disable=SC2054 # the commas belong to valgrind's option values
valgrind_opts=(-q --leak-check=full --show-leak-kinds=definite,indirect
    --errors-for-leak-kinds=definite,indirect --error-exitcode=99)

# A hung binary must not hang the whole run (Criterion's own .timeout does
# not catch everything: a test process whose threads spin on after its main
# thread ended was seen to run on for good). `timeout` kills the binary's
# whole process group after this many seconds; RUN_TESTS_TIMEOUT overrides.
case $config in
valgrind) limit=${RUN_TESTS_TIMEOUT:-3600} ;;
*) limit=${RUN_TESTS_TIMEOUT:-600} ;;
esac
run() {
    timeout -k 10 "$limit" "$@"
}

passed=0
failed=0

# Prints a file, indented, at most 80 lines of it.
show() {
    sed -n '1,80s/^/    /p' "$1"
    [ "$(wc -l <"$1")" -le 80 ] || echo "    ... (rest in $1)"
}

# Reads Criterion's closing line from $1; fails unless Tested > 0 and nothing
# failed or crashed. Sets $summary.
criterion_ok() {
    local line
    line=$(grep -a 'Synthesis: Tested:' "$1" | tail -n 1)
    summary=${line#*Synthesis: }
    [[ $line =~ Tested:\ ([0-9]+)\ \|\ Passing:\ ([0-9]+)\ \|\ Failing:\ ([0-9]+)\ \|\ Crashing:\ ([0-9]+) ]] ||
        { summary="no Criterion summary line (did it run any test?)"; return 1; }
    [ "${BASH_REMATCH[1]}" -gt 0 ] && [ "${BASH_REMATCH[3]}" -eq 0 ] && [ "${BASH_REMATCH[4]}" -eq 0 ]
}

# Reads the in-process runner's closing line from $1 ("tsan-runner: N
# passed, 0 failed", N > 0). Sets $summary.
runner_ok() {
    summary=$(grep -a '^tsan-runner: ' "$1" | tail -n 1)
    summary=${summary#tsan-runner: }
    [ -n "$summary" ] || summary="no closing line"
    [[ $summary =~ ^[1-9][0-9]*\ passed,\ 0\ failed$ ]]
}

# no_reports [--nonempty] FILE...: fails, printing them, if any of the files
# exists (with --nonempty: exists and is not empty). Unmatched globs are fine.
no_reports() {
    local found=0 nonempty=0 f
    [ "$1" = --nonempty ] && { nonempty=1; shift; }
    for f in "$@"; do
        [ -e "$f" ] || continue
        [ $nonempty -eq 1 ] && [ ! -s "$f" ] && continue
        echo "  report $f:"
        show "$f"
        found=1
    done
    return $found
}

# Runs one test binary; returns 0 if it passed. Output goes to $dir/output.
# Every check runs (no short cut), so a failure shows all its evidence.
run_one() {
    local bin=$1 dir=$2 rc ok=0
    case $config in
    release)
        run "$bin" >"$dir/output" 2>&1
        rc=$?
        criterion_ok "$dir/output" || ok=1
        ;;
    asan)
        # tests/lsan.supp hides Criterion's own leaks (it says why).
        ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:fast_unwind_on_malloc=0:log_path=$dir/asan \
            LSAN_OPTIONS=suppressions=$repo/tests/lsan.supp:print_suppressions=0 \
            UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$dir/ubsan \
            run "$bin" >"$dir/output" 2>&1
        rc=$?
        criterion_ok "$dir/output" || ok=1
        no_reports "$dir"/asan.* "$dir"/ubsan.* || ok=1
        ;;
    tsan)
        TSAN_OPTIONS=halt_on_error=1:exitcode=66:second_deadlock_stack=1:log_path=$dir/tsan \
            run "$bin" >"$dir/output" 2>&1
        rc=$?
        runner_ok "$dir/output" || ok=1
        no_reports "$dir"/tsan.* || ok=1
        ;;
    shim)
        local wrapper
        read -r -a wrapper <<<"${GOC_RUN_WRAPPER:-}"
        run "${wrapper[@]}" "$bin" >"$dir/output" 2>&1
        rc=$?
        runner_ok "$dir/output" || ok=1
        ;;
    valgrind)
        run valgrind "${valgrind_opts[@]}" --trace-children=yes --exit-on-first-error=yes \
            --log-file="$dir/vg.%p.log" "$bin" >"$dir/output" 2>&1
        rc=$?
        criterion_ok "$dir/output" || ok=1
        no_reports --nonempty "$dir"/vg.*.log || ok=1
        ;;
    valgrind-programs)
        local args
        rc=0
        for args in "" "--help"; do
            # shellcheck disable=SC2086 # $args is one word or none
            run valgrind "${valgrind_opts[@]}" --log-file="$dir/vg${args:+.help}.%p.log" \
                "$bin" $args >"$dir/output${args:+.help}" 2>&1
            local status=$?
            if [ $status -ne 0 ]; then
                echo "  '$bin $args' exited with status $status; its output:"
                show "$dir/output${args:+.help}"
                rc=$status
            fi
        done
        summary="ran with no arguments and with --help"
        no_reports --nonempty "$dir"/vg*.log || ok=1
        ;;
    esac
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        summary="$summary, killed after $limit s (hung?)"
        ok=1
    elif [ "$rc" -ne 0 ]; then
        summary="$summary, exit status $rc"
        ok=1
    fi
    return $ok
}

# Runs one binary and prints its verdict (PASS/FAIL line, and on failure
# its evidence). Returns 0 if it passed.
test_one() {
    local bin=$1 name dir start status secs
    name=$(basename "$bin")
    dir="$logroot/$name"
    mkdir -p "$dir"
    summary=""
    start=$(date +%s.%N)
    if [ ! -x "$bin" ]; then
        summary="$bin: no such program (not built?)"
        false
    else
        run_one "$bin" "$dir" >"$dir/evidence" # reports and exit statuses, shown on failure
    fi
    status=$?
    secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
    if [ $status -eq 0 ]; then
        printf 'PASS %-18s %-34s %s (%s s)\n' "$label" "$name" "$summary" "$secs"
        return 0
    fi
    printf 'FAIL %-18s %-34s %s (%s s)\n' "$label" "$name" "$summary" "$secs"
    cat "$dir/evidence" 2>/dev/null
    if [ -f "$dir/output" ] && [ "$config" != valgrind-programs ]; then
        echo "  output of $bin, passing tests left out:"
        grep -a -v -E '^\[(----|RUN |PASS| OK )\] *$|^\[(RUN |PASS| OK )\]|Criterion v|Running [0-9]+ tests' \
            "$dir/output" | head -n 60 | sed 's/^/    /'
        echo "  full output: $dir/output"
    fi
    return 1
}

# Valgrind runs a program's threads one at a time, on one core: there,
# binaries run side by side, one per core (RUN_TESTS_JOBS overrides). Each
# verdict is printed whole when its binary ends. The other configurations
# time things and load every core themselves: one binary at a time.
case $config in
valgrind | valgrind-programs) jobs=${RUN_TESTS_JOBS:-$(nproc 2>/dev/null || echo 1)} ;;
*) jobs=${RUN_TESTS_JOBS:-1} ;;
esac

if [ "$jobs" -le 1 ]; then
    for bin in "$@"; do
        if test_one "$bin"; then
            passed=$((passed + 1))
        else
            failed=$((failed + 1))
        fi
    done
else
    running=0
    for bin in "$@"; do
        if [ $running -ge "$jobs" ]; then
            wait -n
            running=$((running - 1))
        fi
        (
            test_one "$bin" >"$logroot/$(basename "$bin").verdict"
            echo $? >"$logroot/$(basename "$bin").status"
            flock "$logroot" cat "$logroot/$(basename "$bin").verdict"
        ) &
        running=$((running + 1))
    done
    wait
    for bin in "$@"; do
        if [ "$(cat "$logroot/$(basename "$bin").status" 2>/dev/null)" = 0 ]; then
            passed=$((passed + 1))
        else
            failed=$((failed + 1))
        fi
    done
fi

if [ $failed -eq 0 ]; then
    rm -rf "$logroot"
else
    echo "$label: logs kept in $logroot"
fi
echo "$label: $passed passed, $failed failed"
[ $failed -eq 0 ]
