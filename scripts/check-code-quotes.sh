#!/bin/sh
# check-code-quotes.sh - the textbook quotes the code as it is: every line of
# every ```c block of a chapter (common/README.md by default) must still be
# a line of a C file in common/ or bench/ (compared without leading and
# trailing blanks; a code line's trailing /* comment */ may be left out of
# the quote; empty lines and "..." elisions are skipped). Prints each
# line that is not found, with its line number in the chapter, and exits 1.
#
# POSIX sh and awk. Usage: scripts/check-code-quotes.sh [CHAPTER.md]
set -eu

chapter=${1:-common/README.md}
awk '
function strip(s) { sub(/^[ \t]+/, "", s); sub(/[ \t\r]+$/, "", s); return s }
function uncommented(s) { sub(/[ \t]*\/\*[^*]*\*\/$/, "", s); return s }
FILENAME != chapter { line = strip($0); code[line] = 1; code[uncommented(line)] = 1; next }
/^```/ { inside = ($0 ~ /^```c[ \t]*$/) && !inside; next }
inside {
    line = strip($0)
    if (line == "" || line == "...")
        next
    if (!(line in code)) {
        printf "%s:%d: not in common/ or bench/: %s\n", chapter, FNR, line
        missing++
    }
    quoted++
}
END {
    if (missing) {
        printf "check-code-quotes: %d of %d quoted lines are not in the code\n", missing, quoted
        exit 1
    }
    printf "check-code-quotes: all %d quoted lines of %s are in the code\n", quoted, chapter
}' chapter="$chapter" common/*.c common/*.h bench/*.c bench/*.h "$chapter"
