/*
 * test_05_badinput.c - lesson 05's command line: the bad input that
 * tests/test_05_*.c does not already try (see tests/badinput.h).
 */
#include <criterion/criterion.h>

#include "tests/badinput.h"
#include "tests/support/support.h"

Test(badinput, refused_with_exit_2_and_a_message_naming_it, .timeout = 120)
{
    support_begin();
    static const bad_line_t lines[] = {
        {{"--take=", NULL}, "--take"}, /* an empty number */
        {{"--take=0x10", NULL}, "0x10"},
        {{"--take=1e3", NULL}, "1e3"},
        {{"--take=5 ", NULL}, "'5 '"},  /* a trailing space is junk too */
        {{"--help=x", NULL}, "--help"}, /* no value allowed: name the flag as typed */
        {{"--timeline=3", NULL}, "--timeline"},
        {{"--trace", NULL}, "--trace"}, /* the file name is missing */
        {{"--tee=1", NULL}, "--tee"},
    };
    assert_all_refused("05-pipeline", lines, sizeof lines / sizeof lines[0]);
    support_end();
}
