#!/usr/bin/env bash
# scripts/check-exercises.sh - run the lessons' exercises (NN-name/exercises/).
#
#   check-exercises.sh run LESSON BIN...
#       What `make exercise-NN` calls: runs the test binaries built against
#       the learner's file, shows each failing test, and exits 0 only if
#       every test passed.
#   check-exercises.sh check [LESSON...]
#       What `make check-exercises` (CI) calls, for every lesson that has an
#       exercises/ folder (or the ones named): builds the lesson's tests
#       against the untouched starter and proves they FAIL (they compile and
#       run, and at least one test fails: a starter that does not build is an
#       error, and so is one that passes); then builds the same tests against
#       the lesson's own module through the same rule and proves they pass,
#       with scripts/run-tests.sh release (the check `make test` uses).
#
# A starter (or a half-done exercise) usually deadlocks somewhere, and a test
# that hangs waits for its own .timeout (up to 20 s) before it fails. So every
# run here caps each test's timeout, EXERCISE_TIMEOUT seconds (default 10)
# for learners and 5 for the starter check, and runs up to EXERCISE_JOBS
# (default 16) tests at once: a hung test uses no CPU, and the lessons' tests
# do not depend on running alone. The solution check uses the tests' own
# timeouts and Criterion's default number of jobs.
#
# Passing means what it means in scripts/run-tests.sh: the binary exits 0 and
# Criterion's closing "Synthesis" line says it ran at least one test and none
# failed or crashed. Logs go to build/logs/exercises/run.XXXXXX/, kept (and
# named) only when something went wrong.
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo" || exit 2

usage() {
    echo "usage: $0 run LESSON BIN... | $0 check [LESSON...]" >&2
    exit 2
}

mkdir -p build/logs/exercises
logroot=$(mktemp -d build/logs/exercises/run.XXXXXX)
keep_logs=0

finish() {
    if [ $keep_logs -eq 0 ]; then
        rm -rf "$logroot"
    else
        echo "logs kept in $logroot"
    fi
}
trap finish EXIT

# synthesis FILE: sets tested, passing, failing, crashing from Criterion's
# closing line; fails if there is none (the binary ran no test, or died).
synthesis() {
    local line
    line=$(grep -a 'Synthesis: Tested:' "$1" | tail -n 1)
    [[ $line =~ Tested:\ ([0-9]+)\ \|\ Passing:\ ([0-9]+)\ \|\ Failing:\ ([0-9]+)\ \|\ Crashing:\ ([0-9]+) ]] ||
        return 1
    tested=${BASH_REMATCH[1]} passing=${BASH_REMATCH[2]}
    failing=${BASH_REMATCH[3]} crashing=${BASH_REMATCH[4]}
}

# The failing tests of a Criterion output, with their messages (the lines of
# passing tests and Criterion's banner left out).
show_failures() {
    grep -a -v -E '^\[(----|RUN |PASS| OK )\] *$|^\[(RUN |PASS| OK )\]|Criterion v|Running [0-9]+ tests|Synthesis:' \
        "$1" | head -n "${2:-60}" | sed 's/^/    /'
}

# run_bin BIN OUT ARG...: runs a test binary with Criterion arguments,
# output to OUT and its exit status to OUT.status.
run_bin() {
    local bin=$1 out=$2
    shift 2
    "$bin" "$@" >"$out" 2>&1
    echo $? >"$out.status"
}

# ------------------------------------------------------------------ run mode

run_mode() {
    local lesson=$1 bin status failed=0 out ran=0
    shift
    [ $# -ge 1 ] || usage
    local timeout=${EXERCISE_TIMEOUT:-10}
    # EXERCISE_ARGS: more Criterion arguments, e.g. --filter 'worker_pool/*'.
    local extra=()
    set -f
    # shellcheck disable=SC2206 # split into words on purpose, globbing off
    extra=(${EXERCISE_ARGS:-})
    set +f
    # All binaries at once (a hung test costs time, not CPU); reported in order.
    for bin in "$@"; do
        [ -x "$bin" ] || continue
        run_bin "$bin" "$logroot/$(basename "$bin").out" --timeout "$timeout" \
            --jobs "${EXERCISE_JOBS:-16}" "${extra[@]}" &
    done
    wait
    for bin in "$@"; do
        out="$logroot/$(basename "$bin").out"
        if [ ! -x "$bin" ]; then
            echo "FAIL $bin: not built"
            failed=1
            continue
        fi
        status=$(cat "$out.status")
        if [ ${#extra[@]} -gt 0 ] && synthesis "$out" && [ "$tested" -eq 0 ]; then
            # A filter in EXERCISE_ARGS matched no test of this binary.
            printf 'SKIP %-30s no test matches %s\n' "$(basename "$bin")" "${extra[*]}"
            continue
        fi
        ran=$((ran + 1))
        if synthesis "$out" && [ "$status" -eq 0 ] && [ "$tested" -gt 0 ] &&
            [ "$failing" -eq 0 ] && [ "$crashing" -eq 0 ]; then
            printf 'PASS %-30s Tested: %s | Passing: %s\n' "$(basename "$bin")" "$tested" "$passing"
        else
            failed=1
            if synthesis "$out"; then
                printf 'FAIL %-30s Tested: %s | Passing: %s | Failing: %s | Crashing: %s\n' \
                    "$(basename "$bin")" "$tested" "$passing" "$failing" "$crashing"
            else
                printf 'FAIL %-30s no Criterion summary (exit status %s)\n' "$(basename "$bin")" "$status"
            fi
            show_failures "$out"
            echo "    full output: $out"
            keep_logs=1
        fi
    done
    if [ $ran -eq 0 ]; then
        echo "$lesson: no test matches ${extra[*]}"
        return 1
    fi
    if [ $failed -eq 0 ] && [ ${#extra[@]} -gt 0 ]; then
        echo "$lesson: the tests you selected pass; run it without EXERCISE_ARGS for all of them."
        return 0
    fi
    if [ $failed -eq 0 ]; then
        echo "$lesson: every test passes. Now compare your file with the solution in $lesson/."
        return 0
    fi
    echo "$lesson: not there yet. \"Timed out\" means something waits for ever (each test"
    echo "is cut off after ${timeout} s); $lesson/exercises/README.md has hints."
    return 1
}

# ---------------------------------------------------------------- check mode

# The exercise binaries of a lesson: one per tests/test_NN_*.c, in the
# folder given ($2), named as mk/exercises.mk names them.
lesson_bins() {
    local nn=${1%%-*} dir=$2 t
    for t in tests/test_"${nn}"_*.c; do
        [ -e "$t" ] && printf '%s/%s\n' "$dir" "$(basename "$t" .c)"
    done
}

check_mode() {
    local lessons=("$@") make=${MAKE:-make}
    if [ ${#lessons[@]} -eq 0 ]; then
        local d
        for d in [0-9][0-9]-*/exercises; do
            [ -d "$d" ] && lessons+=("${d%/exercises}")
        done
    fi
    [ ${#lessons[@]} -gt 0 ] || { echo "check-exercises: no lesson has an exercises/ folder" >&2; return 1; }

    # What every lesson needs and no exercise changes: the core and the
    # lesson programs (the end-to-end tests run them).
    if ! $make --no-print-directory -s build/lib/libgoc.a "${lessons[@]/#/build/}" \
        >"$logroot/build-common.log" 2>&1; then
        echo "check-exercises: the core or a lesson program does not build:"
        sed 's/^/    /' "$logroot/build-common.log" | head -n 40
        keep_logs=1
        return 1
    fi

    local lesson results=() bad=0 start
    start=$(date +%s)
    for lesson in "${lessons[@]}"; do
        local nn=${lesson%%-*} starter_verdict solution_verdict
        local sbins=() xbins=() bin
        mapfile -t sbins < <(lesson_bins "$lesson" build/exercises)
        mapfile -t xbins < <(lesson_bins "$lesson" build/exercises/solution)
        if [ ${#sbins[@]} -eq 0 ]; then
            results+=("$(printf '%-20s %-44s %s' "$lesson" "no tests/test_${nn}_*.c" "-")")
            bad=1
            continue
        fi

        # The starter: must build, run, and fail.
        if ! $make --no-print-directory -s "${sbins[@]}" >"$logroot/$nn-starter-build.log" 2>&1; then
            starter_verdict="BAD: does not build"
            echo "== $lesson: the starter does not build:"
            sed 's/^/    /' "$logroot/$nn-starter-build.log" | head -n 40
            keep_logs=1
            bad=1
        else
            local t=0 p=0 f=0 c=0 broken=0
            for bin in "${sbins[@]}"; do
                run_bin "$bin" "$logroot/$nn-starter-$(basename "$bin").out" --timeout 5 --jobs 16 &
            done
            wait
            local out
            for bin in "${sbins[@]}"; do
                out="$logroot/$nn-starter-$(basename "$bin").out"
                if synthesis "$out"; then
                    t=$((t + tested)) p=$((p + passing)) f=$((f + failing)) c=$((c + crashing))
                else
                    broken=1
                fi
            done
            if [ $broken -eq 1 ] || [ $t -eq 0 ]; then
                starter_verdict="BAD: ran no test (no Criterion summary)"
                bad=1
                keep_logs=1
            elif [ $((f + c)) -eq 0 ]; then
                starter_verdict="BAD: passes ($p/$t) - nothing left to do"
                bad=1
            else
                starter_verdict="fails as it should ($((f + c))/$t failing)"
            fi
        fi

        # The solution, through the same rule: must pass, by run-tests.sh.
        if ! $make --no-print-directory -s "${xbins[@]}" >"$logroot/$nn-solution-build.log" 2>&1; then
            solution_verdict="BAD: does not build"
            echo "== $lesson: the solution build does not build:"
            sed 's/^/    /' "$logroot/$nn-solution-build.log" | head -n 40
            keep_logs=1
            bad=1
        elif scripts/run-tests.sh release "${xbins[@]}" >"$logroot/$nn-solution.log" 2>&1; then
            solution_verdict="passes"
        else
            solution_verdict="BAD: tests fail"
            echo "== $lesson: the solution fails its tests:"
            sed 's/^/    /' "$logroot/$nn-solution.log" | head -n 60
            keep_logs=1
            bad=1
        fi
        results+=("$(printf '%-20s %-44s %s' "$lesson" "$starter_verdict" "$solution_verdict")")
    done

    echo
    printf '%-20s %-44s %s\n' "lesson" "starter (exercises/)" "solution (lesson module)"
    printf '%s\n' "${results[@]}"
    if [ $bad -eq 0 ]; then
        echo "check-exercises: every starter fails and every solution passes ($(($(date +%s) - start)) s)"
        return 0
    fi
    echo "check-exercises: FAILED"
    return 1
}

[ $# -ge 1 ] || usage
mode=$1
shift
case $mode in
run)
    [ $# -ge 2 ] || usage
    run_mode "$@"
    ;;
check) check_mode "$@" ;;
*) usage ;;
esac
