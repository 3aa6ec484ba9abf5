#!/usr/bin/env bash
# scripts/embed-page.sh TEMPLATE OUT.c - turns the timeline page's template
# (common/trace_page.html) into C strings (common/trace_page.c), so the
# page's script stays readable in its own file while the core still builds
# from common/*.c alone. make runs it when the template changes; both files
# are checked in, and `make check-html` fails if they disagree.
#
# The template is cut at two marker lines, each alone on its line:
#   @PROGRAM@     -> the end of trace_page_head   (the program's name goes here)
#   @TRACE_DATA@  -> the end of trace_page_middle (the trace's JSON goes here)
# Each line becomes one C string literal ending in \n; '\' and '"' are
# escaped. Output is byte for byte reproducible.
set -euo pipefail
if [ $# -ne 2 ]; then
    echo "usage: scripts/embed-page.sh TEMPLATE OUT.c" >&2
    exit 2
fi
template=$1 out=$2
for marker in @PROGRAM@ @TRACE_DATA@; do
    if [ "$(grep -c "^$marker\$" "$template")" != 1 ]; then
        echo "embed-page: $template must have exactly one line '$marker'" >&2
        exit 1
    fi
done
tmp=$out.tmp.$$
trap 'rm -f "$tmp"' EXIT
awk -v template="$template" '
BEGIN {
    print "/* Generated from " template " by scripts/embed-page.sh: edit the"
    print " * template, not this file (make regenerates it). See trace_html.c. */"
    print "/* One string a line of the template, as the script wrote them. */"
    print "/* clang-format off */"
    print "#include \"common/trace_page.h\""
    print ""
    print "const char trace_page_head[] ="
}
$0 == "@PROGRAM@"    { print "    \"\";"; print ""; print "const char trace_page_middle[] ="; next }
$0 == "@TRACE_DATA@" { print "    \"\";"; print ""; print "const char trace_page_tail[] ="; next }
{
    line = $0
    gsub(/\\/, "&&", line)
    gsub(/"/, "\\\"", line)
    print "    \"" line "\\n\""
}
END { print "    \"\";" }
' "$template" > "$tmp"
mv "$tmp" "$out"
trap - EXIT
