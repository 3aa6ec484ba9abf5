/*
 * test_02_badinput.c - lesson 02's command line: the bad input that
 * tests/test_02_*.c does not already try (see tests/badinput.h).
 */
#include <criterion/criterion.h>

#include "tests/badinput.h"
#include "tests/support/support.h"

Test(badinput, refused_with_exit_2_and_a_message_naming_it, .timeout = 120)
{
    support_begin();
    static const bad_line_t lines[] = {
        {{"--jobs=", NULL}, "--jobs"}, /* an empty number */
        {{"--jobs=0x10", NULL}, "0x10"},
        {{"--jobs=1e3", NULL}, "1e3"},
        {{"--jobs=5 ", NULL}, "'5 '"},  /* a trailing space is junk too */
        {{"--help=x", NULL}, "--help"}, /* no value allowed: name the flag as typed */
        {{"--timeline=3", NULL}, "--timeline"},
        {{"--trace", NULL}, "--trace"}, /* the file name is missing */
        {{"--ordered=1", NULL}, "--ordered"},
        {{"stray", NULL}, "stray"}, /* no positional arguments */
    };
    assert_all_refused("02-fan-in-fan-out", lines, sizeof lines / sizeof lines[0]);
    support_end();
}
