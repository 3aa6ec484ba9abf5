#!/usr/bin/env bash
# scripts/preflight.sh - what `make preflight` runs: can this machine do the
# workshop? A participant runs it before the session (WORKSHOP.md).
#
# Steps, each one line: a C compiler and make are there; the core and the
# five lessons build (make release: no Criterion needed); lesson 01 runs
# briefly and shuts down cleanly; Criterion is there (the exercises are its
# tests); `make exercise-01` builds and runs the tests against the untouched
# starter, which must fail in the known way ("not there yet"; a solved
# exercise passing is fine too).
#
# Installs nothing and needs no root. The last line is exactly `READY`, or
# `NOT READY: ...` saying what to install (the command for this system) or
# what failed. Exit status 0 only when READY. Logs: build/preflight/.
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo" || exit 2
logs=build/preflight
mkdir -p "$logs"
MAKE=${MAKE:-make}

# How to install a package here, for the closing line: $1 Debian package,
# $2 Homebrew formula (empty: comes with Xcode's command line tools).
install_hint() {
    if [ "$(uname -s)" = Darwin ]; then
        if [ -n "$2" ]; then echo "brew install $2"; else echo "xcode-select --install"; fi
    elif command -v apt-get >/dev/null; then
        local sudo="sudo "
        [ "$(id -u)" -eq 0 ] && sudo=""
        echo "${sudo}apt-get install -y $1"
    else
        echo "your system's package for $1"
    fi
}

step() { printf 'preflight: %-44s' "$1"; }
ok() { echo "ok${1:+ ($1)}"; }
not_ready() { # not_ready WHY [LOG]: report and stop
    echo "FAILED"
    if [ -n "${2:-}" ] && [ -s "$2" ]; then
        echo "--- last lines of $2:"
        tail -n 15 "$2"
        echo "---"
    fi
    echo "NOT READY: $1"
    exit 1
}

# Runs "$@" with a time limit where `timeout` exists (macOS lacks it).
limited() {
    if command -v timeout >/dev/null; then timeout -k 5 "$@"; else shift; "$@"; fi
}

step "a C compiler"
cc=""
for c in "${CC:-}" cc gcc clang; do
    [ -n "$c" ] && command -v "$c" >/dev/null && { cc=$c; break; }
done
[ -n "$cc" ] || not_ready "no C compiler: $(install_hint build-essential '')"
ok "$("$cc" --version 2>/dev/null | head -n 1)"

step "make"
command -v "$MAKE" >/dev/null || not_ready "no make: $(install_hint make '')"
ok

step "build the core and the five lessons"
$MAKE --no-print-directory release >"$logs/build.log" 2>&1 ||
    not_ready "the build failed; see $logs/build.log (WORKSHOP.md, Troubleshooting)" "$logs/build.log"
ok

step "run lesson 01 briefly"
clean="Clean shutdown: every goroutine returned, every allocation freed."
limited 60 ./build/01-worker-pool --tasks 4 --work-ms 10 >"$logs/run-01.log" 2>&1
status=$?
[ $status -eq 0 ] && [ "$(tail -n 1 "$logs/run-01.log")" = "$clean" ] ||
    not_ready "lesson 01 exited with status $status or did not shut down cleanly; see $logs/run-01.log" \
        "$logs/run-01.log"
ok

step "Criterion (the exercises' tests)"
criterion_test=$logs/criterion_probe
printf '#include <criterion/criterion.h>\nTest(preflight, probe) { cr_assert(1); }\n' >"$criterion_test.c"
flags=$(pkg-config --cflags --libs criterion 2>/dev/null || echo -lcriterion)
# shellcheck disable=SC2086 # $flags is several words
"$cc" "$criterion_test.c" -o "$criterion_test" $flags >"$logs/criterion.log" 2>&1 ||
    not_ready "Criterion is missing: $(install_hint 'libcriterion-dev pkg-config' criterion)"
ok

step "make exercise-01 (the starter must fail)"
$MAKE --no-print-directory exercise-01 >"$logs/exercise-01.log" 2>&1
status=$?
if grep -q "01-worker-pool: not there yet" "$logs/exercise-01.log" && [ $status -ne 0 ]; then
    ok "its tests fail, as they should before the exercise"
elif grep -q "01-worker-pool: every test passes" "$logs/exercise-01.log" && [ $status -eq 0 ]; then
    ok "already solved"
else
    not_ready "make exercise-01 did not build or run its tests; see $logs/exercise-01.log" \
        "$logs/exercise-01.log"
fi

echo "READY"
