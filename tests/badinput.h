/*
 * badinput.h - the bad command lines every lesson program must refuse, for
 * tests/test_NN_badinput.c.
 *
 * The lesson tests already try unknown flags, non-numbers, zero, negative
 * and overflowing numbers, missing values and --help. These files add the
 * cases they leave out, the same for every lesson: an empty number
 * ("--workers="), numbers with junk that strtol would half-accept (hex,
 * exponent, a trailing space), a flag that takes no value given one
 * ("--help=x", "--timeline=3"), a missing file name for --trace, and a
 * stray argument where no lesson test tries one.
 *
 * Each must exit 2 with nothing on stdout, a first line on stderr that
 * names the program ("NN-name: ") and the offending text, and the usage.
 */
#ifndef TESTS_BADINPUT_H
#define TESTS_BADINPUT_H

#include <criterion/criterion.h>
#include <string.h>

#include "tests/support/support.h"

typedef struct {
    const char *argv[4]; /* NULL-terminated */
    const char *names;   /* what the first line of stderr must mention */
} bad_line_t;

/* Runs program with each bad command line and checks the refusal. */
static inline void assert_all_refused(const char *program, const bad_line_t *lines, size_t n)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%s: ", program);
    for (size_t i = 0; i < n; i++) {
        run_result_t r = run_program(program, lines[i].argv);
        const char  *arg = lines[i].argv[0];
        char        *newline = strchr(r.err, '\n');
        if (newline)
            *newline = '\0'; /* the first line only */
        /* cr_expect: one run reports every line that is not refused right. */
        cr_expect(r.exit_code == 2, "%s %s: exit %d", program, arg, r.exit_code);
        cr_expect(strstr(r.err, prefix) != NULL, "%s %s: the message does not name the program: %s",
                  program, arg, r.err);
        cr_expect(strstr(r.err, lines[i].names) != NULL,
                  "%s %s: the message should mention '%s': %s", program, arg, lines[i].names,
                  r.err);
        if (newline)
            *newline = '\n';
        cr_expect(strstr(r.err, "Usage") != NULL, "%s %s: no usage on stderr", program, arg);
        cr_expect(r.out[0] == '\0', "%s %s: something on stdout", program, arg);
        run_result_free(&r);
    }
}

#endif
