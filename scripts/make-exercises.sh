#!/bin/sh
# scripts/make-exercises.sh - the exercise starters, written from one source:
# the EXERCISE regions marked in the lessons' own modules.
#
#   make-exercises.sh write [LESSON...]   (make exercises) writes
#       NN-name/exercises/<module>.c for every module file of the lesson
#       that has a region
#   make-exercises.sh check [LESSON...]   (make check-exercises-fresh, CI)
#       fails, naming them, if a committed starter differs from what the
#       regions give, or is missing
#
# With no LESSON, every NN-name/ folder. A module file is every .c of the
# lesson folder but main.c and article.c (as module_src in the Makefile).
#
# A region, in the module, is a preprocessor conditional that gives the
# starter's text first and the solution second:
#
#     #ifdef EXERCISE_STARTER
#     ...what the starter has here (the task, hints, a stub)...
#     #else
#     ...the lesson's code...
#     #endif /* EXERCISE_STARTER */
#
# (#if/#endif pairs may nest inside a region.) The module is compiled
# without EXERCISE_STARTER, so it is the solution; the starter is the module
# with each region replaced by its first branch, under a short comment that
# says what the file is. Everything outside the regions is copied, so a fix
# to the module reaches its starter at the next `make exercises`, and CI
# notices a starter that was not rewritten. Plain preprocessor lines rather
# than comment markers: the starter's text has comments of its own, and
# clang-format leaves both branches alone.
#
# POSIX sh and awk only: this runs on a fresh machine without python.
set -eu

cd "$(dirname "$0")/.."

usage() {
    echo "usage: $0 write|check [LESSON...]" >&2
    exit 2
}

# starter LESSON MODULE: the starter of MODULE (a path) on stdout. Fails on
# a region that is not closed, nested, or out of order.
starter() {
    lesson=$1 module=$2
    name=$(basename "$module")
    nn=${lesson%%-*}
    cat <<EOF
/*
 * exercises/$name - the STARTER of lesson $nn's exercise (see README.md
 * beside this file): ../$name with the parts marked EXERCISE left for you.
 * Until you write them, \`make exercise-$nn\` fails; when it passes, compare
 * your file with the solution, ../$name. (\`make exercises\` writes this
 * file from the EXERCISE regions of ../$name.)
 */
EOF
    awk -v file="$module" '
        function fail(why) {
            printf "%s:%d: %s\n", file, NR, why | "cat 1>&2"
            bad = 1
            exit 1
        }
        # state 0: outside a region; 1: the starter branch; 2: the solution.
        # depth: conditionals opened inside the region and not yet closed.
        state == 0 && /^#[ \t]*ifdef[ \t]+EXERCISE_STARTER[ \t]*$/ {
            state = 1; depth = 0; regions++; next
        }
        state != 0 && /^#[ \t]*if/ { depth++ }
        state != 0 && depth == 0 && /^#[ \t]*else/ {
            if (state == 2) fail("a second #else in an EXERCISE_STARTER region")
            state = 2; next
        }
        state != 0 && /^#[ \t]*endif/ {
            if (depth > 0) depth--
            else {
                if (state == 1) fail("an EXERCISE_STARTER region without #else (no solution)")
                state = 0; next
            }
        }
        /EXERCISE_STARTER/ && state == 0 { fail("EXERCISE_STARTER outside a region marker") }
        state != 2 { print }
        END {
            if (bad) exit 1
            if (state != 0) { printf "%s: a region is not closed\n", file | "cat 1>&2"; exit 1 }
        }' "$module"
}

# The module files of LESSON that have at least one region.
modules_with_regions() {
    for f in "$1"/*.c; do
        case $(basename "$f") in main.c | article.c) continue ;; esac
        [ -f "$f" ] && grep -q '^#[[:space:]]*ifdef[[:space:]]*EXERCISE_STARTER' "$f" && echo "$f"
    done
    return 0
}

[ $# -ge 1 ] || usage
mode=$1
shift
case $mode in write | check) ;; *) usage ;; esac
if [ $# -eq 0 ]; then
    for d in [0-9][0-9]-*/; do
        [ -d "$d" ] && set -- "$@" "${d%/}"
    done
fi

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
status=0 count=0
for lesson in "$@"; do
    lesson=${lesson%/}
    [ -d "$lesson" ] || { echo "$0: no lesson folder $lesson" >&2; exit 2; }
    for module in $(modules_with_regions "$lesson"); do
        target=$lesson/exercises/$(basename "$module")
        starter "$lesson" "$module" >"$tmp" || exit 1
        count=$((count + 1))
        if [ "$mode" = write ]; then
            mkdir -p "$lesson/exercises"
            if ! cmp -s "$tmp" "$target" 2>/dev/null; then
                cp "$tmp" "$target"
                echo "wrote $target"
            fi
        elif [ ! -f "$target" ]; then
            echo "MISSING $target: run make exercises"
            status=1
        elif ! cmp -s "$tmp" "$target"; then
            echo "STALE   $target differs from the regions of $module:"
            diff -u "$target" "$tmp" | head -n 20 | sed 's/^/    /'
            echo "    (run make exercises and commit the result)"
            status=1
        fi
    done
done
if [ $status -eq 0 ]; then
    [ "$mode" = write ] && echo "make exercises: $count starters up to date"
    [ "$mode" = check ] && echo "check-exercises-fresh: $count starters match their regions"
fi
exit $status
